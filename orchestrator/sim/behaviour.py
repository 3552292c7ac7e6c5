"""How a simulated model answers each role prompt.

The simulator reads only the prompt text. It recognises the role from the
``Task:`` line of rolegraph's templates, reads the question and the sections
the role receives (plan, candidates, critique), works out the true answer by
parsing the question, and then decides, with seeded randomness, whether this
model gets it right.

Correctness uses a Gaussian copula: a model is right when
``Phi(z) < p``, where ``z`` mixes a latent shared by every model on the task,
one shared by the model's family, and one private to the call. Models of one
family therefore fail together, and when they fail they often give the same
wrong answer, which is what makes homogeneous ensembles saturate.
"""

from __future__ import annotations

import functools
import hashlib
import math
import random
import re
from dataclasses import dataclass, field
from typing import Any

from orchestrator.answers import normalize_answer, plurality
from orchestrator.sim.profiles import SimProfile
from orchestrator.sim.tasks import Problem, Step, plan_steps, read_plan, read_problem

__all__ = ["Prompt", "Reply", "read_prompt", "respond"]

_TASKS = {
    "solve": "solve",
    "plan": "plan",
    "verify": "verify",
    "revise": "revise",
    "choose": "choose",
    "combine": "combine",
}
_TASK_LINE = re.compile(r"^\s*Task:\s*(\w+)", re.MULTILINE)
_PEER = re.compile(r"^-\s*([^:]+):\s*(.+?)(?:\s*\(confidence ([0-9.]+)\))?\s*$")
_NUMBERED = re.compile(r"^(\d+)\.\s*(.+?)\s*$")


@dataclass
class Prompt:
    """What the simulator understood of a prompt."""

    task: str
    question: str
    plan: str | None = None
    focus: str | None = None
    peers: list[tuple[str, str, float | None]] = field(default_factory=list)
    candidate: str | None = None
    critique: str | None = None
    feedback: str | None = None
    options: list[str] = field(default_factory=list)
    tool_result: str | None = None


@dataclass
class Reply:
    """What the simulator decided to say."""

    fields: dict[str, Any]
    reasoning_tokens: int
    tool_call: dict[str, Any] | None = None
    style: str = "json"  # "json", "prose" or "garbled"


def _sections(text: str) -> dict[str, str]:
    sections: dict[str, list[str]] = {"": []}
    current = ""
    for line in text.splitlines():
        if line.startswith("## "):
            current = line[3:].strip().lower()
            sections[current] = []
        else:
            sections[current].append(line)
    return {key: "\n".join(lines).strip() for key, lines in sections.items()}


def read_prompt(human: str, tool_result: str | None = None) -> Prompt:
    """Parse the last user message of a role prompt."""
    match = _TASK_LINE.search(human)
    task = _TASKS.get(match.group(1).lower(), "solve") if match else "solve"
    sections = _sections(human)
    question = sections.get("question") or sections[""]
    prompt = Prompt(task=task, question=question.strip(), tool_result=tool_result)
    prompt.plan = sections.get("plan") or None
    prompt.focus = sections.get("your sub-task") or None
    prompt.candidate = sections.get("candidate answer") or None
    prompt.critique = sections.get("critique") or None
    prompt.feedback = sections.get("feedback on the previous attempt") or None
    for key in ("answers from other agents", "workers' answers"):
        for line in sections.get(key, "").splitlines():
            peer = _PEER.match(line.strip())
            if peer:
                conf = float(peer.group(3)) if peer.group(3) else None
                prompt.peers.append((peer.group(1).strip(), peer.group(2).strip(), conf))
    for line in sections.get("candidates", "").splitlines():
        numbered = _NUMBERED.match(line.strip())
        if numbered:
            prompt.options.append(numbered.group(2))
    return prompt


# --- randomness ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _read_problem(question: str) -> Problem | None:
    return read_problem(question)


def _seed(*parts: object) -> int:
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


@functools.lru_cache(maxsize=65536)
def _gauss(*parts: object) -> float:
    # Shared latents are drawn again by every call on the same task: memoise them.
    return random.Random(_seed(*parts)).gauss(0.0, 1.0)


def _phi(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


class _Mind:
    """One call's view of a task: the truth, and seeded draws for every decision."""

    def __init__(
        self, profile: SimProfile, problem: Problem | None, question: str, key: str
    ) -> None:
        self.profile = profile
        self.problem = problem
        self.question = question
        # The task's identity for every shared draw. Keyed on the parsed problem, not the
        # prompt's question section: each role's template lays that section out differently
        # (the solver's swallows its reply instructions), and a model family must err on the
        # same tasks, the same way, whichever role it plays.
        self.task = repr(problem) if problem else " ".join(question.split())
        self.rng = random.Random(_seed("call", key))
        self.truth = str(problem.answer) if problem else None
        self.difficulty = problem.difficulty if problem else 3

    def latent(self, skill: str) -> float:
        """A uniform draw correlated with the family's and every model's draws on this task."""
        p = self.profile
        shared_task = _gauss("task", self.task, skill)
        shared_family = _gauss("family", p.family, self.task, skill)
        private = self.rng.gauss(0.0, 1.0)
        z = (
            math.sqrt(p.task_correlation) * shared_task
            + math.sqrt(p.family_correlation) * shared_family
            + math.sqrt(1.0 - p.task_correlation - p.family_correlation) * private
        )
        return _phi(z)

    def family_mistake(self, family: str | None = None) -> Problem | None:
        """The wrong working this family typically produces on this task."""
        if self.problem is None:
            return None
        rng = random.Random(_seed("mistake", family or self.profile.family, self.task))
        return _mistake(self.problem, rng, "reasoning")

    def wrong(self, kind: str) -> Problem | None:
        """A wrong working: the family's typical one, or one of this call's own."""
        if self.problem is None:
            return None
        if kind == "reasoning" and self.rng.random() < self.profile.family_mistake_share:
            return self.family_mistake()
        return _mistake(self.problem, self.rng, kind)

    def is_true(self, answer: str | None) -> bool:
        return self.truth is not None and normalize_answer(answer) == self.truth

    def confidence(self, right: bool) -> float:
        gap = self.profile.calibration
        mean = 0.72 + 0.2 * gap if right else 0.72 - 0.3 * gap
        # Poorly calibrated models are also noisier: their stated confidence tells a
        # right answer from a wrong one only weakly (verbalised confidence of small models).
        spread = 0.06 + 0.14 * (1.0 - gap)
        return round(min(0.99, max(0.05, self.rng.gauss(mean, spread))), 2)

    def tokens(self, per_step: int, extra: int = 0) -> int:
        base = per_step * self.difficulty + extra
        return max(1, int(base * self.profile.verbosity * self.rng.uniform(0.8, 1.2)))


def _mistake(problem: Problem, rng: random.Random, kind: str) -> Problem:
    steps = list(problem.steps)
    truth = problem.answer
    if steps:
        j = rng.randrange(len(steps))
        step = steps[j]
        if kind == "reasoning":
            if rng.random() < 0.5 and len(steps) > 1:
                del steps[j]
            else:
                swapped = {"add": "sub", "sub": "add", "mul": "add", "div": "mul"}[step.kind]
                steps[j] = Step(swapped, step.amount)  # type: ignore[arg-type]
        else:
            slip = rng.choice([-10, -2, -1, 1, 2, 10])
            steps[j] = Step(step.kind, max(1, step.amount + slip))
    candidate = Problem(problem.start, tuple(steps))
    if candidate.answer == truth:
        candidate = Problem(problem.start + rng.choice([1, 2, 3]), tuple(steps))
    return candidate


def _expression(problem: Problem) -> str:
    text = str(problem.start)
    symbols = {"add": "+", "sub": "-", "mul": "*", "div": "//"}
    for step in problem.steps:
        text = f"({text} {symbols[step.kind]} {step.amount})"
    return text


# --- roles --------------------------------------------------------------------------------


def _solve(mind: _Mind, prompt: Prompt, calculator: bool) -> tuple[str | None, float]:
    p = mind.profile
    if mind.problem is None:
        return str(mind.rng.randint(1, 100)), 0.1
    d = mind.difficulty
    reasoning = p.reasoning
    arithmetic = 1.0 - (1.0 - p.arithmetic) * 0.05 if calculator else p.arithmetic
    plan = read_plan(prompt.plan) if prompt.plan else None
    if plan is not None and d > 1:
        if str(plan.answer) == mind.truth:
            reasoning = 1.0 - (1.0 - reasoning) * (1.0 - p.plan_gain)
        elif mind.rng.random() < p.plan_trust:
            return str(plan.answer), mind.confidence(False)
    p_reason, p_arith = reasoning**d, arithmetic**d
    if mind.latent("reason") < p_reason * p_arith:
        answer = mind.truth
    else:
        miss_reason, miss_arith = 1.0 - p_reason, 1.0 - p_arith
        kind = (
            "reasoning"
            if mind.rng.random() * (miss_reason + miss_arith) < miss_reason
            else "arithmetic"
        )
        wrong = mind.wrong(kind)
        answer = str(wrong.answer) if wrong else None
    right = mind.is_true(answer)
    confidence = mind.confidence(right)
    if prompt.peers:
        answer = _debate(mind, prompt, answer, confidence)
        right = mind.is_true(answer)
        confidence = mind.confidence(right)
    return answer, confidence


def _debate(mind: _Mind, prompt: Prompt, own: str | None, own_conf: float) -> str | None:
    """Update an answer after seeing peers': recognise a right one, or follow the weight."""
    p = mind.profile
    shown = any(conf is not None for _, _, conf in prompt.peers)
    answers = [answer for _, answer, _ in prompt.peers]
    recognises = mind.rng.random() < p.insight * 0.97 ** (mind.difficulty - 1)
    if not mind.is_true(own) and any(mind.is_true(a) for a in answers) and recognises:
        return mind.truth
    ballots = [(own, own_conf if shown else 1.0)]
    ballots += [
        (answer, (conf if conf is not None else 0.5) if shown else 1.0)
        for _, answer, conf in prompt.peers
    ]
    top, _, tally = plurality(ballots)
    own_key, top_key = normalize_answer(own), normalize_answer(top)
    stronger = top_key != own_key and tally.get(top_key, 0.0) > tally.get(own_key, 0.0)
    if stronger and mind.rng.random() < p.persuadability:
        return top
    return own


def _plan(mind: _Mind, prompt: Prompt) -> list[str]:
    p = mind.profile
    if mind.problem is None:
        return ["Read the question carefully.", "Compute the result."]
    if mind.latent("reason") < p.reasoning**mind.difficulty:
        chosen = mind.problem
    else:
        chosen = mind.wrong("reasoning") or mind.problem
    steps = plan_steps(chosen.start, chosen.steps)
    if prompt.feedback:
        # A plan rewritten after feedback is never the same text: it says what to watch,
        # so the agents that follow it work the problem afresh instead of repeating a slip.
        steps.append("Re-check every step before answering; the last answer was rejected.")
    return steps


def _verify(mind: _Mind, prompt: Prompt) -> tuple[str, str]:
    p = mind.profile
    right = mind.is_true(prompt.candidate)
    if mind.truth is None:
        return "accept", ""
    if right:
        reject = mind.latent("judge") < p.verifier_fpr
    else:
        tpr = p.verifier_tpr * 0.98 ** (mind.difficulty - 1)
        typical = mind.family_mistake()
        if typical is not None and normalize_answer(prompt.candidate) == str(typical.answer):
            tpr *= 1.0 - p.blind_spot
        reject = mind.latent("judge") < tpr
    if not reject:
        return "accept", "No error found."
    # A rejection names a step whether or not the error is real: a verifier that is wrong
    # is wrong with conviction, so the wording gives the rectifier no hint. It also states
    # the result it recomputed, so its feedback is only as good as its own skill.
    step = mind.rng.randint(1, max(1, mind.difficulty))
    critique = f"Step {step} is wrong: {prompt.candidate} does not follow from the question."
    own = _recompute(mind, candidate_right=right)
    if own is not None and normalize_answer(own) != normalize_answer(prompt.candidate):
        critique += f" I get {own}."
    return "reject", critique


def _recompute(mind: _Mind, *, candidate_right: bool) -> str | None:
    """The result a rejecting verifier worked out itself (never the candidate it rejected)."""
    p = mind.profile
    skill = (p.reasoning * p.arithmetic) ** mind.difficulty
    if not candidate_right and mind.latent("reason") < skill:
        return mind.truth
    wrong = mind.wrong("reasoning")
    return str(wrong.answer) if wrong else None


_SUGGESTED = re.compile(r"\bI get (-?\d[\d,]*(?:\.\d+)?)")


def _revise(mind: _Mind, prompt: Prompt) -> tuple[str | None, float]:
    p = mind.profile
    candidate = prompt.candidate
    if mind.truth is None:
        return candidate, 0.3
    specific = bool(prompt.critique and re.search(r"\bStep \d+", prompt.critique))
    found = _SUGGESTED.search(prompt.critique or "")
    suggested = found.group(1) if found else None
    if mind.is_true(candidate):
        # Sycophancy: a critique that names an error is believed more than a vague one,
        # and a critic's own (wrong) result is taken over as the fix.
        if mind.rng.random() < p.break_rate * (1.0 if specific else 0.5):
            wrong = mind.wrong("reasoning")
            candidate = suggested or (str(wrong.answer) if wrong else candidate)
    elif suggested is not None and mind.rng.random() < (
        p.fix_rate if mind.is_true(suggested) else p.break_rate
    ):
        # Feedback that carries a result is taken up as often as a right fix is found, or
        # a misleading one believed; either way the critique, not its own skill, decides.
        candidate = suggested
    elif mind.latent("reason") < p.fix_rate * (1.0 if specific else 0.6):
        candidate = mind.truth
    elif mind.rng.random() < 0.5:
        wrong = mind.wrong("arithmetic")
        candidate = str(wrong.answer) if wrong else candidate
    return candidate, mind.confidence(mind.is_true(candidate))


def _choose(mind: _Mind, prompt: Prompt) -> tuple[int, str]:
    p = mind.profile
    options = prompt.options
    if not options:
        return 1, "No candidates were given."
    right = [i for i, answer in enumerate(options, 1) if mind.is_true(answer)]
    popular, _, _ = plurality((answer, 1.0) for answer in options)
    most = next(
        i for i, a in enumerate(options, 1) if normalize_answer(a) == normalize_answer(popular)
    )
    if right and mind.latent("judge") < p.judge_accuracy * 0.98 ** (mind.difficulty - 1):
        return right[0], "It matches my own working."
    wrong = [i for i in range(1, len(options) + 1) if i not in right] or [most]
    pick = most if most in wrong and mind.rng.random() < 0.6 else mind.rng.choice(wrong)
    return pick, "It looks the most consistent."


def _combine(mind: _Mind, prompt: Prompt) -> tuple[str | None, float]:
    p = mind.profile
    if not prompt.peers:
        return _solve(mind, prompt, calculator=False)
    answers = [answer for _, answer, _ in prompt.peers]
    shown = any(conf is not None for _, _, conf in prompt.peers)
    top, _, _ = plurality(
        (answer, (conf if conf is not None else 0.5) if shown else 1.0)
        for _, answer, conf in prompt.peers
    )
    answer = top
    missed = not mind.is_true(top) and any(mind.is_true(a) for a in answers)
    if missed and mind.latent("judge") < max(p.insight, 0.8 * p.judge_accuracy):
        answer = mind.truth
    return answer, mind.confidence(mind.is_true(answer))


def respond(
    profile: SimProfile,
    prompt: Prompt,
    *,
    call_key: str,
    calculator: str | None = None,
) -> Reply:
    """Decide the reply of ``profile`` to ``prompt``.

    Args:
        profile: The simulated model.
        prompt: The parsed prompt.
        call_key: Identifies this call's private randomness.
        calculator: Name of a bound calculator tool the model may call.
    """
    problem = _read_problem(prompt.question)
    mind = _Mind(profile, problem, prompt.question, call_key)
    style = "json"
    roll = mind.rng.random()
    if roll < profile.garble_rate:
        style = "garbled"
    elif roll < profile.garble_rate + profile.format_error_rate:
        style = "prose"

    if prompt.task == "plan":
        return Reply({"steps": _plan(mind, prompt)}, mind.tokens(25), style=style)
    if prompt.task == "verify":
        verdict, critique = _verify(mind, prompt)
        return Reply({"verdict": verdict, "critique": critique}, mind.tokens(30), style=style)
    if prompt.task == "revise":
        answer, conf = _revise(mind, prompt)
        return Reply({"answer": answer, "confidence": conf}, mind.tokens(30), style=style)
    if prompt.task == "choose":
        choice, reason = _choose(mind, prompt)
        extra = 20 * len(prompt.options)
        return Reply({"choice": choice, "reason": reason}, mind.tokens(20, extra), style=style)
    if prompt.task == "combine":
        answer, conf = _combine(mind, prompt)
        extra = 20 * len(prompt.peers)
        return Reply({"answer": answer, "confidence": conf}, mind.tokens(20, extra), style=style)

    if prompt.tool_result is not None:
        answer = prompt.tool_result.strip()
        return Reply(
            {"answer": answer, "confidence": mind.confidence(mind.is_true(answer))},
            mind.tokens(5),
            style=style,
        )
    if calculator and problem is not None:
        answer, _ = _solve(mind, prompt, calculator=True)
        working: Problem = problem
        if answer is not None and not mind.is_true(answer):
            working = _closest_working(mind, answer) or problem
        call = {"name": calculator, "args": {"expression": _expression(working)}}
        return Reply({}, mind.tokens(15), tool_call=call)
    answer, conf = _solve(mind, prompt, calculator=False)
    return Reply({"answer": answer, "confidence": conf}, mind.tokens(35), style=style)


def _closest_working(mind: _Mind, answer: str) -> Problem | None:
    """A working that evaluates to ``answer``, so the tool call matches the decision."""
    for candidate in (mind.family_mistake(),):
        if candidate is not None and str(candidate.answer) == normalize_answer(answer):
            return candidate
    if mind.problem is None:
        return None
    try:
        target = int(normalize_answer(answer))
    except ValueError:
        return None
    offset = target - mind.problem.answer
    fix = Step("add", offset) if offset >= 0 else Step("sub", -offset)
    return Problem(mind.problem.start, (*mind.problem.steps, fix))
