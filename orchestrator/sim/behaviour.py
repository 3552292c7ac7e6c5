"""How a simulated model answers each role prompt.

The simulator reads only the prompt text (:mod:`orchestrator.sim.reading`),
works out the true answer by parsing the question, and then decides, with
seeded randomness, what this model says.

* **Whether it is right** follows a Gaussian copula: a call is right when
  ``Phi(z) < p``, with ``p`` from the profile's per-step skills and the task's
  number of steps, and ``z`` a mix of latents shared by every model on the
  task, by the model's family, by every call of the model, by calls with the
  same prompt, and one private to the sample whose share grows with the
  temperature (none at temperature 0). Models of one family therefore fail
  together; samples of one model even more so, which is what makes a
  same-model vote saturate.
* **Which wrong answer** it gives is drawn the same way from the task's
  ranked list of tempting wrong workings (dropped or swapped steps), so
  failing models often agree on the wrong answer, within a family most.
* **Checking** is done the way models do it: a verifier, judge, rectifier or
  aggregator works the problem itself (with the same shared latents) and
  compares. A model checking its own family's work shares its blind spots.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import math
import random
import re
from dataclasses import dataclass
from typing import Any

from orchestrator.answers import normalize_answer, plurality
from orchestrator.sim.profiles import SimProfile, get_family
from orchestrator.sim.reading import Prompt
from orchestrator.sim.tasks import Problem, Step, plan_steps, read_plan, read_problem

__all__ = ["Reply", "respond"]


@dataclass
class Reply:
    """What the simulator decided to say."""

    fields: dict[str, Any]
    reasoning_tokens: int
    tool_call: dict[str, Any] | None = None
    style: str = "json"  # "json", "prose" or "garbled"


# --- randomness ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _read_problem(question: str) -> Problem | None:
    return read_problem(question)


def _seed(*parts: object) -> int:
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _gauss(*parts: object) -> float:
    return random.Random(_seed(*parts)).gauss(0.0, 1.0)


@functools.lru_cache(maxsize=65536)
def _shared_gauss(*parts: object) -> float:
    # Latents shared across calls are drawn again by every call on a task: memoise them.
    return _gauss(*parts)


def _phi(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def _ranked(rng: random.Random, found: list[int]) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Shuffle candidate answers and give them Dirichlet weights, largest first (cumulative)."""
    rng.shuffle(found)
    weights = sorted((rng.gammavariate(0.3, 1.0) + 1e-9 for _ in found), reverse=True)
    total = sum(weights)
    cumulative, running = [], 0.0
    for weight in weights:
        running += weight / total
        cumulative.append(running)
    cumulative[-1] = 1.0
    return tuple(found), tuple(cumulative)


_SWAPS: dict[str, str] = {"add": "sub", "sub": "add", "mul": "add", "div": "mul"}


def _plausible(answer: int, truth: int) -> bool:
    # Nobody answers "how many" with a negative count: a working that goes below zero is
    # noticed and redone. (Bare expressions with a negative result keep negative slips.)
    return answer >= 0 or truth < 0


@functools.lru_cache(maxsize=4096)
def _mistakes(problem: Problem) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """The task's tempting misreadings, most tempting first, with cumulative weights.

    Each wrong working drops a step or swaps its operation. How tempting each
    is differs from task to task (a Dirichlet draw), as misreadings do.
    """
    steps = list(problem.steps)
    truth = problem.answer
    found: list[int] = []
    for j, step in enumerate(steps):
        swapped = Step(_SWAPS[step.kind], step.amount)  # type: ignore[arg-type]
        variants = [[*steps[:j], swapped, *steps[j + 1 :]]]
        if len(steps) > 1:
            variants.append(steps[:j] + steps[j + 1 :])
        for variant in variants:
            answer = Problem(problem.start, tuple(variant)).answer
            if answer != truth and answer not in found and _plausible(answer, truth):
                found.append(answer)
    for k in (1, 2, 3):
        if len(found) >= 2:
            break
        if truth + k not in found:
            found.append(truth + k)
    return _ranked(random.Random(_seed("mistakes", repr(problem))), found)


@functools.lru_cache(maxsize=4096)
def _slips(problem: Problem) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """The task's likely calculation slips (one step a little off), most likely first."""
    steps = list(problem.steps)
    truth = problem.answer
    found: list[int] = []
    for j, step in enumerate(steps):
        for delta in (-10, -2, -1, 1, 2, 10):
            slipped = Step(step.kind, max(1, step.amount + delta))
            answer = Problem(problem.start, (*steps[:j], slipped, *steps[j + 1 :])).answer
            if answer != truth and answer not in found and _plausible(answer, truth):
                found.append(answer)
    for k in (1, 2, 3):
        if len(found) >= 2:
            break
        if truth + k not in found:
            found.append(truth + k)
    return _ranked(random.Random(_seed("slips", repr(problem))), found)


_FOCUS = re.compile(r"\bpart\s+([\d.]+)\s+of\s+(\d+)\b", re.IGNORECASE)


def _focused_steps(focus: str | None, steps: int) -> int:
    """How many of the task's steps a "part i of n" sub-task covers (0 for other text)."""
    if not focus or steps <= 0:
        return 0
    found = _FOCUS.search(focus)
    if found is None:
        return 0
    count = int(found.group(2))
    labels = [int(x) for x in found.group(1).split(".") if x.isdigit()]
    if count <= 0 or not labels:
        return 0
    breadth = max(1, round(count ** (1.0 / len(labels))))
    index = 0
    for label in labels:
        index = index * breadth + (label - 1)
    index = min(max(index, 0), count - 1)
    return math.floor((index + 1) * steps / count) - math.floor(index * steps / count)


def _diversity(temperature: float) -> float:
    """How much of the sampling noise a temperature lets through (0 at 0, 1 at 1).

    Concave below 1: the usual sampling temperatures (0.5 to 1) already give
    most of the diversity self-consistency needs.
    """
    if temperature <= 0.0:
        return 0.0
    return math.sqrt(temperature) if temperature <= 1.0 else temperature


class _Mind:
    """One call's view of a task: the truth, and seeded draws for every decision."""

    def __init__(
        self,
        profile: SimProfile,
        problem: Problem | None,
        question: str,
        *,
        prompt_key: str,
        sample_key: str,
        temperature: float,
    ) -> None:
        self.profile = profile
        self.family = get_family(profile.family)
        self.problem = problem
        # The task's identity for every shared draw. Keyed on the parsed problem, not the
        # prompt's question section: each role's template lays that section out differently,
        # and a model must err on the same tasks, the same way, whichever role it plays.
        self.task = repr(problem) if problem else " ".join(question.split())
        self.prompt_key = prompt_key
        self.sample_key = sample_key
        self.temperature = max(0.0, temperature)
        self.rng = random.Random(_seed("call", profile.name, sample_key, prompt_key))
        self.truth = str(problem.answer) if problem else None
        self.difficulty = problem.difficulty if problem else 3

    # -- latents

    def _mix(self, shared: list[tuple[float, float]], private: str, private_share: float) -> float:
        p = self.profile
        parts = [
            *shared,
            (p.prompt_sensitivity, _gauss("prompt", p.name, self.prompt_key, private)),
        ]
        sampling = private_share * _diversity(self.temperature)
        if sampling > 0.0:
            parts.append(
                (sampling, _gauss("sample", p.name, self.sample_key, self.prompt_key, private))
            )
        total = sum(weight for weight, _ in parts)
        if total <= 0.0:
            return 0.5
        z = sum(math.sqrt(weight) * value for weight, value in parts) / math.sqrt(total)
        return _phi(z)

    def latent(self, skill: str) -> float:
        """A uniform draw correlated with other calls on this task, as the profile says."""
        p = self.profile
        shared = [
            (p.task_correlation, _shared_gauss("task", self.task, skill)),
            (p.error_correlation, _shared_gauss("family", p.family, self.task, skill)),
            (p.model_correlation, _shared_gauss("model", p.name, self.task, skill)),
        ]
        return self._mix(shared, skill, p.sampling_share)

    def _tempting(self, skill: str) -> float:
        """A uniform draw shared the way wrong answers are: by the task, family and model."""
        p = self.profile
        shared = [
            (p.common_mistakes, _shared_gauss("mistake", self.task, skill)),
            (
                self.family.mistake_correlation,
                _shared_gauss("mistake", p.family, self.task, skill),
            ),
            (p.model_correlation, _shared_gauss("mistake", p.name, self.task, skill)),
        ]
        rest = 1.0 - sum(weight for weight, _ in shared) - p.prompt_sensitivity
        return self._mix(shared, skill, max(rest, 0.05))

    def _pick(self, ranked: tuple[tuple[int, ...], tuple[float, ...]], skill: str) -> str:
        answers, cumulative = ranked
        u = self._tempting(skill)
        return str(answers[min(bisect.bisect_left(cumulative, u), len(answers) - 1)])

    def mistake(self) -> str | None:
        """A tempting wrong answer, drawn so that failing models often agree on it."""
        return None if self.problem is None else self._pick(_mistakes(self.problem), "mistake")

    def slip(self) -> str | None:
        """A calculation slip: one step a little off; common slips are shared too."""
        return None if self.problem is None else self._pick(_slips(self.problem), "slip")

    # -- helpers

    def is_true(self, answer: str | None) -> bool:
        return self.truth is not None and normalize_answer(answer) == self.truth

    def confidence(self, right: bool) -> float:
        """A stated confidence: overconfident, and only weakly higher when right.

        Verbalised confidence separates right from wrong answers poorly (Xiong et
        al., 2024); ``calibration`` sets how far apart the two are, in standard
        deviations (1.2 x calibration), around an overconfident 0.8.
        """
        sd = 0.08
        mean = 0.8 + (1.2 * self.profile.calibration * sd if right else 0.0)
        return round(min(0.99, max(0.05, self.rng.gauss(mean, sd))), 2)

    def tokens(self, per_step: int, extra: int = 0) -> int:
        base = per_step * self.difficulty + extra
        return max(1, int(base * self.profile.verbosity * self.rng.uniform(0.8, 1.2)))

    def work(
        self,
        *,
        plan: str | None = None,
        focus: str | None = None,
        calculator: bool = False,
    ) -> str | None:
        """Work the problem out: the answer this model reaches on its own."""
        p = self.profile
        if self.problem is None:
            return str(self.rng.randint(1, 100))
        d = self.difficulty
        miss_reason, miss_arith = 1.0 - p.reasoning, 1.0 - p.arithmetic
        if calculator:
            miss_arith *= 0.05
        if self.temperature > 1.0:
            miss_arith = min(1.0, miss_arith + p.hot_slip * (self.temperature - 1.0))
        followed = read_plan(plan) if plan else None
        if followed is not None and d > 1:
            if str(followed.answer) == self.truth:
                miss_reason *= 1.0 - p.plan_gain
            elif self.rng.random() < p.plan_trust:
                return str(followed.answer)
        focused = _focused_steps(focus, d)
        keep = 1.0 - p.focus_gain
        p_reason = (1.0 - miss_reason) ** (d - focused) * (1.0 - miss_reason * keep) ** focused
        p_arith = (1.0 - miss_arith) ** (d - focused) * (1.0 - miss_arith * keep) ** focused
        if self.latent("reason") < p_reason * p_arith:
            return self.truth
        fail_reason, fail_arith = 1.0 - p_reason, 1.0 - p_arith
        # Whether the error is a misreading or a slip depends on the task as much as on the
        # model: a task with a tempting misreading trips every model the same way.
        if self._tempting("kind") * (fail_reason + fail_arith) < fail_reason:
            return self.mistake()
        return self.slip()


def _expression(problem: Problem) -> str:
    text = str(problem.start)
    symbols = {"add": "+", "sub": "-", "mul": "*", "div": "//"}
    for step in problem.steps:
        text = f"({text} {symbols[step.kind]} {step.amount})"
    return text


def _same(left: str | None, right: str | None) -> bool:
    return left is not None and normalize_answer(left) == normalize_answer(right)


# --- roles --------------------------------------------------------------------------------


def _solve(mind: _Mind, prompt: Prompt, calculator: bool) -> tuple[str | None, float]:
    answer = mind.work(plan=prompt.plan, focus=prompt.focus, calculator=calculator)
    if prompt.peers:
        answer = _debate(mind, prompt, answer)
    return answer, mind.confidence(mind.is_true(answer))


def _debate(mind: _Mind, prompt: Prompt, own: str | None) -> str | None:
    """Update an answer after reading peers': conform to them, or recognise a right one.

    Conforming re-draws the answer from the answers shown (weighted by stated
    confidence when shown): on average it keeps correctness where it was, as
    debate does ("Debate or Vote", Choi et al., 2025). Recognising a right
    peer answer its own working missed is the model's ``insight``.
    """
    p = mind.profile
    shown = any(conf is not None for _, _, conf in prompt.peers)
    ballots: list[tuple[str | None, float]] = [(own, 1.0)]
    ballots += [
        (answer, (conf if conf is not None else 0.5) if shown else 1.0)
        for _, answer, conf in prompt.peers
    ]
    if mind.rng.random() < p.persuadability:
        total = sum(weight for _, weight in ballots)
        pick = mind.rng.random() * total
        for answer, weight in ballots:
            pick -= weight
            if pick <= 0:
                return answer
        return ballots[-1][0]
    answers = [answer for _, answer, _ in prompt.peers]
    recognises = mind.rng.random() < p.insight * 0.97 ** (mind.difficulty - 1)
    if not mind.is_true(own) and any(mind.is_true(a) for a in answers) and recognises:
        return mind.truth
    return own


def _plan(mind: _Mind, prompt: Prompt) -> list[str]:
    p = mind.profile
    if mind.problem is None:
        return ["Read the question carefully.", "Compute the result."]
    chosen = mind.problem
    if mind.latent("reason") >= p.reasoning**mind.difficulty:
        wrong = _working_for(mind, mind.mistake())
        chosen = wrong or mind.problem
    steps = plan_steps(chosen.start, chosen.steps)
    if prompt.feedback:
        # A plan rewritten after feedback is never the same text: it says what to watch,
        # so the agents that follow it work the problem afresh instead of repeating a slip.
        steps.append("Re-check every step before answering; the last answer was rejected.")
    return steps


def _working_for(mind: _Mind, answer: str | None) -> Problem | None:
    """A working (dropped or swapped step) that yields ``answer``, if one does."""
    if mind.problem is None or answer is None:
        return None
    steps = list(mind.problem.steps)
    for j, step in enumerate(steps):
        swapped = Step(_SWAPS[step.kind], step.amount)  # type: ignore[arg-type]
        for variant in ([*steps[:j], swapped, *steps[j + 1 :]], steps[:j] + steps[j + 1 :]):
            candidate = Problem(mind.problem.start, tuple(variant))
            if str(candidate.answer) == answer:
                return candidate
    return _closest_working(mind, answer)


def _verify(mind: _Mind, prompt: Prompt) -> tuple[str, str]:
    """Recompute, compare, and reject when the two disagree (or, rarely, when they agree)."""
    p = mind.profile
    if mind.truth is None:
        return "accept", ""
    own = mind.work()
    agree = _same(own, prompt.candidate)
    reject = mind.rng.random() < (p.verifier_fpr if agree else p.verifier_tpr)
    if not reject:
        return "accept", "No error found."
    # A rejection names a step whether or not the error is real: a verifier that is wrong
    # is wrong with conviction. When it disagrees it states the result it got, so its
    # feedback is only as good as its own working.
    step = mind.rng.randint(1, max(1, mind.difficulty))
    critique = f"Step {step} is wrong: {prompt.candidate} does not follow from the question."
    if not agree and own is not None:
        critique += f" I get {own}."
    return "reject", critique


_SUGGESTED = re.compile(r"\bI get (-?\d[\d,]*(?:\.\d+)?)")


def _revise(mind: _Mind, prompt: Prompt) -> tuple[str | None, float]:
    p = mind.profile
    candidate = prompt.candidate
    if mind.truth is None:
        return candidate, 0.3
    specific = bool(prompt.critique and re.search(r"\bStep \d+", prompt.critique))
    weight = 1.0 if specific else 0.6
    found = _SUGGESTED.search(prompt.critique or "")
    suggested = found.group(1) if found else None
    if suggested is not None and _same(suggested, candidate):
        suggested = None
    own = mind.work()
    if suggested is not None:
        # Feedback that carries a result is taken up as often as a right fix is found, or
        # a misleading one believed (sycophancy): the critique, more than its own skill,
        # decides.
        take = p.fix_rate if mind.is_true(suggested) else p.break_rate
        if _same(own, suggested):
            take = max(take, p.fix_rate)
        if mind.rng.random() < take:
            candidate = suggested
    elif not _same(own, candidate):
        # Its own working disagrees with the candidate: rewrite it with its own result, right
        # (a fix) or wrong (a break), as readily as the critique is specific.
        take = p.fix_rate if mind.is_true(own) else p.break_rate
        if mind.rng.random() < take * weight:
            candidate = own
    elif mind.rng.random() < 0.5 * p.break_rate * weight:
        # It agrees with the candidate yet is told it is wrong: sometimes it changes it anyway.
        candidate = mind.mistake() if mind.is_true(candidate) else candidate
    return candidate, mind.confidence(mind.is_true(candidate))


def _plausibility(mind: _Mind, answer: str) -> float:
    # A judge's stable sense of which of two answers looks better when it cannot tell:
    # the same whichever order they are shown in.
    return _gauss("plausible", mind.profile.family, mind.task, normalize_answer(answer))


def _choose(mind: _Mind, prompt: Prompt) -> tuple[int, str]:
    """Pick a candidate: the one its own working agrees with, else by position or looks.

    Position bias applies only when its own working settles nothing, which is
    why it is strong between two answers of similar quality and weak when one
    is plainly right (Zheng et al., 2023; Shi et al., 2024).
    """
    p = mind.profile
    options = prompt.options
    if not options:
        return 1, "No candidates were given."
    own = mind.work()
    matching = [i for i, answer in enumerate(options, 1) if _same(own, answer)]
    right = [i for i, answer in enumerate(options, 1) if mind.is_true(answer)]
    if matching and mind.rng.random() < p.judge_accuracy:
        return matching[0], "It matches my own working."
    recognition = p.insight * 0.97 ** (mind.difficulty - 1)
    if right and not matching and mind.rng.random() < recognition:
        return right[0], "On checking, its steps hold."
    if mind.rng.random() < p.position_bias:
        return 1, "It is the most convincing."
    # Otherwise it goes by looks, the same in either order: an answer repeated among the
    # candidates, then the wrong answer it would give itself (self-preference: what its
    # own family tends to say looks right to it), then a stable impression.
    tempting = mind.mistake()
    counts = [sum(_same(a, b) for b in options) for a in options]
    best = max(
        range(len(options)),
        key=lambda i: (counts[i], _same(tempting, options[i]), _plausibility(mind, options[i])),
    )
    return best + 1, "It looks the most consistent."


def _combine(mind: _Mind, prompt: Prompt) -> tuple[str | None, float]:
    """Combine workers' answers: its own working if a worker agrees, else the plurality.

    Like Universal Self-Consistency, the aggregator lands on a clear majority
    and so matches a vote. Without one, it goes by its own working when a
    worker agrees with it, which helps when it is right and hurts when it is
    not (it can abandon a right plurality).
    """
    p = mind.profile
    if not prompt.peers:
        return _solve(mind, prompt, calculator=False)
    answers = [answer for _, answer, _ in prompt.peers]
    # It counts answers (the most consistent one, as in Universal Self-Consistency);
    # stated confidences only break ties.
    _, _, counts = plurality((answer, 1.0) for answer in answers)
    _, _, weights = plurality((answer, conf or 0.0) for _, answer, conf in prompt.peers)
    if not counts:
        return None, mind.confidence(False)
    best = max(counts, key=lambda key: (counts[key], weights.get(key, 0.0)))
    top = next(a for a in answers if normalize_answer(a) == best)
    share = counts[best] / sum(counts.values())
    if share > 0.5 and len(answers) > 2:
        return top, mind.confidence(mind.is_true(top))  # a clear majority stands
    own = mind.work(plan=prompt.plan)
    answer: str | None = top
    # The weaker the plurality, the more it checks the work itself.
    checks = p.judge_accuracy * (1.0 - share if len(answers) > 2 else 1.0)
    if any(_same(own, a) for a in answers) and mind.rng.random() < checks:
        answer = next(a for a in answers if _same(own, a))
    elif (
        not mind.is_true(top)
        and any(mind.is_true(a) for a in answers)
        and mind.rng.random() < p.insight * 0.97 ** (mind.difficulty - 1)
    ):
        answer = mind.truth
    return answer, mind.confidence(mind.is_true(answer))


def respond(
    profile: SimProfile,
    prompt: Prompt,
    *,
    prompt_key: str,
    sample_key: str = "",
    temperature: float = 0.0,
    calculator: str | None = None,
) -> Reply:
    """Decide the reply of ``profile`` to ``prompt``.

    Args:
        profile: The simulated model.
        prompt: The parsed prompt.
        prompt_key: Identifies the prompt's content (see :func:`content_key`).
        sample_key: Identifies the sample at a temperature above 0; ignored at 0.
        temperature: The sampling temperature.
        calculator: Name of a bound calculator tool the model may call.
    """
    problem = _read_problem(prompt.question)
    mind = _Mind(
        profile,
        problem,
        prompt.question,
        prompt_key=prompt_key,
        sample_key=sample_key if temperature > 0 else "",
        temperature=temperature,
    )
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
            working = _working_for(mind, normalize_answer(answer)) or problem
        call = {"name": calculator, "args": {"expression": _expression(working)}}
        return Reply({}, mind.tokens(15), tool_call=call)
    answer, conf = _solve(mind, prompt, calculator=False)
    return Reply({"answer": answer, "confidence": conf}, mind.tokens(35), style=style)


def _closest_working(mind: _Mind, answer: str) -> Problem | None:
    """A working that evaluates to ``answer``: the true one with a correction appended."""
    if mind.problem is None:
        return None
    try:
        target = int(normalize_answer(answer))
    except ValueError:
        return None
    offset = target - mind.problem.answer
    fix = Step("add", offset) if offset >= 0 else Step("sub", -offset)
    return Problem(mind.problem.start, (*mind.problem.steps, fix))
