"""The evaluator: caching, faults, streaming, repetitions, budgets and statistics."""

import asyncio
import time
from contextlib import aclosing

import pytest

from orchestrator import Agent, Workflow, WorkflowSpec
from orchestrator.errors import MissingIntegrationError
from orchestrator.testing import CountingSimChatModel, FaultyChatModel, SlowChatModel
from search.evaluation import Budget, BudgetLedger, Dataset, Evaluator, bundled_dataset
from search.store import Store

ANSWER = '{"answer": "42", "confidence": 0.9}'


def refine(model="sim:atlas-nano", rounds=2, temperature=0.0) -> WorkflowSpec:
    return (
        Workflow("refine")
        .add_agent("solver", role="solver", model=model, temperature=temperature)
        .add_agent("check", role="verifier", model="sim:atlas-mini")
        .add_agent("fix", role="rectifier", model="sim:atlas-mini")
        .add_edge("solver", "check")
        .add_edge("check", "fix")
        .add_loop("fix", "check", max_rounds=rounds)
        .build()
    )


def single(model, temperature=0.0) -> WorkflowSpec:
    return WorkflowSpec(
        name="single",
        agents=[Agent(name="solver", role="solver", model=model, temperature=temperature)],
    )


def tasks(*markers: str, plain: int = 0) -> list[dict]:
    rows = [{"id": m, "question": f"[{m}] What is 6 * 7?", "answer": "42"} for m in markers]
    rows += [
        {"id": f"ok{i}", "question": f"What is 6 * 7? ({i})", "answer": "42"} for i in range(plain)
    ]
    return rows


@pytest.fixture
def sim():
    return CountingSimChatModel(model="atlas-mini")


# --- caching --------------------------------------------------------------------------


def test_a_repeated_evaluation_makes_no_model_calls(tmp_path, sim):
    data = bundled_dataset(n=12, seed=5)
    spec = refine(model="sim:atlas-mini")
    first = Evaluator(data, "numeric", store=tmp_path / "e.db", models={"sim:atlas-mini": sim})
    summary = first.evaluate(spec)
    made = sim.calls
    assert made >= 12 * 2 and summary.calls == made and summary.evaluated == 12
    assert summary.charged > 0 and summary.stop_reason == "completed"

    again = Evaluator(data, "numeric", store=tmp_path / "e.db", models={"sim:atlas-mini": sim})
    repeat = again.evaluate(spec)
    assert sim.calls == made  # not one model call
    assert repeat.cached == 12 and repeat.evaluated == 0 and repeat.calls == 0
    assert repeat.charged == 0 and again.spent.dollars == 0
    assert repeat.mean == summary.mean and repeat.cost == pytest.approx(summary.cost)
    assert [r.answer for r in repeat.records] == [r.answer for r in summary.records]


def test_new_evaluations_reuse_cached_model_calls(tmp_path, sim):
    data = bundled_dataset(n=6, seed=2)
    spec = single("sim:atlas-mini")
    models = {"sim:atlas-mini": sim}
    Evaluator(data, "numeric", store=tmp_path / "e.db", models=models).evaluate(spec)
    made = sim.calls
    renamed = data.model_copy(update={"name": "copy"})
    other = Evaluator(renamed, "exact", store=tmp_path / "e.db", models=models)
    summary = other.evaluate(spec)
    assert summary.evaluated == 6 and sim.calls == made
    assert summary.cached_calls == 6 and summary.charged == 0


def test_an_edited_task_is_evaluated_again(tmp_path, sim):
    rows = tasks("a", "b")
    spec = single("sim:atlas-mini")
    models = {"sim:atlas-mini": sim}
    Evaluator(rows, store=tmp_path / "e.db", models=models).evaluate(spec)
    rows[1] = {**rows[1], "answer": "43"}
    summary = Evaluator(rows, store=tmp_path / "e.db", models=models).evaluate(spec)
    assert summary.cached == 1 and summary.evaluated == 1
    assert summary.records[1].expected == "43" and summary.records[1].score == 0.0


def test_the_metric_is_part_of_the_settings():
    data = bundled_dataset(n=2)
    spec = single("sim:atlas-mini")
    numeric, exact = Evaluator(data, "numeric"), Evaluator(data, "exact")
    assert numeric.key(spec, data[0]) != exact.key(spec, data[0])
    assert numeric.key(spec, data[0]).workflow == spec.hash
    assert numeric.key(spec, data[0]) == Evaluator(data, "numeric").key(spec, data[0])


# --- faults ---------------------------------------------------------------------------


def faulty() -> FaultyChatModel:
    return FaultyChatModel(
        reply=ANSWER,
        faults={
            "[retry]": ["raise", "ok"],
            "[dead]": ["raise"],
            "[hang]": ["hang", "ok"],
            "[stuck]": ["hang"],
            "[garbage]": ["garbage"],
        },
    )


def fault_evaluator(tmp_path, **settings) -> Evaluator:
    return Evaluator(
        tasks("retry", "dead", "hang", "stuck", "garbage", plain=3),
        "numeric",
        store=tmp_path / "faults.db",
        max_retries=2,
        backoff=0.001,
        jitter=False,
        call_timeout=0.05,
        max_concurrency=4,
        **settings,
    )


def test_retries_back_off_exponentially_with_jitter():
    retry = Evaluator(tasks("a"), max_retries=4, backoff=0.2).retry
    assert retry.max_attempts == 5 and retry.initial_interval == 0.2
    assert retry.backoff_factor == 2.0 and retry.jitter


def test_faults_are_retried_or_recorded_and_evaluation_completes(tmp_path):
    model = faulty()
    summary = fault_evaluator(tmp_path).evaluate(single(model))
    by_id = {r.task_id: r for r in summary.records}
    assert summary.n == 8 and summary.stop_reason == "completed"
    assert summary.failures == 3
    assert summary.errors == {"RateLimitError": 1, "ModelTimeoutError": 1, "NoAnswer": 1}
    assert by_id["retry"].score == 1.0 and model.attempts("[retry]") == 2
    assert by_id["hang"].score == 1.0 and model.attempts("[hang]") == 2
    dead, stuck, garbage = by_id["dead"], by_id["stuck"], by_id["garbage"]
    assert dead.failed and dead.transient and "429" in dead.error
    assert model.attempts("[dead]") == 3  # the first try and two retries
    assert stuck.failed and stuck.error.startswith("ModelTimeoutError") and stuck.transient
    assert garbage.failed and not garbage.transient and "NoAnswer" in garbage.error
    assert all(r.score == 1.0 for r in summary.records if r.task_id.startswith("ok"))
    stored = Store(tmp_path / "faults.db").evaluations(failed=True)
    assert sorted(r.task_id for r in stored) == ["dead", "garbage", "stuck"]
    assert all(r.error for r in stored)


def test_transient_failures_are_tried_again_on_the_next_run(tmp_path):
    model = faulty()
    spec = single(model)
    fault_evaluator(tmp_path).evaluate(spec)
    summary = fault_evaluator(tmp_path).evaluate(spec)
    assert summary.evaluated == 2 and summary.cached == 6  # dead and stuck ran again
    # Garbage is asked once more (the re-ask), then never again: it is not transient.
    assert model.attempts("[dead]") == 6 and model.attempts("[garbage]") == 2


def test_failure_score_and_max_errors(tmp_path):
    model = FaultyChatModel(reply=ANSWER, faults={"[": ["garbage"]})
    rows = tasks(*[f"g{i}" for i in range(10)])
    ev = Evaluator(
        rows, store=tmp_path / "e.db", max_errors=2, max_concurrency=1, failure_score=0.25
    )
    summary = ev.evaluate(single(model))
    assert summary.stop_reason == "max_errors: 2 evaluations failed (max_errors=2)"
    assert summary.n == 2 and summary.not_run == 8
    assert all(r.score == 0.25 for r in summary.records)
    rescored = Evaluator(rows, store=tmp_path / "e.db", max_concurrency=1, failure_score=0.0)
    assert all(r.score == 0.0 for r in rescored.evaluate(single(model)).records[:2])


def test_a_spec_that_cannot_run_fails_before_spending(tmp_path):
    ev = Evaluator(tasks("a"), store=tmp_path / "e.db", budget=Budget(dollars=1))
    with pytest.raises(MissingIntegrationError, match="pip install langchain-openai"):
        ev.evaluate(single("openai:gpt-4o-mini"))
    assert ev.spent.evaluations == 0 and ev.store.count_evaluations() == 0


# --- streaming ------------------------------------------------------------------------


async def test_results_stream_as_they_finish(tmp_path):
    model = FaultyChatModel(reply=ANSWER, faults={"[slow]": ["hang"]}, hang_s=0.4)
    ev = Evaluator(tasks("slow", plain=5), store=tmp_path / "e.db", call_timeout=None)
    started = time.perf_counter()
    arrivals = []
    async for record in ev.astream(single(model)):
        arrivals.append((record.task_id, time.perf_counter() - started))
    assert arrivals[0][1] < 0.3  # the first result did not wait for the slow task
    assert arrivals[-1][0] == "slow" and arrivals[-1][1] >= 0.4


async def test_ordered_streams_follow_task_order(tmp_path):
    model = FaultyChatModel(reply=ANSWER, faults={"[slow]": ["hang"]}, hang_s=0.2)
    rows = tasks("slow", plain=5)
    ev = Evaluator(rows, store=tmp_path / "e.db", call_timeout=None)
    records = [r async for r in ev.astream(single(model), ordered=True)]
    assert [r.task_id for r in records] == [row["id"] for row in rows]


async def test_closing_a_stream_early_keeps_what_finished_and_resumes(tmp_path):
    model = SlowChatModel(delay=0.05, reply=ANSWER)
    rows = tasks(plain=20)
    ev = Evaluator(rows, store=tmp_path / "e.db", max_concurrency=2)
    seen = []
    async with aclosing(ev.astream(single(model))) as stream:
        async for record in stream:
            seen.append(record)
            if len(seen) == 3:
                break
    assert stream.stop_reason == "stopped by the caller"
    stored = ev.store.count_evaluations()
    assert 3 <= stored <= 4  # at most the one in flight alongside finished too
    summary = await ev.aevaluate(single(model))
    assert summary.cached == stored and summary.evaluated == 20 - stored


def test_sync_stream_yields_every_record(tmp_path, sim):
    ev = Evaluator(bundled_dataset(n=5), "numeric", models={"sim:atlas-mini": sim})
    with ev.stream(single("sim:atlas-mini"), ordered=True) as stream:
        ids = [record.task_id for record in stream]
    assert ids == ev.dataset.ids() and stream.stop_reason == "completed"
    assert stream.summary().n == 5


async def test_sync_evaluate_works_inside_an_event_loop(sim):
    ev = Evaluator(bundled_dataset(n=3), "numeric", models={"sim:atlas-mini": sim})
    assert ev.evaluate(single("sim:atlas-mini")).n == 3


def test_concurrency_is_capped_across_workflows():
    model = SlowChatModel(delay=0.05, reply=ANSWER)
    ev = Evaluator(tasks(plain=16), max_concurrency=4, cache_calls=False)
    started = time.perf_counter()
    summaries = ev.evaluate_many([single(model), single(model, temperature=0.5)])
    elapsed = time.perf_counter() - started
    assert [s.n for s in summaries] == [16, 16]
    assert model.peak_in_flight == 4
    assert 0.35 <= elapsed < 2.0  # 32 calls of 50 ms, four at a time


def test_a_pool_entrys_own_cap_limits_its_calls_at_once():
    from orchestrator.models import register_model
    from search.space import Component, ComponentPool

    model = SlowChatModel(delay=0.02, reply=ANSWER)
    ref = register_model(model)
    pool = ComponentPool(components=(Component(name=ref, max_concurrency=1),))
    ev = Evaluator(
        tasks(plain=8), max_concurrency=8, cache_calls=False, concurrency=pool.concurrency()
    )
    assert ev.evaluate(single(model)).n == 8
    assert model.peak_in_flight == 1


@pytest.mark.xfail(
    strict=True,
    reason="head-of-line blocking: an evaluation holds its slot while it waits for its "
    "model's limit (lending the slot deadlocked against budget admission; see "
    "docs/benchmarks.md)",
)
def test_evaluations_waiting_on_one_models_limit_do_not_hold_up_other_models():
    from orchestrator.models import register_model
    from search.space import Component, ComponentPool

    slow = SlowChatModel(delay=0.3, reply=ANSWER)
    fast = SlowChatModel(delay=0.005, reply=ANSWER)
    pool = ComponentPool(components=(Component(name=register_model(slow), max_concurrency=1),))
    ev = Evaluator(
        tasks(plain=12), max_concurrency=4, cache_calls=False, concurrency=pool.concurrency()
    )
    calls_when_fast_done = []

    async def run_fast() -> None:
        await asyncio.sleep(0.05)  # behind the slow model's evaluations, in every slot
        await ev.aevaluate(single(fast))
        calls_when_fast_done.append(slow.calls)

    async def run() -> None:
        await asyncio.gather(ev.aevaluate(single(slow), tasks=ev.dataset.tasks[:5]), run_fast())

    asyncio.run(run())
    assert fast.calls == 12 and slow.calls == 5
    # The slow model runs one call at a time; the fast model's twelve should run during
    # its first call.
    assert calls_when_fast_done == [1]


def test_the_progress_bar_can_be_shown(tmp_path, sim, capsys):
    ev = Evaluator(bundled_dataset(n=3), models={"sim:atlas-mini": sim}, show_progress=True)
    assert ev.evaluate(single("sim:atlas-mini")).n == 3
    assert "single" in capsys.readouterr().err


# --- repetitions and statistics ---------------------------------------------------------


def test_sampling_workflows_are_repeated_with_seeds(sim):
    data = bundled_dataset(n=4, seed=1)
    ev = Evaluator(data, "numeric", repetitions=3, models={"sim:atlas-mini": sim})
    hot = ev.evaluate(single("sim:atlas-mini", temperature=0.8))
    assert hot.n == 12 and hot.n_tasks == 4
    assert sorted({r.seed for r in hot.records}) == [0, 1, 2]
    cold = ev.evaluate(single("sim:atlas-mini"))
    assert cold.n == 4  # a deterministic workflow runs once per task
    explicit = ev.evaluate(single("sim:atlas-mini"), seeds=[7, 8])
    assert {r.seed for r in explicit.records} == {7, 8}


def test_summary_statistics_and_comparison(tmp_path):
    data = bundled_dataset(n=40, seed=9, levels=("hard",))
    ev = Evaluator(data, "numeric", store=tmp_path / "e.db")
    weak = ev.evaluate(single("sim:atlas-nano"))
    strong = ev.evaluate(single("sim:atlas-pro"))
    assert weak.score.ci_method == "wilson" and weak.ci_low <= weak.mean <= weak.ci_high
    assert strong.mean > weak.mean
    assert strong.cost_per_task > weak.cost_per_task
    comparison = ev.compare(single("sim:atlas-pro"), single("sim:atlas-nano"))
    assert comparison.n == 40
    assert comparison.difference == pytest.approx(strong.mean - weak.mean)
    stats = ev.stats(single("sim:atlas-pro"))
    assert stats.mean == strong.mean and stats.n == 40
    assert ev.stats(single("sim:atlas-pro"), tasks=data.ids()[:10]).n_tasks == 10


def test_the_test_split_is_reserved():
    splits = bundled_dataset(n=20).split(seed=0)
    with pytest.raises(ValueError, match="reserved for the final report"):
        Evaluator(splits.test)
    assert Evaluator(splits.test, allow_test=True).dataset.partition == "test"
    ev = Evaluator(splits.train)
    with pytest.raises(ValueError, match="test split"):
        ev.evaluate(single("sim:atlas-mini"), tasks=splits.test)
    subset = ev.evaluate(single("sim:atlas-mini"), tasks=splits.train.ids()[:2])
    assert subset.n == 2


# --- budgets --------------------------------------------------------------------------


def full_cost(data: Dataset, spec: WorkflowSpec) -> float:
    return Evaluator(data, "numeric").evaluate(spec).charged


@pytest.mark.parametrize(("share", "concurrency"), [(0.3, 1), (0.5, 8), (0.8, 16)])
def test_a_dollar_budget_is_never_exceeded(tmp_path, share, concurrency):
    data = bundled_dataset(n=30, seed=4)
    spec = refine()
    limit = share * full_cost(data, spec)
    ev = Evaluator(
        data,
        "numeric",
        store=tmp_path / "b.db",
        budget=Budget(dollars=limit),
        max_concurrency=concurrency,
    )
    summary = ev.evaluate(spec)
    assert ev.spent.dollars <= limit
    assert sum(r.charged for r in ev.store.evaluations()) <= limit
    assert summary.stop_reason.startswith("budget:") and summary.not_run > 0
    # The last evaluation may start within what is left and stop at a call that does not
    # fit: its answered calls are paid (and cached) though it gives no record.
    assert summary.charged <= ev.spent.dollars + 1e-12
    assert len(ev.store.llm_cache()) == ev.spent.calls
    assert ev.ledger.exhausted


def test_token_call_and_evaluation_budgets(tmp_path):
    data = bundled_dataset(n=20, seed=3)
    spec = single("sim:atlas-mini")
    by_count = Evaluator(data, "numeric", budget=Budget(evaluations=5), max_concurrency=4)
    summary = by_count.evaluate(spec)
    assert summary.evaluated == 5 and summary.not_run == 15
    assert "limit of 5 evaluations" in summary.stop_reason
    by_tokens = Evaluator(data, "numeric", budget=Budget(tokens=6000), max_concurrency=4)
    by_tokens.evaluate(spec)
    assert 0 < by_tokens.spent.tokens <= 6000
    by_calls = Evaluator(data, "numeric", budget=Budget(calls=7), max_concurrency=4)
    assert by_calls.evaluate(spec).calls <= 7 and by_calls.spent.calls <= 7


def test_stored_results_need_no_budget(tmp_path):
    data = bundled_dataset(n=10, seed=6)
    spec = single("sim:atlas-mini")
    Evaluator(data, "numeric", store=tmp_path / "e.db").evaluate(spec, tasks=data.ids()[:6])
    broke = Evaluator(data, "numeric", store=tmp_path / "e.db", budget=Budget(dollars=0.0))
    summary = broke.evaluate(spec)
    assert summary.cached == 6 and summary.evaluated == 0 and summary.not_run == 4
    assert broke.spent.dollars == 0 and summary.stop_reason.startswith("budget:")


def test_one_ledger_is_shared_by_a_whole_search():
    data = bundled_dataset(n=20, seed=8)
    specs = [single("sim:atlas-mini"), single("sim:lynx-large"), refine()]
    limit = 0.4 * sum(full_cost(data, s) for s in specs)
    ledger = BudgetLedger(dollars=limit)
    ev = Evaluator(data, "numeric", budget=ledger, max_concurrency=8)
    summaries = asyncio.run(ev.aevaluate_many(specs))
    assert ledger.spent.dollars <= limit
    assert sum(s.charged for s in summaries) == pytest.approx(ledger.spent.dollars)
    # Evaluations cut off by a refused call were started, so they count too, and what
    # their calls spent is in the summaries as in the ledger.
    assert ledger.spent.evaluations >= sum(s.evaluated for s in summaries)
    assert sum(s.calls for s in summaries) == ledger.spent.calls


async def read_then_stop(stream, *, after: int) -> list:
    """Read a stream to its end, stopping it (as a pruner would) after ``after`` records."""
    seen = []
    async with stream:
        async for record in stream:
            seen.append(record)
            if len(seen) == after:
                stream.stop("pruned")
    return seen


async def test_stopping_a_stream_lets_running_evaluations_finish(tmp_path):
    from search import Evaluator, bundled_dataset
    from search.store import Store
    from topologies import single

    data = bundled_dataset("arithmetic", n=20, seed=3)
    ev = Evaluator(data, "numeric", store=tmp_path / "s.db", max_concurrency=4)
    stream = ev.astream(single(model="sim:atlas-nano"), ordered=True)
    seen = await read_then_stop(stream, after=1)
    assert stream.stop_reason == "pruned"
    assert 1 < len(seen) <= 4  # the ones already running came out too
    stored = Store(tmp_path / "s.db").count_evaluations()
    assert stored == len(seen)  # and none of the work paid for was thrown away


@pytest.mark.parametrize("ordered", [True, False])
async def test_a_stopped_stream_gives_out_no_more_stored_results(tmp_path, ordered):
    from search import Evaluator, bundled_dataset
    from topologies import single

    data = bundled_dataset("arithmetic", n=20, seed=3)
    ev = Evaluator(data, "numeric", store=tmp_path / "s.db", max_concurrency=4)
    spec = single(model="sim:atlas-nano")
    assert ev.evaluate(spec).n_tasks == 20  # everything is stored now
    seen = await read_then_stop(ev.astream(spec, ordered=ordered), after=5)
    # Stored results are free, but the caller has seen enough: what it read, and for an
    # ordered stream the window that would have been running (max_concurrency - 1 more),
    # so a rerun served from the store gives what the first run gave.
    assert len(seen) == (5 + 4 - 1 if ordered else 5)
