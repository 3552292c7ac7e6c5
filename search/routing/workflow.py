"""A deployed router: a callable and Runnable that sends each question to one of the arms."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
from langchain_core.caches import BaseCache
from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.graph import Graph
from pydantic import ConfigDict, Field

from orchestrator.deploy import Deployed, DeployedWorkflow, RunInput, deploy, question_of
from orchestrator.metering import CallLedger
from orchestrator.pricing import PriceTable
from orchestrator.runtime import CONTEXT_KEY
from orchestrator.trace import RunResult
from search.routing.config import RouterConfig
from search.routing.export import export_router
from search.routing.features import Features, as_features, question_text
from search.routing.graph import build_graph
from search.routing.policy import Plan, RoutingPolicy
from search.routing.records import worst_cases
from search.routing.selection import policy_from_state
from search.store import Store, get_store

__all__ = ["RouterConfig", "RoutedResult", "RoutedWorkflow", "load_routed"]


class RoutedResult(RunResult):
    """A routed run's result: the answering arm's, with the run id to give feedback on."""

    model_config = ConfigDict(frozen=True)

    run_id: str = Field(default="", description="Give it to feedback() with the run's score.")
    arm: str = Field(default="", description="Content hash of the arm that answered.")
    arms_tried: int = Field(default=1, description="Arms run (a cascade may escalate).")


class RoutedWorkflow(Deployed):
    """Routes each question to one arm (or a cascade of them) under a hard cost cap.

    ``rw("question")`` returns the answer; ``invoke``/``ainvoke`` return a
    :class:`RoutedResult` whose ``run_id`` :meth:`feedback` takes with a score later.
    With a store, decisions and feedback are kept there, and a router loaded on the
    same store (any process) learns from all the feedback given so far.

    Example:
        >>> routed = route(result, tasks=data.tasks, store=store)   # doctest: +SKIP
        >>> routed("What is 2 + 3?")                                 # doctest: +SKIP
        '5'
    """

    def __init__(
        self,
        config: RouterConfig,
        *,
        features: Any = None,
        store: Store | str | Path | None = None,
        models: Mapping[str, BaseChatModel] | None = None,
        cache: BaseCache | None = None,
        prices: PriceTable | None = None,
        seed: int = 0,
        ledger: CallLedger | None = None,
        record_prompts: bool = True,
        explore: bool = True,
    ) -> None:
        """Deploy each arm and restore the policy; replay the store's feedback."""
        if config.features != "text" and features is None:
            raise ValueError(
                f"this router uses {config.features!r} features: pass the same features="
            )
        self.config = config
        self.features: Features = as_features(features)
        self.store = get_store(store) if store is not None else None
        self.models = dict(models or {})
        self.prices = prices
        self.seed = seed
        self.ledger = ledger
        self.record_prompts = record_prompts
        self.explore = explore
        self.name = config.name
        self.arms: Sequence[DeployedWorkflow] = [
            deploy(arm.spec, models=models, cache=cache, prices=prices) for arm in config.arms
        ]
        self.policy: RoutingPolicy = policy_from_state(config.policy, options=config.options)
        self._lock = threading.Lock()
        self._decisions: dict[str, tuple[list[float], Plan, int | None, float | None]] = {}
        self._given: set[str] = set()
        if self.store is not None:
            for done in self.store.routed_feedback(self.router_id):
                assert done.arm is not None and done.score is not None
                self.policy.update(
                    done.features, arm=done.arm, score=done.score, cost=done.cost or 0.0
                )
                self._given.add(done.run_id)
            if hasattr(self.policy, "explored"):
                self.policy.explored = self.store.explorations(self.router_id)
        self.graph = build_graph(self, name=config.name)

    # --- identity -------------------------------------------------------------------

    @property
    def router_id(self) -> str:
        """The router's id (:attr:`RouterConfig.id`)."""
        return self.config.id

    @property
    def hash(self) -> str:
        """The router's id, as a workflow's hash is its identity."""
        return self.config.id

    @property
    def OutputType(self) -> type[RoutedResult]:  # noqa: N802 - Runnable API name
        """Output: a :class:`RoutedResult`."""
        return RoutedResult

    def __repr__(self) -> str:
        labels = ", ".join(arm.label for arm in self.config.arms)
        return f"RoutedWorkflow(name={self.name!r}, policy={self.policy.name!r}, arms=[{labels}])"

    # --- deciding -------------------------------------------------------------------

    def plan(self, question: str, *, explore: bool = False) -> Plan:
        """The plan for ``question`` (text only: a Task is refused, its answer never read).

        Raises:
            TypeError: ``question`` is not a string.
            CostCapError: No arm's worst case fits the cost cap.
        """
        text = question_text(question)
        return self._plan(text, self.features.vector(text), explore=explore)

    def _plan(self, text: str, vector: list[float], *, explore: bool) -> Plan:
        worst = worst_cases(self.config.arms, text, models=self.models, prices=self.prices)
        with self._lock:
            return self.policy.decide(
                np.asarray(vector),
                worst=worst,
                cap=self.config.cost_cap,
                deadline=self.config.deadline,
                explore=explore,
            )

    def start(self, question: str, run_id: str | None) -> tuple[str, Plan]:
        """Decide and record one request's plan (the graph's routing node)."""
        text = question_text(question)
        vector = self.features.vector(text)
        plan = self._plan(text, vector, explore=self.explore)
        run_id = run_id or uuid.uuid4().hex
        with self._lock:
            self._decisions[run_id] = (vector, plan, None, None)
        if self.store is not None:
            self.store.put_decision(
                self.router_id,
                run_id,
                features=vector,
                arms=list(plan.arms),
                explored=plan.explored,
            )
        return run_id, plan

    def timing(self) -> tuple[float | None, list[float]]:
        """The request deadline (seconds, or None) and each arm's expected seconds."""
        return self.config.deadline, [float(v) for v in self.policy.arm_latency]

    def finish(self, run_id: str, *, arm: int, cost: float) -> None:
        """Record which arm answered (the graph's finishing node)."""
        with self._lock:
            vector, plan, _, _ = self._decisions[run_id]
            self._decisions[run_id] = (vector, plan, arm, cost)
        if self.store is not None:
            self.store.finish_decision(self.router_id, run_id, arm=arm, cost=cost)

    # --- feedback -------------------------------------------------------------------

    def feedback(self, run_id: str, score: float) -> None:
        """Learn from a request's score in [0, 1], given any time after it ran.

        Raises:
            KeyError: No finished request has this id (here or in the store).
            ValueError: The score is outside [0, 1], or this request already had feedback.
        """
        if not 0.0 <= score <= 1.0:
            raise ValueError(f"a feedback score is in [0, 1], got {score}")
        vector, arm, cost = self._finished(run_id)
        if self.store is not None and not self.store.put_feedback(self.router_id, run_id, score):
            raise ValueError(f"request {run_id} already had feedback")
        with self._lock:
            if self.store is None and run_id in self._given:
                raise ValueError(f"request {run_id} already had feedback")
            self._given.add(run_id)
            self.policy.update(vector, arm=arm, score=score, cost=cost)

    async def afeedback(self, run_id: str, score: float) -> None:
        """Async :meth:`feedback` (the store write runs in a thread)."""
        await asyncio.to_thread(self.feedback, run_id, score)

    def _finished(self, run_id: str) -> tuple[list[float], int, float]:
        with self._lock:
            known = self._decisions.get(run_id)
        if known is not None and known[2] is not None:
            return known[0], known[2], float(known[3] or 0.0)
        stored = self.store.get_decision(self.router_id, run_id) if self.store else None
        if stored is None or stored.arm is None:
            raise KeyError(f"no finished routed request {run_id!r}")
        return list(stored.features), stored.arm, float(stored.cost or 0.0)

    # --- running --------------------------------------------------------------------

    def _prepare(
        self, value: RunInput, config: RunnableConfig | None, seed: int | None
    ) -> tuple[str, RunnableConfig, Any]:
        question = question_of(value)
        run_config: dict[str, Any] = dict(config or {})
        configurable = dict(run_config.get("configurable") or {})
        context = configurable[CONTEXT_KEY] = self._context(configurable, seed)
        run_config["configurable"] = configurable
        run_config.setdefault("run_name", self.name)
        return question, cast(RunnableConfig, run_config), context

    def _result(self, question: str, state: Mapping[str, Any], context: Any) -> RoutedResult:
        base = RunResult.from_state(
            state,
            question=question,
            workflow=str(state.get("arm", "")),
            seed=context.seed,
            latency_s=time.perf_counter() - context.started,
        )
        return RoutedResult(
            **dict(base),
            run_id=str(state.get("run_id", "")),
            arm=str(state.get("arm", "")),
            arms_tried=int(state.get("step") or 1),
        )

    def invoke(
        self, input: RunInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> RoutedResult:
        """Route, run and return the answer with its trace and run id."""
        question, run_config, context = self._prepare(input, config, kwargs.get("seed"))
        state = self.graph.invoke({"question": question_text(question)}, run_config)
        return self._result(question, state, context)

    async def ainvoke(
        self, input: RunInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> RoutedResult:
        """Async :meth:`invoke`."""
        question, run_config, context = self._prepare(input, config, kwargs.get("seed"))
        state = await self.graph.ainvoke({"question": question_text(question)}, run_config)
        return self._result(question, state, context)

    # --- conveniences ---------------------------------------------------------------

    def get_graph(self, config: RunnableConfig | None = None) -> Graph:
        """The routing graph's drawable structure."""
        return self.graph.get_graph(config)

    def draw_mermaid(self) -> str:
        """Mermaid text of the routing graph."""
        return self.graph.get_graph().draw_mermaid()

    def describe(self) -> dict[str, Any]:
        """The router's structure for a server's ``/spec`` (no prompts)."""
        return {
            "router": self.router_id,
            "name": self.name,
            "policy": self.policy.name,
            "cost_cap": self.config.cost_cap,
            "deadline": self.config.deadline,
            "arms": [{"hash": a.hash, "label": a.label} for a in self.config.arms],
        }

    def export(self, path: str | Path, *, langgraph: bool = False) -> Path:
        """Write the router: ``.json`` data or a runnable ``.py`` module.

        With ``langgraph=True``, ``path`` is a folder that receives the module and a
        ``langgraph.json``, whose path is returned.
        """
        return export_router(self.config, path, langgraph=langgraph)


def load_routed(path: str | Path, **options: Any) -> RoutedWorkflow:
    """A router from a ``.json`` file :meth:`RoutedWorkflow.export` wrote (data: nothing runs).

    ``options`` go to :class:`RoutedWorkflow` (``store``, ``features``, ``models``, ...).
    A ``.py`` router module is loaded by importing it (``rolegraph serve`` does).
    """
    config = RouterConfig.model_validate_json(Path(path).read_text(encoding="utf-8"))
    return RoutedWorkflow(config, **options)
