"""Worker processes for CPU-bound evaluation: each runs its own event loop.

One Python process runs workflows on one core. With fast or simulated models
the framework's own CPU time per run, not the model's latency, becomes the
limit; :class:`WorkerPool` spreads evaluations over forked processes that
share the evaluator's store. A worker can call back into the parent
(:func:`worker_call`, :func:`worker_notify`), which is how every model call in
a worker still reserves its worst case against the one budget the parent
keeps: the budget stays a hard limit however many workers run.

Workers are forked, so they inherit everything registered in the parent
(models, profiles, roles, tools, metrics); this needs a POSIX system.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import multiprocessing
import os
import queue
import threading
import traceback
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

__all__ = ["WorkerPool", "fork_available", "worker_call", "worker_notify", "in_worker"]

Runner = Callable[[Any], Coroutine[Any, Any, Any]]
Handler = Callable[[Any], Any]


def fork_available() -> bool:
    """Whether worker processes can be forked here."""
    return "fork" in multiprocessing.get_all_start_methods()


@dataclass(frozen=True)
class _Job:
    job_id: int
    payload: Any


@dataclass(frozen=True)
class _Result:
    job_id: int
    ok: bool
    payload: Any


@dataclass(frozen=True)
class _Call:
    worker: int
    call_id: int
    request: Any


@dataclass(frozen=True)
class _Notice:
    request: Any


@dataclass
class _Channel:
    worker: int
    outbox: Any
    inbox: Any
    ids: itertools.count[int]


_CHANNEL: _Channel | None = None


def in_worker() -> bool:
    """Whether this process is a pool worker."""
    return _CHANNEL is not None


def worker_call(request: Any) -> Any:
    """From a worker: ask the parent's handler and wait for its answer."""
    channel = _CHANNEL
    if channel is None:
        raise RuntimeError("worker_call() works only inside a pool worker")
    call_id = next(channel.ids)
    channel.outbox.put(_Call(channel.worker, call_id, request))
    while True:
        answer_id, answer = channel.inbox.get()
        if answer_id == call_id:
            return answer


def worker_notify(request: Any) -> None:
    """From a worker: tell the parent's handler something; do not wait."""
    channel = _CHANNEL
    if channel is None:
        raise RuntimeError("worker_notify() works only inside a pool worker")
    channel.outbox.put(_Notice(request))


def _child(
    runner: Runner, index: int, jobs: Any, outbox: Any, inbox: Any, concurrency: int, parent: int
) -> None:
    global _CHANNEL
    _CHANNEL = _Channel(index, outbox, inbox, itertools.count())
    # Forked from inside the parent's running event loop: forget that loop first.
    asyncio.events._set_running_loop(None)
    asyncio.set_event_loop(None)
    asyncio.run(_child_loop(runner, jobs, outbox, concurrency, parent))


def _next_job(jobs: Any, parent: int) -> _Job | None:
    while True:
        try:
            return jobs.get(timeout=0.5)
        except queue.Empty:
            if os.getppid() != parent:  # the parent died: do not linger
                return None


async def _child_loop(
    runner: Runner, jobs: Any, outbox: Any, concurrency: int, parent: int
) -> None:
    loop = asyncio.get_running_loop()
    slots = asyncio.Semaphore(concurrency)
    running: set[asyncio.Task[None]] = set()

    async def run(job: _Job) -> None:
        try:
            outbox.put(_Result(job.job_id, True, await runner(job.payload)))
        except BaseException:
            outbox.put(_Result(job.job_id, False, traceback.format_exc(limit=5)))
        finally:
            slots.release()

    while True:
        await slots.acquire()
        job = await loop.run_in_executor(None, _next_job, jobs, parent)
        if job is None:
            slots.release()
            break
        task = asyncio.ensure_future(run(job))
        running.add(task)
        task.add_done_callback(running.discard)
    if running:
        await asyncio.gather(*running, return_exceptions=True)


class WorkerPool:
    """Forked worker processes that run ``runner(payload)`` coroutines concurrently.

    Args:
        runner: An async function of a job's payload, run inside a worker; it
            and everything it reaches are inherited through ``fork``.
        workers: Processes to start.
        concurrency: Jobs in flight per worker.
        handler: Answers :func:`worker_call` and takes :func:`worker_notify`
            requests, in the parent, on the pool's reader thread.
    """

    def __init__(
        self,
        runner: Runner,
        *,
        workers: int,
        concurrency: int,
        handler: Handler | None = None,
    ) -> None:
        """Start the workers and the thread that reads their messages."""
        if not fork_available():
            raise RuntimeError("worker processes need fork(), which this platform lacks")
        context = multiprocessing.get_context("fork")
        self._jobs = context.Queue()
        self._outbox = context.Queue()
        self._inboxes = [context.Queue() for _ in range(workers)]
        self._handler = handler
        self._pending: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Future[Any]]] = {}
        self._ids = itertools.count()
        self._lock = threading.Lock()
        self._closed = False
        self.processes = [
            context.Process(
                target=_child,
                args=(
                    runner,
                    i,
                    self._jobs,
                    self._outbox,
                    self._inboxes[i],
                    concurrency,
                    os.getpid(),
                ),
                daemon=True,
                name=f"rolegraph-worker-{i}",
            )
            for i in range(workers)
        ]
        for process in self.processes:
            process.start()
        self._reader = threading.Thread(target=self._read, daemon=True, name="rolegraph-pool")
        self._reader.start()

    def _settle(self, job_id: int, ok: bool, payload: Any) -> None:
        with self._lock:
            entry = self._pending.pop(job_id, None)
        if entry is None:
            return
        loop, future = entry

        def settle() -> None:
            if future.done():
                return
            if ok:
                future.set_result(payload)
            else:
                future.set_exception(RuntimeError(f"worker failed: {payload}"))

        loop.call_soon_threadsafe(settle)

    def _fail_all(self, message: str) -> None:
        with self._lock:
            ids = list(self._pending)
        for job_id in ids:
            self._settle(job_id, False, message)

    def _handle(self, message: Any) -> None:
        if isinstance(message, _Result):
            self._settle(message.job_id, message.ok, message.payload)
        elif isinstance(message, _Call):
            try:
                answer = self._handler(message.request) if self._handler else None
            except Exception as exc:  # the worker must get an answer or it waits forever
                answer = exc
            self._inboxes[message.worker].put((message.call_id, answer))
        elif isinstance(message, _Notice) and self._handler is not None:
            self._handler(message.request)

    def _read(self) -> None:
        while not self._closed:
            try:
                message = self._outbox.get(timeout=0.5)
            except queue.Empty:
                dead = [p.name for p in self.processes if not p.is_alive()]
                if dead and not self._closed:
                    self._fail_all(f"worker process {', '.join(dead)} died")
                    return
                continue
            except (EOFError, OSError):
                return
            self._handle(message)

    async def submit(self, payload: Any) -> Any:
        """Run ``runner(payload)`` in a worker and return its result."""
        if self._closed:
            raise RuntimeError("the worker pool is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        job_id = next(self._ids)
        with self._lock:
            self._pending[job_id] = (loop, future)
        self._jobs.put(_Job(job_id, payload))
        return await future

    @property
    def alive(self) -> bool:
        """Whether every worker is still running."""
        return not self._closed and all(p.is_alive() for p in self.processes)

    def close(self) -> None:
        """Stop the workers and the reader; jobs still running fail."""
        if self._closed:
            return
        self._closed = True
        for process in self.processes:
            with contextlib.suppress(Exception):
                process.terminate()
        for process in self.processes:
            process.join(timeout=2)
        self._fail_all("the worker pool was closed")
