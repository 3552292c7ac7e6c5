"""Shared helpers for the topology tests."""

from orchestrator import WorkflowSpec, deploy
from orchestrator.answers import normalize_answer
from orchestrator.trace import RunResult

QUESTION = "Ava has 12 apples. Ava buys 5 more apples. How many apples does Ava have now?"
POOL = ["sim:atlas-nano", "sim:lynx-small", "sim:atlas-pro"]


def run(spec: WorkflowSpec, question: str = QUESTION) -> RunResult:
    return deploy(spec, record_prompts=False).invoke(question)


def roles(spec: WorkflowSpec) -> dict[str, str]:
    return {agent.name: agent.role for agent in spec.agents}


def edges(spec: WorkflowSpec) -> set[tuple[str, str]]:
    return {(e.source, e.target) for e in spec.structure.forward_edges}


def loops(spec: WorkflowSpec) -> set[tuple[str, str, int]]:
    return {(lp.source, lp.target, lp.max_rounds or 0) for lp in spec.loops}


def answered(result: RunResult) -> bool:
    return normalize_answer(result.answer) != ""
