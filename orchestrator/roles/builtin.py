"""The built-in roles: solver, planner, verifier, rectifier, judge, aggregator, vote.

Two small variants serve debates: ``blind_solver`` (a solver that does not
see its peers' confidences) and ``select`` (keeps the k-th most different
candidate, for a diversity-aware start).

Their prompt templates live in ``prompts/*.yaml`` next to this module; the
variants for other task kinds in ``prompts/<kind>/*.yaml`` (for example
``prompts/code/verifier.yaml``, a verifier that reviews code).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage
from pydantic import BaseModel
from typing_extensions import override

from orchestrator.answers import normalize_answer, plurality
from orchestrator.roles.base import (
    TASK_KINDS,
    AgentOutput,
    CandidateAnswer,
    PromptVariant,
    Role,
    RoleInputs,
    TaskKind,
    register_role,
)
from orchestrator.roles.contracts import (
    AggregatorOutput,
    JudgeOutput,
    PlannerOutput,
    RectifierOutput,
    SolverOutput,
    VerifierOutput,
)

__all__ = [
    "NO_VERDICT",
    "NO_CANDIDATE_CRITIQUE",
    "UNVERIFIED_CRITIQUE",
    "SolverRole",
    "PlannerRole",
    "VerifierRole",
    "RectifierRole",
    "JudgeRole",
    "AggregatorRole",
    "VoteRole",
    "BlindSolverRole",
    "SelectRole",
    "diverse_order",
    "prompt_variants",
    "BUILTIN_ROLES",
]

_PROMPTS = Path(__file__).with_name("prompts")


NO_VERDICT = "no_verdict"
"""The verdict a verifier hands on when its reply could not be read: neither accept nor reject."""

NO_CANDIDATE_CRITIQUE = "No answer was given to check. Solve the question yourself."
"""The critique a verifier hands on when no answer came before it (it made no call)."""

UNVERIFIED_CRITIQUE = (
    "The verifier's reply could not be read, so this answer is unverified. "
    "Check it yourself: keep it if it is right, correct it if it is not."
)


def _majority(inputs: RoleInputs, *, fallback: bool = False) -> AgentOutput:
    answer, share, _ = plurality((c.answer, 1.0) for c in inputs.candidates)
    data = {"fallback": "the plurality of the candidates"} if fallback else {}
    return AgentOutput(answer=answer, confidence=share if answer is not None else None, data=data)


class SolverRole(Role):
    """Answers the question; sees a plan, a sub-task or peers' answers when given."""

    @override
    def fallback(self, inputs: RoleInputs, options: dict[str, Any]) -> AgentOutput:
        # Keep the debate going on a garbled reply: fall back to the agent's own last answer.
        if inputs.candidate is None:
            return super().fallback(inputs, options)
        return AgentOutput(
            answer=inputs.candidate.answer,
            data={"fallback": f"kept the latest answer, from {inputs.candidate.agent}"},
        )


class BlindSolverRole(SolverRole):
    """A solver that sees other agents' answers but not their stated confidences.

    Vanilla multi-agent debate (Du et al., 2023) shows peers' answers only;
    confidence-modulated debate ("Demystifying Multi-Agent Debate", 2026) uses
    the plain ``solver``, whose prompt shows each answer with its confidence.
    """

    @override
    def render(self, inputs: RoleInputs, *, system: str | None = None) -> list[BaseMessage]:
        hidden = tuple(c.model_copy(update={"confidence": None}) for c in inputs.candidates)
        return super().render(inputs.model_copy(update={"candidates": hidden}), system=system)


class PlannerRole(Role):
    """Writes steps for the agents after it; produces no answer of its own."""

    @override
    def interpret(
        self, parsed: BaseModel, inputs: RoleInputs, options: dict[str, Any]
    ) -> AgentOutput:
        return AgentOutput(data=parsed.model_dump())


class VerifierRole(Role):
    """Accepts or rejects the latest candidate; passes that candidate on."""

    @override
    def skip(self, inputs: RoleInputs, options: dict[str, Any]) -> AgentOutput | None:
        # No answer came before it (the solver's replies could not be read): there is nothing
        # to verify, so no call. It hands on no verdict, so a rectifier after it answers.
        if inputs.candidate is not None:
            return None
        return AgentOutput(
            data={
                "verdict": NO_VERDICT,
                "critique": NO_CANDIDATE_CRITIQUE,
                "skipped": "no candidate answer to verify",
            }
        )

    @override
    def interpret(
        self, parsed: BaseModel, inputs: RoleInputs, options: dict[str, Any]
    ) -> AgentOutput:
        assert isinstance(parsed, VerifierOutput)
        candidate = inputs.candidate
        return AgentOutput(
            answer=candidate.answer if candidate else None,
            confidence=candidate.confidence if candidate else None,
            rejected=parsed.verdict == "reject",
            data=parsed.model_dump(),
        )

    @override
    def fallback(self, inputs: RoleInputs, options: dict[str, Any]) -> AgentOutput:
        # An unreadable verdict is no verdict, never an accept: the answer goes on
        # marked unverified, and a rectifier after it checks it (see RectifierRole).
        candidate = inputs.candidate
        return AgentOutput(
            answer=candidate.answer if candidate else None,
            confidence=candidate.confidence if candidate else None,
            data={
                "verdict": NO_VERDICT,
                "critique": UNVERIFIED_CRITIQUE,
                "fallback": "no verdict: the verifier's reply could not be read",
            },
        )


class RectifierRole(Role):
    """Revises a rejected answer; passes an accepted one through without a call."""

    @override
    def skip(self, inputs: RoleInputs, options: dict[str, Any]) -> AgentOutput | None:
        if inputs.verdict in ("reject", NO_VERDICT):  # an unverified answer is checked too
            return None
        candidate = inputs.candidate
        return AgentOutput(
            answer=candidate.answer if candidate else None,
            confidence=candidate.confidence if candidate else None,
            data={"skipped": "the verifier accepted the answer"},
        )

    @override
    def interpret(
        self, parsed: BaseModel, inputs: RoleInputs, options: dict[str, Any]
    ) -> AgentOutput:
        assert isinstance(parsed, RectifierOutput)
        return AgentOutput(
            answer=parsed.answer,
            confidence=parsed.confidence,
            rejected=True,  # it acted on a rejection, so the revision is worth re-checking
            data=parsed.model_dump(),
        )

    @override
    def fallback(self, inputs: RoleInputs, options: dict[str, Any]) -> AgentOutput:
        candidate = inputs.candidate
        return AgentOutput(
            answer=candidate.answer if candidate else None,
            confidence=candidate.confidence if candidate else None,
            data={"fallback": "kept the candidate answer unrevised"},
        )


class JudgeRole(Role):
    """Picks one of the candidates by number.

    A choice that is no candidate's number but is one candidate's answer (``"choice": 62``
    for ``1. 62``, ``"choice": "A"`` for ``2. A``) picks that candidate: small models often
    name the answer they pick. A choice that matches neither falls back to the majority,
    and says so in the output's data.
    """

    @override
    def interpret(
        self, parsed: BaseModel, inputs: RoleInputs, options: dict[str, Any]
    ) -> AgentOutput:
        assert isinstance(parsed, JudgeOutput)
        data: dict[str, Any] = parsed.model_dump()
        chosen = next((c for c in inputs.candidates if c.index == parsed.choice), None)
        if chosen is None:
            named = normalize_answer(str(parsed.choice))
            givers = [c for c in inputs.candidates if normalize_answer(c.answer) == named]
            if givers:
                chosen = givers[0]
                data["note"] = "the choice names a candidate's answer, not its number"
        if chosen is None:
            out = _majority(inputs)
            data["note"] = "the choice is no candidate's number or answer; used the majority"
            return out.model_copy(update={"data": data})
        return AgentOutput(answer=chosen.answer, confidence=chosen.confidence, data=data)

    @override
    def fallback(self, inputs: RoleInputs, options: dict[str, Any]) -> AgentOutput:
        return _majority(inputs, fallback=True)


class AggregatorRole(Role):
    """Writes one answer from several workers' answers."""

    @override
    def fallback(self, inputs: RoleInputs, options: dict[str, Any]) -> AgentOutput:
        return _majority(inputs, fallback=True)


class VoteRole(Role):
    """Plurality vote over the candidates; calls no model.

    Options:
        weighted: Weight each vote by the voter's stated confidence.
    """

    @override
    def decide(self, inputs: RoleInputs, options: dict[str, Any]) -> AgentOutput:
        weighted = bool(options.get("weighted", False))
        ballots = [
            (c.answer, (c.confidence if c.confidence is not None else 0.5) if weighted else 1.0)
            for c in inputs.candidates
        ]
        answer, share, tally = plurality(ballots)
        return AgentOutput(
            answer=answer,
            confidence=share if answer is not None else None,
            data={"votes": tally, "weighted": weighted, "winner": normalize_answer(answer)},
        )


def diverse_order(candidates: Sequence[CandidateAnswer]) -> list[CandidateAnswer]:
    """Candidates in greedy max-min diversity order, with distinct answers as the distance.

    Every distinct answer comes before any repeat of one. Answers are ranked
    by support (how many candidates give them), then by best confidence, then
    by position; a repeated answer's copies come most-confident first.
    """
    groups: dict[str, list[CandidateAnswer]] = {}
    for candidate in candidates:
        groups.setdefault(normalize_answer(candidate.answer), []).append(candidate)
    for members in groups.values():
        members.sort(key=lambda c: (-(c.confidence or 0.0), c.index))
    ranked = sorted(
        groups.values(),
        key=lambda m: (-len(m), -(m[0].confidence or 0.0), m[0].index),
    )
    order: list[CandidateAnswer] = []
    for depth in range(max((len(m) for m in ranked), default=0)):
        order.extend(members[depth] for members in ranked if depth < len(members))
    return order


class SelectRole(Role):
    """Passes on one candidate of a diverse subset; calls no model.

    For a diversity-aware start ("Demystifying Multi-Agent Debate", 2026):
    oversample first answers, then ``k`` select agents with ranks ``1..k``
    keep the ``k`` most different ones (see :func:`diverse_order`).

    Options:
        rank: Which pick of the diversity order to pass on, from 1 (default 1).
    """

    @override
    def decide(self, inputs: RoleInputs, options: dict[str, Any]) -> AgentOutput:
        order = diverse_order(inputs.candidates)
        if not order:
            return AgentOutput()
        rank = max(1, int(options.get("rank", 1)))
        chosen = order[(rank - 1) % len(order)]
        distinct = len({normalize_answer(c.answer) for c in inputs.candidates})
        return AgentOutput(
            answer=chosen.answer,
            confidence=chosen.confidence,
            data={"rank": rank, "from": chosen.agent, "distinct": distinct},
        )


def prompt_variants(name: str) -> dict[TaskKind, PromptVariant]:
    """The bundled prompt variants of the role ``name``: ``prompts/<kind>/<name>.yaml``."""
    variants: dict[TaskKind, PromptVariant] = {}
    for kind in TASK_KINDS[1:]:
        path = _PROMPTS / kind / f"{name}.yaml"
        if path.exists():
            variants[kind] = PromptVariant.from_yaml(path)  # type: ignore[index]
    return variants


def _load(cls: type[Role], output: type[BaseModel], **flags: Any) -> Role:
    name = cls.__name__.removesuffix("Role").lower()
    return cls.from_yaml(
        _PROMPTS / f"{name}.yaml", output=output, variants=prompt_variants(name), **flags
    )


BUILTIN_ROLES: tuple[Role, ...] = (
    _load(SolverRole, SolverOutput),
    _load(PlannerRole, PlannerOutput, produces_answer=False),
    _load(VerifierRole, VerifierOutput),
    _load(RectifierRole, RectifierOutput, needs_critique=True),
    _load(JudgeRole, JudgeOutput, min_candidates=2),
    _load(AggregatorRole, AggregatorOutput, min_candidates=1),
    VoteRole(
        name="vote",
        description="Plurality vote over the predecessors' answers; calls no model.",
        uses_model=False,
        min_candidates=2,
    ),
    BlindSolverRole.from_yaml(
        _PROMPTS / "solver.yaml",
        output=SolverOutput,
        variants=prompt_variants("solver"),
        name="blind_solver",
        description="Solver that sees other agents' answers but not their confidences.",
    ),
    SelectRole(
        name="select",
        description="Passes on the k-th most different candidate answer; calls no model.",
        uses_model=False,
        min_candidates=2,
    ),
)

for _role in BUILTIN_ROLES:
    register_role(_role)
