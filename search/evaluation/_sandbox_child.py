"""The child side of :mod:`search.evaluation.sandbox`; run as a script by a fresh interpreter.

It reads its job (JSON) from stdin, lowers its resource limits, moves into its
working directory, installs an audit hook, runs the program and writes one
status line (``nonce<TAB>status<TAB>reason``) to a status file it opened
before the hook existed. It imports only the standard library: the parent
starts it with ``python -I`` (isolated mode: no environment variables, no user
site, no script directory on ``sys.path``).

The audit hook (PEP 578) is a best-effort guard, not a security boundary:
code that reaches native memory could get around it, which is why ``ctypes``
is refused too. A refused event ends the process at once, so the program
cannot catch the error and carry on.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import json
import os
import sys
import types
from typing import Any

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
    "shutil.rmtree": (0,),
    "shutil.copyfile": (1,),
    "shutil.copytree": (1,),
    "shutil.move": (1,),
}
_ALLOWED_DEVICES = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr"})
_LOCAL_FAMILIES = frozenset({1})  # AF_UNIX: local socket pairs (asyncio's self-pipe) stay allowed
_LIMITS = frozenset({"resource.setrlimit", "resource.prlimit"})


class _Guard:
    """The audit hook: refuses spawning, network, native code and writes outside ``root``."""

    def __init__(self, root: str, status_fd: int, nonce: str, *, network: bool) -> None:
        self.root = os.path.realpath(root)
        self.status_fd = status_fd
        self.nonce = nonce
        self.network = network
        self.pid = os.getpid()

    def refuse(self, what: str) -> None:
        report(self.status_fd, self.nonce, "forbidden", what)
        os._exit(EXIT_FORBIDDEN)

    def inside(self, path: Any) -> bool:
        if isinstance(path, int):
            return True  # an already open descriptor; opening it was checked
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        path = os.fspath(path)
        if path in _ALLOWED_DEVICES:
            return True
        full = os.path.realpath(os.path.join(os.getcwd(), path))
        return full == self.root or full.startswith(self.root + os.sep)

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if event == "open":
            path, mode, flags = args
            writes = (isinstance(flags, int) and flags & _WRITE_FLAGS) or (
                isinstance(mode, str) and any(c in mode for c in "wax+")
            )
            if writes and path is not None and not self.inside(path):
                self.refuse(f"write outside the sandbox directory: {path!r}")
        elif event in _SPAWN:
            self.refuse(f"starting processes is not allowed ({event})")
        elif event in _LIMITS:
            self.refuse(f"changing resource limits is not allowed ({event})")
        elif event in _NATIVE:
            self.refuse(f"native code through ctypes is not allowed ({event})")
        elif event in ("os.kill", "os.killpg") and args and args[0] not in (0, self.pid):
            self.refuse(f"signalling other processes is not allowed ({event})")
        elif event == "socket.__new__" and not self.network:
            if len(args) > 1 and args[1] not in _LOCAL_FAMILIES:
                self.refuse("network access is not allowed (socket)")
        elif event in _NETWORK and not self.network:
            self.refuse(f"network access is not allowed ({event})")
        elif event in _PATH_EVENTS:
            for index in _PATH_EVENTS[event]:
                if index < len(args) and args[index] is not None and not self.inside(args[index]):
                    self.refuse(f"write outside the sandbox directory ({event}): {args[index]!r}")


def report(fd: int, nonce: str, status: str, reason: str = "") -> None:
    """Write the one status line; later lines are ignored by the parent."""
    line = f"{nonce}\t{status}\t{reason.replace(chr(10), ' ')[:2000]}\n"
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


def main() -> None:
    """Run one job read from stdin."""
    job = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    nonce = job.pop("nonce")
    status_fd = os.open(job["status"], os.O_WRONLY | os.O_APPEND)
    limits = job["limits"]
    _limit("RLIMIT_CORE", 0)
    _limit("RLIMIT_AS", limits.get("memory_bytes"))
    _limit("RLIMIT_CPU", limits.get("cpu_s"))
    _limit("RLIMIT_FSIZE", limits.get("file_bytes"))
    os.chdir(job["workdir"])
    try:
        code = compile(job["program"], "<program>", "exec")
    except (SyntaxError, ValueError) as exc:
        report(status_fd, nonce, "syntax_error", _describe(exc))
        os._exit(0)
    module = types.ModuleType("solution")
    module.__dict__["__builtins__"] = builtins
    sys.modules["solution"] = module
    sys.addaudithook(
        _Guard(job["workdir"], status_fd, nonce, network=limits.get("network", False))
    )
    del job
    try:
        exec(code, module.__dict__)
    except MemoryError:
        report(status_fd, nonce, "memory_limit", "MemoryError: the program ran out of memory")
    except RecursionError as exc:
        report(status_fd, nonce, "failed", _describe(exc))
    except OSError as exc:
        if exc.errno == errno.EFBIG:  # Python ignores SIGXFSZ: the write fails instead
            report(status_fd, nonce, "output_limit", "wrote more than its output/file limit")
        else:
            report(status_fd, nonce, "failed", _describe(exc))
    except SystemExit as exc:
        report(
            status_fd,
            nonce,
            "failed",
            f"the program called exit({exc.code!r}) before its tests finished",
        )
    except BaseException as exc:
        report(status_fd, nonce, "failed", _describe(exc))
    else:
        report(status_fd, nonce, "passed")
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(0)  # skip atexit handlers and threads the program may have left


if __name__ == "__main__":
    main()
