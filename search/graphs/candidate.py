"""One point of a graph search: the user's graph (its identity) at chosen settings."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from langchain_core.caches import BaseCache
from langchain_core.language_models import BaseChatModel
from langgraph.types import RetryPolicy

from orchestrator.budget import Amount, estimate_input_tokens, output_cap
from orchestrator.models import resolve_model
from orchestrator.pricing import PriceTable, default_prices
from orchestrator.trace import Usage
from search.evaluation.target import EvalTarget
from search.graphs.config import GraphConfig
from search.graphs.deployed import DeployedGraph
from search.graphs.source import GraphSource

__all__ = ["GraphSource", "GraphTarget"]  # GraphSource re-exported


class GraphTarget(EvalTarget):
    """The user's graph with one model per slot and one value per parameter.

    Its hash covers the graph's identity (name and version) and the settings,
    so a new version of the graph never shares results with an old one.
    """

    def __init__(self, source: GraphSource, config: GraphConfig) -> None:
        """Prefer :meth:`search.graphs.GraphSpace.candidate`."""
        self.source = source
        self.config = config

    def __repr__(self) -> str:
        return f"GraphTarget({self.source.name!r}, hash={self.hash!r})"

    @functools.cached_property
    def hash(self) -> str:
        """Content hash of the graph's identity and the settings (16 hex digits)."""
        payload = {
            "graph": self.source.name,
            "version": self.source.version,
            "models": self.config.models,
            "params": self.config.params,
        }
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def name(self) -> str:
        """The graph's name."""
        return self.source.name

    @property
    def models(self) -> tuple[str, ...]:
        """The distinct model references of the slots."""
        return tuple(sorted(set(self.config.models.values())))

    @functools.cached_property
    def sampled(self) -> bool:
        """Whether a slot model samples (a temperature above 0)."""
        for ref in self.models:
            temperature = getattr(resolve_model(ref), "temperature", None)
            if isinstance(temperature, int | float) and temperature > 0:
                return True
        return False

    @property
    def portable(self) -> bool:
        """A graph built by a factory can be rebuilt by another process; an instance cannot."""
        return self.source.build is not None

    def identity(self) -> dict[str, Any]:
        """The graph's identity, its form, its adapters and its output cap."""
        return {
            "graph": self.source.name,
            "version": self.source.version,
            "form": self.source.form,
            "adapters": dict(self.source.adapters),
            "max_tokens": self.source.max_tokens,
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """The settings as JSON (:class:`~search.graphs.GraphConfig`)."""
        return self.config.to_json(indent=indent)

    def deploy(
        self,
        *,
        models: Mapping[str, BaseChatModel] | None = None,
        cache: BaseCache | None = None,
        prices: PriceTable | None = None,
        call_timeout: float | None = None,
        record_prompts: bool = True,
        retry: RetryPolicy | None = None,
        concurrency: Any = None,
    ) -> Any:
        """The graph built (or configured) with tracked slot models, ready to run.

        ``retry`` is not applied: the user's graph keeps its own nodes' retry policies.
        Nor is ``concurrency``: a user's graph calls its slot models as it likes.
        """
        return DeployedGraph.create(
            self,
            models=models,
            cache=cache,
            prices=prices,
            call_timeout=call_timeout,
            record_prompts=record_prompts,
        )

    def worst_case(
        self,
        *,
        question: str,
        models: Mapping[str, BaseChatModel] | None = None,
        prices: PriceTable | None = None,
    ) -> Amount:
        """``max_calls_per_run`` calls of the dearest slot model, each at its worst case.

        A call's worst case is its prompt (the question plus ``prompt_chars``) and its
        output cap. ``max_calls_per_run`` is also a cap the run enforces (the next call
        fails it), so this bounds what one run may spend.
        """
        table = prices or default_prices()
        given = dict(models or {})
        inp = estimate_input_tokens(len(question) + self.source.prompt_chars)
        dollars, tokens = 0.0, 0
        for ref in self.models:
            cap = output_cap(self.source.max_tokens, given.get(ref) or resolve_model(ref))
            usage = Usage(input_tokens=inp, output_tokens=cap, total_tokens=inp + cap)
            dollars = max(dollars, table.cost(ref, usage))
            tokens = max(tokens, usage.total_tokens)
        n = self.source.max_calls_per_run
        return Amount(dollars=dollars * n, tokens=tokens * n, calls=n)
