"""One metered call: the single budget rule every model call follows."""

import asyncio

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from orchestrator.budget import BudgetLedger
from orchestrator.errors import BudgetExhaustedError, ModelTimeoutError
from orchestrator.metering import CACHED_KEY, ametered, metered, worst_case
from orchestrator.pricing import Price, PriceTable

PRICES = PriceTable({"m": Price(input=1000.0, output=1000.0)})  # $0.001 a token
MESSAGES = [HumanMessage("x" * 30)]
WORST = worst_case(MESSAGES, 10)


def reply(tokens: int, *, cached: bool = False) -> AIMessage:
    meta = {"input_tokens": tokens, "output_tokens": 0, "total_tokens": tokens}
    return AIMessage("42", usage_metadata=meta, response_metadata={CACHED_KEY: cached})


def run(call, ledger):
    return metered(call, ledger=ledger, prices=PRICES, model="m", worst=WORST)


def test_the_worst_case_is_the_prompt_estimate_plus_the_output_cap():
    assert WORST.output_tokens == 10 and WORST.input_tokens >= 10
    assert WORST.total_tokens == WORST.input_tokens + 10


def test_an_answered_call_is_charged_what_it_used():
    ledger = BudgetLedger(dollars=1.0)
    done = run(lambda: reply(5), ledger)
    assert done.cost == pytest.approx(0.005) and done.charged == done.cost
    assert ledger.spent.dollars == pytest.approx(0.005) and ledger.spent.calls == 1


def test_a_cache_hit_costs_nothing_but_keeps_its_list_price():
    ledger = BudgetLedger(dollars=1.0)
    done = run(lambda: reply(5, cached=True), ledger)
    assert done.cached and done.charged == 0 and done.cost == pytest.approx(0.005)
    assert ledger.spent.dollars == 0 and ledger.spent.cached_calls == 1


def test_a_reply_beyond_its_hold_is_charged_in_full_and_its_overrun_recorded():
    ledger = BudgetLedger(dollars=10.0)
    done = run(lambda: reply(WORST.total_tokens + 100), ledger)
    assert done.overrun == pytest.approx(0.1)
    assert ledger.spent.dollars == pytest.approx(done.cost)


@pytest.mark.parametrize("cut_off", [TimeoutError, asyncio.CancelledError, KeyboardInterrupt])
def test_a_call_cut_off_after_it_was_sent_is_charged_its_whole_hold(cut_off):
    ledger = BudgetLedger(dollars=1.0)

    def call():
        raise cut_off()

    with pytest.raises(cut_off):
        run(call, ledger)
    assert ledger.spent.calls == 1
    assert ledger.spent.dollars == pytest.approx(WORST.total_tokens * 0.001)


def test_any_other_failure_releases_its_hold():
    ledger = BudgetLedger(dollars=1.0)

    def call():
        raise RuntimeError("provider down")

    with pytest.raises(RuntimeError):
        run(call, ledger)
    assert ledger.spent.dollars == 0 and ledger.spent.calls == 0


def test_a_call_that_cannot_fit_is_never_made():
    made = []
    with pytest.raises(BudgetExhaustedError):
        run(lambda: made.append(1) or reply(1), BudgetLedger(dollars=0.001))
    assert not made


async def test_the_async_twin_times_out_and_charges_the_hold():
    ledger = BudgetLedger(dollars=1.0)

    async def slow():
        await asyncio.sleep(5)
        return reply(1)

    with pytest.raises(ModelTimeoutError, match="agent 'a': model m did not answer within"):
        await ametered(
            slow,
            ledger=ledger,
            prices=PRICES,
            model="m",
            worst=WORST,
            timeout=0.01,
            caller="agent 'a'",
        )
    assert ledger.spent.calls == 1 and ledger.spent.dollars > 0


def _flown(made: list[int], *, fail: bool = False, gate: asyncio.Event | None = None):
    async def call():
        made.append(1)
        if gate is not None:
            await gate.wait()
        await asyncio.sleep(0.01)
        if fail:
            raise RuntimeError("provider down")
        return reply(5)

    return call


async def _flight(ledger, call, flight="k", timeout=None):
    return await ametered(
        call, ledger=ledger, prices=PRICES, model="m", worst=WORST, flight=flight, timeout=timeout
    )


async def test_identical_calls_in_flight_at_once_are_made_and_paid_once():
    ledger, made = BudgetLedger(dollars=1.0), []
    done = await asyncio.gather(*(_flight(ledger, _flown(made)) for _ in range(4)))
    assert len(made) == 1  # one generation for four asks of the same cache entry
    assert [d.cached for d in done] == [False, True, True, True]
    assert all(d.cost == pytest.approx(0.005) for d in done)  # list price kept
    assert ledger.spent.dollars == pytest.approx(0.005)
    assert ledger.spent.calls == 1 and ledger.spent.cached_calls == 3  # as cache hits count
    # Other calls (another flight key, or none) are their own.
    await asyncio.gather(
        _flight(ledger, _flown(made), "other"), _flight(ledger, _flown(made), None)
    )
    assert len(made) == 3


async def test_a_flight_that_fails_lets_the_next_in_line_make_the_call():
    ledger, made = BudgetLedger(dollars=1.0), []
    first = asyncio.create_task(_flight(ledger, _flown(made, fail=True)))
    await asyncio.sleep(0)
    second = asyncio.create_task(_flight(ledger, _flown(made)))
    with pytest.raises(RuntimeError):
        await first
    done = await second
    assert len(made) == 2 and not done.cached  # it called itself, and paid
    assert ledger.spent.dollars == pytest.approx(0.005)


async def test_a_follower_that_waits_too_long_times_out_without_a_charge():
    ledger, made, gate = BudgetLedger(dollars=1.0), [], asyncio.Event()
    leader = asyncio.create_task(_flight(ledger, _flown(made, gate=gate)))
    await asyncio.sleep(0)
    with pytest.raises(ModelTimeoutError, match="waiting for the same call"):
        await _flight(ledger, _flown(made), timeout=0.01)
    gate.set()
    await leader
    assert len(made) == 1 and ledger.spent.dollars == pytest.approx(0.005)
