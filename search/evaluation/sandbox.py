"""Run untrusted Python programs in a subprocess with limits: the engine of code metrics.

Each run gets:

- a fresh interpreter in isolated mode (``python -I``) in its own session
  (process group), started with a clean environment (``PATH``, ``HOME`` and
  ``TMPDIR`` pointing at its directory, a UTF-8 locale, nothing inherited, so
  no API keys);
- its own temporary directory, its working directory, removed afterwards;
- a wall-clock timeout, after which the whole process group is killed;
- ``resource`` limits on CPU seconds, address space (memory) and file size,
  which also caps what it can write to stdout and stderr; the result keeps
  only the first (stdout) and last (stderr) few thousand characters;
- an audit hook (PEP 578) that ends it at the first attempt to start a process
  (``fork``, ``subprocess``, ``os.system``, ``exec``), open a network socket,
  write outside its directory, signal another process, raise its limits or
  load native code through ``ctypes``.

The limits need a POSIX system (Linux; macOS enforces the memory limit only
loosely); elsewhere only the wall-clock timeout applies. The audit hook and
the network ban are best effort, not a security boundary: they stop the
mistakes and accidents of generated code, not a determined attacker. Run
code from sources you do not trust inside a container or VM as well.

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

_CHILD = Path(__file__).with_name("_sandbox_child.py")
_POSIX = os.name == "posix"
_REPORTED = frozenset(
    {"passed", "failed", "syntax_error", "memory_limit", "output_limit", "forbidden"}
)


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
    """The files of one run."""

    root: Path
    nonce: str
    payload: bytes
    limits: SandboxLimits

    @property
    def workdir(self) -> Path:
        return self.root / "work"

    @property
    def stdout(self) -> Path:
        return self.root / "stdout"

    @property
    def stderr(self) -> Path:
        return self.root / "stderr"

    @property
    def status(self) -> Path:
        return self.root / "status"

    def env(self) -> dict[str, str]:
        home = str(self.workdir)
        return {
            "PATH": os.defpath,
            "HOME": home,
            "TMPDIR": home,
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
        }

    def cleanup(self) -> None:
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
        return text

    def _reported(self) -> tuple[str, str] | None:
        try:
            lines = self.status.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return None
        for line in lines:
            nonce, _, rest = line.partition("\t")
            if nonce == self.nonce:
                status, _, reason = rest.partition("\t")
                return status, reason
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
        elif reported is not None and reported[0] in _REPORTED:
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
                "(os._exit, or a crash of the interpreter)"
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
    """Runs Python programs, each in its own subprocess and directory, under limits.

    Args:
        limits: What each run may use.
        max_parallel: Most runs at once (default: the number of CPUs), so that
            contention does not push honest programs past their timeouts.
        python: The interpreter to run (default: this one).
    """

    def __init__(
        self,
        limits: SandboxLimits | None = None,
        *,
        max_parallel: int | None = None,
        python: str | None = None,
    ) -> None:
        """Configure the sandbox; nothing runs yet."""
        self.limits = limits or SandboxLimits()
        self.max_parallel = max_parallel or os.cpu_count() or 1
        if self.max_parallel < 1:
            raise ValueError("max_parallel must be at least 1")
        self.python = python or sys.executable
        self._slots = threading.BoundedSemaphore(self.max_parallel)
        self._async_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]
        self._async_slots = weakref.WeakKeyDictionary()

    def __repr__(self) -> str:
        return f"Sandbox({self.limits.label}, max_parallel={self.max_parallel})"

    def _prepare(self, program: str) -> _Job:
        root = Path(tempfile.mkdtemp(prefix="rolegraph-sandbox-"))
        job = _Job(root=root, nonce=secrets.token_hex(16), payload=b"", limits=self.limits)
        job.workdir.mkdir()
        job.status.touch()
        limits = self.limits
        payload = {
            "nonce": job.nonce,
            "status": str(job.status),
            "workdir": str(job.workdir),
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

    def _argv(self) -> list[str]:
        return [self.python, "-I", "-B", "-X", "utf8", str(_CHILD)]

    def run(self, program: str) -> ExecutionResult:
        """Run ``program`` and wait for it (blocking; see :meth:`arun`)."""
        with self._slots:
            job = self._prepare(program)
            try:
                started = time.perf_counter()
                with job.stdout.open("wb") as out, job.stderr.open("wb") as err:
                    process = subprocess.Popen(
                        self._argv(),
                        stdin=subprocess.PIPE,
                        stdout=out,
                        stderr=err,
                        cwd=job.workdir,
                        env=job.env(),
                        start_new_session=_POSIX,
                    )
                timed_out = False
                try:
                    process.communicate(job.payload, timeout=self.limits.timeout_s)
                except subprocess.TimeoutExpired:
                    timed_out = True
                finally:
                    if process.poll() is None:
                        _kill(process.pid)
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
                with job.stdout.open("wb") as out, job.stderr.open("wb") as err:
                    process = await asyncio.create_subprocess_exec(
                        *self._argv(),
                        stdin=subprocess.PIPE,
                        stdout=out,
                        stderr=err,
                        cwd=job.workdir,
                        env=job.env(),
                        start_new_session=_POSIX,
                    )
                timed_out = False
                try:
                    await asyncio.wait_for(
                        process.communicate(job.payload), timeout=self.limits.timeout_s
                    )
                except TimeoutError:
                    timed_out = True
                finally:
                    if process.returncode is None:
                        _kill(process.pid)
                    await asyncio.shield(process.wait())
                return job.result(process.returncode, timed_out, time.perf_counter() - started)
            finally:
                job.cleanup()
