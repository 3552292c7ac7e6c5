"""Running a user's graph at chosen settings: the evaluator's runner, and the deployed winner."""

from __future__ import annotations

import asyncio
import time
import uuid
import warnings
from collections.abc import Coroutine, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol, cast

from langchain_core.caches import BaseCache
from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.graph import Graph
from langgraph.errors import GraphRecursionError
from langgraph.pregel import Pregel

from orchestrator.budget import output_cap
from orchestrator.deploy import Deployed, RunInput, question_of
from orchestrator.errors import RunLimitError
from orchestrator.metering import CallLedger
from orchestrator.models import bind_output_cap, resolve_model
from orchestrator.pricing import PriceTable, default_prices
from orchestrator.runtime import ScopedCache
from orchestrator.trace import RunResult
from orchestrator.tracked import GraphRun, TrackedChatModel, running
from search.graphs.adapters import input_keys
from search.graphs.config import GraphConfig
from search.graphs.errors import GraphSpaceError, UntrackedCallsWarning
from search.graphs.export import export_graph, write_graph_module
from search.graphs.providers import PROVIDER, register_providers
from search.graphs.source import GraphSource


class GraphPoint(Protocol):
    """The graph and settings a deployed graph runs (:class:`~search.graphs.GraphPoint`)."""

    @property
    def hash(self) -> str:
        """Content hash: the evaluator keys results by it."""
        ...

    @property
    def name(self) -> str:
        """The graph's name."""
        ...

    @property
    def source(self) -> GraphSource:
        """The user's graph and its adapters."""
        ...

    @property
    def config(self) -> GraphConfig:
        """The slot models and parameter values."""
        ...


__all__ = ["DeployedGraph"]


class DeployedGraph(Deployed):
    """Your own graph with the chosen models and parameters, run the way rolegraph runs it.

    ``dg("question")`` returns the answer (read with the space's output
    function); ``invoke``/``ainvoke`` return a :class:`~orchestrator.trace.RunResult`
    whose trace has one :class:`~orchestrator.trace.NodeTrace` per model call
    (the node that made it, the slot as its role, tokens, cost, cache hit).
    Calls hold their worst case on ``ledger`` when one is given and go through
    ``cache``. :attr:`graph` is the graph itself (a factory's graph built with
    the slot models; a configurable graph as given), for LangGraph's own API.

    Example:
        >>> dg = space.deploy(result.best_graph)   # doctest: +SKIP
        >>> dg("What is 2 + 3?")                    # doctest: +SKIP
        '5'
    """

    def __init__(
        self,
        target: GraphPoint,
        graph: Any,
        models: Mapping[str, TrackedChatModel],
        *,
        seed: int = 0,
        ledger: CallLedger | None = None,
        record_prompts: bool = True,
        call_timeout: float | None = None,
    ) -> None:
        """Prefer :meth:`create` (or :meth:`search.graphs.GraphSpace.deploy`)."""
        self.target = target
        self.graph = graph
        self.models = dict(models)
        self.seed = seed
        self.ledger = ledger
        self.record_prompts = record_prompts
        self.call_timeout = call_timeout
        self.name = target.name

    @classmethod
    def create(
        cls,
        target: GraphPoint,
        *,
        models: Mapping[str, BaseChatModel] | None = None,
        cache: BaseCache | None = None,
        prices: PriceTable | None = None,
        call_timeout: float | None = None,
        record_prompts: bool = True,
        seed: int = 0,
        ledger: CallLedger | None = None,
    ) -> DeployedGraph:
        """Wrap each slot's model (capped, cached, tracked) and build or configure the graph.

        Raises:
            GraphSpaceError: The factory did not return a runnable graph.
        """
        source, config = target.source, target.config
        given = dict(models or {})
        table = prices or default_prices()
        scoped = ScopedCache(cache) if cache is not None else None
        tracked: dict[str, TrackedChatModel] = {}
        for slot, ref in config.models.items():
            base = given.get(ref) or resolve_model(ref)
            cap = output_cap(source.max_tokens, base)
            base, _ = bind_output_cap(base, cap)  # the cap a call holds is the cap it is made with
            tracked[slot] = TrackedChatModel.wrap(
                base,
                slot=slot,
                ref=ref,
                output_cap=cap,
                prices=table,
                cache=scoped if scoped is not None else False,
            )
        if source.build is not None:
            graph = source.build(dict(tracked), **config.params)
            if not callable(getattr(graph, "ainvoke", None)):
                raise GraphSpaceError(
                    f"the factory of graph {source.name!r} returned {type(graph).__name__}, "
                    "not a compiled graph; end it with `return builder.compile()`"
                )
        else:
            register_providers()
            graph = source.graph
        return cls(
            target,
            graph,
            tracked,
            seed=seed,
            ledger=ledger,
            record_prompts=record_prompts,
            call_timeout=call_timeout,
        )

    # --- identity -----------------------------------------------------------------------

    @property
    def spec(self) -> GraphPoint:
        """What it runs (the evaluator keys its results by ``spec.hash``)."""
        return self.target

    @property
    def config(self) -> GraphConfig:
        """The settings it runs with."""
        return self.target.config

    def __repr__(self) -> str:
        return f"DeployedGraph(name={self.name!r}, hash={self.target.hash!r})"

    def get_graph(self, config: RunnableConfig | None = None) -> Graph:
        """The user's graph as LangGraph draws it (not this wrapper)."""
        return cast(Graph, self.graph.get_graph(config))

    def export(self, path: str | Path, *, module: str | None = None) -> Path:
        """Ship the graph: a module that builds it with these settings, or an app folder.

        A ``.py`` path gets the module; any other path is a folder that gets the
        module and ``langgraph.json`` (for ``langgraph dev``).

        Returns:
            The module's path, or ``langgraph.json``'s.

        Raises:
            ExportError: The graph's factory cannot be imported (see
                :meth:`GraphConfig.load_factory`).
        """
        target = Path(path)
        if target.suffix == ".py":
            return write_graph_module(self.config, target)
        return export_graph(self.config, target, module=module)

    # --- running ------------------------------------------------------------------------

    def _prepare(
        self, value: RunInput, config: RunnableConfig | None, seed: int | None
    ) -> tuple[Any, str, RunnableConfig, GraphRun, Any]:
        question = question_of(value)
        source, settings = self.target.source, self.target.config
        static: Mapping[str, Any] = _for_question(source.config, question) or {}
        given: Mapping[str, Any] = config or {}
        run_config: dict[str, Any] = {**static, **given}
        for key in ("configurable", "metadata"):
            run_config[key] = {**(static.get(key) or {}), **(given.get(key) or {})}
        run_config["tags"] = [*(static.get("tags") or ()), *(given.get("tags") or ())]
        configurable = run_config["configurable"]
        context = self._context(configurable, seed)
        if source.build is None:
            # A configurable graph: its init_chat_model models read these keys.
            for slot in settings.models:
                prefix = source.prefixes.get(slot, slot).rstrip("_")
                configurable[f"{prefix}_model"] = f"{PROVIDER}:{slot}"
                configurable[f"{prefix}_model_provider"] = PROVIDER
            configurable.update(settings.params)
        if getattr(self.graph, "checkpointer", None) is not None:
            configurable.setdefault("thread_id", uuid.uuid4().hex)
        run_config.setdefault("recursion_limit", source.recursion_limit)
        run_config.setdefault("run_name", self.name)
        run = GraphRun(
            ledger=context.ledger,
            seed=context.seed,
            record_prompts=context.record_prompts,
            call_timeout=self.call_timeout,
            max_calls=source.max_calls_per_run,
            models=self.models,
        )
        context_value = _for_question(source.context, question)
        graph_input = self._input(value, question)
        return graph_input, question, cast(RunnableConfig, run_config), run, context_value

    def _input(self, value: RunInput, question: str) -> Any:
        """The graph's input: a LangSmith example's ``inputs`` where the graph takes them.

        Otherwise (or when the space has an input function) the question goes through
        the space's input function.
        """
        source = self.target.source
        inputs = value.get("inputs") if isinstance(value, Mapping) else None
        usable = source.takes_inputs and isinstance(inputs, Mapping) and bool(inputs)
        if usable and set(cast(Mapping[str, Any], inputs)) <= input_keys(self.graph):
            return dict(cast(Mapping[str, Any], inputs))
        return source.input(question)

    def _result(self, question: str, state: Any, run: GraphRun) -> RunResult:
        answer = self.target.source.output(state if isinstance(state, Mapping) else {})
        result = RunResult.from_nodes(
            question=question,
            answer=answer,
            confidence=None,
            workflow=self.target.hash,
            seed=run.seed,
            nodes=run.nodes,
            latency_s=time.perf_counter() - run.started,
        )
        if answer and result.calls == 0:
            warnings.warn(
                f"graph {self.name!r} answered, but made no model call through the models "
                "rolegraph gave it: it creates its own chat model clients, so their usage "
                "and costs are missing (not held against the budget, cached, charged or "
                "traced). Build every model from the `models` mapping your factory receives "
                "(or from the configurable init_chat_model slots).",
                UntrackedCallsWarning,
                stacklevel=3,
            )
        elif answer and result.usage.total_tokens == 0:
            warnings.warn(
                f"graph {self.name!r} answered, but its models reported no usage_metadata, "
                "so its token counts and costs are missing",
                UntrackedCallsWarning,
                stacklevel=3,
            )
        return result

    def invoke(
        self, input: RunInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> RunResult:
        """Run once and return the answer with one trace entry per model call.

        A graph with async-only nodes runs on an event loop (in a thread of its own
        when this thread already runs one).

        Raises:
            RunLimitError: The run hit ``max_calls_per_run`` or the recursion limit,
                or was interrupted (``interrupt()``).
        """
        if _async_only(self.graph):
            return _run_on_a_loop(self.ainvoke(input, config, **kwargs))
        graph_input, question, run_config, run, context = self._prepare(
            input, config, kwargs.get("seed")
        )
        stops = _Stops(run_config)
        with running(run), stops:
            for mode, chunk in self.graph.stream(
                graph_input,
                run_config,
                context=context,
                stream_mode=["values", "tasks"],
            ):
                stops.see(mode, chunk)
        return self._result(question, stops.state, run)

    async def ainvoke(
        self, input: RunInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> RunResult:
        """Async :meth:`invoke`."""
        graph_input, question, run_config, run, context = self._prepare(
            input, config, kwargs.get("seed")
        )
        stops = _Stops(run_config)
        with running(run), stops:
            async for mode, chunk in self.graph.astream(
                graph_input,
                run_config,
                context=context,
                stream_mode=["values", "tasks"],
            ):
                stops.see(mode, chunk)
        return self._result(question, stops.state, run)


class _Stops:
    """Reads a run's stream: its last state, and why it stopped before its end."""

    def __init__(self, config: RunnableConfig) -> None:
        self.limit = config.get("recursion_limit")
        self.state: Any = None
        self.interrupted: list[str] = []

    def see(self, mode: str, chunk: Any) -> None:
        if mode == "values":
            self.state = chunk
        elif mode == "tasks" and chunk.get("interrupts"):
            self.interrupted.append(str(chunk.get("name")))

    def __enter__(self) -> _Stops:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        if isinstance(exc, GraphRecursionError):
            raise RunLimitError(
                f"recursion limit: the run took more than {self.limit} steps without "
                "reaching its end (set GraphSpace(recursion_limit=...) if it needs more)"
            ) from exc
        if exc is None and self.interrupted:
            raise RunLimitError(f"interrupted at {', '.join(dict.fromkeys(self.interrupted))}")


def _for_question(value: Any, question: str) -> Any:
    """``value`` itself, or what it returns for ``question`` when it is a function."""
    if callable(value) and not isinstance(value, type | Mapping):
        return value(question)
    return value


def _async_only(graph: Any) -> bool:
    """Whether a node of ``graph`` (or of a subgraph) has only an async function."""
    for spec in getattr(getattr(graph, "builder", None), "nodes", {}).values():
        runnable = spec.runnable
        if isinstance(runnable, Pregel):
            if _async_only(runnable):
                return True
        elif getattr(runnable, "afunc", None) is not None and getattr(runnable, "func", 0) is None:
            return True
    return False


def _run_on_a_loop(job: Coroutine[Any, Any, RunResult]) -> RunResult:
    """Run ``job`` on an event loop: this thread's new one, or a worker thread's."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(job)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, job).result()
