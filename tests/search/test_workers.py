"""Worker processes: same results as one process, one budget, one writer."""

import pytest

from orchestrator import Workflow
from orchestrator.store import Store
from search import Budget, Evaluator, bundled_dataset
from search.workers import WorkerPool, fork_available, worker_call

pytestmark = pytest.mark.skipif(not fork_available(), reason="worker processes need fork()")


def _specs():
    return [
        Workflow(f"w{i}")
        .add_agent("s", role="solver", model="sim:atlas-nano", temperature=0.5 + 0.1 * i)
        .build()
        for i in range(3)
    ]


def _data():
    return bundled_dataset("arithmetic", n=24, seed=5)


def test_workers_give_the_same_records_and_write_once(tmp_path):
    one = Evaluator(_data(), "numeric", store=tmp_path / "one.db", max_concurrency=8)
    two = Evaluator(_data(), "numeric", store=tmp_path / "two.db", max_concurrency=8, workers=2)
    try:
        a = one.evaluate_many(_specs())
        b = two.evaluate_many(_specs())
    finally:
        two.close()
    assert [s.scores() for s in a] == [s.scores() for s in b]
    assert [s.calls for s in a] == [s.calls for s in b]
    store = Store(tmp_path / "two.db")
    assert store.count_evaluations() == 3 * 24
    assert len(store.llm_cache()) == 3 * 24  # every call cached, written by the parent


def test_workers_keep_the_budget_hard(tmp_path):
    ev = Evaluator(
        _data(),
        "numeric",
        store=tmp_path / "b.db",
        max_concurrency=8,
        workers=2,
        budget=Budget(dollars=0.0006),
    )
    try:
        summaries = ev.evaluate_many(_specs())
    finally:
        ev.close()
    assert ev.spent.dollars <= 0.0006
    assert any(s.stop_reason.startswith("budget") for s in summaries)
    assert sum(s.evaluated for s in summaries) == ev.spent.evaluations


def test_workers_need_a_file_store():
    with pytest.raises(ValueError, match="file store"):
        Evaluator(_data(), "numeric", store=":memory:", workers=2)


async def _double(x):
    return 2 * x


async def _ask_parent(x):
    return worker_call(("square", x))


async def _boom(x):
    raise KeyError(x)


async def test_pool_runs_jobs_and_answers_calls():
    pool = WorkerPool(_double, workers=2, concurrency=4)
    try:
        assert [await pool.submit(i) for i in range(5)] == [0, 2, 4, 6, 8]
    finally:
        pool.close()
    served = []
    pool = WorkerPool(
        _ask_parent,
        workers=1,
        concurrency=2,
        handler=lambda request: served.append(request) or request[1] ** 2,
    )
    try:
        assert await pool.submit(7) == 49 and served == [("square", 7)]
    finally:
        pool.close()
    pool = WorkerPool(_boom, workers=1, concurrency=1)
    try:
        with pytest.raises(RuntimeError, match="KeyError"):
            await pool.submit("x")
    finally:
        pool.close()
