"""A synchronous local model on a small thread pool: timeouts, late replies, one charge."""

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from langchain_core.caches import InMemoryCache
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langgraph.types import RetryPolicy

from orchestrator import Agent, WorkflowSpec, deploy
from orchestrator.budget import BudgetLedger
from orchestrator.errors import ModelTimeoutError
from orchestrator.metering import thread_bound
from orchestrator.pricing import Price, default_prices

pytestmark = pytest.mark.filterwarnings("ignore:no price for model")

CALLS: dict[str, int] = {}
_LOCK = threading.Lock()


class CpuModel(BaseChatModel):
    """Like a transformers model on CPU: only ``_generate``, holding a thread while it works."""

    label: str = "cpu"
    seconds: float = 0.2

    @property
    def _llm_type(self) -> str:
        return "cpu-test"

    @property
    def calls(self) -> int:
        return CALLS.get(self.label, 0)

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        with _LOCK:
            CALLS[self.label] = CALLS.get(self.label, 0) + 1
        time.sleep(self.seconds)
        usage = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}
        message = AIMessage(content='{"answer": "5", "confidence": 0.5}', usage_metadata=usage)
        return ChatResult(generations=[ChatGeneration(message=message)])


def _solo(model: CpuModel) -> WorkflowSpec:
    return WorkflowSpec(agents=[Agent(name="s", role="solver", model=model)])


async def _on_small_pool(workers: int, work: Any) -> Any:
    loop = asyncio.get_running_loop()
    pool = ThreadPoolExecutor(max_workers=workers)
    loop.set_default_executor(pool)
    try:
        return await work
    finally:
        pool.shutdown(wait=True)


def test_a_sync_only_model_is_thread_bound():
    assert thread_bound(CpuModel())
    from orchestrator.sim import SimChatModel

    assert not thread_bound(SimChatModel(model="atlas-nano"))


def test_the_timeout_clock_starts_when_the_call_starts_not_in_the_queue():
    # 8 calls of 0.2 s on 2 threads: the last waits 0.6 s for a thread. A 0.35 s limit is
    # longer than one call and shorter than that wait: no call should time out.
    model = CpuModel(label="queue", seconds=0.2)
    workflow = deploy(_solo(model), call_timeout=0.35, retry=None)

    async def run() -> list[Any]:
        return await asyncio.gather(
            *(workflow.ainvoke(f"What is {i} + 1?") for i in range(8)), return_exceptions=True
        )

    results = asyncio.run(_on_small_pool(2, run()))
    failed = [r for r in results if isinstance(r, BaseException)]
    assert failed == [] and model.calls == 8


def test_a_reply_after_its_timeout_is_cached_not_thrown_away():
    model = CpuModel(label="late", seconds=0.3)
    cache = InMemoryCache()
    workflow = deploy(_solo(model), cache=cache, call_timeout=0.1, retry=None)

    async def run() -> None:
        with pytest.raises(ModelTimeoutError):
            await workflow.ainvoke("What is 2 + 3?")
        await asyncio.sleep(0.4)  # the thread finishes the generation

    asyncio.run(_on_small_pool(2, run()))
    again = deploy(_solo(model), cache=cache).invoke("What is 2 + 3?")
    assert again.cached_calls == 1 and again.charged == 0 and model.calls == 1


def _retrying(label: str) -> tuple[CpuModel, BudgetLedger, Any]:
    """A slow model behind a 0.2 s limit, retried on timeouts, with a ledger to read."""
    default_prices().register("cpu-test:*", Price(input=1.0, output=2.0))
    model = CpuModel(label=label, seconds=0.3)
    ledger = BudgetLedger(dollars=1.0)
    retry = RetryPolicy(
        max_attempts=3,
        initial_interval=0.01,
        jitter=False,
        retry_on=lambda exc: isinstance(exc, ModelTimeoutError),
    )
    workflow = deploy(
        _solo(model), cache=InMemoryCache(), call_timeout=0.2, retry=retry, ledger=ledger
    )
    return model, ledger, workflow


def test_a_retry_waits_for_the_late_reply_and_is_charged_once():
    model, ledger, workflow = _retrying("retry")

    async def run() -> Any:
        return await workflow.ainvoke("What is 2 + 3?")

    result = asyncio.run(_on_small_pool(2, run()))
    assert result.answer == "5"
    assert model.calls == 1  # the retry did not start a second generation
    # One model call charged: the first attempt's hold; the reply it waited for is free.
    assert ledger.spent.calls == 1 and ledger.spent.cached_calls == 1
    assert result.charged == 0


def test_a_synchronous_run_times_out_too_and_its_late_reply_is_kept():
    # Before, a run invoked synchronously (workflow.invoke, a graph's sync node) had no time
    # limit at all: a slow local model held the caller for as long as it took.
    model = CpuModel(label="sync-late", seconds=0.5)
    cache = InMemoryCache()
    workflow = deploy(_solo(model), cache=cache, call_timeout=0.1, retry=None)
    with pytest.raises(ModelTimeoutError, match=r"agent 's': .* did not answer within 0\.1s"):
        workflow.invoke("What is 2 + 3?")  # before: answered after 0.5 s, no limit
    time.sleep(0.6)  # the worker thread finishes it
    again = deploy(_solo(model), cache=cache).invoke("What is 2 + 3?")
    assert again.cached_calls == 1 and again.charged == 0 and model.calls == 1


def test_a_synchronous_retry_waits_for_the_late_reply_and_is_charged_once():
    model, ledger, workflow = _retrying("sync-retry")
    result = workflow.invoke("What is 2 + 3?")
    assert result.answer == "5" and model.calls == 1
    assert ledger.spent.calls == 1 and ledger.spent.cached_calls == 1 and result.charged == 0
