"""AIMD concurrency per model: start low, grow while latency holds, halve on overload."""

import asyncio

import pytest

from orchestrator import Agent, WorkflowSpec, deploy
from orchestrator.concurrency import AIMDLimit, AIMDSettings, ModelConcurrency, is_overload
from orchestrator.errors import ModelTimeoutError
from orchestrator.testing import RateLimitError, SlowChatModel

ANSWER = '{"answer": "5", "confidence": 0.5}'


def window(limit: AIMDLimit, latencies: list[float]) -> None:
    """As many calls at once as ``latencies``, answering in those times."""

    async def start() -> None:
        for _ in latencies:
            await limit.acquire()

    asyncio.run(start())
    for latency in latencies:
        limit.succeeded(latency)
        limit._give_back()


def test_it_starts_low_and_doubles_per_full_window_while_the_median_latency_holds():
    limit = AIMDLimit(64)
    assert limit.limit == 2
    seen = []
    for _ in range(10):
        # A hosted model: each reply's length makes latency vary five-fold, whatever the load.
        window(limit, [0.2, 1.0] * (limit.limit // 2))
        seen.append(limit.limit)
    assert seen[:6] == [4, 8, 16, 32, 64, 64]  # five round trips to the cap


def test_calls_made_one_at_a_time_teach_it_nothing_about_more():
    limit = AIMDLimit(64)
    for _ in range(10):
        window(limit, [0.1])
    assert limit.limit == 2


def test_slow_start_stops_where_a_queueing_model_slows_down():
    limit = AIMDLimit(64)
    for _ in range(20):
        # A local server that runs four calls at once and queues the rest.
        window(limit, [max(1.0, limit.limit / 4)] * limit.limit)
    # Doubled to 16, whose window was twice as slow: back to 8, then one more while each
    # call held within twice the fastest.
    assert limit.limit == 9


def test_an_overload_ends_slow_start():
    limit = AIMDLimit(64, AIMDSettings(start=8))
    limit.overloaded()
    assert limit.limit == 4
    window(limit, [0.1] * 4)
    assert limit.limit == 5  # one more, not twice as many


def test_a_slow_window_at_the_cap_steps_back_no_further_than_the_cap():
    limit = AIMDLimit(8, AIMDSettings(latency_slack=0.0))
    for _ in range(3):
        window(limit, [1.0] * limit.limit)
    assert limit.limit == 8
    window(limit, [5.0] * 8)  # a slow window long after: it was fast at 8 before
    assert limit.limit == 8


@pytest.mark.parametrize("slow_start", [True, False])
def test_it_does_not_grow_while_latency_degrades(slow_start: bool) -> None:
    limit = AIMDLimit(16, AIMDSettings(latency_slack=0.0, slow_start=slow_start))
    window(limit, [1.0, 1.0])
    assert limit.limit == (4 if slow_start else 3)
    for _ in range(3):
        window(limit, [3.0] * limit.limit)  # three times slower: saturated at this load
    assert limit.limit == (2 if slow_start else 3)


def test_after_slow_start_it_grows_by_one_per_window_of_successes_up_to_the_cap():
    limit = AIMDLimit(4, AIMDSettings(slow_start=False))
    assert limit.limit == 2
    limit.succeeded(0.1)
    assert limit.limit == 2
    limit.succeeded(0.1)
    assert limit.limit == 3  # a window of two successes at limit 2
    for _ in range(3):
        limit.succeeded(0.1)
    assert limit.limit == 4
    for _ in range(20):
        limit.succeeded(0.1)
    assert limit.limit == 4  # capped


def test_it_halves_on_an_overload_once_per_burst():
    limit = AIMDLimit(64, AIMDSettings(start=8))
    epoch = asyncio.run(limit.acquire())
    limit.overloaded(epoch)
    assert limit.limit == 4
    limit.overloaded(epoch)  # another call of the same burst
    assert limit.limit == 4
    limit.overloaded()
    limit.overloaded()
    limit.overloaded()
    assert limit.limit == 1  # never below the minimum


def test_timeouts_and_429s_are_overloads_other_errors_are_not():
    class StatusError(Exception):
        status_code = 429

    assert is_overload(ModelTimeoutError("slow"))
    assert is_overload(RateLimitError("429"))
    assert is_overload(StatusError())
    assert not is_overload(ValueError("bad reply"))


def test_a_slot_learns_from_how_the_call_ended():
    limit = AIMDLimit(16, AIMDSettings(start=8))

    async def fail(exc: Exception) -> None:
        async with limit.slot():
            raise exc

    with pytest.raises(RateLimitError):
        asyncio.run(fail(RateLimitError("429")))
    assert limit.limit == 4 and limit.in_flight == 0
    with pytest.raises(ValueError):
        asyncio.run(fail(ValueError("not an overload")))
    assert limit.limit == 4


def test_slots_never_exceed_the_limit():
    limit = AIMDLimit(3)
    peak = 0

    async def call() -> None:
        nonlocal peak
        async with limit.slot():
            peak = max(peak, limit.in_flight)
            await asyncio.sleep(0.01)

    async def many() -> None:
        await asyncio.gather(*(call() for _ in range(20)))

    asyncio.run(many())
    assert 2 <= peak <= 3 and limit.in_flight == 0 and limit.limit == 3


def test_each_model_has_its_own_limit_capped_by_its_entry():
    limits = ModelConcurrency(16, per_model={"test:small": 1})
    assert limits.limit("test:small").maximum == 1
    assert limits.limit("test:big").maximum == 16
    assert limits.limit("test:big") is limits.limit("test:big")
    assert limits.limit("sim:atlas-nano") is None  # in-process: never limited


@pytest.mark.filterwarnings("ignore:no price for model")
def test_a_workflows_calls_of_one_model_start_low():
    model = SlowChatModel(delay=0.05, reply=ANSWER)
    spec = WorkflowSpec(agents=[Agent(name="s", role="solver", model=model)])
    workflow = deploy(spec, concurrency=ModelConcurrency(16))

    async def run() -> None:
        await asyncio.gather(*(workflow.ainvoke(f"What is {i} + 1?") for i in range(16)))

    asyncio.run(run())
    assert model.calls == 16
    assert 2 <= model.peak_in_flight < 16  # grew from 2; never all sixteen at once
