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


def test_twins_evaluated_at_once_pay_for_their_shared_calls_once() -> None:
    # Weighted and unweighted votes of the same members ask exactly the same calls. Run side
    # by side with slow calls, each twin's call is in flight while the other asks for it:
    # without single flight both were paid; now what is paid does not depend on concurrency.
    from orchestrator.sim import SimChatModel

    space = SearchSpace(topologies=["vote_ensemble"], pool=POOL, fixed={"vote_ensemble": {"n": 3}})
    members = sorted(POOL)
    twins = [c.spec for c in space.grid() if sorted(m for m in c.models if m) == members]
    assert len(twins) == 2  # weighted and unweighted
    data = bundled_dataset("arithmetic", n=4, seed=3)

    def paid(concurrency: int) -> tuple[int, int, float]:
        models = {ref: SimChatModel(model=ref[4:], latency_scale=0.02) for ref in POOL}
        evaluator = Evaluator(
            data, "numeric", store=":memory:", models=models, max_concurrency=concurrency
        )
        done = evaluator.evaluate_many(twins)
        return (
            sum(s.calls for s in done),
            sum(s.cached_calls for s in done),
            sum(s.charged for s in done),
        )

    one_at_a_time, side_by_side = paid(1), paid(16)
    assert one_at_a_time[:2] == (12, 12)  # 12 paid; the second twin is served from the cache
    assert side_by_side[:2] == one_at_a_time[:2]
    assert abs(side_by_side[2] - one_at_a_time[2]) < 1e-12


def test_traces_name_each_calls_cache_entry_so_shared_calls_are_priced_once() -> None:
    # What several evaluations really paid is each cache entry's list price once: the
    # keys in the traces must give exactly what a shared cache charged, and no more.
    candidates = list(_space().grid())
    singles = [c for c in candidates if c.topology == "single"]
    vote = next(
        c
        for c in candidates
        if c.topology == "vote_ensemble" and sorted(m for m in c.models if m) == sorted(POOL)
    )
    data = bundled_dataset("arithmetic", n=6, seed=2)
    evaluator = Evaluator(data, "numeric", store=":memory:")
    done = [evaluator.evaluate(c.spec) for c in [*singles, vote]]
    calls = _keys(evaluator)
    assert len(calls) == sum(s.calls + s.cached_calls for s in done)  # every call is named
    paid = dict(calls)  # one price per cache entry
    assert len(paid) < len(calls)
    assert abs(sum(paid.values()) - sum(s.charged for s in done)) < 1e-12
    assert done[-1].charged == 0.0  # the vote asked only what the singles had asked
    # Alone, in a store of its own, the vote asks exactly those calls again.
    fresh = Evaluator(data, "numeric", store=":memory:")
    fresh.evaluate(vote.spec)
    assert {key for key, _ in _keys(fresh)} == set(paid)


def _keys(evaluator: Evaluator) -> list[tuple[str, float]]:
    records = evaluator.store.evaluations(with_trace=True)
    return [key for record in records for node in record.trace for key in node.call_keys]
