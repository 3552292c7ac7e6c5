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
import dataclasses
import functools
import hashlib
import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

from orchestrator.answers import normalize_answer, plurality
from orchestrator.errors import RolegraphError
from orchestrator.sim.profiles import SimProfile, get_family
from orchestrator.sim.reading import Prompt
from orchestrator.sim.tasks import (
    SWAPS,
    Choices,
    Problem,
    Step,
    plan_steps,
    read_choices,
    read_plan,
    read_problem,
    read_program,
    run_steps,
    write_program,
    wrong_workings,
)

__all__ = ["Reply", "UnreadableTaskError", "respond"]


@dataclass
class Reply:
    """What the simulator decided to say."""

    fields: dict[str, Any]
    reasoning_tokens: int
    tool_call: dict[str, Any] | None = None
    style: str = "json"  # json, prose, wrapped (JSON in prose), missing (a field) or garbled


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


_NORMAL = NormalDist()


def _probit(p: float) -> float:
    return _NORMAL.inv_cdf(min(max(p, 1e-9), 1.0 - 1e-9))


RECHECK_FRESH = 0.3
"""Weight of the new noise in a second look at a task, next to the shared latents."""

HOT_FROM = 1.0
"""Temperature above which each step also slips more often (``hot_slip`` per unit)."""
"""Weight of the new noise in a second look at a task, next to the shared latents."""


class UnreadableTaskError(RolegraphError):
    """The simulator cannot read the question, so it cannot know what a model would say."""

    def __init__(self, question: str) -> None:
        short = " ".join(question.split())[:120]
        super().__init__(
            f"the simulated model cannot read this question: {short!r}. It reads the "
            "questions of orchestrator.sim's task generators (arithmetic_tasks, "
            "choice_tasks, code_tasks) and bare arithmetic such as 'What is (3 + 4) * 2?'; "
            "use a real model for other datasets"
        )


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


@functools.lru_cache(maxsize=4096)
def _mistakes(problem: Problem) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """The task's tempting misreadings, most tempting first, with cumulative weights.

    How tempting each is differs from task to task (a Dirichlet draw), as
    misreadings do.
    """
    found = wrong_workings(problem)
    return _ranked(random.Random(_seed("mistakes", repr(problem))), found)


@functools.lru_cache(maxsize=4096)
def _slips(problem: Problem) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """The task's likely calculation slips (one step a little off), most likely first."""
    found = wrong_workings(problem, slips=True)
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
        self.question = question
        self.truth = str(problem.answer) if problem else None
        self.difficulty = problem.difficulty if problem else 3
        self._own: str | None = None
        self._margin = 0.0

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

    def latent(self, skill: str, variant: str = "") -> float:
        """A uniform draw correlated with other calls on this task, as the profile says.

        A ``variant`` (a second look at the same task) shares the task's, family's and
        model's latents with the first look, but draws its prompt and sample parts
        afresh and adds ``RECHECK_FRESH`` of new noise: it has the same blind spots,
        mostly.
        """
        p = self.profile
        shared = [
            (p.task_correlation, _shared_gauss("task", self.task, skill)),
            (p.error_correlation, _shared_gauss("family", p.family, self.task, skill)),
            (p.model_correlation, _shared_gauss("model", p.name, self.task, skill)),
        ]
        if variant:
            shared.append((RECHECK_FRESH, _gauss("fresh", p.name, self.task, skill, variant)))
        return self._mix(shared, skill + variant, p.sampling_share)

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

    def mistake(self, variant: str = "") -> str | None:
        """A tempting wrong answer, drawn so that failing models often agree on it."""
        if self.problem is None:
            return None
        return self._pick(_mistakes(self.problem), "mistake" + variant)

    def slip(self, variant: str = "") -> str | None:
        """A calculation slip: one step a little off; common slips are shared too."""
        return None if self.problem is None else self._pick(_slips(self.problem), "slip" + variant)

    def canonical(self) -> str | None:
        """The task's canonical wrong answer: its most tempting misreading."""
        return None if self.problem is None else str(_mistakes(self.problem)[0][0])

    # -- helpers

    def confidence(self, answer: str | None) -> float:
        """A stated confidence: overconfident, and only weakly tied to how sure it is.

        It reads the model's own state, never the answer key: how far its own
        working's latent draw fell inside (or outside) its chance of success, and
        whether ``answer`` is what its own working gave. Verbalised confidence
        separates right from wrong answers poorly (Xiong et al., 2024);
        ``calibration`` scales how much that sureness moves it around 0.8.
        """
        sd = 0.08
        own = self._own if self._own is not None else self.work()
        sure = self._margin if _same(answer, own) else -1.0
        mean = 0.8 + 0.45 * self.profile.calibration * sd * math.tanh(sure)
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
        variant: str = "",
    ) -> str | None:
        """Work the problem out: the answer this model reaches on its own.

        ``variant`` names a second, independent-looking attempt (a re-check); the
        first attempt without one is what the model's stated confidence reads.
        """
        p = self.profile
        if self.problem is None:
            raise UnreadableTaskError(self.question)
        d = self.difficulty
        miss_reason, miss_arith = 1.0 - p.reasoning, 1.0 - p.arithmetic
        if calculator:
            miss_arith *= 0.05
        if self.temperature > HOT_FROM:
            miss_arith = min(1.0, miss_arith + p.hot_slip * (self.temperature - HOT_FROM))
        followed = read_plan(plan) if plan else None
        if followed is not None and d > 1:
            if str(followed.answer) == self.truth:
                miss_reason *= 1.0 - p.plan_gain
            elif self.rng.random() < p.plan_trust:
                if not variant and self._own is None:
                    self._own, self._margin = str(followed.answer), 0.0
                return str(followed.answer)
        focused = _focused_steps(focus, d)
        keep = 1.0 - p.focus_gain
        p_reason = (1.0 - miss_reason) ** (d - focused) * (1.0 - miss_reason * keep) ** focused
        p_arith = (1.0 - miss_arith) ** (d - focused) * (1.0 - miss_arith * keep) ** focused
        chance = p_reason * p_arith
        u = self.latent("reason", variant)
        answer = self._answer(u < chance, p_reason, p_arith, variant)
        if not variant and self._own is None:
            self._own = answer
            self._margin = _probit(chance) - _probit(u)
        return answer

    def _answer(self, right: bool, p_reason: float, p_arith: float, variant: str) -> str | None:
        if right:
            return self.truth
        # A failing call often lands on the task's canonical wrong answer, whatever the
        # model (Kim et al., 2025: models agree on 60% of their shared errors).
        if self._tempting("canonical" + variant) < self.profile.canonical_pull:
            return self.canonical()
        fail_reason, fail_arith = 1.0 - p_reason, 1.0 - p_arith
        # Whether the error is a misreading or a slip depends on the task as much as on the
        # model: a task with a tempting misreading trips every model the same way.
        if self._tempting("kind" + variant) * (fail_reason + fail_arith) < fail_reason:
            return self.mistake(variant)
        return self.slip(variant)

    def recheck(self, shown: Sequence[str | None]) -> str | None:
        """A second, careful look at the task: the shown answer it now agrees with, if any."""
        again = self.work(variant="recheck")
        return next((a for a in shown if _same(a, again)), None)


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
    return answer, mind.confidence(answer)


def _debate(mind: _Mind, prompt: Prompt, own: str | None) -> str | None:
    """Update an answer after reading peers': conform to them, or come round to one.

    Conforming re-draws the answer from the answers shown (weighted by stated
    confidence when shown): on average it keeps correctness where it was, as
    debate does ("Debate or Vote", Choi et al., 2025). With its ``insight`` it
    takes a second look and comes round to a peer's answer that the second look
    agrees with: right or wrong, for the second look shares its blind spots.
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
    others = [answer for _, answer, _ in prompt.peers if not _same(answer, own)]
    if others and mind.rng.random() < p.insight * 0.97 ** (mind.difficulty - 1):
        return mind.recheck(others) or own
    return own


def _plan(mind: _Mind, prompt: Prompt) -> list[str]:
    p = mind.profile
    assert mind.problem is not None
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
        swapped = Step(SWAPS[step.kind], step.amount)
        for variant in ([*steps[:j], swapped, *steps[j + 1 :]], steps[:j] + steps[j + 1 :]):
            candidate = Problem(mind.problem.start, tuple(variant))
            if str(candidate.answer) == answer:
                return candidate
    return _closest_working(mind, answer)


def _verify(mind: _Mind, prompt: Prompt) -> tuple[str, str]:
    """Recompute, compare, and reject when the two disagree (or, rarely, when they agree)."""
    p = mind.profile
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
    """Revise a rejected answer: take up a change its own checks back, or give way.

    It never knows which answer is right. A change that its own working or a
    second look agrees with is taken up with ``fix_rate``; one they do not back
    with ``break_rate`` (sycophancy). Whether that fixes or breaks the answer
    depends on whether its own working is right.
    """
    p = mind.profile
    candidate = prompt.candidate
    specific = bool(prompt.critique and re.search(r"\bStep \d+", prompt.critique))
    weight = 1.0 if specific else 0.6
    found = _SUGGESTED.search(prompt.critique or "")
    suggested = found.group(1) if found else None
    if suggested is not None and _same(suggested, candidate):
        suggested = None
    own = mind.work()
    if suggested is not None:
        # Feedback that carries a result: the critique, more than its own skill, decides.
        backed = _same(own, suggested) or mind.recheck([suggested]) is not None
        if mind.rng.random() < (p.fix_rate if backed else p.break_rate):
            candidate = suggested
    elif not _same(own, candidate):
        # Its own working disagrees with the candidate: rewrite it with its own result as
        # readily as a second look backs its working and the critique is specific.
        backed = mind.recheck([own]) is not None
        if mind.rng.random() < (p.fix_rate if backed else p.break_rate) * weight:
            candidate = own
    elif mind.rng.random() < 0.5 * p.break_rate * weight:
        # It agrees with the candidate yet is told it is wrong: sometimes it changes it anyway,
        # to the answer that tempts it most.
        candidate = mind.mistake()
    return candidate, mind.confidence(candidate)


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
    if matching and mind.rng.random() < p.judge_accuracy:
        return matching[0], "It matches my own working."
    recognition = p.insight * 0.97 ** (mind.difficulty - 1)
    if not matching and mind.rng.random() < recognition:
        again = mind.recheck(list(options))
        if again is not None:
            return next(i for i, a in enumerate(options, 1) if _same(a, again)), (
                "On checking, its steps hold."
            )
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
        return None, mind.confidence(None)
    best = max(counts, key=lambda key: (counts[key], weights.get(key, 0.0)))
    top = next(a for a in answers if normalize_answer(a) == best)
    share = counts[best] / sum(counts.values())
    if share > 0.5 and len(answers) > 2:
        return top, mind.confidence(top)  # a clear majority stands
    own = mind.work(plan=prompt.plan)
    answer: str | None = top
    # The weaker the plurality, the more it checks the work itself.
    checks = p.judge_accuracy * (1.0 - share if len(answers) > 2 else 1.0)
    others = [a for a in answers if not _same(a, top)]
    if any(_same(own, a) for a in answers) and mind.rng.random() < checks:
        answer = next(a for a in answers if _same(own, a))
    elif others and mind.rng.random() < p.insight * 0.97 ** (mind.difficulty - 1):
        answer = mind.recheck(others) or top
    return answer, mind.confidence(answer)


_GOT = re.compile(r"\bI get (\S+?)(?=[.\s]|$)")


class _Form:
    """How a task's answers are written: numbers, choice letters or programs.

    The models reason in numbers; a form reads other agents' letters or programs
    as the numbers they stand for, and writes the model's numbers back its way.
    """

    def __init__(self, question: str, problem: Problem) -> None:
        self.problem = problem
        self.choices: Choices | None = read_choices(question)[1]
        self.code = self.choices is None and "def " in question and '"""' in question

    @property
    def plain(self) -> bool:
        return self.choices is None and not self.code

    def read(self, text: str | None) -> str | None:
        if text is None:
            return None
        if self.choices is not None:
            return self.choices.value(text)
        steps = read_program(text)
        return text if steps is None else str(run_steps(self.problem.start, steps))

    def write(self, mind: _Mind, value: str | None) -> str | None:
        if value is None or self.plain:
            return value
        if self.choices is not None:
            return self.choices.letter(value)
        if value == mind.truth:
            return write_program(self.problem.steps)
        working = _working_for(mind, value)
        return write_program(working.steps if working else self.problem.steps)

    def inbound(self, prompt: Prompt) -> Prompt:
        if self.plain:
            return prompt
        return dataclasses.replace(
            prompt,
            peers=[(name, self.read(answer) or "", conf) for name, answer, conf in prompt.peers],
            candidate=self.read(prompt.candidate),
            options=[self.read(option) or "" for option in prompt.options],
            critique=_GOT.sub(lambda m: f"I get {self.read(m[1])}", prompt.critique)
            if prompt.critique and self.choices is not None
            else prompt.critique,
        )

    def outbound(self, mind: _Mind, reply: Reply) -> Reply:
        if self.plain:
            return reply
        fields = dict(reply.fields)
        if "answer" in fields:
            fields["answer"] = self.write(mind, fields["answer"])
        if self.choices is not None and fields.get("critique"):
            fields["critique"] = _GOT.sub(
                lambda m: f"I get {self.write(mind, m[1])}", fields["critique"]
            )
        return dataclasses.replace(reply, fields=fields)


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
    if problem is None:
        raise UnreadableTaskError(prompt.question)
    form = _Form(prompt.question, problem)
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
    for name, rate in (
        ("garbled", profile.garble_rate),
        ("prose", profile.format_error_rate),
        ("missing", profile.missing_field_rate),
    ):
        if roll < rate:
            style = name
            break
        roll -= rate
    if style == "prose" and mind.rng.random() < 0.5:
        style = "wrapped"
    reply = _reply(mind, form.inbound(prompt), style, calculator if form.plain else None)
    return form.outbound(mind, reply)


def _reply(mind: _Mind, prompt: Prompt, style: str, calculator: str | None) -> Reply:
    problem = mind.problem

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
            {"answer": answer, "confidence": mind.confidence(answer)},
            mind.tokens(5),
            style=style,
        )
    if calculator and problem is not None:
        answer, _ = _solve(mind, prompt, calculator=True)
        call = {"name": calculator, "args": {"expression": _calculator_working(mind, answer)}}
        return Reply({}, mind.tokens(15), tool_call=call)
    answer, conf = _solve(mind, prompt, calculator=False)
    return Reply({"answer": answer, "confidence": conf}, mind.tokens(35), style=style)


def _calculator_working(mind: _Mind, answer: str | None) -> str:
    """The expression a model types into a calculator: its own working, right or wrong."""
    assert mind.problem is not None
    working: Problem = mind.problem
    if answer is not None and normalize_answer(answer) != mind.truth:
        working = _working_for(mind, normalize_answer(answer)) or mind.problem
    return _expression(working)


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
