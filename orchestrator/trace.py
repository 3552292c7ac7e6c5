"""Run traces: what each agent saw and said, and what it cost."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NotRequired

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict

__all__ = ["Usage", "NodeTrace", "RunResult", "UsageRecord", "NodeTraceRecord"]


class UsageRecord(TypedDict):
    """A :class:`Usage` as plain data: the form graph state and JSON hold."""

    input_tokens: int
    output_tokens: int
    total_tokens: int
    cache_read_tokens: int
    reasoning_tokens: int


class NodeTraceRecord(TypedDict):
    """A :class:`NodeTrace` as plain data: the form graph state and JSON hold.

    ``NodeTrace.from_record`` (or ``NodeTrace.model_validate``) reads it back.
    """

    agent: str
    role: str
    model: str | None
    run: int
    step: int
    round: int
    inputs: dict[str, Any]
    prompt: list[dict[str, str]]
    output: dict[str, Any]
    answer: str | None
    confidence: float | None
    raw: str | None
    parse_error: str | None
    parse_failures: NotRequired[int]
    fallback: NotRequired[str | None]
    skipped: str | None
    loop_to: str | None
    calls: int
    cached_calls: int
    call_keys: NotRequired[list[tuple[str, float]]]
    usage: UsageRecord
    cost: float
    charged: float
    overrun: float
    latency_s: float
    started_s: float


class Usage(BaseModel):
    """Token counts, in the keys of langchain's ``usage_metadata``."""

    model_config = ConfigDict(frozen=True)

    input_tokens: int = Field(default=0, description="Prompt tokens.")
    output_tokens: int = Field(default=0, description="Completion tokens, reasoning included.")
    total_tokens: int = Field(default=0, description="Input plus output.")
    cache_read_tokens: int = Field(default=0, description="Input tokens read from a cache.")
    reasoning_tokens: int = Field(default=0, description="Hidden reasoning tokens.")

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any] | None) -> Usage:
        """Read an ``AIMessage.usage_metadata`` dict."""
        if not metadata:
            return cls()
        inp = int(metadata.get("input_tokens") or 0)
        out = int(metadata.get("output_tokens") or 0)
        details_in = metadata.get("input_token_details") or {}
        details_out = metadata.get("output_token_details") or {}
        # Validated: pydantic-core is faster than model_construct's Python loop.
        return cls(
            input_tokens=inp,
            output_tokens=out,
            total_tokens=int(metadata.get("total_tokens") or inp + out),
            cache_read_tokens=int(details_in.get("cache_read") or 0),
            reasoning_tokens=int(details_out.get("reasoning") or 0),
        )

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
        )

    def to_record(self) -> UsageRecord:
        """This usage as plain data."""
        return UsageRecord(
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            total_tokens=self.total_tokens,
            cache_read_tokens=self.cache_read_tokens,
            reasoning_tokens=self.reasoning_tokens,
        )

    @classmethod
    def sum(cls, usages: Iterable[Usage]) -> Usage:
        """The total of several usages."""
        total = cls()
        for usage in usages:
            total = total + usage
        return total


class NodeTrace(BaseModel):
    """One run of one agent."""

    model_config = ConfigDict(frozen=True)

    agent: str = Field(description="Agent (and LangGraph node) name.")
    role: str = Field(description="The agent's role.")
    model: str | None = Field(
        default=None, description="Model reference; None for roles that call no model."
    )
    run: int = Field(
        default=0,
        description="LangGraph superstep in which the run's first agents ran: the same for "
        "every agent of one run, larger for each later run on the same thread.",
    )
    step: int = Field(description="LangGraph superstep in which it ran.")
    round: int = Field(default=1, description="How many times this agent had run, this one too.")
    inputs: dict[str, Any] = Field(default_factory=dict, description="What it was given.")
    prompt: list[dict[str, str]] = Field(
        default_factory=list, description="The messages sent to the model."
    )
    output: dict[str, Any] = Field(default_factory=dict, description="The parsed output.")
    answer: str | None = Field(default=None, description="The answer it passed on.")
    confidence: float | None = Field(default=None, description="Confidence in that answer.")
    raw: str | None = Field(default=None, description="The model's last reply text.")
    parse_error: str | None = Field(default=None, description="Why the reply did not parse.")
    parse_failures: int = Field(
        default=0,
        description="Replies that did not parse: 1 when a re-ask fixed it, 2 when it did not.",
    )
    fallback: str | None = Field(
        default=None,
        description="What the role handed on instead, when no reply parsed (e.g. no verdict).",
    )
    skipped: str | None = Field(default=None, description="Why no model was called, if not.")
    loop_to: str | None = Field(default=None, description="Agent a declared loop went back to.")
    calls: int = Field(default=0, description="Model calls made, tool rounds included.")
    cached_calls: int = Field(default=0, description="Of those, answered from the cache.")
    call_keys: list[tuple[str, float]] = Field(
        default_factory=list,
        description="Each call's LLM-cache key (a digest) and list price, where the model's "
        "cache keys it: two calls with one key are one paid call.",
    )
    usage: Usage = Field(default_factory=Usage, description="Tokens of all its calls.")
    cost: float = Field(default=0.0, description="Dollar cost of its calls at list price.")
    charged: float = Field(default=0.0, description="Dollars actually spent (cache misses).")
    overrun: float = Field(
        default=0.0,
        description="Dollars its replies cost beyond what their calls held (a model that "
        "ignored its output cap); charged, and part of ``charged``.",
    )
    latency_s: float = Field(default=0.0, description="Wall-clock seconds.")
    started_s: float = Field(default=0.0, description="Start, in seconds since the run began.")

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> NodeTrace:
        """Read a :class:`NodeTraceRecord` that rolegraph wrote, without re-validating it.

        Use ``NodeTrace.model_validate`` for records from elsewhere.
        """
        usage = record.get("usage")
        return cls.model_construct(
            **{**record, "usage": Usage.model_construct(**usage) if usage else Usage()}
        )


class RunResult(BaseModel):
    """The answer of one workflow run, with its full trace and totals."""

    model_config = ConfigDict(frozen=True)

    question: str = Field(description="The input question.")
    answer: str | None = Field(description="The exit agent's answer.")
    confidence: float | None = Field(default=None, description="The exit agent's confidence.")
    workflow: str = Field(description="Content hash of the workflow spec.")
    seed: int = Field(default=0, description="Sampling seed of the run.")
    nodes: tuple[NodeTrace, ...] = Field(default=(), description="Agent runs in order.")
    usage: Usage = Field(default_factory=Usage, description="Sum of the nodes' usage.")
    cost: float = Field(default=0.0, description="Sum of the nodes' cost.")
    charged: float = Field(default=0.0, description="Sum of the nodes' charged dollars.")
    calls: int = Field(default=0, description="Sum of the nodes' model calls.")
    cached_calls: int = Field(default=0, description="Sum of the nodes' cached calls.")
    overrun: float = Field(
        default=0.0, description="Sum of the nodes' overruns (dollars beyond their holds)."
    )
    parse_errors: int = Field(default=0, description="Agent runs whose reply did not parse.")
    latency_s: float = Field(default=0.0, description="Wall-clock seconds of the whole run.")

    @classmethod
    def from_nodes(
        cls,
        *,
        question: str,
        answer: str | None,
        confidence: float | None,
        workflow: str,
        seed: int,
        nodes: Iterable[NodeTrace],
        latency_s: float,
    ) -> RunResult:
        """Build a result whose totals are the sums over ``nodes``."""
        ordered = tuple(sorted(nodes, key=lambda n: (n.started_s, n.step, n.agent)))
        # The nodes are validated NodeTraces already; only the sums are new.
        return cls.model_construct(
            question=question,
            answer=answer,
            confidence=confidence,
            workflow=workflow,
            seed=seed,
            nodes=ordered,
            usage=Usage.sum(n.usage for n in ordered),
            cost=sum(n.cost for n in ordered),
            charged=sum(n.charged for n in ordered),
            calls=sum(n.calls for n in ordered),
            cached_calls=sum(n.cached_calls for n in ordered),
            overrun=sum(n.overrun for n in ordered),
            parse_errors=sum(1 for n in ordered if n.parse_error),
            latency_s=latency_s,
        )

    @classmethod
    def from_state(
        cls,
        state: Mapping[str, Any],
        *,
        question: str | None = None,
        workflow: str = "",
        seed: int = 0,
        latency_s: float = 0.0,
    ) -> RunResult:
        """Read the output (or the state) of a compiled workflow graph.

        Args:
            state: What ``graph.invoke`` returned, or ``graph.get_state(config).values``.
            question: The question, where ``state`` does not hold it.
            workflow: The spec's content hash, if known.
            seed: The run's sampling seed, if known.
            latency_s: The run's wall-clock seconds, if measured.
        """
        return cls.from_nodes(
            question=question if question is not None else str(state.get("question", "")),
            answer=state.get("answer"),
            confidence=state.get("confidence"),
            workflow=workflow,
            seed=seed,
            nodes=[NodeTrace.from_record(record) for record in state.get("trace") or ()],
            latency_s=latency_s,
        )

    def by_agent(self) -> dict[str, list[NodeTrace]]:
        """Node traces grouped by agent name."""
        grouped: dict[str, list[NodeTrace]] = {}
        for node in self.nodes:
            grouped.setdefault(node.agent, []).append(node)
        return grouped
