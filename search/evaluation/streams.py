"""Streams of evaluation records, their summary, and the progress display they share."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncGenerator, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import ConfigDict, Field

from orchestrator.budget import Amount, Spend
from search.evaluation.jobs import EvalJob
from search.evaluation.stats import Scored, task_means
from search.evaluation.target import EvalTarget
from search.store import EvalRecord

__all__ = [
    "EvalSummary",
    "EvalStream",
    "SyncEvalStream",
    "StreamState",
    "Progress",
    "COMPLETED",
    "run_sync",
    "running_loop",
]

T = TypeVar("T")

COMPLETED = "completed"


class EvalSummary(Scored):
    """One workflow's results on a set of tasks: its :class:`ScoreSummary`, and what ran now.

    ``score`` covers every result, stored ones included; the other counts say
    what this evaluation ran and spent now.
    """

    model_config = ConfigDict(frozen=True)

    workflow: str = Field(description="Content hash of the workflow spec.")
    name: str = Field(description="The spec's display name.")
    dataset: str = Field(description="Dataset name.")
    metric: str = Field(description="Metric name.")
    config: str = Field(description="Digest of the evaluation settings (EvalRecord.config).")
    errors: dict[str, int] = Field(
        default_factory=dict, description="Failures counted by error type."
    )
    evaluated: int = Field(description="Evaluations run now.")
    cached: int = Field(description="Evaluations served from the store, at no cost.")
    not_run: int = Field(description="Evaluations not run because evaluation stopped early.")
    charged: float = Field(
        description="Dollars actually spent now (LLM-cache misses), runs the budget cut off "
        "included."
    )
    tokens: int = Field(description="Tokens of the runs made now (LLM-cache hits included).")
    calls: int = Field(description="Model calls that reached a model now.")
    cached_calls: int = Field(description="Model calls answered by the LLM-call cache now.")
    latency_s: float = Field(description="Mean seconds per evaluation run now.")
    wall_s: float = Field(description="Wall-clock seconds of the whole evaluation.")
    stop_reason: str = Field(
        description="'completed', or why it stopped early ('budget: ...', 'max_errors: ...')."
    )
    records: tuple[EvalRecord, ...] = Field(default=(), description="Every result, task order.")

    @property
    def n(self) -> int:
        """Results counted (tasks x seeds)."""
        return self.score.n

    @property
    def failures(self) -> int:
        """Results that failed (scored the failure score)."""
        return self.score.failures

    @property
    def cost(self) -> float:
        """List-price dollars of every result, stored ones included."""
        return self.score.cost

    def scores(self) -> dict[str, float]:
        """Per-task mean score."""
        return task_means((r.task_id, r.score) for r in self.records)


@dataclass
class StreamState:
    """The bookkeeping of one stream of evaluations."""

    target: EvalTarget
    items: list[EvalJob]
    ordered: bool
    started: float = field(default_factory=time.perf_counter)
    stop_reason: str | None = None
    failures: int = 0
    records: list[EvalRecord] = field(default_factory=list)
    not_run: int = 0
    completed: int = 0
    # What runs that left no result spent (a refused call, a cancel): paid all the same.
    unfinished: Spend = field(default_factory=Spend)
    estimate: Amount | None = None
    positions: dict[str, int] = field(default_factory=dict)
    dismissed: bool = False  # the caller stopped it: it has seen enough
    next_index: int = 0  # ordered streams: the next position to hand out
    cutoff: int = 0  # ordered streams, once dismissed: positions below it still come out

    def __post_init__(self) -> None:
        for item in self.items:
            self.positions.setdefault(item.task.id, item.position)

    def stop(self, reason: str) -> None:
        """Stop with ``reason``, unless it already stopped."""
        if self.stop_reason is None:
            self.stop_reason = reason


class Progress:
    """One rich progress display shared by every stream of an evaluator."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._progress: Any = None

    def add(self, description: str, total: int) -> Any:
        """Show one more stream; returns its handle."""
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        with self._lock:
            if self._progress is None:
                self._progress = Progress(
                    TextColumn("{task.description}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TextColumn("failed {task.fields[failures]}"),
                    TextColumn("${task.fields[spent]:.4f}"),
                    TimeElapsedColumn(),
                    console=Console(stderr=True),
                )
                self._progress.start()
            self._users += 1
            return self._progress.add_task(description, total=total, failures=0, spent=0.0)

    def advance(self, task_id: Any, *, failures: int, spent: float) -> None:
        """One more record of a stream."""
        if self._progress is not None:
            self._progress.update(task_id, advance=1, failures=failures, spent=spent)

    def done(self, task_id: Any) -> None:
        """A stream ended; the display stops with the last one."""
        with self._lock:
            self._users -= 1
            if self._progress is not None and self._users == 0:
                self._progress.stop()
                self._progress = None


class EvalStream:
    """Results of one workflow, as they finish; an async iterator of :class:`EvalRecord`.

    To give up on a candidate (a pruner), call :meth:`stop` and keep reading:
    nothing new starts, and the evaluations already running finish, are
    stored and come out, so no money is spent for nothing. :meth:`aclose`
    (or leaving ``async with``) stops at once instead, cancelling what runs.
    """

    def __init__(
        self,
        state: StreamState,
        records: AsyncGenerator[EvalRecord, None],
        summarize: Callable[[StreamState], EvalSummary],
        *,
        window: int,
    ) -> None:
        """Prefer :meth:`Evaluator.astream`."""
        self._state = state
        self._generator = records
        self._summarize = summarize
        self._window = window

    def __aiter__(self) -> EvalStream:
        return self

    async def __anext__(self) -> EvalRecord:
        return await self._generator.__anext__()

    def stop(self, reason: str = "stopped by the caller") -> None:
        """Start nothing new; evaluations already running still finish and come out.

        Stored results not given out yet are dropped: the caller has seen enough.
        """
        state = self._state
        state.stop(reason)
        if not state.dismissed:
            # What was running when the reader stopped: the window after the last position
            # it saw. Those results come out whether they finish now or were stored before,
            # so a stopped stream gives the same records on a rerun.
            state.cutoff = state.next_index - 1 + self._window
        state.dismissed = True

    async def aclose(self) -> None:
        """Stop at once: cancel running evaluations; nothing new starts."""
        self._state.stop("stopped by the caller")
        await self._generator.aclose()

    async def __aenter__(self) -> EvalStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @property
    def records(self) -> list[EvalRecord]:
        """Records yielded so far."""
        return list(self._state.records)

    @property
    def stop_reason(self) -> str | None:
        """``"completed"``, why it stopped early, or ``None`` while it runs."""
        return self._state.stop_reason

    def summary(self) -> EvalSummary:
        """Summary of the records so far."""
        return self._summarize(self._state)


class SyncEvalStream:
    """The synchronous twin of :class:`EvalStream`: a plain iterator of records.

    It drives its own event loop; evaluations advance while the caller waits
    for the next record.
    """

    def __init__(self, stream: EvalStream) -> None:
        """Prefer :meth:`Evaluator.stream`."""
        self._stream = stream
        self._loop = asyncio.new_event_loop()

    def __iter__(self) -> SyncEvalStream:
        return self

    def __next__(self) -> EvalRecord:
        if self._loop.is_closed():
            raise StopIteration
        try:
            return self._loop.run_until_complete(self._stream.__anext__())
        except StopAsyncIteration:
            self.close()
            raise StopIteration from None

    def close(self) -> None:
        """Stop and release the event loop."""
        if not self._loop.is_closed():
            self._loop.run_until_complete(self._stream.aclose())
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    def __enter__(self) -> SyncEvalStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def records(self) -> list[EvalRecord]:
        """Records yielded so far."""
        return self._stream.records

    @property
    def stop_reason(self) -> str | None:
        """``"completed"``, why it stopped early, or ``None`` while it runs."""
        return self._stream.stop_reason

    def summary(self) -> EvalSummary:
        """Summary of the records so far."""
        return self._stream.summary()


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running this code, if any."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def run_sync(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to its end from synchronous code (in a notebook's loop too)."""
    if running_loop() is None:
        return asyncio.run(factory())
    # Called from inside an event loop (a notebook): run on a private loop in a thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()
