"""Deployed workflows: a plain callable that is also a langchain-core Runnable."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal, cast

from langchain_core.caches import BaseCache
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.runnables.graph import Graph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Checkpointer, RetryPolicy
from langgraph.types import StreamMode as LangGraphStreamMode

from orchestrator.compile import DEFAULT_RETRY, compile_parts
from orchestrator.concurrency import ModelConcurrency
from orchestrator.linear import ChainRunner, unobserved
from orchestrator.metering import CallLedger
from orchestrator.models import given_models
from orchestrator.pricing import PriceTable
from orchestrator.runtime import ANSWER_TAG, CONTEXT_KEY, RunContext
from orchestrator.spec import WorkflowSpec
from orchestrator.trace import NodeTrace, RunResult

__all__ = ["Deployed", "DeployedWorkflow", "deploy", "load_spec", "question_of", "RunInput"]

RunInput = str | Mapping[str, Any]
"""What a deployed runnable takes: a question, or a mapping with a ``"question"`` key."""
StreamMode = Literal["trace", "messages"]
_STREAM_MODES = ("trace", "messages")
_GRAPH_MODES: dict[str, list[LangGraphStreamMode]] = {
    "trace": ["updates", "values"],
    "messages": ["messages", "values"],
}


def load_spec(spec: WorkflowSpec | str | Path | Any) -> WorkflowSpec:
    """Accept a spec, a path to a ``.json``/``.yaml`` spec, or anything with a ``.best`` spec."""
    if isinstance(spec, WorkflowSpec):
        return spec
    if isinstance(spec, str | Path):
        return WorkflowSpec.load(spec)
    best = getattr(spec, "best", None)
    if isinstance(best, WorkflowSpec):
        return best
    raise TypeError(f"expected a WorkflowSpec or a path to one, got {type(spec).__name__}")


def question_of(value: RunInput) -> str:
    """The question of a run's input.

    Raises:
        TypeError: It is neither a string nor a mapping with a ``"question"`` string.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("question"), str):
        return value["question"]
    raise TypeError(
        "a deployed workflow takes a question string or a mapping with a 'question' key"
    )


class Deployed(Runnable[RunInput, RunResult]):
    """What every deployed runnable shares: its input, its run context, its call forms.

    :class:`DeployedWorkflow` (a rolegraph spec) and
    :class:`search.graphs.DeployedGraph` (a user's own graph) are the two kinds.
    """

    name: str
    seed: int = 0
    ledger: CallLedger | None = None
    record_prompts: bool = True

    @property
    def InputType(self) -> type[str]:  # noqa: N802 - Runnable API name
        """Input: a question string (or ``{"question": ...}``)."""
        return str

    @property
    def OutputType(self) -> type[RunResult]:  # noqa: N802 - Runnable API name
        """Output: a :class:`RunResult`."""
        return RunResult

    def _context(self, configurable: Mapping[str, Any], seed: int | None) -> RunContext:
        """The run's context: the caller's (an evaluation's), or a new one for this run."""
        context = configurable.get(CONTEXT_KEY)
        if isinstance(context, RunContext):
            context.started = time.perf_counter()
            return context
        run_seed = seed if seed is not None else configurable.get("seed", self.seed)
        return RunContext(
            seed=int(run_seed), ledger=self.ledger, record_prompts=self.record_prompts
        )

    def __call__(self, question: str, *, seed: int | None = None) -> str | None:
        """Answer ``question``."""
        return self.invoke(question, seed=seed).answer

    async def acall(self, question: str, *, seed: int | None = None) -> str | None:
        """Async ``__call__``."""
        return (await self.ainvoke(question, seed=seed)).answer


class DeployedWorkflow(Deployed):
    """A compiled workflow: call it for the answer, or use it as a Runnable for the trace.

    ``wf("question")`` returns the answer string. ``invoke``/``ainvoke``/
    ``batch``/``abatch`` return :class:`~orchestrator.trace.RunResult` with the
    full trace; ``stream``/``astream`` yield each agent's
    :class:`~orchestrator.trace.NodeTrace` as it finishes, then the result, or
    with ``stream_mode="messages"`` the answer's message chunks as the exit
    agent's model produces them, then the result.

    The LangGraph graph is :attr:`graph`: use it with LangGraph's own API, in
    LangGraph Studio, or as a subgraph of a larger graph. It takes
    ``{"question": ...}`` and returns ``answer``, ``confidence``, ``usage``,
    ``cost`` and ``trace``. The workflow itself can also be a node of a larger
    graph: its :class:`~orchestrator.trace.RunResult` fields (``answer``,
    ``cost``, ...) update the keys of the same names there.

    Example:
        >>> wf = deploy(spec)                 # doctest: +SKIP
        >>> wf("What is 2 + 3?")              # doctest: +SKIP
        '5'
    """

    def __init__(
        self,
        spec: WorkflowSpec,
        graph: CompiledStateGraph,
        *,
        seed: int = 0,
        ledger: CallLedger | None = None,
        record_prompts: bool = True,
        chain: ChainRunner | None = None,
    ) -> None:
        """Wrap a graph compiled from ``spec``; prefer :func:`deploy`."""
        self.spec = spec
        self.graph = graph
        # A chain's runs that nothing observes skip the Pregel loop (orchestrator.linear).
        self.chain = chain if graph.checkpointer is None else None
        self.seed = seed
        self.ledger = ledger
        self.record_prompts = record_prompts
        self.name = spec.name

    @property
    def hash(self) -> str:
        """The spec's content hash."""
        return self.spec.hash

    # --- plumbing ---------------------------------------------------------------------

    def _prepare(
        self, value: RunInput, config: RunnableConfig | None, seed: int | None
    ) -> tuple[str, dict[str, Any], RunnableConfig, RunContext]:
        question = question_of(value)
        run_config: dict[str, Any] = dict(config or {})
        configurable = dict(run_config.get("configurable") or {})
        context = configurable[CONTEXT_KEY] = self._context(configurable, seed)
        if self.graph.checkpointer is not None and "thread_id" not in configurable:
            configurable["thread_id"] = uuid.uuid4().hex
        run_config["configurable"] = configurable
        run_config.setdefault("run_name", self.spec.name)
        return question, {"question": question}, cast(RunnableConfig, run_config), context

    def _result(self, question: str, state: Mapping[str, Any], context: RunContext) -> RunResult:
        return RunResult.from_state(
            state,
            question=question,
            workflow=self.spec.hash,
            seed=context.seed,
            latency_s=time.perf_counter() - context.started,
        )

    @staticmethod
    def _stream_mode(kwargs: Mapping[str, Any]) -> StreamMode:
        mode = kwargs.get("stream_mode") or "trace"
        if mode not in _STREAM_MODES:
            raise ValueError(
                f"stream_mode={mode!r} is not supported; use 'trace' (each agent's NodeTrace) "
                "or 'messages' (the answer's tokens), or stream wf.graph for LangGraph's modes"
            )
        return cast(StreamMode, mode)

    @staticmethod
    def _items(kind: str, chunk: Any) -> Iterator[Any]:
        """What one LangGraph stream part yields to the caller."""
        if kind == "messages":
            message, metadata = chunk
            # Only the exit's model calls: not other agents, nor messages written to state.
            if isinstance(message, BaseMessage) and ANSWER_TAG in (metadata.get("tags") or ()):
                yield message
            return
        for update in cast(Mapping[str, Any], chunk).values():
            for record in (update or {}).get("trace", ()):
                yield NodeTrace.from_record(record)

    # --- Runnable ---------------------------------------------------------------------

    def invoke(
        self, input: RunInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> RunResult:
        """Run once and return the answer with its trace."""
        question, state, config, context = self._prepare(input, config, kwargs.get("seed"))
        if self.chain is not None and unobserved(config):
            final = self.chain.invoke(state, config)
        else:
            final = self.graph.invoke(state, config)
        return self._result(question, final, context)

    async def ainvoke(
        self, input: RunInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> RunResult:
        """Async :meth:`invoke`."""
        question, state, config, context = self._prepare(input, config, kwargs.get("seed"))
        if self.chain is not None and unobserved(config):
            final = await self.chain.ainvoke(state, config)
        else:
            final = await self.graph.ainvoke(state, config)
        return self._result(question, final, context)

    def stream(
        self, input: RunInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[Any]:
        """Stream a run, then yield its :class:`RunResult`.

        Args:
            input: A question, or a mapping with a ``"question"``.
            config: Runnable config, passed to LangGraph.
            **kwargs: ``seed``; ``stream_mode``: ``"trace"`` (the default) yields each
                agent's :class:`NodeTrace` as it finishes; ``"messages"`` yields the
                message chunks of the exit agent's model calls, i.e. the answer as it
                is generated (one whole message from a model that does not stream).
        """
        mode = self._stream_mode(kwargs)
        question, state, config, context = self._prepare(input, config, kwargs.get("seed"))
        final: Mapping[str, Any] = {}
        for kind, chunk in self.graph.stream(state, config, stream_mode=_GRAPH_MODES[mode]):
            if kind == "values":
                final = cast(Mapping[str, Any], chunk)
            else:
                yield from self._items(kind, chunk)
        yield self._result(question, final, context)

    async def astream(
        self, input: RunInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[Any]:
        """Async :meth:`stream`."""
        mode = self._stream_mode(kwargs)
        question, state, config, context = self._prepare(input, config, kwargs.get("seed"))
        final: Mapping[str, Any] = {}
        async for kind, chunk in self.graph.astream(state, config, stream_mode=_GRAPH_MODES[mode]):
            if kind == "values":
                final = cast(Mapping[str, Any], chunk)
            else:
                for item in self._items(kind, chunk):
                    yield item
        yield self._result(question, final, context)

    # --- conveniences -----------------------------------------------------------------

    def get_graph(self, config: RunnableConfig | None = None) -> Graph:
        """The LangGraph graph's drawable structure (nodes are agent names)."""
        return self.graph.get_graph(config)

    def draw_mermaid(self) -> str:
        """Mermaid text of the compiled LangGraph graph."""
        return self.graph.get_graph().draw_mermaid()

    def export(self, path: str | Path, *, langgraph: bool = False) -> Path:
        """Write the workflow to ``path``: a runnable ``.py`` module, or ``.json``/``.yaml``.

        The ``.py`` file defines ``spec``, ``workflow`` and a top-level ``graph``,
        so ``langgraph dev`` can serve it, and answers its command-line arguments.
        With ``langgraph=True``, ``path`` is a folder that receives that module and
        a ``langgraph.json`` pointing at its graph
        (:func:`~orchestrator.export.export_langgraph`); the path of
        ``langgraph.json`` is returned.
        """
        from orchestrator.export import export_langgraph, write_module

        target = Path(path)
        if langgraph:
            return export_langgraph(self.spec, target)
        if target.suffix == ".py":
            return write_module(self.spec, target)
        return self.spec.save(target)

    def __repr__(self) -> str:
        return f"DeployedWorkflow(name={self.spec.name!r}, hash={self.spec.hash!r})"


def deploy(
    spec: WorkflowSpec | str | Path | Any,
    *,
    models: Mapping[str, BaseChatModel] | None = None,
    cache: BaseCache | None = None,
    prices: PriceTable | None = None,
    checkpointer: Checkpointer = None,
    retry: RetryPolicy | None = DEFAULT_RETRY,
    call_timeout: float | None = None,
    seed: int = 0,
    ledger: CallLedger | None = None,
    record_prompts: bool = True,
    concurrency: ModelConcurrency | None = None,
) -> DeployedWorkflow:
    """Compile a spec (or a path to one, or a search result) into a callable workflow.

    Args:
        spec: A :class:`WorkflowSpec`, a ``.json``/``.yaml`` path, or a result with ``.best``.
        models: Instances to use for given model references.
        cache: LLM-call cache; hits cost nothing.
        prices: Price table for cost accounting.
        checkpointer: LangGraph checkpointer, passed through. Runs on one thread
            (``config={"configurable": {"thread_id": ...}}``) each get their own trace,
            cost and loop rounds; the thread's ``messages`` keep the conversation. A
            run without a ``thread_id`` gets a new thread.
        retry: Retry policy for transient failures.
        call_timeout: Seconds allowed per model call (async runs).
        seed: Default sampling seed; ``invoke(..., seed=n)`` overrides it.
        ledger: Budget hook checked before every model call.
        record_prompts: Keep the prompt messages in each node's trace.
        concurrency: Per-model adaptive limits on calls at once (async runs).
    """
    with given_models(models or {}):  # the mapping's references are known while loading
        resolved = load_spec(spec)
    parts = compile_parts(
        resolved,
        models=models,
        cache=cache,
        prices=prices,
        checkpointer=checkpointer,
        retry=retry,
        call_timeout=call_timeout,
        concurrency=concurrency,
    )
    return DeployedWorkflow(
        resolved,
        parts.graph,
        seed=seed,
        ledger=ledger,
        record_prompts=record_prompts,
        chain=parts.chain,
    )
