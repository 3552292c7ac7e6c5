"""The chosen settings of a user's graph, as a file the user's own code loads.

A graph search's winner is a :class:`GraphConfig`: which model each slot
gets and the value of each declared parameter. Save it as JSON, and load it
where the graph is built, with or without rolegraph's search around it:

Example:
    >>> config = GraphConfig(graph="research-team", version="1",
    ...                      models={"writer": "sim:atlas-mini"}, params={"max_reviews": 1})
    >>> config.runnable_config()["configurable"]["writer_model"]
    'sim:atlas-mini'
    >>> GraphConfig.model_validate_json(config.to_json()) == config
    True
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, cast

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel, ConfigDict, Field

from orchestrator.errors import ExportError
from orchestrator.models import resolve_model

__all__ = ["GraphConfig", "load_config"]


class GraphConfig(BaseModel):
    """Settings of one graph: a model per slot and a value per declared parameter."""

    model_config = ConfigDict(frozen=True)

    graph: str = Field(description="The graph's name.")
    version: str = Field(description="The graph's version (given, or a hash of its code).")
    models: dict[str, str] = Field(description="Model reference of each slot.")
    params: dict[str, Any] = Field(
        default_factory=dict, description="Value of each declared parameter."
    )
    form: Literal["factory", "configurable"] = Field(
        default="factory",
        description="'factory': build(models, **params); 'configurable': a compiled graph "
        "whose init_chat_model models read '<prefix>_model' from the run's config.",
    )
    prefixes: dict[str, str] = Field(
        default_factory=dict,
        description="Configurable form: each slot's config_prefix (default: the slot's name).",
    )
    factory: str | None = Field(
        default=None,
        description="Where the factory is: 'package.module:function', or 'path/file.py:function' "
        "for a script; None when it cannot be imported (a nested function, a partial).",
    )

    def load_factory(self) -> Callable[..., Any]:
        """The graph's factory, imported from :attr:`factory`.

        Raises:
            ExportError: No factory was recorded, or it cannot be imported.
        """
        if not self.factory:
            raise ExportError(
                f"graph {self.graph!r} has no importable factory recorded: define "
                "build(models, **params) at the top level of a module and search again"
                if self.form == "factory"
                else f"graph {self.graph!r} is a configurable graph; select its settings "
                "with GraphConfig.runnable_config() where the graph is defined"
            )
        where, _, name = self.factory.rpartition(":")
        try:
            if where.endswith(".py"):
                spec = importlib.util.spec_from_file_location(Path(where).stem, where)
                if spec is None or spec.loader is None:
                    raise ImportError(f"cannot import {where}")
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
            else:
                module = importlib.import_module(where)
            found: Any = module
            for part in name.split("."):
                found = getattr(found, part)
        except (ImportError, AttributeError, OSError) as exc:
            raise ExportError(f"cannot import the factory {self.factory!r}: {exc}") from exc
        return cast(Callable[..., Any], found)

    def build_graph(self, *, models: Mapping[str, BaseChatModel] | None = None) -> Any:
        """The graph built by its recorded factory with these settings (:meth:`build`)."""
        return self.build(self.load_factory(), models=models)

    def chat_models(
        self, models: Mapping[str, BaseChatModel] | None = None
    ) -> dict[str, BaseChatModel]:
        """A chat model per slot, resolved from its reference (``models`` overrides any).

        Raises:
            UnknownModelError: A reference names no known provider.
            MissingIntegrationError: A provider's package is not installed.
        """
        given = dict(models or {})
        return {slot: given.get(ref) or resolve_model(ref) for slot, ref in self.models.items()}

    def build(
        self,
        factory: Callable[..., Any],
        *,
        models: Mapping[str, BaseChatModel] | None = None,
    ) -> Any:
        """Call your graph factory with these settings: ``factory(chat_models, **params)``."""
        return factory(self.chat_models(models), **self.params)

    def runnable_config(self) -> RunnableConfig:
        """The config that selects these settings in a configurable graph.

        Pass it to ``graph.invoke(input, config)`` (or ``graph.with_config(...)``):
        each slot's ``<prefix>_model`` key holds its model reference, and each
        parameter is a ``configurable`` key of its own name. A ``sim:`` model
        needs rolegraph's provider registered (:func:`search.graphs.register_providers`).
        """
        configurable: dict[str, Any] = dict(self.params)
        for slot, ref in self.models.items():
            prefix = self.prefixes.get(slot, slot).rstrip("_")
            configurable[f"{prefix}_model"] = ref
        return {"configurable": configurable}

    def to_json(self, *, indent: int | None = 2) -> str:
        """JSON text of the settings."""
        return self.model_dump_json(indent=indent)

    def save(self, path: str | Path) -> Path:
        """Write the settings to ``path`` as JSON."""
        target = Path(path)
        target.write_text(self.to_json() + "\n", encoding="utf-8")
        return target


def load_config(path: str | Path) -> GraphConfig:
    """Read settings saved by :meth:`GraphConfig.save` (or ``rolegraph``'s export).

    Example:
        >>> config = load_config("best.json")            # doctest: +SKIP
        >>> graph = config.build(build)                  # your factory, these models
        >>> graph = my_graph.with_config(config.runnable_config())  # a configurable graph
    """
    return GraphConfig.model_validate_json(Path(path).read_text(encoding="utf-8"))
