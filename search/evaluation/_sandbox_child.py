"""The child side of :mod:`search.evaluation.sandbox`; run as a script by a fresh interpreter.

It reads its job (JSON) from stdin, lowers its resource limits, moves into its
working directory, installs an audit hook, runs the program and writes one
status line to the status descriptor it inherited. It imports only the standard
library: the parent starts it with ``python -I`` (isolated mode: no environment
variables, no user site, no script directory on ``sys.path``).

A pass is reported as ``passed<TAB>secret``, where the secret came with the job.
The secret is moved into the audit hook's closure before the program runs and is
written by the hook only when this module's :func:`main`, called from the script's
top level on the main thread, asks for it after the program finished. The hook
refuses what would reach it: frame walking from a trace or profile function,
``gc``'s object lists, other audit hooks, ``ctypes`` and ``/proc``. Failures are
reported as ``status<TAB>reason`` without the secret; they can only lower a score.

The audit hook is a best-effort guard, not a security boundary; under the
isolated backend (bubblewrap) it is a second line behind the OS.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import json
import os
import sys
import threading
import types
from collections.abc import Callable
from typing import Any

_exit = os._exit  # bound now: the program may replace os._exit

__all__: list[str] = []

EXIT_FORBIDDEN = 86
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
_SPAWN = frozenset(
    {
        "os.fork",
        "os.forkpty",
        "os.exec",
        "os.posix_spawn",
        "os.spawn",
        "os.system",
        "os.startfile",
        "subprocess.Popen",
        "pty.spawn",
    }
)
_NATIVE = frozenset({"ctypes.dlopen", "ctypes.dlsym", "ctypes.cdata", "ctypes.call_function"})
_NETWORK = frozenset(
    {
        "socket.connect",
        "socket.bind",
        "socket.sendto",
        "socket.sendmsg",
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "socket.gethostbyaddr",
        "socket.gethostbyname_ex",
    }
)
_PATH_EVENTS = {  # event -> positions of the path arguments it writes to
    "os.remove": (0,),
    "os.rmdir": (0,),
    "os.mkdir": (0,),
    "os.rename": (0, 1),
    "os.link": (0, 1),
    "os.symlink": (1,),
    "os.chmod": (0,),
    "os.chown": (0,),
    "os.chflags": (0,),
    "os.truncate": (0,),
    "os.utime": (0,),
    "os.setxattr": (0,),
    "os.removexattr": (0,),
    "os.mkfifo": (0,),
    "os.mknod": (0,),
    "shutil.rmtree": (0,),
    "shutil.copyfile": (1,),
    "shutil.copytree": (1,),
    "shutil.move": (1,),
}
# Where the directory descriptors that relative paths start from sit in each event's args.
_DIR_FDS = {
    "os.remove": (1,),
    "os.rmdir": (1,),
    "os.mkdir": (2,),
    "os.chmod": (2,),
    "os.chown": (3,),
    "os.utime": (3,),
    "os.rename": (2, 3),
    "os.link": (2, 3),
    "os.symlink": (2,),
    "os.mkfifo": (2,),
    "os.mknod": (3,),
}
_ALLOWED_DEVICES = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr"})
_LOCAL_FAMILIES = frozenset({1})  # AF_UNIX: local socket pairs (asyncio's self-pipe) stay allowed
_LIMITS = frozenset({"resource.setrlimit", "resource.prlimit"})
# What would reach the secret in the hook's closure, or the hook itself.
_INTROSPECTION = frozenset(
    {
        "sys.settrace",
        "sys.setprofile",
        "sys._current_frames",
        "sys._current_exceptions",
        "sys.addaudithook",
        "sys.monitoring.register_callback",
        "gc.get_objects",
        "gc.get_referrers",
        "gc.get_referents",
    }
)
_VERDICT = "rolegraph.sandbox.verdict"


def _inside(root: str, path: Any, *, dir_fd: bool = False, descriptor: bool = False) -> bool:
    """Whether ``path`` is ``root`` or below it.

    A relative path with a directory descriptor (``dir_fd``) is refused rather than
    guessed; a descriptor for a path counts as inside only where ``descriptor`` says
    so (``open(fd)``: opening it was checked), not for ``fchmod`` or ``futime``.
    """
    if isinstance(path, int):
        return descriptor
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    path = os.fspath(path)
    if path in _ALLOWED_DEVICES:
        return True
    if dir_fd and not os.path.isabs(path):
        return False
    full = os.path.realpath(os.path.join(os.getcwd(), path))
    return full == root or full.startswith(root + os.sep)


def _guard(
    root: str, status_fd: int, token: str, *, network: bool
) -> Callable[[str, tuple[Any, ...]], None]:
    """The audit hook: refuses spawning, network, native code, introspection, outside writes.

    It also holds the secret: the only way to report a pass is the verdict event raised
    by :func:`main` itself (checked through the caller's frame), after the program ran.
    """
    root = os.path.realpath(root)
    pid = os.getpid()
    main_thread = threading.get_ident()
    main_code = main.__code__
    verdict_given = [False]

    def refuse(what: str) -> None:
        report(status_fd, "forbidden", what)
        _exit(EXIT_FORBIDDEN)

    def verdict(caller: Any) -> None:
        top = caller.f_back
        if (
            verdict_given[0]
            or threading.get_ident() != main_thread
            or caller.f_code is not main_code
            or top is None
            or top.f_back is not None
            or top.f_code.co_filename != main_code.co_filename
        ):
            refuse("the program tried to report its own verdict")
        verdict_given[0] = True
        os.write(status_fd, f"passed\t{token}\n".encode())

    def check(event: str, args: tuple[Any, ...]) -> None:
        if event == "open":
            path, mode, flags = args
            writes = (isinstance(flags, int) and flags & _WRITE_FLAGS) or (
                isinstance(mode, str) and any(c in mode for c in "wax+")
            )
            real = os.path.realpath(os.fsdecode(path)) if isinstance(path, (str, bytes)) else ""
            if real == "/proc" or real.startswith("/proc/"):
                refuse(f"reading /proc is not allowed: {path!r}")
            if writes and path is not None and not _inside(root, path, descriptor=True):
                refuse(f"write outside the sandbox directory: {path!r}")
        elif event in _SPAWN:
            refuse(f"starting processes is not allowed ({event})")
        elif event in _LIMITS:
            refuse(f"changing resource limits is not allowed ({event})")
        elif event in _NATIVE:
            refuse(f"native code through ctypes is not allowed ({event})")
        elif event in _INTROSPECTION:
            refuse(f"inspecting the interpreter from outside the program is not allowed ({event})")
        elif event in ("os.kill", "os.killpg") and args and args[0] not in (0, pid):
            refuse(f"signalling other processes is not allowed ({event})")
        elif event == "socket.__new__" and not network:
            if len(args) > 1 and args[1] not in _LOCAL_FAMILIES:
                refuse("network access is not allowed (socket)")
        elif event in _NETWORK and not network:
            refuse(f"network access is not allowed ({event})")
        elif event == "sqlite3.connect" and args:
            name = os.fsdecode(args[0]) if isinstance(args[0], bytes) else str(args[0])
            if name not in ("", ":memory:") and (
                name.startswith("file:") or not _inside(root, name)
            ):
                refuse(f"a database outside the sandbox directory: {name!r}")
        elif event in _PATH_EVENTS:
            relative = any(
                i < len(args) and isinstance(args[i], int) and args[i] >= 0
                for i in _DIR_FDS.get(event, ())
            )
            for index in _PATH_EVENTS[event]:
                path = args[index] if index < len(args) else None
                if path is not None and not _inside(root, path, dir_fd=relative):
                    refuse(f"write outside the sandbox directory ({event}): {path!r}")

    def hook(event: str, args: tuple[Any, ...]) -> None:
        try:
            if event == _VERDICT:
                verdict(sys._getframe(1))  # who raised the event
            else:
                check(event, args)
        except BaseException:  # never let an exception carry this frame to the program
            _exit(EXIT_FORBIDDEN)

    return hook


def report(fd: int, status: str, reason: str = "") -> None:
    """Write a failure's status line (a pass is written by the hook, with the secret)."""
    line = f"{status}\t{reason.replace(chr(10), ' ')[:2000]}\n"
    with contextlib.suppress(OSError):
        os.write(fd, line.encode("utf-8", "replace"))


def _limit(name: str, value: int | None) -> None:
    if value is None:
        return
    try:
        import resource
    except ImportError:  # not a POSIX system: only the parent's wall-clock limit applies
        return
    which = getattr(resource, name, None)
    if which is None:
        return
    _, hard = resource.getrlimit(which)
    soft = value if hard == resource.RLIM_INFINITY else min(value, hard)
    ceiling = soft  # lower the hard limit too, so the program cannot raise it back
    if name == "RLIMIT_CPU" and (hard == resource.RLIM_INFINITY or soft + 1 <= hard):
        ceiling = soft + 1  # SIGXCPU at the soft limit, SIGKILL a second later
    with contextlib.suppress(ValueError, OSError):  # macOS refuses some address-space limits
        resource.setrlimit(which, (soft, ceiling))


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    tb = exc.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<program>":
            line = tb.tb_lineno
        tb = tb.tb_next
    where = f" (program line {line})" if line is not None else ""
    return f"{type(exc).__name__}{': ' + text if text else ''}{where}"


def _disarm() -> None:
    """Remove calls the audit hook cannot see (no audit event) that reach other processes.

    Best effort for the audit-hook backend; the isolated backend's seccomp filter
    refuses them in the kernel.
    """
    import posix
    import signal

    for namespace, names in (
        (os, ("pidfd_open", "mkfifo", "mknod")),
        (posix, ("pidfd_open", "mkfifo", "mknod")),
        (signal, ("pidfd_send_signal",)),
    ):
        for name in names:
            with contextlib.suppress(AttributeError):
                delattr(namespace, name)


def _run(code: Any, module: types.ModuleType) -> tuple[str, str]:
    """Run the program; its outcome as (status, reason), ``("passed", "")`` when it ran through."""
    try:
        exec(code, module.__dict__)
    except MemoryError:
        return "memory_limit", "MemoryError: the program ran out of memory"
    except RecursionError as exc:
        return "failed", _describe(exc)
    except OSError as exc:
        if exc.errno == errno.EFBIG:  # Python ignores SIGXFSZ: the write fails instead
            return "output_limit", "wrote more than its output/file limit"
        return "failed", _describe(exc)
    except SystemExit as exc:
        return "failed", f"the program called exit({exc.code!r}) before its tests finished"
    except BaseException as exc:
        return "failed", _describe(exc)
    return "passed", ""


def main() -> None:
    """Run one job read from stdin."""
    job = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    with contextlib.suppress(OSError):
        os.close(0)
    status_fd = int(job["status_fd"])
    limits = job["limits"]
    _limit("RLIMIT_CORE", 0)
    _limit("RLIMIT_AS", limits.get("memory_bytes"))
    _limit("RLIMIT_CPU", limits.get("cpu_s"))
    _limit("RLIMIT_FSIZE", limits.get("file_bytes"))
    os.chdir(job["workdir"])
    try:
        code = compile(job["program"], "<program>", "exec")
    except (SyntaxError, ValueError) as exc:
        report(status_fd, "syntax_error", _describe(exc))
        _exit(0)
    module = types.ModuleType("solution")
    module.__dict__["__builtins__"] = builtins
    sys.modules["solution"] = module
    hook = _guard(job["workdir"], status_fd, job.pop("token"), network=limits["network"])
    sys.addaudithook(hook)
    del job, hook
    _disarm()
    status, reason = _run(code, module)
    if status == "passed":
        sys.audit(_VERDICT)
    else:
        report(status_fd, status, reason)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        _exit(0)  # skip atexit handlers and threads the program may have left


if __name__ == "__main__":
    main()
