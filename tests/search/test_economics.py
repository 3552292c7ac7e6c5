"""The economic stop: at N expected queries, stop once no candidate could repay its evaluation."""

import pytest

from search.economics import economic_stop, most_a_candidate_could_save
from search.evaluation.stats import ScoreSummary
from search.objective import Objective
from search.results import CandidateStats
from search.runner import create_search
from search.space import SearchSpace


def stats(name, mean, cost):
    summary = ScoreSummary(n=10, n_tasks=10, mean=mean, cost_per_task=cost)
    return CandidateStats(workflow=name, label=name, score=summary, complete=True, value=mean)


def test_the_most_a_candidate_could_save_is_the_cost_gap_plus_priced_accuracy():
    leader, cheap = stats("leader", 0.9, 0.004), stats("cheap", 0.5, 0.001)
    assert most_a_candidate_could_save(leader, [leader, cheap], Objective()) == pytest.approx(
        0.003
    )
    priced = Objective(point_value=0.0001)  # one point is worth $0.0001 per task
    # 0.003 of cost, plus 10 points of accuracy left at $0.0001 each.
    assert most_a_candidate_could_save(leader, [leader, cheap], priced) == pytest.approx(0.004)


def test_the_stop_compares_the_volume_value_with_the_next_evaluation():
    leader, cheap = stats("leader", 0.9, 0.004), stats("cheap", 0.5, 0.002)
    # One more candidate on 50 tasks costs about (0.004 + 0.002) / 2 * 50 = $0.15.
    # At 10 queries the most it could save is 10 * 0.002 = $0.02: stop.
    reason = economic_stop(
        leader=leader, candidates=[leader, cheap], objective=Objective(expected_queries=10),
        n_tasks=50,
    )  # fmt: skip
    assert reason is not None and reason.startswith("economic: at 10 expected queries")
    assert "$0.0200" in reason and "$0.1500" in reason
    # At 100,000 queries it could save $200: go on.
    many = Objective(expected_queries=100_000)
    assert (
        economic_stop(leader=leader, candidates=[leader, cheap], objective=many, n_tasks=50)
        is None
    )
    assert economic_stop(leader=None, candidates=[], objective=Objective(), n_tasks=50) is None


def test_a_search_stops_for_the_economics_and_says_so(tmp_path):
    space = SearchSpace(
        topologies=["single", "vote_ensemble"], pool=["sim:atlas-nano", "sim:atlas-mini"]
    )

    def run(queries, name):
        return create_search(
            space=space, dataset="bundled:arithmetic", strategy="grid", store=tmp_path / "e.db",
            objective=Objective(expected_queries=queries), name=name,
        ).run()  # fmt: skip

    few = run(5, "few")
    many = run(10_000_000, "many")
    assert few.stop_reason.startswith("economic: at 5 expected queries")
    assert not many.stop_reason.startswith("economic")
    assert few.evaluations < many.evaluations
    assert few.certificate.verdict == "winner"  # it still ships the best it found
