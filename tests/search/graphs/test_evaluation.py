"""A user graph's model calls are held, charged, cached and traced by the evaluator."""

from __future__ import annotations

import warnings

import pytest

from search import Budget, Evaluator, Store
from search.graphs import GraphSpace, UntrackedCallsWarning
from tests.search.graphs.conftest import build_untracked


def _mini(space):
    return space.point(solver="sim:atlas-mini", checker="sim:atlas-mini", check="yes").graph


def test_calls_are_charged_traced_and_committed(pair_space, dataset, tmp_path):
    store = Store(tmp_path / "rg.db")
    evaluator = Evaluator(dataset, "numeric", store=store, budget=Budget(dollars=1.0))
    summary = evaluator.evaluate(_mini(pair_space))
    assert summary.stop_reason == "completed" and summary.n == len(dataset)
    assert summary.calls == 2 * len(dataset) - summary.cached_calls  # solver + checker per task
    for record in summary.records:
        assert [n.agent for n in record.trace] == ["solver", "checker"]
        assert {n.model for n in record.trace} == {"sim:atlas-mini"}
        assert record.usage.total_tokens == sum(n.usage.total_tokens for n in record.trace) > 0
        assert record.cost > 0
    assert summary.charged > 0
    # The budget saw exactly what the records were charged.
    assert evaluator.spent.dollars == pytest.approx(summary.charged)
    assert evaluator.spent.calls == summary.calls
    assert len(store.llm_cache()) >= summary.calls


def test_a_rerun_costs_nothing_and_new_keys_hit_the_call_cache(pair_space, dataset, tmp_path):
    store = tmp_path / "rg.db"
    target = _mini(pair_space)
    first = Evaluator(dataset, "numeric", store=store).evaluate(target)
    again = Evaluator(dataset, "numeric", store=store).evaluate(target)
    assert again.cached == len(dataset) and again.calls == 0 and again.charged == 0
    assert [r.score for r in again.records] == [r.score for r in first.records]
    # Another metric is another evaluation key: run again, but every call is a cache hit.
    exact = Evaluator(dataset, "exact", store=store).evaluate(target)
    assert exact.evaluated == len(dataset)
    assert exact.calls == 0 and exact.charged == 0
    assert exact.cached_calls == 2 * len(dataset)
    # Each slot call names its cache entry: the same entries, paid once, in the first run.
    keys = [
        dict(k for r in s.records for n in r.trace for k in n.call_keys) for s in (first, exact)
    ]
    assert keys[0] == keys[1] and len(keys[0]) == 2 * len(dataset)
    assert sum(keys[0].values()) == pytest.approx(first.charged)


def test_versions_never_mix(pair_space, dataset, tmp_path):
    store = Store(tmp_path / "rg.db")
    v1 = _mini(pair_space)
    fields = {k: getattr(pair_space, k) for k in ("build", "slots", "pool", "params", "name")}
    v2 = _mini(GraphSpace(**fields, version="2", max_tokens=256))
    assert v1.hash != v2.hash
    Evaluator(dataset, "numeric", store=store).evaluate(v1)
    second = Evaluator(dataset, "numeric", store=store).evaluate(v2)
    assert second.cached == 0 and second.evaluated == len(dataset)  # nothing reused
    assert all(r.workflow == v2.hash for r in second.records)
    assert len(store.score_rows(v1.hash, dataset.name)) == len(dataset)
    assert len(store.score_rows(v2.hash, dataset.name)) == len(dataset)


def test_every_call_holds_its_worst_case_first(pair_space, dataset, tmp_path):
    target = _mini(pair_space)
    # Less than one call's worst case (prompt + a 256-token cap): nothing may start.
    evaluator = Evaluator(
        dataset, "numeric", store=tmp_path / "rg.db", budget=Budget(dollars=1e-6)
    )
    summary = evaluator.evaluate(target)
    assert summary.stop_reason.startswith("budget")
    assert evaluator.spent.calls == 0 and summary.evaluated == 0


def test_budget_is_a_hard_limit_on_graph_calls(pair_space, dataset, tmp_path):
    target = _mini(pair_space)
    limit = 5e-4  # each call holds about $3.2e-4 (a 256-token cap) and spends a tenth of it
    evaluator = Evaluator(
        dataset, "numeric", store=tmp_path / "rg.db", budget=Budget(dollars=limit)
    )
    summary = evaluator.evaluate(target)
    assert 0 < evaluator.spent.dollars <= limit
    assert summary.evaluated < len(dataset)


def test_admission_uses_max_calls_per_run(pair_space, dataset):
    target = _mini(pair_space)
    worst = target.worst_case(question="What is 1 + 1?", models=None, prices=None)
    assert worst.calls == pair_space.max_calls_per_run == 10
    assert worst.dollars > 0 and worst.tokens > 10 * 256


def test_untracked_model_calls_warn(dataset, tmp_path):
    space = GraphSpace(
        build=build_untracked, slots=["solver"], pool=["sim:atlas-mini"], name="own", version="1"
    )
    target = space.point(solver="sim:atlas-mini").graph
    evaluator = Evaluator(dataset, "numeric", store=tmp_path / "rg.db", budget=Budget(dollars=1.0))
    with pytest.warns(UntrackedCallsWarning, match="creates its own chat model clients"):
        summary = evaluator.evaluate(target)
    assert summary.calls == 0 and summary.charged == 0
    assert summary.mean > 0  # it did answer: the costs are what is missing


def test_tracked_graph_does_not_warn(pair_space, dataset, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UntrackedCallsWarning)
        Evaluator(dataset, "numeric", store=tmp_path / "rg.db").evaluate(_mini(pair_space))


def test_sampled_slots_repeat_per_seed_with_their_own_cache_entries(dataset, tmp_path):
    from orchestrator.sim import SimChatModel
    from tests.search.graphs.conftest import build_pair

    hot = SimChatModel(model="atlas-mini", temperature=0.8)
    space = GraphSpace(
        build=build_pair,
        slots=["solver", "checker"],
        pool=["sim:atlas-mini"],
        name="p",
        version="1",
    )
    target = space.point(solver="sim:atlas-mini", checker="sim:atlas-mini").graph
    store = Store(tmp_path / "rg.db")
    evaluator = Evaluator(
        dataset, "numeric", store=store, models={"sim:atlas-mini": hot}, repetitions=3
    )
    tasks = list(dataset.tasks[:2])
    summary = evaluator.evaluate(target, tasks=tasks, seeds=[0, 1, 2])
    assert summary.n == 6 and summary.cached_calls == 0  # each seed samples anew
    assert len(store.llm_cache()) == summary.calls == 12
