"""The router as a LangGraph graph: a routing node, conditional edges to the arms, a finish."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, Protocol

from langchain_core.runnables import RunnableConfig, RunnableLambda
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from typing_extensions import TypedDict

from orchestrator.deploy import DeployedWorkflow
from orchestrator.trace import NodeTraceRecord, UsageRecord
from search.routing.policy import Plan, keeps

__all__ = ["RoutedState", "Router", "build_graph", "arm_node"]


class RoutedInput(TypedDict):
    """Input of a routed graph."""

    question: str


class RoutedState(TypedDict, total=False):
    """State of one routed run: the plan, where it is, and the arms' answers so far."""

    question: str
    run_id: str
    plan: list[int]
    thresholds: list[float]
    verified: list[bool]
    explored: bool
    verdict: float | None
    deadline_at: float | None  # wall-clock (time.time()), so a resumed run keeps it
    expected: list[float]
    step: int
    arm: str
    answer: str | None
    confidence: float | None
    cost: float
    usage: UsageRecord
    trace: list[NodeTraceRecord]


class RoutedOutput(TypedDict):
    """Output of a routed graph: a workflow's output, the run id, answering arm, arms run."""

    run_id: str
    arm: str
    step: int
    answer: str | None
    confidence: float | None
    cost: float
    usage: UsageRecord
    trace: list[NodeTraceRecord]


class Router(Protocol):
    """What the graph asks of the router (a :class:`~search.routing.RoutedWorkflow`)."""

    arms: Sequence[DeployedWorkflow]

    def start(self, question: str, run_id: str | None) -> tuple[str, Plan]:
        """Decide and record the plan of one request."""
        ...

    def finish(self, run_id: str, *, arm: int, cost: float) -> None:
        """Record which arm answered and what the request cost."""
        ...

    def timing(self) -> tuple[float | None, list[float]]:
        """The request deadline in seconds (or None) and each arm's expected seconds."""
        ...


def _usage(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> UsageRecord:
    keys = ("input_tokens", "output_tokens", "total_tokens", "cache_read_tokens")
    total = {k: int((a or {}).get(k, 0)) + int((b or {}).get(k, 0)) for k in keys}
    total["reasoning_tokens"] = int((a or {}).get("reasoning_tokens", 0)) + int(
        (b or {}).get("reasoning_tokens", 0)
    )
    return UsageRecord(**total)  # type: ignore[typeddict-item]


def verdict_of(out: Mapping[str, Any], arm: DeployedWorkflow) -> float | None:
    """1 if the arm's exit verifier accepted its answer, 0 if it rejected it, else None."""
    exit_agent = arm.spec.structure.exit
    if not any(a.name == exit_agent and a.role == "verifier" for a in arm.spec.agents):
        return None
    said = [
        (n.get("output") or {}).get("verdict")
        for n in out.get("trace") or ()
        if n["agent"] == exit_agent
    ]
    if not said:
        return None
    return 1.0 if said[-1] == "accept" else 0.0 if said[-1] == "reject" else None


def _merge(state: RoutedState, out: Mapping[str, Any], arm: DeployedWorkflow) -> dict[str, Any]:
    return {
        "answer": out.get("answer"),
        "confidence": out.get("confidence"),
        "verdict": verdict_of(out, arm),
        "cost": float(state.get("cost") or 0.0) + float(out.get("cost") or 0.0),
        "usage": _usage(state.get("usage"), out.get("usage")),
        "trace": [*(state.get("trace") or ()), *(out.get("trace") or ())],
        "step": int(state.get("step") or 0) + 1,
        "arm": arm.hash,
    }


def arm_node(arm: DeployedWorkflow) -> RunnableLambda[Any, Any]:
    """A node running one arm's compiled graph on the question (sync and async)."""

    def run(state: RoutedState, config: RunnableConfig) -> dict[str, Any]:
        return _merge(state, arm.graph.invoke({"question": state["question"]}, config), arm)

    async def arun(state: RoutedState, config: RunnableConfig) -> dict[str, Any]:
        out = await arm.graph.ainvoke({"question": state["question"]}, config)
        return _merge(state, out, arm)

    return RunnableLambda(run, afunc=arun, name=f"arm {arm.spec.name}")


def _next(state: RoutedState) -> str:
    """After an arm: finish, or escalate to the plan's next arm.

    It escalates on low stated confidence or on the arm's verifier's rejection, unless the
    next arm is not expected to finish by the request's deadline.
    """
    plan, step = state["plan"], int(state.get("step") or 0)
    if step >= len(plan):
        return "finish"
    decided = Plan(
        arms=tuple(plan),
        thresholds=tuple(state["thresholds"]),
        verified=tuple(state.get("verified") or ()),
    )
    if keeps(decided, step - 1, state.get("confidence"), state.get("verdict")):
        return "finish"
    deadline_at = state.get("deadline_at")
    if deadline_at is not None:
        expected = (state.get("expected") or [])[step] if state.get("expected") else 0.0
        if time.time() + expected > deadline_at:
            return "finish"  # the next arm would answer too late: keep this answer
    return f"arm_{plan[step]}"


def build_graph(router: Router, *, name: str = "router") -> CompiledStateGraph:
    """Compile the routing graph of ``router``."""

    def route(state: RoutedState) -> dict[str, Any]:
        began = time.time()
        run_id, plan = router.start(state["question"], state.get("run_id"))
        deadline, expected = router.timing()
        return {
            "run_id": run_id,
            "plan": list(plan.arms),
            "thresholds": list(plan.thresholds),
            "verified": list(plan.verified),
            "deadline_at": None if deadline is None else began + deadline,
            "expected": [float(expected[a]) if a < len(expected) else 0.0 for a in plan.arms],
            "explored": plan.explored,
            "step": 0,
            "cost": 0.0,
            "trace": [],
        }

    def finish(state: RoutedState) -> dict[str, Any]:
        plan, step = state["plan"], int(state.get("step") or 1)
        router.finish(state["run_id"], arm=plan[step - 1], cost=float(state.get("cost") or 0.0))
        return {}

    builder = StateGraph(RoutedState, input_schema=RoutedInput, output_schema=RoutedOutput)
    builder.add_node("route", route)
    targets: dict[Hashable, str] = {f"arm_{i}": f"arm_{i}" for i in range(len(router.arms))}
    for i, arm in enumerate(router.arms):
        builder.add_node(f"arm_{i}", arm_node(arm))
        onward = {key: node for key, node in targets.items() if key != f"arm_{i}"}
        builder.add_conditional_edges(f"arm_{i}", _next, {**onward, "finish": "finish"})
    first: Callable[[RoutedState], str] = lambda state: f"arm_{state['plan'][0]}"  # noqa: E731
    builder.add_edge(START, "route")
    builder.add_conditional_edges("route", first, targets)
    builder.add_node("finish", finish)
    builder.add_edge("finish", END)
    return builder.compile(name=name)
