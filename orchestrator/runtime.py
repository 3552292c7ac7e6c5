"""What runs inside each LangGraph node: gather inputs, call the model, parse, account."""

from __future__ import annotations

import asyncio
import math
import operator
import time
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Annotated, Any, NamedTuple, Protocol, TypedDict, runtime_checkable

from langchain_core.caches import RETURN_VAL_TYPE, BaseCache
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolCall, ToolMessage
from langchain_core.outputs import ChatGeneration
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.types import default_retry_on  # type: ignore[attr-defined]
from pydantic import BaseModel

from orchestrator.errors import (
    BudgetExhaustedError,
    MissingIntegrationError,
    ModelTimeoutError,
    SpecError,
)
from orchestrator.parsing import OutputParseError, message_text, parse_reply
from orchestrator.pricing import PriceTable
from orchestrator.roles import AgentOutput, CandidateAnswer, Role, RoleInputs, TaskKind
from orchestrator.spec import Agent
from orchestrator.trace import NodeTrace, Usage

__all__ = [
    "CONTEXT_KEY",
    "RunContext",
    "CallLedger",
    "Emitted",
    "RunState",
    "WorkflowInput",
    "ScopedCache",
    "AgentNode",
    "is_transient",
]

CONTEXT_KEY = "rolegraph"
"""Key of the :class:`RunContext` in ``config["configurable"]``."""

_DEFAULT_MAX_OUTPUT = 1024
_SCOPE: ContextVar[str] = ContextVar("rolegraph_cache_scope", default="")


@runtime_checkable
class CallLedger(Protocol):
    """Budget hook consulted before every model call that may cost money."""

    def reserve(self, *, tokens: int, dollars: float) -> Any:
        """Hold ``tokens`` and ``dollars`` for one call, or raise ``BudgetExhaustedError``."""
        ...

    def settle(self, reservation: Any, *, usage: Usage, dollars: float, cached: bool) -> None:
        """Replace a hold with what the call really used; cached calls cost nothing."""
        ...

    def release(self, reservation: Any) -> None:
        """Drop a hold whose call failed."""
        ...


@dataclass
class RunContext:
    """Per-run settings, passed in ``config["configurable"]["rolegraph"]``."""

    seed: int = 0
    ledger: CallLedger | None = None
    started: float = field(default_factory=time.perf_counter)
    record_prompts: bool = True
    task_kind: TaskKind = "short_answer"
    """Kind of the task being run; roles render their prompt variant for it."""


class Emitted(NamedTuple):
    """One output of one agent, tagged with its superstep and loop decision."""

    step: int
    output: AgentOutput
    loop_to: str | None = None


def _merge_outputs(
    left: dict[str, list[Emitted]], right: dict[str, list[Emitted]]
) -> dict[str, list[Emitted]]:
    merged = dict(left)
    for name, items in right.items():
        merged[name] = [*merged.get(name, ()), *items]
    return merged


def _merge_counts(left: dict[str, int], right: dict[str, int]) -> dict[str, int]:
    return {**left, **right}


class WorkflowInput(TypedDict):
    """Input of a compiled workflow graph."""

    question: str


class RunState(TypedDict, total=False):
    """LangGraph state of a workflow run."""

    question: str
    outputs: Annotated[dict[str, list[Emitted]], _merge_outputs]
    trace: Annotated[list[NodeTrace], operator.add]
    loops: Annotated[dict[str, int], _merge_counts]


class ScopedCache(BaseCache):
    """Wraps an LLM cache so that sampled calls of different agents and seeds never collide.

    Calls at temperature 0 share entries across agents and seeds, as they are
    deterministic; sampled calls are keyed by seed and agent too. Hits are
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
                metadata = {**message.response_metadata, "rolegraph_cached": True}
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
    if isinstance(exc, BudgetExhaustedError | SpecError | MissingIntegrationError):
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
    usage: Usage = field(default_factory=Usage)
    cost: float = 0.0
    charged: float = 0.0
    calls: int = 0
    cached_calls: int = 0


class AgentNode:
    """One agent, ready to run as a LangGraph node (sync and async)."""

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
        max_tool_rounds: int = 4,
    ) -> None:
        """Prepare the agent's runnables once, so each run only renders and calls."""
        self.agent = agent
        self.role = role
        self.model = model
        self.feeders = tuple(feeders)
        self.loop = loop
        self.prices = prices
        self.call_timeout = call_timeout
        self.max_tool_rounds = max_tool_rounds
        self.tools = {tool.name: tool for tool in tools}
        self.sampled = agent.temperature > 0
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
        max_out = agent.max_tokens or getattr(model, "max_tokens", None) or _DEFAULT_MAX_OUTPUT
        self.max_output_tokens = int(max_out)

    # --- inputs -----------------------------------------------------------------------

    def gather(self, state: RunState, *, kind: TaskKind = "short_answer") -> RoleInputs:
        """Collect the question and the latest outputs of this agent's feeders."""
        outputs = state.get("outputs") or {}
        plan: Sequence[str] = ()
        plan_step = critique_step = latest_step = -1
        critique = verdict = None
        candidate: CandidateAnswer | None = None
        candidates: list[CandidateAnswer] = []
        for name, role in self.feeders:
            emitted = outputs.get(name)
            if not emitted:
                continue
            step, out, _ = emitted[-1]
            data = out.data
            if "steps" in data and step > plan_step:
                plan, plan_step = data["steps"], step
            if "verdict" in data and step > critique_step:
                critique, verdict, critique_step = data.get("critique"), data["verdict"], step
            if role.produces_answer and out.answer is not None:
                entry = CandidateAnswer(
                    index=len(candidates) + 1,
                    agent=name,
                    answer=out.answer,
                    confidence=out.confidence,
                )
                candidates.append(entry)
                if step > latest_step:
                    candidate, latest_step = entry, step
        focus = self.agent.options.get("focus")
        return RoleInputs(
            question=state["question"],
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

    def _reserve(self, context: RunContext, messages: Sequence[BaseMessage]) -> Any:
        if context.ledger is None:
            return None
        chars = sum(
            len(message_text(m)) if isinstance(m, AIMessage) else len(str(m.content))
            for m in messages
        )
        estimate = Usage(
            input_tokens=math.ceil(chars / 3) + 16, output_tokens=self.max_output_tokens
        )
        estimate = estimate.model_copy(
            update={"total_tokens": estimate.input_tokens + estimate.output_tokens}
        )
        dollars = self.prices.cost(self.agent.model, estimate)
        return context.ledger.reserve(tokens=estimate.total_tokens, dollars=dollars)

    def _account(self, call: _Call, context: RunContext, hold: Any, reply: AIMessage) -> None:
        usage = Usage.from_metadata(reply.usage_metadata)
        cached = bool(reply.response_metadata.get("rolegraph_cached"))
        cost = self.prices.cost(self.agent.model, usage)
        call.usage = call.usage + usage
        call.cost += cost
        call.calls += 1
        if cached:
            call.cached_calls += 1
        else:
            call.charged += cost
        if context.ledger is not None:
            context.ledger.settle(
                hold, usage=usage, dollars=0.0 if cached else cost, cached=cached
            )

    def _config(
        self, config: RunnableConfig, context: RunContext, inputs: RoleInputs
    ) -> RunnableConfig:
        metadata = {
            **(config.get("metadata") or {}),
            "rolegraph_agent": self.agent.name,
            "rolegraph_seed": context.seed,
            "rolegraph_round": inputs.round,
        }
        return {**config, "metadata": metadata}

    def _unpack(self, call: _Call, result: Any) -> AIMessage:
        """Record the parse of one reply; return the raw message."""
        assert self.role.output is not None
        reply: AIMessage = result
        parsed = None
        try:
            parsed = parse_reply(reply, self.role.output)
        except OutputParseError as exc:
            call.parse_error = str(exc)
        call.parsed = parsed
        call.reply = reply
        return reply

    def _tool_calls(self, reply: AIMessage) -> list[ToolCall]:
        return [c for c in reply.tool_calls if c["name"] in self.tools]

    def _release(self, context: RunContext, hold: Any) -> None:
        if context.ledger is not None:
            context.ledger.release(hold)

    def _received(
        self, call: _Call, context: RunContext, hold: Any, result: Any
    ) -> tuple[AIMessage, list[ToolCall]]:
        """Parse and bill one reply; return it with the tool calls still to run."""
        reply = self._unpack(call, result)
        self._account(call, context, hold, reply)
        return reply, (self._tool_calls(reply) if self.mode == "tools" else [])

    def _invoke(
        self, call: _Call, messages: list[BaseMessage], config: RunnableConfig, context: RunContext
    ) -> None:
        assert self.runnable is not None
        for _ in range(self.max_tool_rounds + 1):
            hold = self._reserve(context, messages)
            try:
                result = self.runnable.invoke(messages, config)
            except BaseException:
                self._release(context, hold)
                raise
            reply, pending = self._received(call, context, hold, result)
            if not pending:
                return
            messages = [*messages, reply]
            for tool_call in pending:
                output = self.tools[tool_call["name"]].invoke(tool_call["args"])
                messages.append(ToolMessage(str(output), tool_call_id=tool_call["id"]))
        call.parse_error = call.parse_error or "too many tool rounds without a final answer"

    async def _ainvoke(
        self, call: _Call, messages: list[BaseMessage], config: RunnableConfig, context: RunContext
    ) -> None:
        assert self.runnable is not None
        for _ in range(self.max_tool_rounds + 1):
            hold = self._reserve(context, messages)
            try:
                async with asyncio.timeout(self.call_timeout):
                    result = await self.runnable.ainvoke(messages, config)
            except TimeoutError as exc:
                self._release(context, hold)
                limit = f"within {self.call_timeout}s" if self.call_timeout else f"({exc})"
                raise ModelTimeoutError(
                    f"agent {self.agent.name!r}: model {self.agent.model} did not answer {limit}"
                ) from exc
            except BaseException:
                self._release(context, hold)
                raise
            reply, pending = self._received(call, context, hold, result)
            if not pending:
                return
            messages = [*messages, reply]
            for tool_call in pending:
                output = await self.tools[tool_call["name"]].ainvoke(tool_call["args"])
                messages.append(ToolMessage(str(output), tool_call_id=tool_call["id"]))
        call.parse_error = call.parse_error or "too many tool rounds without a final answer"

    # --- node entry points ------------------------------------------------------------

    def _begin(
        self, state: RunState, config: RunnableConfig
    ) -> tuple[RunContext, RoleInputs, int, float]:
        context = (config.get("configurable") or {}).get(CONTEXT_KEY) or RunContext()
        step = int((config.get("metadata") or {}).get("langgraph_step", 0))
        inputs = self.gather(state, kind=context.task_kind)
        return context, inputs, step, time.perf_counter()

    def _finish(
        self,
        state: RunState,
        context: RunContext,
        inputs: RoleInputs,
        step: int,
        started: float,
        *,
        output: AgentOutput,
        call: _Call | None = None,
        messages: Sequence[BaseMessage] = (),
        skipped: str | None = None,
    ) -> dict[str, Any]:
        loop_to = None
        update: dict[str, Any] = {}
        if self.loop is not None:
            taken = (state.get("loops") or {}).get(self.loop.id, 0)
            wants = self.loop.when == "always" or output.rejected
            if wants and taken < self.loop.max_rounds:
                loop_to = self.loop.target
                update["loops"] = {self.loop.id: taken + 1}
        call = call or _Call()
        prompt = (
            [{"role": m.type, "content": str(m.content)} for m in messages]
            if context.record_prompts
            else []
        )
        trace = NodeTrace.model_construct(
            agent=self.agent.name,
            role=self.role.name,
            model=self.agent.model,
            step=step,
            round=inputs.round,
            inputs=inputs.model_dump(exclude_defaults=True, exclude={"question"}),
            prompt=prompt,
            output=output.data,
            answer=output.answer,
            confidence=output.confidence,
            raw=message_text(call.reply) if call.reply is not None else None,
            parse_error=call.parse_error,
            skipped=skipped,
            loop_to=loop_to,
            calls=call.calls,
            cached_calls=call.cached_calls,
            usage=call.usage,
            cost=call.cost,
            charged=call.charged,
            latency_s=time.perf_counter() - started,
            started_s=started - context.started,
        )
        update["outputs"] = {self.agent.name: [Emitted(step, output, loop_to)]}
        update["trace"] = [trace]
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

    def invoke(self, state: RunState, config: RunnableConfig) -> dict[str, Any]:
        """Run the agent synchronously."""
        context, inputs, step, started = self._begin(state, config)
        output, skipped = self._decide_without_model(inputs)
        if output is not None:
            return self._finish(
                state, context, inputs, step, started, output=output, skipped=skipped
            )
        messages = self.role.render(inputs, system=self.agent.prompt)
        call = _Call()
        token = _SCOPE.set(self._scope(context, inputs))
        try:
            self._invoke(call, list(messages), self._config(config, context, inputs), context)
        finally:
            _SCOPE.reset(token)
        return self._finish(
            state,
            context,
            inputs,
            step,
            started,
            output=self._interpret(call, inputs),
            call=call,
            messages=messages,
        )

    async def ainvoke(self, state: RunState, config: RunnableConfig) -> dict[str, Any]:
        """Run the agent asynchronously."""
        context, inputs, step, started = self._begin(state, config)
        output, skipped = self._decide_without_model(inputs)
        if output is not None:
            return self._finish(
                state, context, inputs, step, started, output=output, skipped=skipped
            )
        messages = self.role.render(inputs, system=self.agent.prompt)
        call = _Call()
        token = _SCOPE.set(self._scope(context, inputs))
        try:
            await self._ainvoke(
                call, list(messages), self._config(config, context, inputs), context
            )
        finally:
            _SCOPE.reset(token)
        return self._finish(
            state,
            context,
            inputs,
            step,
            started,
            output=self._interpret(call, inputs),
            call=call,
            messages=messages,
        )

    def _scope(self, context: RunContext, inputs: RoleInputs) -> str:
        # A sampled call is a fresh draw per seed, agent and round, so none may share an entry.
        if not self.sampled:
            return ""
        return f"|rolegraph-sample={context.seed}:{self.agent.name}:{inputs.round}"
