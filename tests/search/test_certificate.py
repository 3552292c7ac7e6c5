"""The certificate: ties reported as ties, the simplest within noise ships, what it costs."""

import math
from statistics import NormalDist

import numpy as np
import pytest

from search.certificate import break_even, certify, cost_of_pass, holm
from search.evaluation.stats import ScoreSummary
from search.objective import Objective
from search.results import CandidateStats

TASKS = [f"t{i:03d}" for i in range(100)]


def stats(name, scores, cost, calls=1.0):
    mean = sum(scores.values()) / len(scores)
    summary = ScoreSummary(
        n=len(scores), n_tasks=len(scores), mean=mean, cost_per_task=cost,
        calls=round(calls * len(scores)),
    )  # fmt: skip
    return CandidateStats(workflow=name, label=name, score=summary, complete=True, value=mean)


def make(*pairs, agents=None, objective=None, baselines=None):
    """Finalists from (name, scores, cost), ordered as the objective orders them."""
    objective = objective or Objective()
    finalists = sorted(
        (stats(name, scores, cost) for name, scores, cost in pairs),
        key=objective.key,
        reverse=True,
    )
    return certify(
        finalists=finalists,
        scores={name: scores for name, scores, _ in pairs},
        agents=agents or {},
        baselines=baselines or {},
        objective=objective,
        search_dollars=1.0,
    )


def column(wins):
    """1 on the tasks in ``wins``, else 0."""
    return {t: float(i in wins) for i, t in enumerate(TASKS)}


def test_identical_candidates_are_a_tie_with_equal_probabilities():
    same = column(range(80))
    c = make(("a", same, 0.002), ("b", dict(same), 0.002), ("worse", column(range(50)), 0.001))
    assert set(c.indistinguishable) == {"a", "b"}
    a, b, worse = (c.standing(h) for h in ("a", "b", "worse"))
    assert a.p_best == pytest.approx(0.5) and b.p_best == pytest.approx(0.5)
    assert worse.p_best == 0.0 and not worse.tied


def test_the_probability_of_being_best_matches_the_paired_normal_theory():
    # On 100 tasks A alone is right on 12, B alone on 8, both on 60: A leads by 4 points.
    a = column([*range(60), *range(60, 72)])
    b = column([*range(60), *range(72, 80)])
    c = make(("a", a, 0.001), ("b", b, 0.001))
    diffs = np.array([a[t] - b[t] for t in TASKS])
    expected = NormalDist().cdf(diffs.mean() / (diffs.std(ddof=1) / math.sqrt(len(diffs))))
    assert expected == pytest.approx(0.81, abs=0.01)
    # Within bootstrap error (4000 resamples: sd 0.006) plus the normal approximation's.
    assert c.standing("a").p_best == pytest.approx(expected, abs=0.03)
    assert c.standing("a").p_best + c.standing("b").p_best == pytest.approx(1.0)
    assert c.indistinguishable == ("a", "b")


def test_holm_corrects_for_the_number_compared():
    assert holm([0.01, 0.04, 0.03], alpha=0.05) == [True, False, False]
    assert holm([0.001, 0.02, 0.03, 0.04], alpha=0.05) == [True, False, False, False]
    assert holm([0.01, 0.02], alpha=0.05) == [True, True]


def test_a_gap_significant_alone_is_a_tie_among_many_but_does_not_ship():
    leader = column(range(90))
    close = column(range(84))  # 6 points below: p about 0.006 alone
    fillers = [(f"f{i}", column(range(90)), 0.01) for i in range(30)]
    c = make(("leader", leader, 0.01), ("close", close, 0.001), *fillers)
    standing = c.standing("close")
    assert 0.0005 < standing.p_worse < 0.05
    assert standing.tied  # Holm over 31 comparisons cannot rule it out ...
    assert not standing.within_noise  # ... but it is not shipped as "as good"
    assert c.shipped != "close"


def test_the_simplest_within_noise_ships_and_the_output_says_why():
    vote = column(range(82))
    single = column(range(81))
    c = make(("vote of 4", vote, 0.0041), ("single(atlas-mini)", single, 0.001))
    assert c.leader == "vote of 4" and c.shipped == "single(atlas-mini)"
    said = " ".join(c.lines)
    assert (
        "vote of 4 is 1.0 points above single(atlas-mini), within noise; "
        "shipping single(atlas-mini), 4.1x cheaper" in said
    )
    top = make(
        ("vote of 4", vote, 0.0041),
        ("single(atlas-mini)", single, 0.001),
        objective=Objective(pick="top_mean"),
    )
    assert top.shipped == "vote of 4"


def test_on_equal_cost_the_fewest_agents_ship():
    same = column(range(70))
    c = make(("team", same, 0.002), ("solo", dict(same), 0.002), agents={"team": 3, "solo": 1})
    assert c.shipped == "solo"


def test_the_margin_is_the_simultaneous_upper_bound_over_rivals():
    a, b, d = column(range(80)), column(range(78)), column(range(60))
    c = make(("a", a, 0.002), ("b", b, 0.001), ("d", d, 0.003))
    assert c.shipped == "b"
    z = NormalDist().inv_cdf(1 - 0.05 / 2)  # one-sided, Bonferroni over 2 rivals
    bounds = []
    for rival in (a, d):
        diffs = np.array([rival[t] - b[t] for t in TASKS])
        n, spread = len(diffs), ((diffs - diffs.mean()) ** 2).sum()
        # The variance is shrunk by two pseudo-observations at a coin's (0.25).
        bounds.append(diffs.mean() + z * math.sqrt((spread + 0.5) / (n + 1) / n))
    assert c.margin == pytest.approx(max(0.0, *bounds))
    assert c.margin == c.finalists_margin
    assert f"by more than {100 * c.margin:.1f} points (95%, simultaneous" in " ".join(c.lines)


def test_a_handful_of_equal_results_does_not_claim_certainty():
    few = {t: 1.0 for t in TASKS[:6]}  # right on its six tasks, as the shipped one was
    c = make(("a", column(range(80)), 0.001), ("b", column(range(60)), 0.002))
    wide = certify(
        finalists=[stats("a", column(range(80)), 0.001)],
        scores={"a": column(range(80))},
        agents={},
        baselines={},
        objective=Objective(),
        others={"few": few},
    )
    assert c.margin == 0.0 < wide.margin  # six tasks, all alike, still leave doubt


def test_cost_of_pass_and_break_even_arithmetic():
    assert cost_of_pass(0.003, 0.75) == pytest.approx(0.004)
    assert cost_of_pass(0.003, 0.0) is None
    # Shipped: $0.001 at 90%; baseline: $0.004 at 80%. For 0.9 correct answers the
    # baseline pays 0.9 * 0.004 / 0.8 = $0.0045: saving $0.0035 per query.
    saving, queries = break_even(
        search_dollars=7.0, shipped_cost=0.001, shipped_mean=0.9,
        baseline_cost=0.004, baseline_mean=0.8,
    )  # fmt: skip
    assert saving == pytest.approx(0.0035) and queries == pytest.approx(2000)
    # Dearer per correct answer than the baseline: the search is never repaid.
    assert break_even(
        search_dollars=7.0, shipped_cost=0.01, shipped_mean=0.9,
        baseline_cost=0.001, baseline_mean=0.8,
    )[1] is None  # fmt: skip


def test_the_certificate_names_the_baseline_and_the_break_even():
    team, solo = column(range(90)), column(range(60))
    c = make(("team", team, 0.001), ("single(x)", solo, 0.004), baselines={"single(x)": "single"})
    assert c.baseline == "single(x)" and c.shipped == "team"
    _, queries = break_even(
        search_dollars=1.0, shipped_cost=0.001, shipped_mean=0.9,
        baseline_cost=0.004, baseline_mean=0.6,
    )  # fmt: skip
    assert c.break_even_queries == pytest.approx(queries)
    assert f"pays for itself after {math.ceil(queries):,} queries" in " ".join(c.lines)


def test_a_cycle_is_shown():
    # Graded scores on three task slices: each beats the next on two slices of three.
    def slices(first, second, third):
        return {t: (first, second, third)[min(i // 34, 2)] / 3 for i, t in enumerate(TASKS)}

    rock, paper, scissors = slices(3, 2, 1), slices(1, 3, 2), slices(2, 1, 3)
    c = make(("rock", rock, 0.001), ("paper", paper, 0.001), ("scissors", scissors, 0.001))
    assert c.cycles and set(c.cycles[0]) == {"rock", "paper", "scissors"}
    assert "Cycles" in " ".join(c.lines)
    assert [c.standing(h).alpharank for h in ("rock", "paper", "scissors")] == pytest.approx(
        [1 / 3] * 3, abs=0.02
    )


def _race(seed: int, *, k: int = 8, rungs=(6, 12, 24, 48, 80), corrected: bool = True):
    """A race like ``auto``'s: per-look one-sided drops against the running leader.

    Returns whether the certificate's claim is false about the true optimum, and its margin.
    """
    rng = np.random.default_rng(seed)
    truth = np.concatenate([[0.80, 0.79, 0.78, 0.77], rng.uniform(0.55, 0.76, k - 4)])
    cost = rng.uniform(0.001, 0.01, k)
    n = rungs[-1]
    # Shared task difficulty, as on real benchmarks: paired differences are what cancel it.
    ability = np.array([NormalDist().inv_cdf(p) for p in truth]) * math.sqrt(2.0)
    right = ability[None, :] - rng.normal(size=n)[:, None] + rng.normal(size=(n, k)) > 0
    data = right.astype(float)
    alive, ran, z = list(range(k)), dict.fromkeys(range(k), 0), NormalDist().inv_cdf(0.95)
    for r in rungs:
        for i in alive:
            ran[i] = r
        lead = alive[int(np.argmax(data[:r, alive].mean(axis=0)))]
        kept = []
        for i in alive:
            d = data[:r, i] - data[:r, lead]
            if i == lead or d.mean() + z * d.std(ddof=1) / math.sqrt(r) >= 0:
                kept.append(i)
        alive = kept
    per_task = {str(i): {TASKS[t]: data[t, i] for t in range(ran[i])} for i in range(k)}
    finalists = sorted(
        (stats(str(i), per_task[str(i)], cost[i]) for i in alive), key=lambda s: -s.mean
    )
    c = certify(
        finalists=finalists,
        scores={s.workflow: per_task[s.workflow] for s in finalists},
        agents={},
        baselines={},
        objective=Objective(),
        others={h: v for h, v in per_task.items() if int(h) not in alive} if corrected else None,
        looks=len(rungs) if corrected else 1,
        n_resamples=10,
    )
    return truth.max() - truth[int(c.shipped)] > c.margin, c


def test_the_claim_holds_about_the_true_optimum_over_a_race_with_repeated_looks():
    # The race drops candidates after a few tasks; a claim over its finalists alone says
    # "no rival better by more than 0 points" when one survives, and is false whenever the
    # true optimum was dropped. Over every candidate and look it holds at 95%.
    false = [_race(seed)[0] for seed in range(200)]
    assert sum(false) / len(false) <= 0.05
    naive = [_race(seed, corrected=False)[0] for seed in range(200)]
    assert sum(naive) / len(naive) > 0.05


def test_the_margin_covers_candidates_dropped_early_and_says_so():
    _, c = next(r for r in (_race(seed) for seed in range(200)) if r[1].uncovered)
    assert c.margin >= c.finalists_margin
    assert c.comparisons == len(c.standings) - 1 + c.uncovered and c.looks == 5
    said = " ".join(c.lines)
    assert f"simultaneous over {c.comparisons} comparisons and 5 looks" in said
