"""The budget ledger: hard limits on calls and evaluations, shared and thread-safe."""

import threading

import pytest

from orchestrator import Workflow, WorkflowSpec, deploy
from orchestrator.errors import BudgetExhaustedError
from orchestrator.runtime import CallLedger
from orchestrator.trace import Usage
from search.evaluation import Budget, BudgetLedger, Estimate, estimate_evaluation
from search.evaluation.budget import get_ledger
from search.store import CostProfile

QUESTION = "Ava has 12 apples. Ava buys 5 more apples. How many apples does Ava have now?"


def usage(tokens: int) -> Usage:
    return Usage(input_tokens=tokens, total_tokens=tokens)


def test_a_ledger_is_a_call_ledger():
    assert isinstance(BudgetLedger(), CallLedger)
    assert get_ledger(None) is None
    ledger = BudgetLedger()
    assert get_ledger(ledger) is ledger
    assert get_ledger(Budget(dollars=1)).budget.dollars == 1
    assert get_ledger({"tokens": 5}).budget.tokens == 5


def test_calls_reserve_then_settle_what_they_used():
    ledger = BudgetLedger(Budget(dollars=1.0, tokens=1000, calls=10))
    hold = ledger.reserve(tokens=500, dollars=0.5)
    with pytest.raises(BudgetExhaustedError) as info:
        ledger.reserve(tokens=600, dollars=0.1)  # 500 held + 600 > 1000
    assert info.value.resource == "tokens"
    ledger.settle(hold, usage=usage(100), dollars=0.1, cached=False)
    assert ledger.spent.dollars == pytest.approx(0.1) and ledger.spent.tokens == 100
    assert ledger.remaining.tokens == 900 and ledger.remaining.calls == 9
    assert ledger.stop_reason.startswith("budget: a call needing up to 600 tokens")


def test_cache_hits_cost_nothing_and_failed_calls_are_released():
    ledger = BudgetLedger(dollars=0.01)
    hit = ledger.reserve(tokens=10, dollars=0.006)
    ledger.settle(hit, usage=usage(10), dollars=0.0, cached=True)
    failed = ledger.reserve(tokens=10, dollars=0.006)
    ledger.release(failed)
    assert ledger.spent.dollars == 0 and ledger.spent.calls == 0
    assert ledger.spent.cached_calls == 1 and not ledger.exhausted


def test_dollar_and_call_limits_refuse_with_the_resource():
    ledger = BudgetLedger(dollars=0.01, calls=1)
    with pytest.raises(BudgetExhaustedError, match=r"would pass the \$0.01 limit") as info:
        ledger.reserve(tokens=1, dollars=0.02)
    assert info.value.resource == "dollars" and ledger.exhausted
    ledger.settle(
        ledger.reserve(tokens=1, dollars=0.001), usage=usage(1), dollars=0.001, cached=False
    )
    with pytest.raises(BudgetExhaustedError) as info:
        ledger.reserve(tokens=1, dollars=0.0)
    assert info.value.resource == "calls"


def test_many_threads_never_overspend():
    ledger = BudgetLedger(dollars=1.0)
    refused = []

    def spend():
        for _ in range(200):
            try:
                hold = ledger.reserve(tokens=10, dollars=0.01)
            except BudgetExhaustedError:
                refused.append(1)
                continue
            ledger.settle(hold, usage=usage(10), dollars=0.009, cached=False)

    threads = [threading.Thread(target=spend) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert ledger.spent.dollars <= 1.0
    assert ledger.spent.dollars > 0.98  # it did spend nearly everything
    assert refused


def test_evaluations_are_admitted_against_their_estimate():
    ledger = BudgetLedger(dollars=1.0, evaluations=3)
    first = ledger.admit(Estimate(dollars=0.6))
    assert first is not None and ledger.running == 1
    assert ledger.admit(Estimate(dollars=0.6)) is None  # fits once the first is done
    scoped = ledger.scoped(first)
    scoped.settle(scoped.reserve(tokens=5, dollars=0.3), usage=usage(5), dollars=0.2, cached=False)
    assert first.outstanding()[0] == pytest.approx(0.4)
    ledger.finish(first)
    second = ledger.admit(Estimate(dollars=0.6))
    assert second is not None
    ledger.finish(second)
    with pytest.raises(BudgetExhaustedError, match=r"only \$0.8 of the \$1 budget is left"):
        ledger.admit(Estimate(dollars=0.9, source="spec"))
    assert ledger.spent.evaluations == 2
    ledger.admit(Estimate())
    with pytest.raises(BudgetExhaustedError, match="limit of 3 evaluations") as info:
        ledger.admit(Estimate())
    assert info.value.resource == "evaluations"
    assert ledger.stop_reason == "budget: the limit of 3 evaluations is reached"


def test_deploy_refuses_a_call_the_budget_cannot_cover():
    spec = Workflow("one").add_agent("s", role="solver", model="sim:atlas-pro").build()
    ledger = BudgetLedger(dollars=0.001)
    with pytest.raises(BudgetExhaustedError):
        deploy(spec, ledger=ledger).invoke(QUESTION)
    roomy = BudgetLedger(dollars=1.0)
    result = deploy(spec, ledger=roomy).invoke(QUESTION)
    assert roomy.spent.dollars == pytest.approx(result.charged) and roomy.spent.calls == 1


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


def test_spec_estimates_bound_loops_and_outputs():
    two = estimate_evaluation(refine_spec(2), question=QUESTION)
    assert two.source == "spec" and two.calls == 1 + 3 + 3
    assert estimate_evaluation(refine_spec(4)).calls == 1 + 5 + 5
    assert two.tokens > 1 * 1024 + 3 * 1024 + 3 * 100
    result = deploy(refine_spec(2)).invoke(QUESTION)
    assert result.cost < two.dollars and result.usage.total_tokens < two.tokens


def test_observed_costs_replace_the_spec_estimate():
    seen = CostProfile(n=5, mean_cost=0.001, max_cost=0.002, max_tokens=400, max_calls=3)
    estimate = estimate_evaluation(refine_spec(2), observed=seen)
    assert estimate.source == "observed"
    assert estimate.dollars == pytest.approx(0.003) and estimate.tokens == 600
    few = seen.model_copy(update={"n": 2})
    assert estimate_evaluation(refine_spec(2), observed=few).source == "spec"
