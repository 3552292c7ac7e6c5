"""Tracked chat models: every call a graph's own code makes is held, charged, cached and traced.

:class:`TrackedChatModel` wraps the chat model chosen for one slot. Each call
through it (``invoke``, ``ainvoke``, ``stream``, ``batch``, and after
``bind_tools`` or ``with_structured_output`` too):

1. holds its worst case on the run's budget ledger before it starts: its
   prompt (:func:`~orchestrator.budget.estimate_input_tokens`) plus the output
   cap bound on the model (:func:`~orchestrator.models.bind_output_cap`);
2. goes through the store's LLM-call cache, under the model's own llm string,
   so a graph's calls and rolegraph's own workflows share entries; sampled
   calls (temperature > 0) are scoped by run seed, slot, node and call number,
   as rolegraph's agents are;
3. is charged from the reply's ``usage_metadata`` at the price table's price
   (cache hits cost nothing), and an overrun of its hold is recorded;
4. leaves a :class:`~orchestrator.trace.NodeTrace` in the run's trace, named
   after the LangGraph node that made it, with the slot as its role.

The run it belongs to is a :class:`GraphRun`, set for the duration of one
graph invocation (by :class:`~search.graphs.DeployedGraph`, for a user's graph).
Its calls follow the one budget rule of :mod:`orchestrator.metering`, as
rolegraph's own agents do.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import partial
from typing import Any, cast

from langchain_core.caches import BaseCache
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams, LanguageModelInput
from langchain_core.load import dumps
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableBinding, RunnableConfig, ensure_config
from pydantic import ConfigDict, Field

from orchestrator.errors import RunLimitError
from orchestrator.metering import (
    CallLedger,
    Metered,
    ametered,
    ametered_stream,
    call_digest,
    metered,
    metered_stream,
    thread_bound,
    worst_case,
)
from orchestrator.parsing import message_text
from orchestrator.pricing import PriceTable, default_prices
from orchestrator.trace import NodeTrace

__all__ = ["GraphRun", "TrackedChatModel", "current_run", "running"]

_RUN: ContextVar[GraphRun | None] = ContextVar("rolegraph_graph_run", default=None)
_SCOPE: ContextVar[str] = ContextVar("rolegraph_graph_sample_scope", default="")
_CAP_KWARGS = ("max_tokens", "max_output_tokens", "max_completion_tokens", "num_predict")


@dataclass
class GraphRun:
    """One invocation of a user's graph: its budget ledger, seed, and the calls it made."""

    ledger: CallLedger | None = None
    seed: int = 0
    record_prompts: bool = True
    call_timeout: float | None = None
    max_calls: int | None = None
    """Model calls the run may make; the next one raises :class:`RunLimitError`."""
    started: float = field(default_factory=time.perf_counter)
    models: dict[str, TrackedChatModel] = field(default_factory=dict)
    """The slot models of this run (the configurable form looks them up here)."""
    nodes: list[NodeTrace] = field(default_factory=list)
    _rounds: dict[tuple[str, str], int] = field(default_factory=dict)
    _calls: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def next_round(self, node: str, slot: str) -> int:
        """Count one more call of ``slot`` from ``node`` in this run (1, 2, ...).

        Raises:
            RunLimitError: The run has made ``max_calls`` model calls already.
        """
        with self._lock:
            if self.max_calls is not None and self._calls >= self.max_calls:
                raise RunLimitError(
                    f"model call cap: node {node!r} made call {self._calls + 1} of a run "
                    f"capped at {self.max_calls} (raise max_calls_per_run if it needs more)"
                )
            self._calls += 1
            count = self._rounds.get((node, slot), 0) + 1
            self._rounds[(node, slot)] = count
            return count

    def record(self, node: NodeTrace) -> None:
        """Add one call's trace."""
        with self._lock:
            self.nodes.append(node)


def current_run() -> GraphRun | None:
    """The graph run this code runs in, if any."""
    return _RUN.get()


@contextlib.contextmanager
def running(run: GraphRun) -> Iterator[GraphRun]:
    """Make ``run`` the current graph run inside the block (and what it starts)."""
    token = _RUN.set(run)
    try:
        yield run
    finally:
        _RUN.reset(token)


def _node_path(metadata: Mapping[str, Any]) -> str:
    """The node that made a call: ``worker/agent`` inside a subgraph node ``worker``."""
    namespace = str(metadata.get("langgraph_checkpoint_ns") or "")
    path = [part.split(":")[0] for part in namespace.split("|") if part]
    inner = str(metadata.get("langgraph_node") or "")
    if inner and (not path or path[-1] != inner):
        path.append(inner)
    return "/".join(path)


@dataclass
class _Call:
    node: str
    step: int
    round: int
    started: float
    messages: list[BaseMessage]


class TrackedChatModel(BaseChatModel):
    """A slot's chat model, wrapped so rolegraph can hold, charge, cache and trace its calls.

    Build it with :meth:`wrap`; the model it wraps should already carry its
    output cap. Outside a :class:`GraphRun` it passes calls through (through
    its cache, if it has one) and records nothing.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    inner: BaseChatModel = Field(description="The chat model that answers.")
    slot: str = Field(description="The slot of the user's graph it fills.")
    ref: str = Field(description="Model reference, for prices, budgets and traces.")
    output_cap: int = Field(description="Output tokens a call is made (and held) with.")
    prices: PriceTable = Field(
        default_factory=default_prices, description="Prices for holds and charges."
    )

    @classmethod
    def wrap(
        cls,
        model: BaseChatModel,
        *,
        slot: str,
        ref: str,
        output_cap: int,
        prices: PriceTable | None = None,
        cache: Any = False,
    ) -> TrackedChatModel:
        """Wrap ``model`` for ``slot``; ``cache`` is a LangChain cache, or False for none."""
        return cls(
            inner=model,
            slot=slot,
            ref=ref,
            output_cap=output_cap,
            prices=prices or default_prices(),
            cache=cache,
            rate_limiter=model.rate_limiter,
        )

    # --- what it is -------------------------------------------------------------------

    @property
    def _llm_type(self) -> str:
        return self.inner._llm_type

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return dict(self.inner._identifying_params)

    def _get_llm_string(self, stop: list[str] | None = None, **kwargs: Any) -> str:
        # The inner model's own string: a graph's calls share cache entries with any other
        # call of the same model and prompt. Sampled calls add their draw.
        return self.inner._get_llm_string(stop=stop, **kwargs) + _SCOPE.get()

    @property
    def temperature(self) -> float | None:
        """The wrapped model's temperature, if it has one."""
        value = getattr(self.inner, "temperature", None)
        return float(value) if isinstance(value, int | float) else None

    @property
    def sampled(self) -> bool:
        """Whether its calls sample (temperature above 0)."""
        return (self.temperature or 0.0) > 0

    def bind_tools(
        self, tools: Sequence[Any], **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools the way the wrapped model formats them, on this model."""
        bound = self.inner.bind_tools(tools, **kwargs)
        if isinstance(bound, RunnableBinding) and bound.bound is self.inner:
            return self.bind(**bound.kwargs).with_config(bound.config)
        raise NotImplementedError(
            f"{type(self.inner).__name__}.bind_tools does not return a plain binding, so "
            "rolegraph cannot track its calls; bind tools on a model whose bind_tools does"
        )

    # --- generation: the wrapped model answers ----------------------------------------

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        # LangSmith shows the model that answers, not this wrapper.
        return self.inner._get_ls_params(stop=stop, **kwargs)

    def _should_stream(self, *, async_api: bool, **kwargs: Any) -> bool:
        # Stream exactly when the wrapped model would (it implements streaming and a
        # handler such as LangGraph's stream_mode="messages" listens).
        return self.inner._should_stream(async_api=async_api, **kwargs)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        yield from self.inner._stream(messages, stop=stop, run_manager=run_manager, **kwargs)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        async for chunk in self.inner._astream(
            messages, stop=stop, run_manager=run_manager, **kwargs
        ):
            yield chunk

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self.inner._generate(messages, stop=stop, run_manager=run_manager, **kwargs)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return await self.inner._agenerate(messages, stop=stop, run_manager=run_manager, **kwargs)

    # --- calls: hold, cache, charge, trace --------------------------------------------

    def invoke(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        """Call the model once: held, cached, charged and traced in the current run."""
        run = _RUN.get()
        if run is None:
            return super().invoke(input, config, stop=stop, **kwargs)
        config = ensure_config(config)
        call = self._begin(run, input, config, kwargs)
        # Serialised once, only where the time limit's key or the cache entry's needs it.
        cached = isinstance(self.cache, BaseCache)
        dumped = dumps(call.messages) if run.call_timeout or cached else ""
        token = _SCOPE.set(self._scope(run, call))
        try:
            done = metered(
                partial(
                    BaseChatModel.invoke,
                    self,
                    input,
                    self._config(config, run, call),
                    stop=stop,
                    **kwargs,
                ),
                ledger=run.ledger,
                prices=self.prices,
                model=self.ref,
                worst=worst_case(call.messages, self._cap(kwargs)),
                timeout=run.call_timeout,
                caller=f"slot {self.slot!r}",
                key=(id(self), _SCOPE.get(), dumped) if run.call_timeout else None,
            )
            flight = self._flight(dumped, stop, kwargs)
        finally:
            _SCOPE.reset(token)
        self._finish(run, call, done, flight)
        return done.reply

    async def ainvoke(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        """Async :meth:`invoke`."""
        run = _RUN.get()
        if run is None:
            return await super().ainvoke(input, config, stop=stop, **kwargs)
        config = ensure_config(config)
        call = self._begin(run, input, config, kwargs)
        token = _SCOPE.set(self._scope(run, call))
        try:
            call_config = self._config(config, run, call)
            sync_call = key = None
            bound = thread_bound(self.inner)
            cached = isinstance(self.cache, BaseCache)
            dumped = dumps(call.messages) if bound or cached else ""
            if bound:
                # Its own thread hop, so the time limit starts when a thread runs it.
                sync_call = partial(
                    BaseChatModel.invoke, self, input, call_config, stop=stop, **kwargs
                )
                key = (id(self), _SCOPE.get(), dumped)
            flight = self._flight(dumped, stop, kwargs)
            done = await ametered(
                partial(
                    BaseChatModel.ainvoke,
                    self,
                    input,
                    call_config,
                    stop=stop,
                    **kwargs,
                ),
                ledger=run.ledger,
                prices=self.prices,
                model=self.ref,
                worst=worst_case(call.messages, self._cap(kwargs)),
                timeout=run.call_timeout,
                caller=f"slot {self.slot!r}",
                sync_call=sync_call,
                key=key,
                flight=flight,
            )
        finally:
            _SCOPE.reset(token)
        self._finish(run, call, done, flight)
        return done.reply

    def stream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> Iterator[AIMessageChunk]:
        """Stream the reply; in a run, held before the first chunk and charged after the last."""
        run = _RUN.get()
        if run is None:
            yield from super().stream(input, config, stop=stop, **kwargs)
            return
        if not self.inner._should_stream(async_api=False, stream=True, **kwargs):
            yield cast(AIMessageChunk, self.invoke(input, config, stop=stop, **kwargs))
            return  # one metered call, as LangChain streams a model that cannot
        config = ensure_config(config)
        call = self._begin(run, input, config, kwargs)
        yield from cast(
            Iterator[AIMessageChunk],
            metered_stream(
                partial(
                    BaseChatModel.stream,
                    self,
                    input,
                    self._config(config, run, call),
                    stop=stop,
                    **kwargs,
                ),
                ledger=run.ledger,
                prices=self.prices,
                model=self.ref,
                worst=worst_case(call.messages, self._cap(kwargs)),
                done=partial(self._finish, run, call),
            ),
        )

    async def astream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[AIMessageChunk]:
        """Async :meth:`stream`."""
        run = _RUN.get()
        if run is None:
            async for chunk in super().astream(input, config, stop=stop, **kwargs):
                yield chunk
            return
        if not self.inner._should_stream(async_api=True, stream=True, **kwargs):
            yield cast(AIMessageChunk, await self.ainvoke(input, config, stop=stop, **kwargs))
            return
        config = ensure_config(config)
        call = self._begin(run, input, config, kwargs)
        async for piece in ametered_stream(
            partial(
                BaseChatModel.astream,
                self,
                input,
                self._config(config, run, call),
                stop=stop,
                **kwargs,
            ),
            ledger=run.ledger,
            prices=self.prices,
            model=self.ref,
            worst=worst_case(call.messages, self._cap(kwargs)),
            done=partial(self._finish, run, call),
        ):
            yield cast(AIMessageChunk, piece)

    def _begin(
        self, run: GraphRun, input: LanguageModelInput, config: RunnableConfig, kwargs: Any
    ) -> _Call:
        metadata = config.get("metadata") or {}
        node = _node_path(metadata) or self.slot
        return _Call(
            node=node,
            step=int(metadata.get("langgraph_step") or 0),
            round=run.next_round(node, self.slot),
            started=time.perf_counter(),
            messages=self._convert_input(input).to_messages(),
        )

    def _cap(self, kwargs: Any) -> int:
        for name in _CAP_KWARGS:
            value = kwargs.get(name)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return value
        return self.output_cap

    def _scope(self, run: GraphRun, call: _Call) -> str:
        # The pool entry is in every key: the inner model's llm string may leave out
        # the settings two entries differ in, and two entries must never share a draw.
        entry = f"|rolegraph-entry={self.ref}@t={self.temperature or 0.0:g}"
        if not self.sampled:
            return entry  # deterministic: every run and seed may share the entry
        return f"{entry}|rolegraph-sample={run.seed}:{self.slot}:{call.node}:{call.round}"

    def _config(self, config: RunnableConfig, run: GraphRun, call: _Call) -> RunnableConfig:
        metadata = {
            **(config.get("metadata") or {}),
            "rolegraph_agent": f"{call.node}:{self.slot}",
            "rolegraph_role": self.slot,
            "rolegraph_seed": run.seed,
            "rolegraph_round": call.round,
        }
        return {**config, "metadata": metadata}

    def _flight(
        self, dumped: str, stop: list[str] | None, kwargs: dict[str, Any]
    ) -> tuple[str, str] | None:
        """The LLM-cache entry a call of these (dumped) messages reads and writes."""
        if not isinstance(self.cache, BaseCache):
            return None
        return (self._get_llm_string(stop=stop, **kwargs), dumped)

    def _finish(
        self, run: GraphRun, call: _Call, done: Metered, flight: tuple[str, str] | None = None
    ) -> None:
        now = time.perf_counter()
        run.record(
            NodeTrace(
                agent=call.node,
                role=self.slot,
                model=self.ref,
                step=call.step,
                round=call.round,
                prompt=(
                    [{"role": m.type, "content": str(m.content)} for m in call.messages]
                    if run.record_prompts
                    else []
                ),
                raw=message_text(done.reply),
                calls=1,
                cached_calls=1 if done.cached else 0,
                call_keys=[(call_digest(flight), done.cost)] if flight else [],
                usage=done.usage,
                cost=done.cost,
                charged=done.charged,
                overrun=done.overrun,
                latency_s=now - call.started,
                started_s=call.started - run.started,
            )
        )
