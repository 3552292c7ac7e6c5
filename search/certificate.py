"""What a search can claim: the winner, the candidates it cannot tell apart, and what they cost.

From the paired per-task results of the candidates run on every search task,
:func:`certify` computes, for each:

- the probability that it is the best (a paired bootstrap over tasks: the
  share of resampled task sets on which it has the top mean);
- its difference from the leader with an interval that holds for every
  candidate at once (Bonferroni over the rivals and the looks, as the margin
  below; the paired variance shrunk as there);
- whether it is significantly worse than the leader (one-sided paired z
  test, Holm-corrected for the ``K - 1`` comparisons); the rest form the
  *indistinguishable set*.

The shipped workflow is, by default, the simplest one within noise of the
leader: the cheapest per task (on equal cost, the fewest agents, then the
fewest calls) among the candidates whose gap to the leader is within the
noise of one paired comparison (one-sided test at ``1 - confidence``,
uncorrected). That is stricter than the indistinguishable set on purpose:
correcting for many comparisons widens what the search cannot tell apart,
which is the honest report, but would ship worse workflows the more
candidates were tried. ``Objective(pick="top_mean")``
ships the leader instead, ``pick="alpharank"`` the alpha-Rank leader.

The claim printed is simultaneous: "no candidate the search tried is better
than the shipped workflow by more than X points", with X the largest one-sided
upper bound on ``rival - shipped`` over every candidate evaluated, finalist or
not (each paired with the shipped one on the tasks both ran, its variance
shrunk towards a coin's so that a few tasks cannot look certain). The bounds
are Bonferroni over every comparison and every look the search took at the
data (``looks`` rounds of results): the search looked at running results
after every round and dropped candidates, so a test at ``1 - confidence`` on
the final data alone would be made after the fact. With ``m = rivals *
looks`` tests, a bound at ``1 - alpha / m`` each holds for all of them at
once, wherever the search happened to stop (a union bound over the looks).
Candidates dropped after a few tasks have wide bounds: the certificate gives
the finalists' own margin beside the whole one, so a reader sees which part
of the doubt comes from candidates the search did not finish.

A search whose candidates all failed, or all scored 0, has no winner: the
certificate says so with the most common errors and a hint, and ships nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from statistics import NormalDist
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from search.candidate_stats import CandidateStats
from search.evaluation.alpharank import alpharank, cycles, win_rates
from search.objective import Objective

__all__ = [
    "Standing",
    "Certificate",
    "certify",
    "judge_evidence",
    "hint_for",
    "no_winner",
    "holm",
    "probability_best",
    "cost_of_pass",
    "break_even",
]

Pick = Literal["simplest", "top_mean", "alpharank"]


class Standing(BaseModel):
    """One finalist (a candidate run on every search task) against the leader."""

    model_config = ConfigDict(frozen=True)

    workflow: str = Field(description="Content hash of its spec.")
    label: str = Field(description="Short description.")
    baseline: str | None = Field(
        default=None, description="'single' or 'self-consistency' when it is a baseline."
    )
    mean: float = Field(description="Mean score on the search tasks.")
    cost_per_task: float = Field(description="Mean list-price dollars per task.")
    calls_per_task: float = Field(description="Mean model calls per task.")
    agents: int = Field(description="Agents that call a model.")
    p_best: float = Field(description="Probability that it is the best (paired bootstrap).")
    gap: float = Field(description="Its mean minus the leader's (0 for the leader).")
    gap_low: float = Field(description="Lower bound of the gap's simultaneous interval.")
    gap_high: float = Field(description="Upper bound of the gap's simultaneous interval.")
    p_worse: float = Field(description="One-sided p-value that it is worse than the leader.")
    tied: bool = Field(description="In the indistinguishable set (not significantly worse).")
    within_noise: bool = Field(
        description="Not worse than the leader even by one uncorrected paired test: may ship."
    )
    cost_of_pass: float | None = Field(
        description="Expected dollars per correct answer: cost per task / mean; None at 0."
    )
    alpharank: float = Field(description="Its alpha-Rank mass over paired per-task win rates.")
    parse_failure_rate: float | None = Field(
        default=None,
        description="Model replies its roles could not read, per reply (re-asks included); "
        "None when not measured.",
    )
    fallback_rate: float | None = Field(
        default=None,
        description="Agent runs that ended on the role's fallback (the re-ask failed too).",
    )


class Certificate(BaseModel):
    """What the search can and cannot claim, in numbers and in plain words."""

    model_config = ConfigDict(frozen=True)

    verdict: Literal["winner", "no_winner"] = Field(description="Whether anything ships.")
    reason: str = Field(description="Why, in plain words.")
    shipped: str | None = Field(default=None, description="Hash of the shipped workflow.")
    leader: str | None = Field(default=None, description="Hash of the best by the objective.")
    pick: Pick = Field(default="simplest", description="How the shipped one was chosen.")
    confidence: float = Field(default=0.95, description="Confidence of every claim.")
    n_tasks: int = Field(default=0, description="Search tasks the finalists share.")
    margin: float | None = Field(
        default=None,
        description="No candidate the search tried is better than the shipped workflow by "
        "more than this (score units, simultaneous over every comparison and look).",
    )
    finalists_margin: float | None = Field(
        default=None,
        description="The same bound over the finalists only (those run on every task).",
    )
    comparisons: int = Field(
        default=0, description="Candidates the margin is corrected for (all the search compared)."
    )
    looks: int = Field(
        default=1, description="Rounds of results the search looked at; the margin is corrected."
    )
    uncovered: int = Field(
        default=0, description="Candidates dropped before every task (inside the margin)."
    )
    standings: tuple[Standing, ...] = Field(default=(), description="Finalists, leader first.")
    indistinguishable: tuple[str, ...] = Field(
        default=(), description="Hashes not significantly worse than the leader."
    )
    cycles: tuple[tuple[str, ...], ...] = Field(
        default=(), description="Groups of finalists that beat each other in a circle (labels)."
    )
    errors: dict[str, int] = Field(
        default_factory=dict, description="The most common errors, by kind, with counts."
    )
    examples: tuple[str, ...] = Field(default=(), description="A few error messages or answers.")
    hint: str | None = Field(default=None, description="What to try, when nothing ships.")
    search_dollars: float = Field(default=0.0, description="What the search itself spent.")
    baseline: str | None = Field(
        default=None, description="Hash of the best single-agent baseline."
    )
    saving_per_query: float | None = Field(
        default=None,
        description="Dollars saved per deployed query against the best single-agent baseline "
        "at the same number of correct answers.",
    )
    break_even_queries: float | None = Field(
        default=None,
        description="Deployed queries until the saving repays the search; None: never.",
    )
    lines: tuple[str, ...] = Field(default=(), description="The certificate in plain words.")

    def standing(self, workflow: str) -> Standing | None:
        """The finalist with this hash, if any."""
        return next((s for s in self.standings if s.workflow == workflow), None)


# --- statistics --------------------------------------------------------------------------


def holm(p_values: Sequence[float], *, alpha: float) -> list[bool]:
    """Holm's step-down procedure: which hypotheses are rejected at family-wise level ``alpha``.

    Example:
        >>> holm([0.01, 0.04, 0.03], alpha=0.05)
        [True, False, False]
    """
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    rejected = [False] * len(p_values)
    m = len(p_values)
    for rank, i in enumerate(order):
        if p_values[i] > alpha / (m - rank):
            break
        rejected[i] = True
    return rejected


def probability_best(matrix: np.ndarray, *, n_resamples: int = 4000, seed: int = 0) -> np.ndarray:
    """Per column, the share of task resamples on which it has the top mean (ties split).

    ``matrix`` is tasks x candidates; tasks are resampled with replacement, in pairs.
    """
    n_tasks = matrix.shape[0]
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(n_tasks, np.full(n_tasks, 1.0 / n_tasks), size=n_resamples)
    means = weights @ matrix / n_tasks
    top = means >= means.max(axis=1, keepdims=True) - 1e-12
    shares = top / top.sum(axis=1, keepdims=True)
    result: np.ndarray = shares.mean(axis=0)
    return result


def cost_of_pass(cost_per_task: float, mean: float) -> float | None:
    """Expected dollars per correct answer: cost per task over accuracy (None at accuracy 0).

    Example:
        >>> cost_of_pass(0.002, 0.8)
        0.0025
    """
    return cost_per_task / mean if mean > 0 else None


def break_even(
    *,
    search_dollars: float,
    shipped_cost: float,
    shipped_mean: float,
    baseline_cost: float,
    baseline_mean: float,
) -> tuple[float | None, float | None]:
    """The saving per deployed query against a baseline, and the queries that repay the search.

    Deployed ``N`` times, the shipped workflow answers ``N * shipped_mean`` correctly for
    ``N * shipped_cost``; the baseline needs ``N * shipped_mean * baseline_cost /
    baseline_mean`` dollars for as many correct answers. The saving per query is the
    difference; the search is repaid after ``search_dollars / saving`` queries. No saving
    (or a baseline that never answers correctly) means it is never repaid: ``None``.

    Example:
        >>> break_even(search_dollars=1.0, shipped_cost=0.001, shipped_mean=0.9,
        ...            baseline_cost=0.004, baseline_mean=0.9)
        (0.003, 333.3333333333333)
    """
    if baseline_mean <= 0 or shipped_mean <= 0:
        return None, None
    saving = shipped_mean * baseline_cost / baseline_mean - shipped_cost
    saving = round(saving, 15)
    if saving <= 0:
        return saving, None
    return saving, search_dollars / saving


_PRIOR_VARIANCE = 0.25  # a coin's: what a score difference may vary by before data says


def _shrunk_gap(rival: Mapping[str, float], own: Mapping[str, float]) -> tuple[float, float]:
    """Mean and standard error of ``rival - own`` on shared tasks, the variance shrunk.

    Two pseudo-observations at a coin's variance keep a handful of identical
    results from claiming certainty; with no shared task the gap is unbounded.
    """
    diffs = [rival[t] - own[t] for t in rival if t in own]
    n = len(diffs)
    if not n:
        return 0.0, math.inf
    mean = math.fsum(diffs) / n
    spread = math.fsum((d - mean) ** 2 for d in diffs)
    return mean, math.sqrt((spread + 2 * _PRIOR_VARIANCE) / (n + 1) / n)


# --- no winner ---------------------------------------------------------------------------


def judge_evidence(
    candidates: Sequence[CandidateStats], finalists: Sequence[CandidateStats]
) -> str | None:
    """Why nothing can ship, or ``None`` when there is evidence for a winner.

    Nothing ships when no candidate was evaluated, when every run failed, when every
    candidate scored 0, or when none was run on every search task within the ceiling.
    """
    if not candidates:
        return "no candidate was evaluated"
    if all(s.score.failures >= s.score.n for s in candidates):
        return f"every run of all {len(candidates)} candidates failed"
    if all(s.mean <= 0.0 for s in candidates):
        return f"all {len(candidates)} candidates scored 0 on every task they ran"
    if not finalists:
        return "no candidate was evaluated on every search task within the cost ceiling"
    return None


_HINTS = {
    "MetricError": "the metric raised on the workflows' answers; call it on one of the "
    "answers above, fix it, and run the search again (answers are reused, not paid again).",
    "NoAnswer": "the workflows gave no answer: check that the models can reply in the "
    "format the roles ask for (try one task with `rolegraph run`).",
    "BudgetExhaustedError": "the budget ran out before any candidate finished; raise it.",
}


def hint_for(errors: Mapping[str, int], examples: Sequence[str]) -> str:
    """What to try, from the most common error (or, with none, the answers the metric saw)."""
    if errors:
        kind = max(errors, key=lambda k: errors[k])
        return _HINTS.get(
            kind,
            f"every workflow run raised {kind}: fix the workflow, its models or their "
            "credentials, and check one task by hand before searching again.",
        )
    return (
        "the runs succeeded but every answer scored 0: check that the metric reads the "
        "answers (compare an answer above with its reference), and that the models can "
        "answer these questions at all."
    )


# --- the certificate ---------------------------------------------------------------------


def no_winner(
    *,
    reason: str,
    errors: Mapping[str, int],
    examples: Sequence[str],
    hint: str,
    confidence: float,
    search_dollars: float,
) -> Certificate:
    """The certificate of a search that found nothing to ship."""
    top = dict(sorted(errors.items(), key=lambda kv: -kv[1])[:5])
    lines = [f"No winner: {reason}."]
    if top:
        lines.append(
            "Most common errors: " + ", ".join(f"{kind} ({n})" for kind, n in top.items()) + "."
        )
    lines.extend(f"  e.g. {example}" for example in examples[:3])
    lines.append(f"Hint: {hint}")
    lines.append(f"The search spent ${search_dollars:.4f} to find this out.")
    return Certificate(
        verdict="no_winner",
        reason=reason,
        confidence=confidence,
        errors=top,
        examples=tuple(examples[:3]),
        hint=hint,
        search_dollars=search_dollars,
        lines=tuple(lines),
    )


def _points(value: float) -> str:
    return f"{100 * value:.1f}"


def certify(
    *,
    finalists: Sequence[CandidateStats],
    scores: Mapping[str, Mapping[str, float]],
    agents: Mapping[str, int],
    baselines: Mapping[str, str],
    objective: Objective,
    confidence: float = 0.95,
    search_dollars: float = 0.0,
    others: Mapping[str, Mapping[str, float]] | None = None,
    looks: int = 1,
    parsing: Mapping[str, tuple[float, float]] | None = None,
    n_resamples: int = 4000,
    seed: int = 0,
) -> Certificate:
    """The certificate of the finalists: leader first, as the objective orders them.

    Args:
        finalists: Candidates run on every search task and within the cost ceiling,
            best by ``objective`` first.
        scores: Per-task scores of each finalist (hash -> task id -> score).
        agents: Agents that call a model, per finalist.
        baselines: Which finalists are baselines: hash -> 'single' or 'self-consistency'.
        objective: What "best" means, and how to pick within noise (``objective.pick``).
        confidence: Family-wise confidence of the claims.
        search_dollars: What the search spent, for the break-even volume.
        others: Per-task scores of the candidates evaluated but not finalists (dropped,
            pruned, over the ceiling); the margin covers them too.
        looks: Rounds of results the search looked at before it stopped (at least 1); the
            margin is corrected for each.
        parsing: Per finalist, its parse-failure rate and fallback rate (see
            :func:`orchestrator.parsing.parse_failure_rates`), where measured.
        n_resamples: Bootstrap resamples for the probabilities of being best.
        seed: Resampling seed.

    Raises:
        ValueError: No finalists, or finalists that share no task.
    """
    if not finalists:
        raise ValueError("certify needs at least one finalist")
    hashes = [s.workflow for s in finalists]
    tasks = [t for t in scores[hashes[0]] if all(t in scores[h] for h in hashes)]
    if not tasks:
        raise ValueError("the finalists share no scored task")
    matrix = np.array([[scores[h][t] for h in hashes] for t in tasks], dtype=float)
    n, k = matrix.shape
    alpha = 1.0 - confidence
    if looks < 1:
        raise ValueError("looks must be at least 1")
    others = {h: v for h, v in (others or {}).items() if h not in set(hashes) and v}
    rivals = max(1, k - 1 + len(others))
    tests = rivals * looks
    two_sided = NormalDist().inv_cdf(1 - alpha / (2 * tests))
    one_sided = NormalDist().inv_cdf(1 - alpha / tests)

    gaps = [_shrunk_gap(scores[h], scores[hashes[0]]) for h in hashes]
    p_worse = [
        1.0
        if i == 0
        else (0.0 if se == 0 and d < 0 else 1.0 if se == 0 else NormalDist().cdf(d / se))
        for i, (d, se) in enumerate(gaps)
    ]
    rejected = [False, *holm(p_worse[1:], alpha=alpha)] if k > 1 else [False]
    p_best = probability_best(matrix, n_resamples=n_resamples, seed=seed)
    payoffs = win_rates([{t: scores[h][t] for t in tasks} for h in hashes])
    ranks = alpharank(payoffs)
    standings = [
        Standing(
            workflow=s.workflow,
            label=s.label,
            baseline=baselines.get(s.workflow),
            mean=s.mean,
            cost_per_task=s.cost_per_task,
            calls_per_task=s.score.calls_per_task,
            agents=agents.get(s.workflow, 1),
            p_best=float(p_best[i]),
            gap=gaps[i][0],
            gap_low=gaps[i][0] - two_sided * gaps[i][1],
            gap_high=gaps[i][0] + two_sided * gaps[i][1],
            p_worse=p_worse[i],
            tied=not rejected[i],
            within_noise=p_worse[i] >= alpha,
            cost_of_pass=cost_of_pass(s.cost_per_task, s.mean),
            alpharank=ranks[i],
            parse_failure_rate=(parsing or {}).get(s.workflow, (None, None))[0],
            fallback_rate=(parsing or {}).get(s.workflow, (None, None))[1],
        )
        for i, s in enumerate(finalists)
    ]
    tied = [s for s in standings if s.tied]
    pick: Pick = objective.pick
    if pick == "top_mean":
        shipped = standings[0]
    elif pick == "alpharank":
        shipped = max(standings, key=lambda s: (s.alpharank, s.mean))
    else:
        shipped = min(
            (s for s in standings if s.within_noise),
            key=lambda s: (round(s.cost_per_task, 12), s.agents, s.calls_per_task),
        )
    own = scores[shipped.workflow]

    def bound(rival: Mapping[str, float]) -> float:
        d, se = _shrunk_gap(rival, own)
        return min(1.0, max(0.0, d + one_sided * se))

    rivals_scores = (scores[h] for h in hashes if h != shipped.workflow)
    finalists_margin = max((bound(v) for v in rivals_scores), default=0.0)
    margin = max([finalists_margin, *(bound(v) for v in others.values())])
    groups = tuple(tuple(standings[i].label for i in group) for group in cycles(payoffs))
    singles = [s for s in standings if s.baseline == "single"]
    baseline = max(singles, key=lambda s: (s.mean, -s.cost_per_task)) if singles else None
    saving = queries = None
    if baseline is not None:
        saving, queries = break_even(
            search_dollars=search_dollars,
            shipped_cost=shipped.cost_per_task,
            shipped_mean=shipped.mean,
            baseline_cost=baseline.cost_per_task,
            baseline_mean=baseline.mean,
        )
    certificate = Certificate(
        verdict="winner",
        reason=f"{len(tied)} of {k} finalists are within noise of the leader",
        shipped=shipped.workflow,
        leader=standings[0].workflow,
        pick=pick,
        confidence=confidence,
        n_tasks=n,
        margin=margin,
        finalists_margin=finalists_margin,
        comparisons=rivals,
        looks=looks,
        uncovered=len(others),
        standings=tuple(standings),
        indistinguishable=tuple(s.workflow for s in tied),
        cycles=groups,
        search_dollars=search_dollars,
        baseline=baseline.workflow if baseline else None,
        saving_per_query=saving,
        break_even_queries=queries,
    )
    return certificate.model_copy(update={"lines": tuple(_words(certificate))})


def _words(c: Certificate) -> list[str]:
    """The certificate in plain words: what ships, why, what it is sure of, what it costs."""
    shipped = c.standing(c.shipped or "")
    leader = c.standing(c.leader or "")
    assert shipped is not None and leader is not None
    level = f"{c.confidence:.0%}"
    lines = [f"Shipping {shipped.label}: accuracy {shipped.mean:.3f} on {c.n_tasks} search tasks."]
    if shipped.workflow != leader.workflow:
        ratio = leader.cost_per_task / shipped.cost_per_task if shipped.cost_per_task else math.inf
        cheaper = f", {ratio:.1f}x cheaper" if ratio > 1 else ""
        how = "within noise" if c.pick == "simplest" else f"by {c.pick}"
        lines.append(
            f"{leader.label} is {_points(-shipped.gap)} points above {shipped.label}, {how}; "
            f"shipping {shipped.label}{cheaper}."
        )
    tied = [s for s in c.standings if s.tied]
    if len(tied) > 1:
        lines.append(
            f"The search cannot tell {len(tied)} of {len(c.standings)} finalists apart "
            f"({level}, corrected for {max(1, len(c.standings) - 1)} comparisons): "
            + ", ".join(f"{s.label} (P(best) {s.p_best:.0%})" for s in tied[:6])
            + (", ..." if len(tied) > 6 else "")
            + "."
        )
    else:
        lines.append(
            f"Every other finalist is worse than {leader.label} ({level}, corrected for "
            f"{max(1, len(c.standings) - 1)} comparisons); P(best) {leader.p_best:.0%}."
        )
    looks = f" and {c.looks} looks at the results" if c.looks > 1 else ""
    claim = (
        f"No candidate the search tried is better than {shipped.label} by more than "
        f"{_points(c.margin or 0.0)} points ({level}, simultaneous over {c.comparisons} "
        f"comparisons{looks})."
    )
    if c.uncovered and c.finalists_margin is not None and c.finalists_margin < (c.margin or 0):
        claim += (
            f" Among the {len(c.standings)} run on every task the bound is "
            f"{_points(c.finalists_margin)} points; the rest comes from the {c.uncovered} "
            "dropped after fewer tasks."
        )
    lines.append(claim)
    if c.cycles:
        lines.append(
            "Cycles (each beats the next on some tasks): "
            + "; ".join(" > ".join(group) for group in c.cycles)
            + "."
        )
    if shipped.parse_failure_rate:
        lines.append(
            f"{shipped.parse_failure_rate:.0%} of its model replies could not be read as its "
            f"roles ask; {shipped.fallback_rate or 0.0:.0%} of its agent runs fell back after "
            "a re-ask (a property of these models with these prompts)."
        )
    cop = shipped.cost_of_pass
    lines.append(
        f"Cost per correct answer: ${cop:.6f}." if cop is not None else "It never answered right."
    )
    baseline = c.standing(c.baseline or "")
    if baseline is not None and baseline.workflow != shipped.workflow:
        lines.append(
            f"Best single-agent baseline: {baseline.label}, accuracy {baseline.mean:.3f}, "
            + (
                f"${baseline.cost_of_pass:.6f} per correct answer."
                if baseline.cost_of_pass is not None
                else "never right."
            )
        )
        if c.break_even_queries is not None:
            lines.append(
                f"The search (${c.search_dollars:.4f}) pays for itself after "
                f"{math.ceil(c.break_even_queries):,} queries (saving "
                f"${c.saving_per_query:.6f} per query at equal correct answers)."
            )
        else:
            lines.append(
                f"At equal correct answers {shipped.label} costs no less than the baseline: "
                f"the search (${c.search_dollars:.4f}) bought accuracy, not a saving."
            )
    elif baseline is not None:
        lines.append(
            f"The shipped workflow is the best single-agent baseline; the search "
            f"(${c.search_dollars:.4f}) bought the evidence that nothing beats it."
        )
    return lines
