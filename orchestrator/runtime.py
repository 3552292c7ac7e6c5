"""What runs inside each LangGraph node: gather inputs, call the model, parse, account."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Hashable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import partial
from typing import Annotated, Any

from langchain_core.caches import RETURN_VAL_TYPE, BaseCache
from langchain_core.language_models import BaseChatModel
from langchain_core.load import dumps
from langchain_core.messages import (
    AIMessage,
    AnyMessage,
    BaseMessage,
    HumanMessage,
    ToolCall,
    ToolMessage,
)
from langchain_core.outputs import ChatGeneration
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.runnables.base import RunnableBindingBase
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.graph.message import add_messages
from langgraph.types import default_retry_on  # type: ignore[attr-defined]
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from orchestrator.budget import DEFAULT_TOOL_ROUNDS, output_cap
from orchestrator.concurrency import AIMDLimit
from orchestrator.errors import (
    BudgetExhaustedError,
    MissingIntegrationError,
    RunLimitError,
    SpecError,
)
from orchestrator.metering import (
    CACHED_KEY,
    CallLedger,
    Metered,
    ametered,
    call_digest,
    metered,
    thread_bound,
    worst_case,
)
from orchestrator.parsing import (
    OutputParseError,
    ReplyFormat,
    message_text,
    parse_reply,
    reask_prompt,
)
from orchestrator.parts import Agent
from orchestrator.pricing import PriceTable
from orchestrator.roles import AgentOutput, CandidateAnswer, Role, RoleInputs, TaskKind
from orchestrator.tools import tool_call_cap
from orchestrator.trace import NodeTraceRecord, Usage, UsageRecord

__all__ = [
    "CONTEXT_KEY",
    "CHAIN_KEY",
    "ANSWER_TAG",
    "RunContext",
    "Emitted",
    "RunState",
    "NodeState",
    "WorkflowInput",
    "WorkflowOutput",
    "ScopedCache",
    "AgentNode",
    "is_transient",
]

CONTEXT_KEY = "rolegraph"
"""Key of the :class:`RunContext` in ``config["configurable"]``."""

ANSWER_TAG = "rolegraph:answer"
"""Tag on the model calls of the exit agent, whose reply is the workflow's answer.

Filter LangGraph's ``stream_mode="messages"`` on it to stream the answer's tokens.
"""

_SCOPE: ContextVar[str] = ContextVar("rolegraph_cache_scope", default="")

CHAIN_KEY = "__rolegraph_chain"
"""Set in ``config["configurable"]`` by the chain runner (:mod:`orchestrator.linear`): no
thread keeps the run's conversation, so the exit agent does not write it."""


@dataclass
class RunContext:
    """Per-run settings, passed in ``config["configurable"]["rolegraph"]``."""

    seed: int = 0
    ledger: CallLedger | None = None
    started: float = field(default_factory=time.perf_counter)
    record_prompts: bool = True
    task_kind: TaskKind = "short_answer"
    """Kind of the task being run; roles render their prompt variant for it."""


class Emitted(TypedDict):
    """One output of one agent, as graph state holds it.

    Plain data, so any checkpointer (in LangGraph's strict msgpack mode too)
    stores it without registering types.
    """

    run: int
    step: int
    answer: str | None
    confidence: float | None
    rejected: bool
    data: dict[str, Any]
    loop_to: str | None


def _run_of(outputs: Mapping[str, Sequence[Emitted]]) -> int | None:
    for items in outputs.values():
        if items:
            return items[-1]["run"]
    return None


def _merge_outputs(
    left: dict[str, list[Emitted]], right: dict[str, list[Emitted]]
) -> dict[str, list[Emitted]]:
    """Append a step's outputs; a new run on the thread replaces the outputs of the last."""
    run = _run_of(right)
    if run is None:
        return left
    merged = dict(left) if _run_of(left) == run else {}
    for name, items in right.items():
        merged[name] = [*merged.get(name, ()), *items]
    return merged


def _merge_trace(
    left: list[NodeTraceRecord], right: list[NodeTraceRecord]
) -> list[NodeTraceRecord]:
    """Append a step's node traces; a new run on the thread replaces the trace of the last."""
    if not right:
        return left
    if left and left[0].get("run") != right[0].get("run"):
        return list(right)
    return [*left, *right]


def _replace(left: Any, right: Any) -> Any:
    # A reducer, not a plain channel, so that several entry agents may reset it in one step.
    return right


class WorkflowInput(TypedDict):
    """Input of a compiled workflow graph."""

    question: Annotated[str, Field(description="The question to answer.")]


class WorkflowOutput(TypedDict):
    """Output of a compiled workflow graph: this run's answer, what it cost, and its trace."""

    answer: Annotated[str | None, Field(description="The exit agent's answer.")]
    confidence: Annotated[float | None, Field(description="The exit agent's confidence.")]
    usage: Annotated[UsageRecord, Field(description="Tokens of every model call of the run.")]
    cost: Annotated[float, Field(description="Dollar cost of the run at list price.")]
    trace: Annotated[
        list[NodeTraceRecord], Field(description="Every agent run of this run, in order.")
    ]


class NodeState(TypedDict, total=False):
    """The part of :class:`RunState` an agent reads: fewer channels to read per node."""

    question: str
    outputs: Annotated[dict[str, list[Emitted]], _merge_outputs]
    trace: Annotated[list[NodeTraceRecord], _merge_trace]


class RunState(TypedDict, total=False):
    """LangGraph state of a workflow run.

    ``outputs`` and ``trace`` hold one run: the first agents of a new run on a
    thread replace what the last run left (their records carry the run's
    first superstep in ``run``). ``messages`` keeps the thread's conversation,
    a question and an answer per run.
    """

    question: str
    messages: Annotated[list[AnyMessage], add_messages]
    answer: Annotated[str | None, _replace]
    confidence: Annotated[float | None, _replace]
    usage: Annotated[UsageRecord, _replace]
    cost: Annotated[float, _replace]
    outputs: Annotated[dict[str, list[Emitted]], _merge_outputs]
    trace: Annotated[list[NodeTraceRecord], _merge_trace]


def _total_usage(records: Sequence[NodeTraceRecord]) -> UsageRecord:
    usages = [record["usage"] for record in records]
    return UsageRecord(
        input_tokens=sum(u["input_tokens"] for u in usages),
        output_tokens=sum(u["output_tokens"] for u in usages),
        total_tokens=sum(u["total_tokens"] for u in usages),
        cache_read_tokens=sum(u["cache_read_tokens"] for u in usages),
        reasoning_tokens=sum(u["reasoning_tokens"] for u in usages),
    )


def _cache_identity(target: Any, kwargs: dict[str, Any]) -> str | None:
    """What the LLM-call cache keys a model's calls by, besides scope and prompt.

    ``None`` where no cache of its own serves the model's calls (nothing to share), or
    where the key cannot be known.
    """
    if not isinstance(target, BaseChatModel) or not isinstance(target.cache, BaseCache):
        return None
    try:
        return target._get_llm_string(**kwargs)
    except Exception:  # a model whose parameters do not serialise: calls stay apart
        return None


class ScopedCache(BaseCache):
    """Wraps an LLM cache so that sampled calls of different agents and seeds never collide.

    Every key holds the pool entry (its reference and the temperature the call
    uses), so two entries of one model never share a draw. Calls at temperature
    0 share entries across agents and seeds, as they are deterministic; sampled
    calls are keyed by seed and agent too. Hits are
    marked in ``response_metadata["rolegraph_cached"]`` so they are not billed.
    """

    def __init__(self, inner: BaseCache) -> None:
        """Wrap ``inner``."""
        self.inner = inner

    @staticmethod
    def _mark(value: RETURN_VAL_TYPE | None) -> RETURN_VAL_TYPE | None:
        if not value:
            return value
        marked = []
        for generation in value:
            if isinstance(generation, ChatGeneration):
                message = generation.message
                metadata = {**message.response_metadata, CACHED_KEY: True}
                generation = generation.model_copy(
                    update={"message": message.model_copy(update={"response_metadata": metadata})}
                )
            marked.append(generation)
        return marked

    def lookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        """Look up under the current sampling scope."""
        return self._mark(self.inner.lookup(prompt, llm_string + _SCOPE.get()))

    def update(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        """Store under the current sampling scope."""
        self.inner.update(prompt, llm_string + _SCOPE.get(), return_val)

    async def alookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        """Async :meth:`lookup`."""
        return self._mark(await self.inner.alookup(prompt, llm_string + _SCOPE.get()))

    async def aupdate(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        """Async :meth:`update`."""
        await self.inner.aupdate(prompt, llm_string + _SCOPE.get(), return_val)

    def clear(self, **kwargs: Any) -> None:
        """Clear the wrapped cache."""
        self.inner.clear(**kwargs)


_TRANSIENT_NAMES = (
    "RateLimit",
    "Timeout",
    "APIConnection",
    "ServiceUnavailable",
    "InternalServer",
    "Overloaded",
    "TooManyRequests",
    "Transient",
)


def is_transient(exc: BaseException) -> bool:
    """Whether a failed node is worth retrying: rate limits, timeouts, 5xx, network."""
    if isinstance(exc, BudgetExhaustedError | SpecError | MissingIntegrationError | RunLimitError):
        return False
    if isinstance(exc, TimeoutError | ConnectionError):
        return True
    if any(name in type(exc).__name__ for name in _TRANSIENT_NAMES):
        return True
    status = getattr(exc, "status_code", None)
    if status is None:
        status = getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(status, int):
        return status in (408, 409, 425, 429) or status >= 500
    return isinstance(exc, Exception) and default_retry_on(exc)


def supports_structured_output(model: BaseChatModel) -> bool:
    """Whether the model can bind a contract as a tool (native structured output)."""
    cls = type(model)
    return (
        cls.bind_tools is not BaseChatModel.bind_tools
        or cls.with_structured_output is not BaseChatModel.with_structured_output
    )


@dataclass
class _Call:
    """The outcome of one agent's model interaction (all its calls)."""

    reply: AIMessage | None = None
    parsed: BaseModel | None = None
    parse_error: str | None = None
    parse_failures: int = 0
    rounds_spent: bool = False
    """It used every tool round without a final answer (no re-ask then)."""
    fmt: ReplyFormat | None = None
    usage: Usage = field(default_factory=Usage)
    cost: float = 0.0
    charged: float = 0.0
    calls: int = 0
    cached_calls: int = 0
    overrun: float = 0.0
    keys: list[tuple[str, float]] = field(default_factory=list)


@dataclass(slots=True)
class _Turn:
    """What one node run works from: its settings, its inputs and this run's state so far."""

    context: RunContext
    question: str
    run: int
    step: int
    fresh: bool
    outputs: Mapping[str, Sequence[Emitted]]
    trace: Sequence[NodeTraceRecord]
    inputs: RoleInputs
    started: float
    conversation: bool = True


class AgentNode:
    """One agent, ready to run as a LangGraph node (sync and async).

    An entry agent tells a new run from a loop back to it: only a loop's
    source, one superstep earlier, can send it back. In a new run it reads
    nothing the thread's earlier runs left, and its records start the run;
    one entry (``clears_answer``) also clears the last run's answer and totals.
    """

    def __init__(
        self,
        *,
        agent: Agent,
        role: Role,
        model: BaseChatModel | None,
        feeders: Sequence[tuple[str, Role]],
        loop: Any,
        tools: Sequence[BaseTool],
        prices: PriceTable,
        call_timeout: float | None,
        max_tool_rounds: int = DEFAULT_TOOL_ROUNDS,
        entry: bool = False,
        exit: bool = False,
        loop_sources: Sequence[str] = (),
        clears_answer: bool = False,
        sample_index: int = 0,
        temperature: float | None = None,
        limit: AIMDLimit | None = None,
    ) -> None:
        """Prepare the agent's runnables once, so each run only renders and calls.

        ``temperature`` is the one its calls really use (a model instance's pinned
        temperature wins over the agent's); the agent's when not given. ``limit`` is
        its model's adaptive limit on calls at once (async runs).
        """
        self.agent = agent
        self.role = role
        self.model = model
        self.feeders = tuple(feeders)
        self.loop = loop
        self.entry = entry
        self.exit = exit
        self.loop_sources = tuple(loop_sources)
        self.clears_answer = entry and clears_answer
        self.prices = prices
        self.call_timeout = call_timeout
        self.max_tool_rounds = max_tool_rounds
        self.tools = {tool.name: tool for tool in tools}
        self.temperature = agent.temperature if temperature is None else temperature
        self.sampled = self.temperature > 0
        self.sample_index = sample_index
        self.runnable: Runnable[Any, Any] | None = None
        self.mode = "none"
        if model is not None and role.output is not None:
            structured = agent.options.get("structured_output")
            if structured is None:
                structured = supports_structured_output(model)
            if tools:
                self.mode = "tools"
                self.runnable = model.bind_tools([*tools, role.output])
            elif structured:
                # Function-calling structured output with the contract's schema computed
                # once; with_structured_output would rebuild the JSON schema on every call.
                self.mode = "structured"
                contract = convert_to_openai_tool(role.output)
                self.runnable = model.bind_tools(
                    [contract], tool_choice=contract["function"]["name"]
                )
            else:
                self.mode = "text"
                self.runnable = model
        self.max_output_tokens = output_cap(agent.max_tokens, model)
        self.thread_bound = thread_bound(model)
        self.limit = limit
        # A plain binding (tools, tool_choice) only merges its empty config into ours on
        # every call: call what it binds with its arguments instead. Same call, less work.
        self._target: Runnable[Any, Any] | None = self.runnable
        self._target_kwargs: dict[str, Any] = {}
        runnable = self.runnable
        if (
            isinstance(runnable, RunnableBindingBase)
            and type(runnable).ainvoke is RunnableBindingBase.ainvoke
            and type(runnable).invoke is RunnableBindingBase.invoke
            and not runnable.config
            and not runnable.config_factories
        ):
            self._target, self._target_kwargs = runnable.bound, dict(runnable.kwargs)
        self._cache_id = _cache_identity(self._target, self._target_kwargs)

    # --- inputs -----------------------------------------------------------------------

    def _looped_back(self, outputs: Mapping[str, Sequence[Emitted]], step: int) -> bool:
        """Whether a loop sent this run of the agent back, rather than a new run's input."""
        for source in self.loop_sources:
            emitted = outputs.get(source)
            if emitted:
                last = emitted[-1]
                if last["step"] == step - 1 and last["loop_to"] == self.agent.name:
                    return True
        return False

    def gather(
        self,
        question: str,
        outputs: Mapping[str, Sequence[Emitted]],
        *,
        kind: TaskKind = "short_answer",
    ) -> RoleInputs:
        """Collect the question and the latest outputs of this agent's feeders."""
        plan: Sequence[str] = ()
        plan_step = critique_step = latest_step = -1
        critique = verdict = None
        candidate: CandidateAnswer | None = None
        candidates: list[CandidateAnswer] = []
        for name, role in self.feeders:
            emitted = outputs.get(name)
            if not emitted:
                continue
            last = emitted[-1]
            step, data, answer = last["step"], last["data"], last["answer"]
            if "steps" in data and step > plan_step:
                plan, plan_step = data["steps"], step
            if "verdict" in data and step > critique_step:
                critique, verdict, critique_step = data.get("critique"), data["verdict"], step
            if role.produces_answer and answer is not None:
                entry = CandidateAnswer(
                    index=len(candidates) + 1,
                    agent=name,
                    answer=answer,
                    confidence=last["confidence"],
                )
                candidates.append(entry)
                if step > latest_step:
                    candidate, latest_step = entry, step
        focus = self.agent.options.get("focus")
        return RoleInputs(
            question=question,
            plan=tuple(plan),
            candidate=candidate,
            critique=critique,
            verdict=verdict,
            candidates=tuple(candidates),
            focus=str(focus) if focus else None,
            round=len(outputs.get(self.agent.name) or ()) + 1,
            kind=kind,
        )

    # --- model calls ------------------------------------------------------------------

    def _account(self, call: _Call, done: Metered, flight: Hashable | None) -> None:
        if flight is not None:
            call.keys.append((call_digest(flight), done.cost))
        call.usage = call.usage + done.usage
        call.cost += done.cost
        call.charged += done.charged
        call.overrun += done.overrun
        call.calls += 1
        call.cached_calls += done.cached

    def _config(
        self, config: RunnableConfig, context: RunContext, inputs: RoleInputs
    ) -> RunnableConfig:
        metadata = {
            **(config.get("metadata") or {}),
            "rolegraph_agent": self.agent.name,
            "rolegraph_role": self.role.name,
            "rolegraph_seed": context.seed,
            "rolegraph_round": inputs.round,
            "rolegraph_sample": self.sample(context, inputs),
        }
        if self.exit:
            return {**config, "metadata": metadata, "tags": [*config.get("tags", ()), ANSWER_TAG]}
        return {**config, "metadata": metadata}

    def _unpack(self, call: _Call, result: Any) -> AIMessage:
        """Record the parse of one reply; return the raw message."""
        assert self.role.output is not None
        reply: AIMessage = result
        parsed = None
        try:
            parsed = parse_reply(reply, self.role.output, fmt=call.fmt)
            call.parse_error = None
        except OutputParseError as exc:
            call.parse_error = str(exc)
        call.parsed = parsed
        call.reply = reply
        return reply

    # --- re-ask after an unparseable reply ---------------------------------------------
    # One more model call through the same path as the first (budgeted, cached, traced):
    # the prompt again, with the bad reply, the parse error and the expected format.

    def _reask(self, call: _Call, messages: Sequence[BaseMessage]) -> list[BaseMessage] | None:
        """Count a first reply that did not parse; return the messages to re-ask with.

        ``None`` when it parsed, or when the agent's ``options["reask"]`` is false.
        """
        if call.parsed is not None or call.reply is None:
            return None
        call.parse_failures += 1
        if call.rounds_spent or not self.agent.options.get("reask", True):
            return None  # a model that spent its tool rounds is not given as many again
        assert self.role.output is not None
        *head, last = messages  # a rendered prompt ends with its user message
        reply = message_text(call.reply) or json.dumps([c["args"] for c in call.reply.tool_calls])
        text = reask_prompt(
            call.parse_error or "",
            self.role.output,
            call.fmt,
            prompt=str(last.content),
            reply=reply,
        )
        return [*head, HumanMessage(text)]

    def _tool_calls(self, reply: AIMessage) -> list[ToolCall]:
        return [c for c in reply.tool_calls if c["name"] in self.tools]

    def _received(
        self, call: _Call, done: Metered, flight: Hashable | None
    ) -> tuple[AIMessage, list[ToolCall]]:
        """Parse and account one reply; return it with the tool calls still to run."""
        reply = self._unpack(call, done.reply)
        self._account(call, done, flight)
        return reply, (self._tool_calls(reply) if self.mode == "tools" else [])

    def _flight(self, dumped: str) -> tuple[str, str, str] | None:
        """The LLM-cache entry a call of these (dumped) messages reads and writes."""
        if self._cache_id is None:
            return None
        return (self._cache_id, _SCOPE.get(), dumped)

    def _invoke(
        self, call: _Call, messages: list[BaseMessage], config: RunnableConfig, context: RunContext
    ) -> None:
        assert self._target is not None
        for _ in range(self.max_tool_rounds + 1):
            # Serialised once, only where a time limit or a cache key needs it.
            needed = self.call_timeout or self._cache_id is not None
            dumped = dumps(messages) if needed else ""
            done = metered(
                partial(self._target.invoke, messages, config, **self._target_kwargs),
                ledger=context.ledger,
                prices=self.prices,
                model=self.agent.model,
                worst=worst_case(messages, self.max_output_tokens),
                timeout=self.call_timeout,
                caller=f"agent {self.agent.name!r}",
                key=(id(self), _SCOPE.get(), dumped) if self.call_timeout else None,
            )
            reply, pending = self._received(call, done, self._flight(dumped))
            if not pending:
                return
            messages = [*messages, reply]
            cap = tool_call_cap(context)
            pending, refused = cap.admit(pending)
            for tool_call in pending:
                output = self.tools[tool_call["name"]].invoke(tool_call["args"])
                messages.append(ToolMessage(str(output), tool_call_id=tool_call["id"]))
            messages += [ToolMessage(cap.refusal, tool_call_id=c["id"]) for c in refused]
        call.rounds_spent = True
        call.parse_error = call.parse_error or "too many tool rounds without a final answer"

    async def _ainvoke(
        self, call: _Call, messages: list[BaseMessage], config: RunnableConfig, context: RunContext
    ) -> None:
        assert self._target is not None
        for _ in range(self.max_tool_rounds + 1):
            sync_call = key = None
            needed = self.thread_bound or self._cache_id is not None
            dumped = dumps(messages) if needed else ""
            if self.thread_bound:
                # Its own thread hop, so the time limit starts when a thread runs it.
                sync_call = partial(self._target.invoke, messages, config, **self._target_kwargs)
                key = (id(self), _SCOPE.get(), dumped)
            flight = self._flight(dumped)
            async with self.limit.slot() if self.limit else contextlib.nullcontext():
                done = await ametered(
                    partial(self._target.ainvoke, messages, config, **self._target_kwargs),
                    ledger=context.ledger,
                    prices=self.prices,
                    model=self.agent.model,
                    worst=worst_case(messages, self.max_output_tokens),
                    timeout=self.call_timeout,
                    caller=f"agent {self.agent.name!r}",
                    sync_call=sync_call,
                    key=key,
                    flight=flight,
                )
            reply, pending = self._received(call, done, flight)
            if not pending:
                return
            messages = [*messages, reply]
            cap = tool_call_cap(context)
            pending, refused = cap.admit(pending)
            for tool_call in pending:
                output = await self.tools[tool_call["name"]].ainvoke(tool_call["args"])
                messages.append(ToolMessage(str(output), tool_call_id=tool_call["id"]))
            messages += [ToolMessage(cap.refusal, tool_call_id=c["id"]) for c in refused]
        call.rounds_spent = True
        call.parse_error = call.parse_error or "too many tool rounds without a final answer"

    # --- node entry points ------------------------------------------------------------

    def _begin(self, state: NodeState, config: RunnableConfig) -> _Turn:
        started = time.perf_counter()
        # Without a RunContext (a run through LangGraph's own API) the run's start is
        # unknown: each node's ``started_s`` is then 0 and its step orders it.
        configurable = config.get("configurable") or {}
        context = configurable.get(CONTEXT_KEY) or RunContext(started=started)
        step = int((config.get("metadata") or {}).get("langgraph_step", 0))
        outputs: Mapping[str, Sequence[Emitted]] = state.get("outputs") or {}
        trace: Sequence[NodeTraceRecord] = ()
        fresh = self.entry and not self._looped_back(outputs, step)
        if fresh:
            run, outputs = step, {}
        else:
            latest = _run_of(outputs)
            run = step if latest is None else latest
            trace = state.get("trace") or ()
        question = state["question"]
        return _Turn(
            context=context,
            question=question,
            run=run,
            step=step,
            fresh=fresh,
            outputs=outputs,
            trace=trace,
            inputs=self.gather(question, outputs, kind=context.task_kind),
            started=started,
            conversation=CHAIN_KEY not in configurable,
        )

    def _finish(
        self,
        turn: _Turn,
        *,
        output: AgentOutput,
        call: _Call | None = None,
        messages: Sequence[BaseMessage] = (),
        skipped: str | None = None,
    ) -> dict[str, Any]:
        loop_to = None
        if self.loop is not None:
            own = turn.outputs.get(self.agent.name) or ()
            taken = sum(1 for emitted in own if emitted["loop_to"] is not None)
            wants = self.loop.when == "always" or output.rejected
            if wants and taken < self.loop.max_rounds:
                loop_to = self.loop.target
        call = call or _Call()
        context, inputs = turn.context, turn.inputs
        prompt = (
            [{"role": m.type, "content": str(m.content)} for m in messages]
            if context.record_prompts
            else []
        )
        trace = NodeTraceRecord(
            agent=self.agent.name,
            role=self.role.name,
            model=self.agent.model,
            run=turn.run,
            step=turn.step,
            round=inputs.round,
            inputs=inputs.model_dump(exclude_defaults=True, exclude={"question"}),
            prompt=prompt,
            output=output.data,
            answer=output.answer,
            confidence=output.confidence,
            raw=message_text(call.reply) if call.reply is not None else None,
            parse_error=call.parse_error,
            parse_failures=call.parse_failures,
            fallback=output.data.get("fallback") if call.reply and call.parsed is None else None,
            skipped=skipped,
            loop_to=loop_to,
            calls=call.calls,
            cached_calls=call.cached_calls,
            call_keys=call.keys,
            usage=call.usage.to_record(),
            cost=call.cost,
            charged=call.charged,
            overrun=call.overrun,
            latency_s=time.perf_counter() - turn.started,
            started_s=turn.started - context.started,
        )
        emitted = Emitted(
            run=turn.run,
            step=turn.step,
            answer=output.answer,
            confidence=output.confidence,
            rejected=output.rejected,
            data=output.data,
            loop_to=loop_to,
        )
        update: dict[str, Any] = {"outputs": {self.agent.name: [emitted]}, "trace": [trace]}
        if turn.fresh and self.clears_answer:
            # Until the exit answers, the thread shows no answer rather than the last run's.
            update.update(answer=None, confidence=None, usage=_total_usage(()), cost=0.0)
        if self.exit and loop_to is None:
            update.update(self._conclude(turn, trace, output))
        return update

    def _conclude(
        self, turn: _Turn, trace: NodeTraceRecord, output: AgentOutput
    ) -> dict[str, Any]:
        """The run's answer, its totals and its turn of the conversation."""
        records = [*turn.trace, trace]
        answer = output.answer
        update: dict[str, Any] = {
            "answer": answer,
            "confidence": output.confidence,
            "usage": _total_usage(records),
            "cost": sum(r["cost"] for r in records),
        }
        if turn.conversation:
            update["messages"] = [HumanMessage(turn.question), AIMessage(answer or "")]
        return update

    def _decide_without_model(self, inputs: RoleInputs) -> tuple[AgentOutput | None, str | None]:
        options = self.agent.options
        if not self.role.uses_model:
            return self.role.decide(inputs, options), None
        skipped = self.role.skip(inputs, options)
        if skipped is not None:
            return skipped, str(skipped.data.get("skipped", "skipped by the role"))
        return None, None

    def _interpret(self, call: _Call, inputs: RoleInputs) -> AgentOutput:
        if call.parsed is None:
            return self.role.fallback(inputs, self.agent.options)
        return self.role.interpret(call.parsed, inputs, self.agent.options)

    def invoke(self, state: NodeState, config: RunnableConfig) -> dict[str, Any]:
        """Run the agent synchronously."""
        turn = self._begin(state, config)
        context, inputs = turn.context, turn.inputs
        output, skipped = self._decide_without_model(inputs)
        if output is not None:
            return self._finish(turn, output=output, skipped=skipped)
        messages = self.role.render(inputs, system=self.agent.prompt)
        call = _Call(fmt=self.role.reply_format(inputs.kind))
        token = _SCOPE.set(self._scope(context, inputs))
        try:
            run_config = self._config(config, context, inputs)
            self._invoke(call, list(messages), run_config, context)
            retry = self._reask(call, messages)
            if retry is not None:
                self._invoke(call, retry, run_config, context)
                call.parse_failures += call.parsed is None  # never asked a third time
        finally:
            _SCOPE.reset(token)
        return self._finish(
            turn, output=self._interpret(call, inputs), call=call, messages=messages
        )

    async def ainvoke(self, state: NodeState, config: RunnableConfig) -> dict[str, Any]:
        """Run the agent asynchronously."""
        turn = self._begin(state, config)
        context, inputs = turn.context, turn.inputs
        output, skipped = self._decide_without_model(inputs)
        if output is not None:
            return self._finish(turn, output=output, skipped=skipped)
        messages = self.role.render(inputs, system=self.agent.prompt)
        call = _Call(fmt=self.role.reply_format(inputs.kind))
        token = _SCOPE.set(self._scope(context, inputs))
        try:
            run_config = self._config(config, context, inputs)
            await self._ainvoke(call, list(messages), run_config, context)
            retry = self._reask(call, messages)
            if retry is not None:
                await self._ainvoke(call, retry, run_config, context)
                call.parse_failures += call.parsed is None  # never asked a third time
        finally:
            _SCOPE.reset(token)
        return self._finish(
            turn, output=self._interpret(call, inputs), call=call, messages=messages
        )

    def sample(self, context: RunContext, inputs: RoleInputs) -> str:
        """Which draw a sampled call is: run seed, the agent's sample index, and its round.

        Agents that send the same prompt to the same pool entry at the temperature
        their calls use are numbered 0, 1, ... (by name), in every workflow, so a vote's first
        member and a lone solver ask for the same draw and share its cache entry.
        """
        return f"{context.seed}:{self.sample_index}:{inputs.round}"

    def _scope(self, context: RunContext, inputs: RoleInputs) -> str:
        # The pool entry is in every key: a model's own llm string may leave out the
        # settings an entry differs in (a custom model reports none), and two entries
        # must never share a draw.
        entry = f"|rolegraph-entry={self.agent.model}@t={self.temperature:g}"
        if not self.sampled:
            return entry  # deterministic: every agent and seed may share the entry
        return f"{entry}|rolegraph-sample={self.sample(context, inputs)}"
