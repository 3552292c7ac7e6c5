"""Single flight: one run per evaluation key at a time in this process; others share it."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future

from search.store import EvalKey, EvalRecord, Store

__all__ = ["claim", "shared", "release"]

_FLIGHTS: dict[tuple[str, EvalKey], Future[EvalRecord | None]] = {}
_FLIGHTS_LOCK = threading.Lock()


def _flight(store: Store, key: EvalKey) -> tuple[str, EvalKey]:
    return store.identity, key


def claim(store: Store, key: EvalKey) -> Future[EvalRecord | None] | None:
    """Claim the right to run ``key``; ``None`` if another evaluator is running it now."""
    flight = _flight(store, key)
    with _FLIGHTS_LOCK:
        if flight in _FLIGHTS:
            return None
        future: Future[EvalRecord | None] = Future()
        _FLIGHTS[flight] = future
        return future


async def shared(store: Store, key: EvalKey) -> EvalRecord | None:
    """Wait for the evaluator running ``key`` and share its record (``None``: it has none)."""
    with _FLIGHTS_LOCK:
        future = _FLIGHTS.get(_flight(store, key))
    if future is None:
        return None
    try:
        record = await asyncio.wrap_future(future)
    except Exception:
        return None
    return record.model_copy(update={"cached": True}) if record is not None else None


def release(store: Store, key: EvalKey, claim: Future[EvalRecord | None], result: object) -> None:
    """End the claim on ``key``; those waiting share ``result`` if it is a record."""
    with _FLIGHTS_LOCK:
        _FLIGHTS.pop(_flight(store, key), None)
    claim.set_result(result if isinstance(result, EvalRecord) else None)
