"""LangChain's ``init_chat_model`` taught rolegraph's providers, for configurable graphs."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel

from orchestrator.tracked import current_run

__all__ = ["PROVIDER", "register_providers"]


PROVIDER = "rolegraph"
"""The ``init_chat_model`` provider whose model ``rolegraph:<slot>`` is a slot's tracked model."""


def _slot_model(cls: type[BaseChatModel], model: str, **kwargs: Any) -> BaseChatModel:
    slot = model.removeprefix(f"{PROVIDER}:")
    run = current_run()
    if run is None or slot not in run.models:
        from search.graphs.errors import GraphSpaceError

        raise GraphSpaceError(
            f"model '{PROVIDER}:{slot}' exists only while rolegraph runs the graph; outside a "
            "run, give the slot a real model reference, e.g. with GraphConfig.runnable_config()"
        )
    return run.models[slot]


def _make(cls: type[BaseChatModel], model: str, **kwargs: Any) -> BaseChatModel:
    return cls(**{"model": model, **kwargs})


def register_providers() -> None:
    """Teach LangChain's ``init_chat_model`` rolegraph's providers (idempotent).

    ``sim`` builds rolegraph's simulated models (``init_chat_model("sim:atlas-mini")``),
    and ``rolegraph`` hands a configurable graph the tracked model of a slot while
    rolegraph runs it. LangChain keeps no public registry of providers, so this adds
    them to the table ``init_chat_model`` reads.

    Raises:
        MissingIntegrationError: The ``langchain`` package is missing, or its version keeps
            no provider table (use the factory form of ``GraphSpace`` then).
    """
    from orchestrator.errors import MissingIntegrationError

    try:
        from langchain.chat_models import base
    except ImportError as exc:
        raise MissingIntegrationError(
            "configurable graphs (init_chat_model) need the langchain package: "
            "pip install 'rolegraph[langchain]', or build the graph from a factory"
        ) from exc
    table = getattr(base, "_BUILTIN_PROVIDERS", None)
    if not isinstance(table, dict):
        raise MissingIntegrationError(
            "this version of langchain keeps no provider table for init_chat_model; build "
            "the graph from a factory, GraphSpace(build=...), instead"
        )
    table.setdefault("sim", ("orchestrator.sim", "SimChatModel", _make))
    table.setdefault(PROVIDER, ("orchestrator.tracked", "TrackedChatModel", _slot_model))
