"""Candidates that ask the same model the same thing share the call, and pay for it once."""

from search import Evaluator, SearchSpace
from search.evaluation import bundled_dataset

POOL = ["sim:atlas-nano", "sim:lynx-small", "sim:orca-small"]


def _space() -> SearchSpace:
    return SearchSpace(
        topologies=["single", "vote_ensemble"],
        pool=POOL,
        fixed={"single": {"temperature": 0.7}, "vote_ensemble": {"n": 3, "weighted": False}},
    )


def test_a_vote_pays_only_for_the_members_a_single_did_not_already_ask() -> None:
    candidates = list(_space().grid())
    single = next(c for c in candidates if c.topology == "single" and c.models == (POOL[0],))
    vote = next(
        c
        for c in candidates
        if c.topology == "vote_ensemble" and sorted(m for m in c.models if m) == sorted(POOL)
    )
    data = bundled_dataset("arithmetic", n=10, seed=1)
    evaluator = Evaluator(data, "numeric", store=":memory:")
    alone = evaluator.evaluate(single.spec)
    shared = evaluator.evaluate(vote.spec)
    # The vote's atlas-nano member asks exactly what single(atlas-nano) asked: served free.
    assert shared.cached_calls == alone.calls == 10
    assert shared.charged < shared.cost
    fresh = Evaluator(data, "numeric", store=":memory:").evaluate(vote.spec)
    assert fresh.cached_calls == 0
    assert abs((shared.cost - shared.charged) - alone.cost) < 1e-9
    assert abs(fresh.charged - fresh.cost) < 1e-9
