"""How many calls one model takes at once: an AIMD limit, per model.

A hosted model rate-limits (HTTP 429) and a local model on a CPU slows down as
more calls share it, so a fixed ``max_concurrency`` is either too low for one
or far too high for the other. Each model gets its own limit instead, as TCP's
congestion window does:

- it starts low (:attr:`AIMDSettings.start`);
- in slow start it doubles after each window (as many successes as the limit)
  that had the limit's calls at once and whose median latency held (no slower
  than ``latency_tolerance`` times the first window's median, plus
  ``latency_slack``); the first window that slowed down ends slow start and
  takes the limit back to the one before it, so a hosted API reaches
  ``maximum`` in a few round trips while a model that queues its calls (a local
  server) stops where its latency starts to grow;
- after slow start, each time as many calls as the limit allows have succeeded
  while latency held (no slower than ``latency_tolerance`` times the fastest
  seen, plus ``latency_slack``), the limit grows by ``increase``, up to
  ``maximum``;
- a timeout or a rate-limit error cuts it to ``decrease`` times itself (at
  least ``minimum``) and ends slow start, once per burst: calls that started
  before the last cut do not cut it again.

:class:`ModelConcurrency` keeps one :class:`AIMDLimit` per model reference,
each capped by the run's ``max_concurrency`` or the pool entry's own cap. The
simulated models (``sim:``) answer in-process at once and never rate-limit, so
they are not limited.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import statistics
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AIMDSettings", "AIMDLimit", "ModelConcurrency", "is_overload"]

_OVERLOAD_NAMES = ("RateLimit", "TooManyRequests", "Overloaded", "ResourceExhausted")


def is_overload(exc: BaseException) -> bool:
    """Whether a failed call says the model has too much to do: a timeout or a 429."""
    if isinstance(exc, TimeoutError):
        return True
    if any(name in type(exc).__name__ for name in _OVERLOAD_NAMES):
        return True
    status = getattr(exc, "status_code", None)
    if status is None:
        status = getattr(getattr(exc, "response", None), "status_code", None)
    return status == 429


class AIMDSettings(BaseModel):
    """How a model's concurrency limit moves."""

    model_config = ConfigDict(frozen=True)

    start: int = Field(default=2, ge=1, description="Calls at once before anything is known.")
    minimum: int = Field(default=1, ge=1, description="Never fewer calls at once than this.")
    increase: int = Field(default=1, ge=1, description="Added after a full window of successes.")
    decrease: float = Field(
        default=0.5, gt=0.0, lt=1.0, description="Factor applied on a timeout or a 429."
    )
    latency_tolerance: float = Field(
        default=2.0,
        ge=1.0,
        description="A call slower than this times the fastest seen does not let the limit grow.",
    )
    latency_slack: float = Field(
        default=0.05,
        ge=0.0,
        description="Seconds of slowdown always tolerated (a millisecond call's jitter).",
    )
    slow_start: bool = Field(
        default=True,
        description="Double the limit per window while the window's median latency holds, "
        "until the first overload or slowed window (TCP's slow start).",
    )


class AIMDLimit:
    """One model's adaptive limit on calls at once; usable from several event loops."""

    def __init__(self, maximum: int, settings: AIMDSettings | None = None) -> None:
        """A limit that starts at ``settings.start`` and never exceeds ``maximum``."""
        self.settings = settings or AIMDSettings()
        self.maximum = max(1, maximum)
        self._limit = max(self.settings.minimum, min(self.settings.start, self.maximum))
        self._in_flight = 0
        self._successes = 0
        self._epoch = 0  # counts cuts: a call that started before the last cut cuts nothing
        self._fastest = math.inf
        self._slow_start = self.settings.slow_start
        self._window: list[float] = []  # slow start: this window's latencies
        self._baseline = math.inf  # slow start: the first window's median latency
        self._before = self._limit  # slow start: the limit before the last doubling
        self._peak = 0  # slow start: most calls at once in this window
        self._lock = threading.Lock()
        self._waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = deque()

    @property
    def limit(self) -> int:
        """Calls allowed at once now."""
        return self._limit

    @property
    def in_flight(self) -> int:
        """Calls running now."""
        return self._in_flight

    def succeeded(self, latency: float) -> None:
        """A call answered in ``latency`` seconds."""
        with self._lock:
            self._fastest = min(self._fastest, latency)
            if self._slow_start:
                self._grow_fast(latency)
            else:
                held = (
                    self._fastest * self.settings.latency_tolerance + self.settings.latency_slack
                )
                if latency > held:
                    return  # the model slows down under this load: hold the limit
                self._successes += 1
                if self._successes >= self._limit:
                    self._successes = 0
                    self._limit = min(self.maximum, self._limit + self.settings.increase)
        self._wake()

    def _grow_fast(self, latency: float) -> None:
        # Medians, not single calls: a hosted model's latency varies with each reply's
        # length, while a model that queues its calls slows down as a whole window.
        self._window.append(latency)
        if len(self._window) < self._limit:
            return
        median = statistics.median(self._window)
        filled = self._peak >= self._limit
        self._window, self._peak = [], self._in_flight
        if not filled:
            return  # fewer calls at once than allowed: nothing learned about more
        if math.isinf(self._baseline):
            self._baseline = median
        held = self._baseline * self.settings.latency_tolerance + self.settings.latency_slack
        if median > held:
            self._slow_start = False
            self._limit = self._before
            return
        self._before = self._limit
        self._limit = min(self.maximum, 2 * self._limit)

    def overloaded(self, epoch: int | None = None) -> None:
        """A call timed out or was rate-limited; ``epoch`` is :meth:`_take`'s, when known."""
        with self._lock:
            if epoch is not None and epoch != self._epoch:
                return  # this burst already cut the limit
            self._epoch += 1
            self._successes = 0
            self._slow_start = False
            cut = math.floor(self._limit * self.settings.decrease)
            self._limit = max(self.settings.minimum, cut)

    def _take(self) -> int | None:
        with self._lock:
            if self._in_flight < self._limit:
                self._in_flight += 1
                self._peak = max(self._peak, self._in_flight)
                return self._epoch
            return None

    def _give_back(self) -> None:
        with self._lock:
            self._in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        with self._lock:
            room = self._limit - self._in_flight
            woken = []
            while room > 0 and self._waiters:
                woken.append(self._waiters.popleft())
                room -= 1
        for loop, future in woken:
            with contextlib.suppress(RuntimeError):  # its loop is closed: nobody waits
                loop.call_soon_threadsafe(_resolve, future)

    async def acquire(self) -> int:
        """Wait for room; return the epoch to pass to :meth:`overloaded`."""
        loop = asyncio.get_running_loop()
        while True:
            epoch = self._take()
            if epoch is not None:
                return epoch
            future: asyncio.Future[None] = loop.create_future()
            with self._lock:
                self._waiters.append((loop, future))
            self._wake()  # room may have opened between the try and the wait
            try:
                await future
            except asyncio.CancelledError:
                with self._lock, contextlib.suppress(ValueError):
                    self._waiters.remove((loop, future))
                self._wake()  # it may have been woken: pass the room on
                raise

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Run one call inside the limit, and learn from how it ended."""
        epoch = await self.acquire()
        started = time.perf_counter()
        try:
            yield
        except BaseException as exc:
            if is_overload(exc):
                self.overloaded(epoch)
            raise
        else:
            self.succeeded(time.perf_counter() - started)
        finally:
            self._give_back()


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class ModelConcurrency:
    """One :class:`AIMDLimit` per model reference, shared by every workflow of a run."""

    def __init__(
        self,
        maximum: int,
        *,
        per_model: Mapping[str, int] | None = None,
        settings: AIMDSettings | None = None,
    ) -> None:
        """Limits capped by ``maximum``, or a model's own cap in ``per_model``."""
        self.maximum = maximum
        self.per_model = dict(per_model or {})
        self.settings = settings or AIMDSettings()
        self._limits: dict[str, AIMDLimit] = {}
        self._lock = threading.Lock()

    def limit(self, model: str | None) -> AIMDLimit | None:
        """The limit of ``model`` (made on first use); ``None`` for a model not limited."""
        if model is None or model.startswith("sim:"):
            return None
        with self._lock:
            found = self._limits.get(model)
            if found is None:
                cap = min(self.maximum, self.per_model.get(model, self.maximum))
                found = self._limits[model] = AIMDLimit(cap, self.settings)
            return found
