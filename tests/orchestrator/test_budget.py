"""The hard-budget ledger: holds, settling, waiting, groups, overruns."""

import asyncio
import threading

import pytest

from orchestrator import Workflow, deploy
from orchestrator.budget import (
    Amount,
    Budget,
    BudgetError,
    BudgetLedger,
    estimate_input_tokens,
    get_ledger,
    output_cap,
)
from orchestrator.errors import BudgetExhaustedError
from orchestrator.metering import CallLedger
from orchestrator.testing import ScriptedChatModel
from orchestrator.trace import Usage

QUESTION = "Ava has 12 apples. Ava buys 5 more apples. How many apples does Ava have now?"


def usage(tokens: int) -> Usage:
    return Usage(input_tokens=tokens, total_tokens=tokens)


def test_a_ledger_is_a_call_ledger_and_budgets_are_checked():
    assert isinstance(BudgetLedger(), CallLedger)
    assert get_ledger(None) is None
    ledger = BudgetLedger()
    assert get_ledger(ledger) is ledger
    assert get_ledger({"tokens": 5}).budget.tokens == 5
    for bad in ({"dollars": -1}, {"calls": True}, {"dollars": float("inf")}):
        with pytest.raises(BudgetError):
            get_ledger(bad)


def test_calls_hold_then_settle_what_they_used():
    ledger = BudgetLedger(Budget(dollars=1.0, tokens=1000, calls=10))
    hold = ledger.reserve(tokens=500, dollars=0.5)
    ledger.settle(hold, usage=usage(100), dollars=0.1, cached=False)
    assert ledger.spent.dollars == pytest.approx(0.1) and ledger.spent.tokens == 100
    assert ledger.remaining.tokens == 900 and ledger.remaining.calls == 9


def test_a_hold_that_cannot_fit_with_nothing_outstanding_is_refused():
    ledger = BudgetLedger(dollars=0.01, calls=1)
    with pytest.raises(BudgetExhaustedError, match=r"would pass the \$0.01 limit") as info:
        ledger.reserve(tokens=1, dollars=0.02)
    assert info.value.resource == "dollars" and info.value.final and ledger.exhausted


def test_a_thread_does_not_wait_for_its_own_holds():
    ledger = BudgetLedger(Budget(tokens=1000))
    ledger.reserve(tokens=500, dollars=0.0)
    with pytest.raises(BudgetExhaustedError) as info:
        ledger.reserve(tokens=600, dollars=0.0)  # 500 held by this very thread
    assert info.value.resource == "tokens"


def test_a_hold_waits_while_another_thread_may_free_budget():
    ledger = BudgetLedger(Budget(dollars=1.0))
    first = ledger.reserve(tokens=1, dollars=0.8)
    got = threading.Event()

    def second():
        ledger.settle(ledger.reserve(tokens=1, dollars=0.5), usage=usage(1), dollars=0.1,
                      cached=False)  # fmt: skip
        got.set()

    worker = threading.Thread(target=second)
    worker.start()
    assert not got.wait(0.1)  # it waits: 0.8 held + 0.5 > 1.0
    ledger.settle(first, usage=usage(1), dollars=0.3, cached=False)
    worker.join(5)
    assert got.is_set() and ledger.spent.dollars == pytest.approx(0.4)


async def test_async_holds_wait_without_blocking_the_loop():
    ledger = BudgetLedger(Budget(dollars=1.0))
    first = await ledger.areserve(tokens=1, dollars=0.8)
    waiting = asyncio.create_task(ledger.areserve(tokens=1, dollars=0.5))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    ledger.settle(first, usage=usage(1), dollars=0.2, cached=False)
    hold = await asyncio.wait_for(waiting, 5)
    assert hold.amount.dollars == 0.5


def test_cache_hits_cost_nothing_failed_calls_are_released_unknown_ones_charged():
    ledger = BudgetLedger(dollars=0.01)
    ledger.settle(ledger.reserve(tokens=10, dollars=0.006), usage=usage(10), dollars=0.0,
                  cached=True)  # fmt: skip
    ledger.release(ledger.reserve(tokens=10, dollars=0.006))
    assert ledger.spent.dollars == 0 and ledger.spent.calls == 0
    assert ledger.spent.cached_calls == 1 and not ledger.exhausted
    ledger.charge(ledger.reserve(tokens=10, dollars=0.004))  # timed out: may have been billed
    assert ledger.spent.dollars == pytest.approx(0.004) and ledger.spent.calls == 1


def test_an_overrun_is_charged_recorded_and_scales_that_models_holds():
    ledger = BudgetLedger(dollars=1.0)
    hold = ledger.reserve(tokens=100, dollars=0.01, model="m")
    ledger.settle(hold, usage=usage(500), dollars=0.05, cached=False)
    assert ledger.spent.dollars == pytest.approx(0.05)
    assert ledger.spent.overrun == pytest.approx(0.04)
    assert ledger.scale("m") == pytest.approx(5.0) and ledger.scale("other") == 1.0
    assert ledger.reserve(tokens=100, dollars=0.01, model="m").amount.dollars == pytest.approx(
        0.05
    )


def test_an_evaluation_is_admitted_on_its_worst_case_and_its_calls_hold_inside_it():
    ledger = BudgetLedger(dollars=1.0, evaluations=3)
    first = ledger.admit(Amount(dollars=0.6))
    assert first is not None and ledger.running == 1
    assert ledger.admit(Amount(dollars=0.6)) is None  # fits once the first is done
    scoped = ledger.scoped(first)
    scoped.settle(scoped.reserve(tokens=5, dollars=0.3), usage=usage(5), dollars=0.2,
                  cached=False)  # fmt: skip
    assert ledger.spent.dollars == pytest.approx(0.2)
    ledger.finish(first)  # returns the 0.4 it did not use
    second = ledger.admit(Amount(dollars=0.6))
    ledger.finish(second)
    # Its worst case no longer fits, and nothing else runs: it starts within what is left,
    # and a call that cannot fit in that ends it.
    tail = ledger.admit(Amount(dollars=0.9))
    assert tail.size.dollars == pytest.approx(0.8)
    with pytest.raises(BudgetExhaustedError) as refused:
        ledger.scoped(tail).reserve(tokens=1, dollars=0.85)
    assert refused.value.final
    ledger.finish(tail)
    assert ledger.spent.evaluations == 3 and ledger.spent.dollars == pytest.approx(0.2)
    with pytest.raises(BudgetExhaustedError, match="limit of 3 evaluations") as info:
        ledger.admit(Amount())
    assert info.value.resource == "evaluations"


def test_float_residue_of_settled_holds_is_not_a_call_still_running():
    # 0.1 + 0.2 - 0.1 - 0.2 leaves 4e-17 held: taken for a running call, it made a lone
    # evaluation wait for itself for ever (a search hung under a tight budget).
    ledger = BudgetLedger(dollars=0.5)
    group = ledger.admit(Amount(dollars=0.5))
    scoped = ledger.scoped(group)
    first = scoped.reserve(tokens=1, dollars=0.1)
    second = scoped.reserve(tokens=1, dollars=0.2)
    scoped.release(first)
    scoped.release(second)
    assert group.held == Amount()

    async def more_than_is_left() -> None:  # refused at once, not a wait for ever
        await asyncio.wait_for(scoped.areserve(tokens=1, dollars=0.6), timeout=2)

    with pytest.raises(BudgetExhaustedError) as refused:
        asyncio.run(more_than_is_left())
    assert refused.value.final
    assert (Amount(0.1) + Amount(0.2) - Amount(0.1) - Amount(0.2)).floor() == Amount()


def test_evaluations_that_all_wait_for_each_other_give_way_instead_of_deadlocking():
    ledger = BudgetLedger(dollars=1.0)
    a, b = ledger.admit(Amount(dollars=0.5)), ledger.admit(Amount(dollars=0.5))
    outcome = {}

    async def need_more(name, group):
        try:
            hold = await ledger.scoped(group).areserve(tokens=1, dollars=0.7)
            outcome[name] = "held"
            ledger.settle(hold, usage=usage(1), dollars=0.1, cached=False)
        except BudgetExhaustedError as exc:
            outcome[name] = "gave way" if not exc.final else "final"
        ledger.finish(group)

    async def both():
        await asyncio.gather(need_more("a", a), need_more("b", b))

    asyncio.run(both())
    assert sorted(outcome.values()) == ["gave way", "held"]
    assert ledger.spent.dollars <= 1.0


def test_many_threads_never_overspend_and_spend_nearly_everything():
    ledger = BudgetLedger(dollars=1.0)

    def spend():
        for _ in range(200):
            try:
                hold = ledger.reserve(tokens=10, dollars=0.01)
            except BudgetExhaustedError:
                return
            ledger.settle(hold, usage=usage(10), dollars=0.009, cached=False)

    threads = [threading.Thread(target=spend) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 0.99 < ledger.spent.dollars <= 1.0  # waiting, not quitting: all but the last cent


def test_the_held_output_is_the_cap_the_model_is_called_with():
    assert output_cap(None) == 1024 and output_cap(7) == 7
    assert output_cap(None, ScriptedChatModel(replies=["x"], max_tokens=300)) == 300
    assert estimate_input_tokens(300) == 100 + 16


def test_deploy_binds_the_cap_so_a_long_reply_cannot_overspend():
    # The model would report 5,000 output tokens; the cap it is called with cuts it to 1,024.
    model = ScriptedChatModel(
        replies=['{"answer": "17", "confidence": 0.9}'], reasoning_tokens=5000
    )
    spec = Workflow("long").add_agent("s", role="solver", model=model).build()
    ledger = BudgetLedger(dollars=0.05)
    for _ in range(20):
        try:
            result = deploy(spec, ledger=ledger).invoke(QUESTION)
        except BudgetExhaustedError:
            break
        node = result.nodes[0]  # its reply, cut to nothing, is re-asked once: two calls
        assert node.usage.output_tokens <= 1024 * node.calls and result.overrun == 0
    assert 0 < ledger.spent.dollars <= 0.05


def test_a_model_that_ignores_its_cap_is_charged_and_recorded_as_an_overrun():
    model = ScriptedChatModel(
        replies=['{"answer": "17", "confidence": 0.9}'],
        reasoning_tokens=5000,
        ignores_max_tokens=True,
    )
    spec = Workflow("long").add_agent("s", role="solver", model=model, max_tokens=10).build()
    ledger = BudgetLedger(dollars=1.0)
    result = deploy(spec, ledger=ledger).invoke(QUESTION)
    assert result.nodes[0].overrun > 0 and result.overrun == result.nodes[0].overrun
    assert ledger.spent.overrun == pytest.approx(result.overrun)
    assert ledger.spent.dollars == pytest.approx(result.charged)
    held_next = ledger.reserve(tokens=10, dollars=0.001, model=spec.agents[0].model)
    assert held_next.amount.dollars > 0.001  # its next holds are scaled to what it really uses
