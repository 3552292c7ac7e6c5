"""Budgets in evaluation: worst-case admission, no early stop, every answered call paid."""

import math
import threading

import pytest

from orchestrator import Workflow, WorkflowSpec, deploy
from orchestrator.testing import CountingSimChatModel
from search.evaluation import Budget, BudgetLedger, Evaluator, bundled_dataset, estimate_evaluation
from search.store import Store

QUESTION = "Ava has 12 apples. Ava buys 5 more apples. How many apples does Ava have now?"


def refine_spec(rounds: int) -> WorkflowSpec:
    return (
        Workflow("refine")
        .add_agent("solver", role="solver", model="sim:atlas-mini")
        .add_agent("check", role="verifier", model="sim:atlas-mini")
        .add_agent("fix", role="rectifier", model="sim:atlas-mini", max_tokens=100)
        .add_edge("solver", "check")
        .add_edge("check", "fix")
        .add_loop("fix", "check", max_rounds=rounds)
        .build()
    )


def single(model: str = "sim:atlas-nano") -> WorkflowSpec:
    return Workflow("single").add_agent("s", role="solver", model=model).build()


def test_the_estimate_counts_every_loop_round_at_each_agents_cap():
    two = estimate_evaluation(refine_spec(2), question=QUESTION)
    # Every call may be asked once more when its reply does not parse (the re-ask).
    assert two.calls == 2 * (1 + 3 + 3)
    assert estimate_evaluation(refine_spec(4)).calls == 2 * (1 + 5 + 5)
    assert two.tokens > 1 * 1024 + 3 * 1024 + 3 * 100
    result = deploy(refine_spec(2)).invoke(QUESTION)
    assert result.cost < two.dollars and result.usage.total_tokens < two.tokens


@pytest.mark.parametrize("concurrency", [1, 8, 64])
def test_a_budget_is_never_passed_and_nearly_all_of_it_is_spent(concurrency):
    data = bundled_dataset(n=300, seed=4)
    ev = Evaluator(data, "numeric", budget=Budget(dollars=0.005), max_concurrency=concurrency)
    summary = ev.evaluate(single())
    assert summary.stop_reason.startswith("budget")
    assert 0.9 * 0.005 <= ev.spent.dollars <= 0.005
    assert summary.evaluated + summary.not_run == 300


def test_every_answered_call_is_charged_and_stored(tmp_path):
    sim = CountingSimChatModel(model="atlas-nano")
    spec = Workflow("s").add_agent("s", role="solver", model=sim).build()
    data = bundled_dataset(n=200, seed=5)
    ev = Evaluator(
        data, "numeric", store=tmp_path / "e.db", budget=Budget(dollars=0.001), max_concurrency=16
    )
    summary = ev.evaluate(spec)
    assert summary.stop_reason.startswith("budget")
    assert sim.calls == ev.spent.calls  # nothing answered went unpaid
    again = Evaluator(data, "numeric", store=tmp_path / "e.db", models={})
    assert again.store.count_evaluations() == summary.evaluated


def test_identical_evaluations_in_flight_at_once_run_once(tmp_path):
    sim = CountingSimChatModel(model="atlas-nano", latency_scale=0.002)
    spec = Workflow("s").add_agent("s", role="solver", model=sim).build()
    data = bundled_dataset(n=12, seed=6)
    store = Store(tmp_path / "shared.db")
    summaries = []

    def evaluate():
        summaries.append(Evaluator(data, "numeric", store=store).evaluate(spec))

    threads = [threading.Thread(target=evaluate) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    fresh = [r for s in summaries for r in s.records if not r.cached]
    assert len(fresh) == 12  # one run of each task, shared by six evaluators
    assert sim.calls == sum(r.calls - r.cached_calls for r in fresh)  # re-asks included
    assert sum(s.evaluated for s in summaries) == 12
    assert {s.mean for s in summaries} == {summaries[0].mean}


def test_a_metric_that_fails_keeps_the_paid_run_and_the_others_go_on(tmp_path):
    def fragile(prediction, answer):
        if answer.endswith("7"):
            raise RuntimeError("cannot score this one")
        return math.nan if answer.endswith("3") else float(prediction == answer)

    sim = CountingSimChatModel(model="atlas-mini")
    spec = Workflow("s").add_agent("s", role="solver", model=sim).build()
    data = bundled_dataset(n=30, seed=7)
    ev = Evaluator(data, fragile, store=tmp_path / "m.db")
    summary = ev.evaluate(spec)
    failed = [r for r in summary.records if r.failed]
    assert failed and all(r.error_type == "MetricError" for r in failed)
    assert all(r.calls > 0 and r.answer for r in failed)  # its calls were made and kept
    assert summary.evaluated == 30 and summary.stop_reason == "completed"
    made = sim.calls
    Evaluator(data, fragile, store=tmp_path / "m.db").evaluate(spec)
    assert sim.calls == made  # the rerun pays for nothing again


def test_a_shared_ledger_spans_evaluators():
    ledger = BudgetLedger(Budget(dollars=0.001))
    data = bundled_dataset(n=100, seed=8)
    first = Evaluator(data, "numeric", budget=ledger).evaluate(single("sim:atlas-nano"))
    second = Evaluator(data, "numeric", budget=ledger).evaluate(single("sim:lynx-small"))
    assert ledger.spent.dollars <= 0.001
    assert first.charged + second.charged == pytest.approx(ledger.spent.dollars)
