"""Evaluations on Ray workers: same results as locally, faults retried, budgets held.

Runs on a local Ray instance (two CPUs, two worker actors) with simulated models.
"""

import asyncio
import json
import os
import signal
import sys
import time

import pytest
from typer.testing import CliRunner

from orchestrator import SimChatModel
from orchestrator.errors import MissingIntegrationError
from search import Budget, Evaluator, bundled_dataset, create_search
from search.cli import app
from search.cli.commands import _prepare
from search.errors import SettingsError
from search.evaluation.executors import LocalExecutor, RayExecutor, get_executor
from search.evaluation.settings import EvalSettings
from search.graphs import GraphSpace
from tests.search.graphs.conftest import build_pair
from topologies import plan_solve, self_refine, single
from topologies.params import Categorical

ray = pytest.importorskip("ray")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    started = not ray.is_initialized()
    if started:
        ray.init(
            num_cpus=2,
            include_dashboard=False,
            logging_level="ERROR",
            log_to_driver=False,
        )
    yield ray
    if started:
        ray.shutdown()


def _essence(records):
    return [
        (r.task_id, r.seed, r.score, r.answer, r.failed, r.config, r.settings, r.cost)
        for r in records
    ]


def test_ray_gives_the_records_and_scores_of_the_local_executor(cluster, tmp_path):
    data = bundled_dataset("arithmetic", n=12)
    local = Evaluator(data, "numeric", store=tmp_path / "local.db", max_concurrency=4)
    remote = Evaluator(
        data, "numeric", store=tmp_path / "ray.db", max_concurrency=4, executor="ray"
    )
    try:
        assert isinstance(remote.executor, RayExecutor)
        for spec in (single(), plan_solve(), self_refine(rounds=1)):
            here, there = local.evaluate(spec), remote.evaluate(spec)
            assert _essence(there.records) == _essence(here.records)
            assert there.score.mean == here.score.mean
            assert there.evaluated == here.evaluated == 12
        # Everything was committed by the driver, calls included: a rerun is free.
        again = remote.evaluate(plan_solve())
        assert again.cached == 12 and again.calls == 0
        assert remote.store.count_evaluations() == local.store.count_evaluations()
        assert len(remote.store.llm_cache()) == len(local.store.llm_cache())
        # Two workers, each compiled the workflows it ran once.
        assert len(remote.executor.workers) == 2
    finally:
        remote.close()


def test_a_search_on_ray_picks_the_same_winner(cluster, tmp_path):
    def run(executor, store):
        search = create_search(
            space={
                "topologies": ["single", "plan_solve", "self_refine"],
                "pool": ["sim:atlas-nano", "sim:atlas-mini"],
            },
            dataset=bundled_dataset("arithmetic", n=16),
            strategy="random",
            store=store,
            name="same-winner",
            seed=3,
            max_evaluations=60,
            executor=executor,
            max_concurrency=4,
        )
        try:
            return search.run()
        finally:
            search.evaluator.close()

    local = run("local", tmp_path / "local.db")
    remote = run("ray", tmp_path / "ray.db")
    assert remote.best.hash == local.best.hash
    assert [(c.workflow, c.value, c.complete) for c in remote.candidates] == [
        (c.workflow, c.value, c.complete) for c in local.candidates
    ]


def test_a_killed_worker_is_retried_and_nothing_is_lost_or_charged_twice(cluster, tmp_path):
    model = SimChatModel(model="atlas-mini", latency_scale=1.0)  # about 0.3 s per call
    data = bundled_dataset("arithmetic", n=16)
    ev = Evaluator(
        data,
        "numeric",
        store=tmp_path / "ray.db",
        budget=Budget(dollars=10.0),
        models={"sim:atlas-mini": model},
        max_concurrency=4,
        executor="ray",
        ray_max_retries=3,
    )

    async def run():
        records = []
        async with ev.astream(single()) as stream:
            async for record in stream:
                records.append(record)
                if len(records) == 2:
                    # Kill a worker while it runs evaluations; Ray restarts it and runs
                    # them again.
                    pid = await ev.executor.workers[0].pid.remote()
                    os.kill(pid, signal.SIGKILL)
        return records, stream.summary()

    try:
        records, summary = asyncio.run(run())
    finally:
        ev.close()
    assert summary.stop_reason == "completed"
    assert sorted(r.task_id for r in records) == sorted(t.id for t in data)
    assert not any(r.failed for r in records)
    assert ev.store.count_evaluations() == 16
    # Charged once: what the ledger counts is exactly what the records say they spent.
    spent = ev.ledger.spent
    assert spent.evaluations == 16
    assert spent.calls == sum(r.calls - r.cached_calls for r in records)
    assert spent.dollars == pytest.approx(sum(r.charged for r in records))


def test_the_budget_is_never_exceeded_on_ray(cluster, tmp_path):
    data = bundled_dataset("arithmetic", n=40)
    budget = Budget(dollars=0.004)
    ev = Evaluator(
        data,
        "numeric",
        store=tmp_path / "ray.db",
        budget=budget,
        max_concurrency=8,
        executor="ray",
    )
    try:
        summary = ev.evaluate(plan_solve())
    finally:
        ev.close()
    assert summary.stop_reason.startswith("budget")
    assert 0 < summary.evaluated < 40
    assert ev.ledger.spent.dollars <= budget.dollars
    assert sum(r.charged for r in summary.records) <= budget.dollars
    # What the ledger counts is what was charged: the records, and the runs a refused
    # call cut off (their answered calls are paid for).
    assert summary.charged <= budget.dollars
    assert ev.ledger.spent.dollars == pytest.approx(summary.charged)
    assert summary.charged >= sum(r.charged for r in summary.records)


def test_a_stop_cancels_the_outstanding_ray_tasks(cluster, tmp_path):
    slow = SimChatModel(model="atlas-mini", latency_scale=100.0)  # about 30 s per call
    budget = Budget(dollars=1.0)
    ev = Evaluator(
        bundled_dataset("arithmetic", n=8),
        "numeric",
        store=tmp_path / "ray.db",
        budget=budget,
        models={"sim:atlas-mini": slow},
        max_concurrency=4,
        executor="ray",
    )

    async def stopped():
        async def activity():
            counts = [await worker.activity.remote() for worker in ev.executor.workers]
            return sum(c[0] for c in counts), sum(c[1] for c in counts)

        async def until_running():
            for _ in range(600):
                if ev.executor.workers and (await activity())[0] == 4:
                    break
                await asyncio.sleep(0.05)  # until all four call the model on the workers
            raise KeyboardInterrupt

        run = asyncio.ensure_future(ev.aevaluate(single()))
        try:
            await until_running()
        except KeyboardInterrupt:
            run.cancel()  # what Ctrl-C does to a running search
        with pytest.raises(asyncio.CancelledError):
            await run
        for _ in range(100):  # Ray delivers the cancel to the workers shortly
            running, cancelled = await activity()
            if cancelled == 4:
                break
            await asyncio.sleep(0.1)
        return running, cancelled

    try:
        running, cancelled = asyncio.run(stopped())
    finally:
        ev.close()
    # The four running evaluations were cancelled on their workers; nothing was stored.
    assert (running, cancelled) == (0, 4)
    assert ev.store.count_evaluations() == 0
    # What they may have spent is unknown to the driver: their holds count, within the budget.
    assert 0 < ev.ledger.spent.dollars <= budget.dollars
    _, reserved = ev.ledger.pool.totals()
    assert reserved.dollars == pytest.approx(0.0)


def _pair_space(**kw):
    return GraphSpace(
        slots=["solver", "checker"],
        pool=["sim:atlas-nano", "sim:atlas-mini"],
        params=[Categorical(name="check", choices=("yes", "no"))],
        name="pair",
        version="1",
        max_tokens=256,
        **kw,
    )


def test_a_graph_target_from_a_factory_runs_on_ray_with_the_local_records(cluster, tmp_path):
    # One kind of target: the executor asks whether a target is portable, not what type it is.
    space = _pair_space(build=build_pair)
    graph = space.point(solver="sim:atlas-mini", checker="sim:atlas-nano", check="yes").graph
    data = bundled_dataset("arithmetic", n=6)
    local = Evaluator(data, "numeric", store=tmp_path / "local.db", max_concurrency=3)
    remote = Evaluator(
        data, "numeric", store=tmp_path / "ray.db", max_concurrency=3, executor="ray"
    )
    try:
        here, there = local.evaluate(graph), remote.evaluate(graph)
        assert remote.executor.workers  # it really ran on Ray workers
    finally:
        remote.close()
    assert there.evaluated == here.evaluated == 6 and there.failures == 0
    assert _essence(there.records) == _essence(here.records)


def test_a_target_that_is_not_portable_is_refused_before_anything_runs(tmp_path):
    pytest.importorskip("langchain")
    from tests.search.graphs.test_configurable import _compiled

    space = GraphSpace(
        graph=_compiled(),
        slots=["writer"],
        pool=["sim:atlas-nano", "sim:atlas-mini"],
        params=[Categorical(name="suffix", choices=("",))],
        version="1",
    )
    graph = space.point(writer="sim:atlas-mini", suffix="").graph
    assert not graph.portable
    data = bundled_dataset("arithmetic", n=4)
    ev = Evaluator(data, "numeric", store=tmp_path / "ray.db", executor="ray")
    with pytest.raises(SettingsError, match=r"executor='ray' runs portable targets only.*'local'"):
        ev.evaluate(graph)
    assert ev.executor.workers == []  # nothing was started
    assert ev.store.count_evaluations() == 0
    # The local executor runs the same graph target.
    local = Evaluator(data, "numeric", store=tmp_path / "local.db")
    assert local.evaluate(graph).evaluated == 4


def test_settings_place_workers_on_resources():
    settings = EvalSettings(
        executor="ray", ray_num_cpus=0.5, ray_num_gpus=1, ray_resources={"llm_server": 1}
    )
    executor = get_executor(settings)
    assert isinstance(executor, RayExecutor)
    assert executor.settings.ray_resources == {"llm_server": 1.0}
    assert isinstance(get_executor(EvalSettings()), LocalExecutor)


def test_missing_ray_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(MissingIntegrationError, match=r"pip install 'rolegraph\[ray\]'"):
        Evaluator(bundled_dataset("arithmetic", n=4), "numeric", executor="ray")


def test_the_cli_runs_a_search_on_ray_with_the_local_result(cluster, tmp_path):
    config = tmp_path / "search.json"
    config.write_text(
        json.dumps(
            {
                "dataset": {"bundled": "arithmetic", "n": 12, "seed": 2},
                "space": {"topologies": ["single"], "pool": ["sim:atlas-nano", "sim:atlas-pro"]},
                "strategy": "grid",
                "budget": {"dollars": 1.0},
            }
        )
    )
    outputs = {}
    for label, flags in (("local", []), ("ray", ["--ray"])):
        out = tmp_path / f"{label}.json"
        store = tmp_path / f"{label}.db"
        args = ["search", "--config", str(config), "--store", str(store), "--out", str(out)]
        result = CliRunner().invoke(app, [*args, *flags], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        outputs[label] = json.loads(out.read_text())
    assert outputs["ray"]["best"] == outputs["local"]["best"]
    # --ray ADDRESS joins a cluster; the executor connects with the first evaluation.
    prepared, _ = _prepare(None, config, estimate_only=True, ray="ray://head:10001")
    settings = prepared.search.evaluator.settings
    assert (settings.executor, settings.ray_address) == ("ray", "ray://head:10001")
    assert isinstance(prepared.search.evaluator.executor, RayExecutor)


def test_a_late_reply_on_a_worker_reaches_the_store(cluster, tmp_path):
    # A synchronous CPU model that takes longer than the call timeout: the evaluation fails
    # (a timeout, transient) and returns, while the worker's thread goes on to finish the
    # generation. That late reply must reach the driver's store, so the rerun is free.
    from orchestrator.pricing import default_prices
    from search.evaluation.settings import RetrySettings
    from tests.orchestrator.test_thread_bound import CpuModel

    ref = "ollama:cpu-late"  # a local model: the instance below answers for it
    data = bundled_dataset("arithmetic", n=2)
    settings = EvalSettings(
        executor="ray",
        ray_workers=1,
        max_concurrency=1,
        call_timeout=0.3,
        retry=RetrySettings(max_retries=0),
    )
    ev = Evaluator(
        data,
        "numeric",
        store=tmp_path / "ray.db",
        settings=settings,
        models={ref: CpuModel(label="ray-late", seconds=1.0)},
        prices=default_prices().with_prices({ref: (1.0, 2.0)}),
    )
    try:
        first = ev.evaluate(single(model=ref))
        assert all(r.failed and r.transient for r in first.records)
        assert _stored_replies(ev, "cpu-test") == 0
        time.sleep(2.5)  # both threads finish their generations on the worker
        ev.evaluate(single(model="sim:atlas-nano"))  # the worker's next evaluation
        assert _stored_replies(ev, "cpu-test") == 2  # the late replies came back with it
        again = ev.evaluate(single(model=ref))
        assert [r.failed for r in again.records] == [False, False]
        assert all(r.cached_calls == r.calls == 1 and r.charged == 0 for r in again.records)
    finally:
        ev.close()


def _stored_replies(ev, llm_type):
    with ev.store.connection() as db:
        query = "SELECT count(*) FROM llm_calls WHERE llm_string LIKE ?"
        return db.conn.execute(query, (f"%{llm_type}%",)).fetchone()[0]
