"""Run untrusted Python programs isolated and under limits: the engine of code metrics.

Each run gets a fresh interpreter started by a :class:`~.sandbox_backends.SandboxBackend`:

- on Linux with the ``rolegraph[sandbox]`` extra, a bubblewrap sandbox of its own
  (new user, PID, mount, network, IPC and UTS namespaces; a read-only view of the
  interpreter and system libraries; a private, size-capped tmpfs work dir; no
  ``/proc``, home, cwd or store of the parent; no capabilities; a seccomp filter
  that allows no new process). Its whole PID namespace dies with the run;
- elsewhere, the audit-hook fallback: a plain subprocess in its own session, which
  warns once, loudly (it is not a security boundary), or is refused when isolation
  is required (``require_isolation=True`` or ``ROLEGRAPH_REQUIRE_ISOLATION=1``).

In both, the child has a clean environment (no API keys), a wall-clock timeout after
which its session is killed, ``resource`` limits on CPU seconds, address space and
file size (which also caps its output; the result keeps only the first (stdout) and
last (stderr) few thousand characters), and an audit hook (PEP 578) that ends it at
the first attempt to start a process, open a network socket, write outside its
directory, signal another process, raise its limits, load native code through
``ctypes`` or look at the interpreter's frames from outside the program.

Whether it passed is decided here, in the parent: a pass needs the child harness to
report it with a secret the program never sees (it lives only in the audit hook's
closure, out of reach of the program's frames), so a program that exits early, writes
to the status descriptor or walks the stack cannot forge one. Every other status it
reports can only lower its own score. What it prints is untrusted text: it is capped,
and values of the parent's secret-looking environment variables are masked in it.

Example:
    >>> box = Sandbox(SandboxLimits(timeout_s=5))
    >>> box.run("assert sum(range(4)) == 6").status  # doctest: +SKIP
    'passed'
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from search.evaluation.sandbox_backends import Launch, SandboxBackend, get_backend

__all__ = ["SandboxLimits", "ExecutionResult", "ExecutionStatus", "Sandbox"]

ExecutionStatus = Literal[
    "passed",
    "failed",
    "syntax_error",
    "timeout",
    "cpu_limit",
    "memory_limit",
    "output_limit",
    "forbidden",
    "crashed",
]

_POSIX = os.name == "posix"
# What the child may report without the secret: each only lowers its own score.
_REPORTED = frozenset({"failed", "syntax_error", "memory_limit", "output_limit", "forbidden"})
_SECRET_NAMES = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "AUTH")


def _secret_values() -> list[str]:
    """This process's secret-looking environment values, longest first, to mask in output."""
    values = {
        value
        for name, value in os.environ.items()
        if len(value) >= 8 and any(part in name.upper() for part in _SECRET_NAMES)
    }
    return sorted(values, key=len, reverse=True)


def _mask(text: str) -> str:
    for value in _secret_values():
        text = text.replace(value, "[masked]")
    return text


class SandboxLimits(BaseModel):
    """What one sandboxed run may use."""

    model_config = ConfigDict(frozen=True)

    timeout_s: float = Field(
        default=10.0, gt=0, description="Wall-clock seconds before the run is killed."
    )
    cpu_s: int | None = Field(
        default=None,
        gt=0,
        description="CPU seconds (RLIMIT_CPU); default one more than the timeout, a backstop "
        "that also holds if the parent dies.",
    )
    memory_mb: int = Field(
        default=512, gt=0, description="Address-space limit in MiB (RLIMIT_AS)."
    )
    max_output_bytes: int = Field(
        default=1_000_000,
        gt=0,
        description="Most bytes written to stdout, stderr or any one file (RLIMIT_FSIZE).",
    )
    keep_output_chars: int = Field(
        default=2000, ge=0, description="How much of stdout and stderr the result keeps."
    )
    network: bool = Field(
        default=False, description="Allow network sockets (refused by default, best effort)."
    )

    @property
    def cpu_seconds(self) -> int:
        """The CPU limit in force."""
        return self.cpu_s if self.cpu_s is not None else math.ceil(self.timeout_s) + 1

    @property
    def label(self) -> str:
        """A short, stable description of the limits, for metric names."""
        net = "on" if self.network else "off"
        return (
            f"timeout={self.timeout_s:g}s,cpu={self.cpu_seconds}s,mem={self.memory_mb}MiB,"
            f"out={self.max_output_bytes}B,net={net}"
        )


class ExecutionResult(BaseModel):
    """How one sandboxed run ended."""

    model_config = ConfigDict(frozen=True)

    status: ExecutionStatus = Field(
        description="passed; failed (an exception, e.g. a failed assert); syntax_error; "
        "timeout; cpu_limit; memory_limit; output_limit; forbidden (refused by the guard); "
        "crashed (killed by a signal or exited without reporting)."
    )
    reason: str = Field(default="", description="Why it did not pass; empty when it passed.")
    returncode: int | None = Field(default=None, description="Exit code; negative: a signal.")
    stdout: str = Field(default="", description="The start of what it printed.")
    stderr: str = Field(default="", description="The end of what it wrote to stderr.")
    duration_s: float = Field(default=0.0, description="Wall-clock seconds it ran.")

    @property
    def passed(self) -> bool:
        """Whether the program ran to the end without an exception."""
        return self.status == "passed"


@dataclass
class _Job:
    """The files of one run, on the parent's side."""

    root: Path
    token: str
    limits: SandboxLimits
    payload: bytes = b""
    launch: Launch | None = None
    status_fd: int = -1

    @property
    def stdout(self) -> Path:
        return self.root / "stdout"

    @property
    def stderr(self) -> Path:
        return self.root / "stderr"

    @property
    def status(self) -> Path:
        return self.root / "status"

    def started(self) -> None:
        """Close what only the child needed."""
        if self.launch is not None:
            self.launch.started()
        if self.status_fd >= 0:
            os.close(self.status_fd)
            self.status_fd = -1

    def cleanup(self) -> None:
        self.started()
        shutil.rmtree(self.root, ignore_errors=True)

    def _read(self, path: Path, *, tail: bool) -> str:
        keep = self.limits.keep_output_chars
        if keep == 0 or not path.exists():
            return ""
        size = path.stat().st_size
        with path.open("rb") as handle:
            if tail and size > keep * 4:
                handle.seek(size - keep * 4)
            data = handle.read(keep * 4).decode("utf-8", "replace")
        text = data[-keep:] if tail else data[:keep]
        return _mask(text)

    def _reported(self) -> tuple[str, str] | None:
        """The child's report: a pass only with the secret, else its first failure line."""
        try:
            with self.status.open("rb") as handle:
                raw = handle.read(64 * 1024)
        except OSError:
            return None
        lines = raw.decode("utf-8", "replace").splitlines()
        if f"passed\t{self.token}" in lines:
            return "passed", ""
        for line in lines:
            status, _, reason = line.partition("\t")
            if status in _REPORTED:
                return status, _mask(reason[:2000])
        return None

    def result(self, returncode: int | None, timed_out: bool, duration: float) -> ExecutionResult:
        limits = self.limits
        reported = self._reported()
        status: ExecutionStatus
        if timed_out:
            status = "timeout"
            reason = f"still running after {limits.timeout_s:g} s (wall-clock limit); killed"
        elif returncode == -getattr(signal, "SIGXFSZ", -1000):
            status = "output_limit"
            reason = (
                f"wrote more than {limits.max_output_bytes} bytes to its output or a file; killed"
            )
        elif returncode == -getattr(signal, "SIGXCPU", -1000):
            status = "cpu_limit"
            reason = f"used more than {limits.cpu_seconds} s of CPU time; killed"
        elif reported is not None:
            status = reported[0]  # type: ignore[assignment]
            reason = reported[1]
            if status == "output_limit":
                reason = f"wrote more than {limits.max_output_bytes} bytes to its output or a file"
        elif returncode is not None and returncode < 0:
            status = "crashed"
            reason = f"killed by signal {_signal_name(-returncode)}"
            if -returncode == signal.SIGKILL:
                reason += " (a CPU or memory limit, or the system's out-of-memory killer)"
        else:
            status = "crashed"
            reason = (
                f"exited with code {returncode} before its tests finished "
                "(os._exit, a crash of the interpreter, or a pass it could not prove)"
            )
        return ExecutionResult(
            status=status,
            reason="" if status == "passed" else reason,
            returncode=returncode,
            stdout=self._read(self.stdout, tail=False),
            stderr=self._read(self.stderr, tail=True),
            duration_s=duration,
        )


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def _kill(pid: int) -> None:
    try:
        if _POSIX:
            os.killpg(pid, signal.SIGKILL)  # the whole session: nothing it started survives
        else:  # pragma: no cover - Windows
            os.kill(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        pass


class Sandbox:
    """Runs Python programs, each in its own sandbox and directory, under limits.

    Args:
        limits: What each run may use.
        max_parallel: Most runs at once (default: the number of CPUs), so that
            contention does not push honest programs past their timeouts.
        python: The interpreter to run (default: this one).
        backend: Where programs run: a :class:`SandboxBackend`, ``"bwrap"``,
            ``"audit-hook"``, or ``None`` for the isolated one when it works here
            (see :func:`~search.evaluation.sandbox_backends.get_backend`).
        require_isolation: Refuse to run without OS isolation (default: the
            ``ROLEGRAPH_REQUIRE_ISOLATION`` environment variable).

    Raises:
        IsolationUnavailableError: Isolation is required and unavailable here.
    """

    def __init__(
        self,
        limits: SandboxLimits | None = None,
        *,
        max_parallel: int | None = None,
        python: str | None = None,
        backend: SandboxBackend | str | None = None,
        require_isolation: bool | None = None,
    ) -> None:
        """Configure the sandbox and choose its backend; nothing runs yet."""
        self.limits = limits or SandboxLimits()
        self.max_parallel = max_parallel or os.cpu_count() or 1
        if self.max_parallel < 1:
            raise ValueError("max_parallel must be at least 1")
        self.python = python or sys.executable
        self.backend = get_backend(
            backend, python=self.python, require_isolation=require_isolation
        )
        self._slots = threading.BoundedSemaphore(self.max_parallel)
        self._async_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]
        self._async_slots = weakref.WeakKeyDictionary()

    def __repr__(self) -> str:
        return (
            f"Sandbox({self.limits.label}, max_parallel={self.max_parallel}, "
            f"backend={self.backend.name!r})"
        )

    def _prepare(self, program: str) -> _Job:
        root = Path(tempfile.mkdtemp(prefix="rolegraph-sandbox-"))
        job = _Job(root=root, token=secrets.token_hex(32), limits=self.limits)
        try:
            job.status_fd = os.open(job.status, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            job.launch = self.backend.launch(
                python=self.python,
                root=root,
                status_fd=job.status_fd,
                file_limit_bytes=self.limits.max_output_bytes,
            )
        except BaseException:
            job.cleanup()
            raise
        limits = self.limits
        payload = {
            "token": job.token,
            "status_fd": job.status_fd,
            "workdir": job.launch.workdir,
            "program": program,
            "limits": {
                "cpu_s": limits.cpu_seconds,
                "memory_bytes": limits.memory_mb * 1024 * 1024,
                "file_bytes": limits.max_output_bytes,
                "network": limits.network,
            },
        }
        job.payload = json.dumps(payload).encode("utf-8")
        return job

    def run(self, program: str) -> ExecutionResult:
        """Run ``program`` and wait for it (blocking; see :meth:`arun`)."""
        with self._slots:
            job = self._prepare(program)
            try:
                started = time.perf_counter()
                launch = job.launch
                assert launch is not None
                with job.stdout.open("wb") as out, job.stderr.open("wb") as err:
                    process = subprocess.Popen(
                        launch.argv,
                        stdin=subprocess.PIPE,
                        stdout=out,
                        stderr=err,
                        cwd=launch.cwd,
                        env=launch.env,
                        pass_fds=launch.pass_fds,
                        start_new_session=_POSIX,
                    )
                job.started()
                timed_out = False
                try:
                    process.communicate(job.payload, timeout=self.limits.timeout_s)
                except subprocess.TimeoutExpired:
                    timed_out = True
                finally:
                    _kill(process.pid)  # always: nothing it started outlives the run
                    process.wait()
                return job.result(process.returncode, timed_out, time.perf_counter() - started)
            finally:
                job.cleanup()

    def _async_slot(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        slot = self._async_slots.get(loop)
        if slot is None:
            slot = self._async_slots[loop] = asyncio.Semaphore(self.max_parallel)
        return slot

    async def arun(self, program: str) -> ExecutionResult:
        """Run ``program`` without blocking the event loop: other work goes on meanwhile.

        Cancelling the call kills the run.
        """
        async with self._async_slot():
            job = self._prepare(program)
            try:
                started = time.perf_counter()
                launch = job.launch
                assert launch is not None
                with job.stdout.open("wb") as out, job.stderr.open("wb") as err:
                    process = await asyncio.create_subprocess_exec(
                        *launch.argv,
                        stdin=subprocess.PIPE,
                        stdout=out,
                        stderr=err,
                        cwd=launch.cwd,
                        env=launch.env,
                        pass_fds=launch.pass_fds,
                        start_new_session=_POSIX,
                    )
                job.started()
                timed_out = False
                try:
                    await asyncio.wait_for(
                        process.communicate(job.payload), timeout=self.limits.timeout_s
                    )
                except TimeoutError:
                    timed_out = True
                finally:
                    _kill(process.pid)  # always: nothing it started outlives the run
                    await asyncio.shield(process.wait())
                return job.result(process.returncode, timed_out, time.perf_counter() - started)
            finally:
                job.cleanup()
