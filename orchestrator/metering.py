"""One model call, metered: held on the budget, made, charged, and what it used.

Every model call rolegraph makes or watches goes through :func:`metered` (or
:func:`ametered`): a workflow's agents, the tracked slot models of a user's
graph, and the LLM edit proposer of MCTS. The rule for one call is written
here once:

1. Before the call, hold its worst case (:func:`worst_case`: the prompt's
   estimated input tokens plus the output cap) on the run's
   :class:`CallLedger`, which may refuse it (``BudgetExhaustedError``).
2. A reply is charged what its ``usage_metadata`` says at the price table's
   price; a reply the LLM-call cache served costs nothing; a reply longer than
   its hold is charged in full and its overrun recorded.
3. A call cut off after it was sent (a timeout, a cancel, an interrupt) may be
   billed by the provider, so it is charged its whole hold; any other failure
   sent nothing billable, so its hold is released.

Calls that would share one LLM-call cache entry (the same model settings,
sampling scope and messages) share one flight: while the first is in flight,
the others wait for its reply and take it as a cache hit, charged nothing, as
they would have had it arrived a moment earlier (single flight, as in Go's
``singleflight``). Call counts and spend then do not depend on how many
evaluations run at once, or on the order a resumed search runs them in.

A model with only a synchronous ``_generate`` (a transformers pipeline, many
local wrappers) runs on a worker thread (:func:`thread_bound`). Its time limit
counts from when a thread starts the call, not while it waits for a free
thread. A thread cannot be stopped, so a call that timed out goes on: its reply
is still written to the LLM-call cache by the thread, and the same call made
again while it runs (a retry) waits for that reply instead of paying for a
second generation. The timed-out call was charged its hold; the reply it waits
for is charged nothing more.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import hashlib
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, BaseMessageChunk
from langchain_core.messages.utils import message_chunk_to_message

from orchestrator.budget import estimate_input_tokens
from orchestrator.errors import ModelTimeoutError
from orchestrator.parsing import message_text
from orchestrator.pricing import PriceTable
from orchestrator.trace import Usage

__all__ = [
    "call_digest",
    "CallLedger",
    "Metered",
    "metered",
    "ametered",
    "worst_case",
    "thread_bound",
    "metered_stream",
    "ametered_stream",
    "CACHED_KEY",
]

CACHED_KEY = "rolegraph_cached"
"""``response_metadata`` key that marks a reply served by the LLM-call cache."""

_CUT_OFF = (TimeoutError, asyncio.CancelledError, KeyboardInterrupt, GeneratorExit)


@runtime_checkable
class CallLedger(Protocol):
    """Budget hook consulted before every model call that may cost money.

    :class:`orchestrator.budget.BudgetLedger` implements it.
    """

    def reserve(self, *, tokens: int, dollars: float, model: str | None = None) -> Any:
        """Hold a call's worst case, or raise ``BudgetExhaustedError``."""
        ...

    async def areserve(self, *, tokens: int, dollars: float, model: str | None = None) -> Any:
        """Async :meth:`reserve`; waits without blocking the event loop."""
        ...

    def settle(self, reservation: Any, *, usage: Usage, dollars: float, cached: bool) -> None:
        """Replace a hold with what the call really used; cached calls cost nothing."""
        ...

    def charge(self, reservation: Any) -> None:
        """Count a call whose outcome is unknown (timed out, cancelled) as its whole hold."""
        ...

    def release(self, reservation: Any) -> None:
        """Drop the hold of a call that failed without being answered."""
        ...


def worst_case(messages: Sequence[BaseMessage], output_cap: int) -> Usage:
    """What one call with these messages may use: their input and the output cap."""
    chars = sum(
        len(message_text(m)) if isinstance(m, AIMessage) else len(str(m.content)) for m in messages
    )
    inp = estimate_input_tokens(chars)
    return Usage(input_tokens=inp, output_tokens=output_cap, total_tokens=inp + output_cap)


def call_digest(flight: Hashable) -> str:
    """A short, stable name for a flight (the LLM-cache entry a call reads and writes).

    Traces record it beside each call's list price, so what a set of runs really paid
    (each cache entry once) can be priced after the fact.
    """
    return hashlib.blake2b(repr(flight).encode(), digest_size=10).hexdigest()


@dataclass(frozen=True, slots=True)
class Metered:
    """One answered call: the reply and what it used and cost."""

    reply: AIMessage
    usage: Usage
    cost: float
    """At list price, cache hits included."""
    charged: float
    """What the budget was charged: 0 for a cache hit."""
    cached: bool
    overrun: float
    """Dollars the reply cost beyond its hold (it ignored its output cap)."""


@dataclass(frozen=True, slots=True)
class _Meter:
    ledger: CallLedger | None
    prices: PriceTable
    model: str | None
    worst: Usage

    def hold(self) -> Any:
        if self.ledger is None:
            return None
        dollars = self.prices.cost(self.model, self.worst)
        return self.ledger.reserve(
            tokens=self.worst.total_tokens, dollars=dollars, model=self.model
        )

    async def ahold(self) -> Any:
        if self.ledger is None:
            return None
        dollars = self.prices.cost(self.model, self.worst)
        return await self.ledger.areserve(
            tokens=self.worst.total_tokens, dollars=dollars, model=self.model
        )

    def failed(self, hold: Any, exc: BaseException) -> None:
        if self.ledger is None or hold is None:
            return
        if isinstance(exc, _CUT_OFF):
            self.ledger.charge(hold)  # the request was sent: it may be billed
        else:
            self.ledger.release(hold)

    def answered(self, hold: Any, result: Any) -> Metered:
        reply = result if isinstance(result, AIMessage) else _as_message(result)
        usage = Usage.from_metadata(reply.usage_metadata)
        cached = bool(reply.response_metadata.get(CACHED_KEY))
        cost = self.prices.cost(self.model, usage)
        charged = 0.0 if cached else cost
        overrun = 0.0
        if self.ledger is not None and hold is not None:
            held = getattr(getattr(hold, "amount", None), "dollars", None)
            if not cached and held is not None and cost > held + 1e-12:
                overrun = cost - held  # the reply was longer than its cap allowed
            self.ledger.settle(hold, usage=usage, dollars=charged, cached=cached)
        return Metered(reply, usage, cost, charged, cached, overrun)


def _as_message(result: Any) -> AIMessage:
    return AIMessage(content=str(getattr(result, "content", result)))


def metered(
    call: Callable[[], Any],
    *,
    ledger: CallLedger | None,
    prices: PriceTable,
    model: str | None,
    worst: Usage,
    timeout: float | None = None,
    caller: str = "a call",
    key: Hashable | None = None,
) -> Metered:
    """Make one model call under the budget rule of this module.

    Args:
        call: Makes the call and returns the reply (an ``AIMessage``).
        ledger: The run's budget ledger; without one nothing is held.
        prices: Turns usage into dollars.
        model: The model's reference (prices, holds, overrun scales).
        worst: What the call may use (:func:`worst_case`).
        timeout: Seconds the call may take. With one, the call runs on a worker thread
            (the caller's context goes with it) and the limit counts from when that
            thread starts it; a call that times out goes on there, as in :func:`ametered`.
        caller: Who calls, for the timeout's message.
        key: What makes two calls the same call (with ``timeout``): a call made while the
            same one that timed out still runs waits for its reply.

    Raises:
        BudgetExhaustedError: The worst case does not fit; nothing was called.
        ModelTimeoutError: No reply within ``timeout`` seconds (charged its hold).
    """
    meter = _Meter(ledger, prices, model, worst)
    hold = meter.hold()
    try:
        result = call() if timeout is None else _on_worker(call, timeout, key)
    except TimeoutError as exc:
        if isinstance(exc, _JoinTimeoutError) and ledger is not None and hold is not None:
            ledger.release(hold)  # it only waited for another call's reply
        else:
            meter.failed(hold, exc)
        raise ModelTimeoutError(
            f"{caller}: model {model} did not answer within {timeout}s"
        ) from exc
    except BaseException as exc:
        meter.failed(hold, exc)
        raise
    return meter.answered(hold, result)


_WORKERS = concurrent.futures.ThreadPoolExecutor(
    max_workers=64, thread_name_prefix="rolegraph-call"
)
"""Threads for synchronous calls with a time limit (a thread cannot be stopped; it finishes)."""


def _on_worker(call: Callable[[], Any], timeout: float, key: Hashable | None) -> Any:
    """Run ``call`` on a worker thread and wait ``timeout`` seconds from when it starts."""
    with _LATE_LOCK:
        late = _LATE.get(key) if key is not None else None
    if late is not None:
        try:
            return _as_cached(late.result(timeout))
        except concurrent.futures.TimeoutError as exc:
            raise _JoinTimeoutError(str(exc)) from exc
    started = threading.Event()
    context = contextvars.copy_context()

    def work() -> Any:
        started.set()
        return context.run(call)

    done = _WORKERS.submit(work)
    started.wait()
    try:
        return done.result(timeout)
    except concurrent.futures.TimeoutError:
        if key is not None:
            with _LATE_LOCK:
                _LATE[key] = done
            done.add_done_callback(lambda f: _forget(key, f))
        raise


def thread_bound(model: Any) -> bool:
    """Whether ``model``'s async calls run its synchronous ``_generate`` on a worker thread."""
    if not isinstance(model, BaseChatModel):
        return False
    cls = type(model)
    return cls._agenerate is BaseChatModel._agenerate and cls._astream is BaseChatModel._astream


_LATE: dict[Hashable, concurrent.futures.Future[Any]] = {}
"""Calls that timed out while their thread still generates, by the caller's key."""
_LATE_LOCK = threading.Lock()


def _as_cached(result: Any) -> Any:
    """A reply another call already paid for, marked as a cache hit (charged nothing)."""
    if not isinstance(result, AIMessage):
        return result
    metadata = {**result.response_metadata, CACHED_KEY: True}
    return result.model_copy(update={"response_metadata": metadata})


class _JoinTimeoutError(TimeoutError):
    """A call that waited for another's late reply timed out; it sent nothing itself."""


def _forget(key: Hashable, future: concurrent.futures.Future[Any]) -> None:
    with _LATE_LOCK:
        if _LATE.get(key) is future:
            del _LATE[key]


async def _on_thread(call: Callable[[], Any], timeout: float | None, key: Hashable | None) -> Any:
    """Run ``call`` on the loop's default executor; the time limit starts when it starts."""
    with _LATE_LOCK:
        late = _LATE.get(key) if key is not None else None
    if late is not None:
        try:
            async with asyncio.timeout(timeout):
                return _as_cached(await asyncio.shield(asyncio.wrap_future(late)))
        except TimeoutError as exc:
            raise _JoinTimeoutError(str(exc)) from exc
    loop = asyncio.get_running_loop()
    started = asyncio.Event()
    done: concurrent.futures.Future[Any] = concurrent.futures.Future()
    context = contextvars.copy_context()

    def work() -> None:
        if not done.set_running_or_notify_cancel():
            return  # given up while it waited for a thread
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits for the reply
            loop.call_soon_threadsafe(started.set)
        try:
            done.set_result(context.run(call))
        except BaseException as exc:
            done.set_exception(exc)

    loop.run_in_executor(None, work)
    try:
        await started.wait()
    except asyncio.CancelledError:
        done.cancel()
        raise
    waiting = asyncio.wrap_future(done)
    try:
        async with asyncio.timeout(timeout):
            return await asyncio.shield(waiting)
    except TimeoutError:
        waiting.add_done_callback(lambda f: f.cancelled() or f.exception())
        if key is not None:
            with _LATE_LOCK:
                _LATE[key] = done
            done.add_done_callback(lambda f: _forget(key, f))
        raise


class _FlightAbortedError(Exception):
    """The call a flight's followers waited for ended without a reply."""


_FLIGHTS: dict[tuple[int, Hashable], asyncio.Future[Any]] = {}
"""Calls in flight that others may join, by (event loop, the call's flight key)."""


async def _join(flight: Hashable, timeout: float | None, caller: str, model: str | None) -> Any:
    """The reply of the same call already in flight, or ``None`` if there is none.

    A flight that ends without a reply (a timeout, an error, a cancel) lets its
    followers go on: the first of them makes the call itself.
    """
    loop = id(asyncio.get_running_loop())
    while (leader := _FLIGHTS.get((loop, flight))) is not None:
        try:
            async with asyncio.timeout(timeout):
                return await asyncio.shield(leader)
        except _FlightAbortedError:
            continue
        except TimeoutError as exc:  # it sent nothing itself: nothing to charge
            limit = f"within {timeout}s" if timeout else f"({exc})"
            raise ModelTimeoutError(
                f"{caller}: model {model} did not answer {limit} (waiting for the same call)"
            ) from exc
    return None


async def ametered(
    call: Callable[[], Awaitable[Any]],
    *,
    ledger: CallLedger | None,
    prices: PriceTable,
    model: str | None,
    worst: Usage,
    timeout: float | None = None,
    caller: str = "a call",
    sync_call: Callable[[], Any] | None = None,
    key: Hashable | None = None,
    flight: Hashable | None = None,
) -> Metered:
    """Async :func:`metered`, with a time limit on the call and single flight.

    Args:
        call: Makes the call and returns the reply.
        ledger: The run's budget ledger; without one nothing is held.
        prices: Turns usage into dollars.
        model: The model's reference (prices, holds, overrun scales).
        worst: What the call may use (:func:`worst_case`).
        timeout: Seconds the call may take.
        caller: Who calls, for the timeout's message.
        sync_call: The same call made synchronously, for a :func:`thread_bound` model:
            it runs on a worker thread instead of ``call``, and ``timeout`` counts
            from when the thread starts it.
        key: What makes two calls the same call (with ``sync_call``): a call made
            while the same one that timed out still runs waits for its reply.
        flight: The call's LLM-call cache identity, where a cache serves it: a call made
            while one with the same ``flight`` is in flight takes that one's reply as a
            cache hit instead of calling (``None``: never shared).

    Raises:
        BudgetExhaustedError: The worst case does not fit; nothing was called.
        ModelTimeoutError: No reply within ``timeout`` seconds (charged its hold).
    """
    meter = _Meter(ledger, prices, model, worst)
    if flight is not None:
        shared = await _join(flight, timeout, caller, model)
        if shared is not None:
            return meter.answered(await meter.ahold(), _as_cached(shared))
        slot = (id(asyncio.get_running_loop()), flight)
        leader: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        _FLIGHTS[slot] = leader
        try:
            done = await ametered(
                call,
                ledger=ledger,
                prices=prices,
                model=model,
                worst=worst,
                timeout=timeout,
                caller=caller,
                sync_call=sync_call,
                key=key,
            )
        except BaseException:
            leader.set_exception(_FlightAbortedError())
            leader.exception()  # retrieved: no follower need be waiting
            raise
        else:
            leader.set_result(done.reply)
        finally:
            if _FLIGHTS.get(slot) is leader:
                del _FLIGHTS[slot]
        return done
    hold = await meter.ahold()
    try:
        if sync_call is not None:
            result = await _on_thread(sync_call, timeout, key)
        else:
            async with asyncio.timeout(timeout):
                result = await call()
    except TimeoutError as exc:
        if isinstance(exc, _JoinTimeoutError) and ledger is not None and hold is not None:
            ledger.release(hold)  # it only waited for another call's reply
        else:
            meter.failed(hold, exc)
        limit = f"within {timeout}s" if timeout else f"({exc})"
        raise ModelTimeoutError(f"{caller}: model {model} did not answer {limit}") from exc
    except BaseException as exc:
        meter.failed(hold, exc)
        raise
    return meter.answered(hold, result)


def _whole(chunks: BaseMessageChunk | None) -> AIMessage:
    """The reply the chunks of a stream add up to (usage included)."""
    if chunks is None:
        return AIMessage(content="")
    message = message_chunk_to_message(chunks)
    return message if isinstance(message, AIMessage) else _as_message(message)


def metered_stream(
    stream: Callable[[], Iterator[BaseMessageChunk]],
    *,
    ledger: CallLedger | None,
    prices: PriceTable,
    model: str | None,
    worst: Usage,
    done: Callable[[Metered], None],
) -> Iterator[BaseMessageChunk]:
    """Stream one model call under the budget rule: held first, charged for the whole reply.

    ``done`` receives the metered whole reply once the stream ends. A stream the caller
    stops early was sent, so it is charged its hold.

    Raises:
        BudgetExhaustedError: The worst case does not fit; nothing was called.
    """
    meter = _Meter(ledger, prices, model, worst)
    hold = meter.hold()
    whole: BaseMessageChunk | None = None
    try:
        for chunk in stream():
            whole = chunk if whole is None else whole + chunk
            yield chunk
    except BaseException as exc:
        meter.failed(hold, exc)
        raise
    done(meter.answered(hold, _whole(whole)))


async def ametered_stream(
    stream: Callable[[], AsyncIterator[BaseMessageChunk]],
    *,
    ledger: CallLedger | None,
    prices: PriceTable,
    model: str | None,
    worst: Usage,
    done: Callable[[Metered], None],
) -> AsyncIterator[BaseMessageChunk]:
    """Async :func:`metered_stream`."""
    meter = _Meter(ledger, prices, model, worst)
    hold = await meter.ahold()
    whole: BaseMessageChunk | None = None
    try:
        async for chunk in stream():
            whole = chunk if whole is None else whole + chunk
            yield chunk
    except BaseException as exc:
        meter.failed(hold, exc)
        raise
    done(meter.answered(hold, _whole(whole)))
