"""The code sandbox: each run in its own process and directory, under limits, with a reason.

``box`` is the default backend (bubblewrap on Linux); ``fallback`` is the audit-hook
backend, whose guard also runs inside the isolated one.
"""

import asyncio
import os
import subprocess
import sys
import warnings

import pytest

from search.evaluation import sandbox_backends
from search.evaluation.sandbox import Sandbox, SandboxLimits
from search.evaluation.sandbox_backends import (
    AuditHookBackend,
    BubblewrapBackend,
    IsolationUnavailableError,
    IsolationWarning,
    get_backend,
)

pytestmark = pytest.mark.skipif(
    not hasattr(__import__("os"), "killpg"), reason="the sandbox's limits need a POSIX system"
)


@pytest.fixture(scope="module")
def box():
    return Sandbox(SandboxLimits(timeout_s=3, memory_mb=256), max_parallel=2)


@pytest.fixture(scope="module")
def fallback():
    return Sandbox(SandboxLimits(timeout_s=3, memory_mb=256), max_parallel=2, backend="audit-hook")


def test_a_program_that_runs_to_the_end_passes(box):
    result = box.run("import math\nassert math.gcd(12, 18) == 6\nprint('done')")
    assert result.passed and result.status == "passed" and result.reason == ""
    assert result.stdout == "done\n" and result.returncode == 0


def test_a_failed_assert_fails_with_the_error_and_line(box):
    result = box.run("x = 1\nassert x == 2, 'x should be 2'")
    assert result.status == "failed"
    assert result.reason == "AssertionError: x should be 2 (program line 2)"
    assert box.run("def f(:\n    pass").status == "syntax_error"


def test_an_infinite_loop_is_killed_at_the_timeout(box):
    result = box.run("while True:\n    pass")
    assert result.status == "timeout" and not result.passed
    assert "still running after 3 s (wall-clock limit)" in result.reason


def test_a_fork_bomb_is_stopped_at_the_first_fork(box):
    result = box.run("import os\nwhile True:\n    os.fork()")
    assert result.status == "forbidden"
    assert result.reason == "starting processes is not allowed (os.fork)"
    spawned = box.run("import subprocess\nsubprocess.run(['true'])")
    assert spawned.status == "forbidden" and "subprocess.Popen" in spawned.reason
    assert box.run("import os\nos.system('true')").status == "forbidden"


def test_a_huge_allocation_hits_the_memory_limit(box):
    result = box.run("blob = bytearray(8 * 1024 ** 3)")
    assert result.status == "memory_limit" and "MemoryError" in result.reason
    assert box.run("xs = [0] * (10 ** 10)").status == "memory_limit"


def test_a_write_outside_the_sandbox_directory_is_refused(box, fallback, tmp_path):
    target = tmp_path / "escaped.txt"
    isolated = box.run(f"open({str(target)!r}, 'w').write('x')")
    assert not isolated.passed and not target.exists()
    box = fallback  # the guard's own reasons
    result = box.run(f"open({str(target)!r}, 'w').write('x')")
    assert result.status == "forbidden"
    assert result.reason == f"write outside the sandbox directory: {str(target)!r}"
    assert not target.exists()
    # Catching the error does not help: the run ends at the first attempt.
    caught = box.run(f"try:\n    open({str(target)!r}, 'a')\nexcept Exception:\n    pass")
    assert caught.status == "forbidden" and not target.exists()
    removed = box.run(f"import os\nos.remove({str(target)!r})")
    assert removed.status == "forbidden" and "os.remove" in removed.reason


def test_writes_inside_the_sandbox_directory_are_allowed(box):
    program = (
        "import os, tempfile\n"
        "open('notes.txt', 'w').write('hi')\n"
        "assert open('notes.txt').read() == 'hi'\n"
        "with tempfile.NamedTemporaryFile('w') as f:\n"
        "    f.write('x')\n"
        "os.remove('notes.txt')\n"
    )
    assert box.run(program).passed


def test_no_secrets_are_inherited_and_the_network_is_refused(box, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-for-the-sandbox")
    assert box.run("import os\nassert 'OPENAI_API_KEY' not in os.environ").passed
    result = box.run("import socket\nsocket.create_connection(('127.0.0.1', 9))")
    assert result.status == "forbidden" and "network access is not allowed" in result.reason
    raw = box.run("import socket\nsocket.socket(socket.AF_INET, socket.SOCK_STREAM)")
    assert raw.status == "forbidden"


def test_output_is_capped(box):
    small = Sandbox(SandboxLimits(timeout_s=5, max_output_bytes=50_000, keep_output_chars=100))
    result = small.run("while True:\n    print('x' * 1000)")
    assert result.status == "output_limit" and "50000 bytes" in result.reason
    assert len(result.stdout) == 100


def test_other_ways_out_are_refused(box):
    assert box.run("import os\nos.kill(os.getppid(), 9)").status == "forbidden"
    limits = box.run("import resource\nresource.setrlimit(resource.RLIMIT_AS, (-1, -1))")
    assert limits.status == "forbidden" and "resource limits" in limits.reason
    assert box.run("import ctypes\nctypes.CDLL(None)").status == "forbidden"
    exited = box.run("import os\nos._exit(0)")
    assert exited.status == "crashed" and "before its tests finished" in exited.reason
    assert box.run("import sys\nsys.exit(0)").status == "failed"


async def test_the_event_loop_runs_other_work_while_a_program_runs(fallback, tmp_path):
    box = fallback  # its programs can see tmp_path, where the release file is written
    release = tmp_path / "release"
    waiting = asyncio.ensure_future(
        box.arun(
            f"import os, time\nwhile not os.path.exists({str(release)!r}):\n    time.sleep(0.01)\n"
        )
    )
    # The program only finishes once this coroutine, on the same loop, has run: had
    # arun blocked the loop, the program would time out instead.
    await asyncio.sleep(0)
    assert not waiting.done()
    other = await box.arun("assert 1 + 1 == 2")
    assert other.passed and not waiting.done()
    release.write_text("go")
    assert (await waiting).passed


async def test_cancelling_a_run_kills_its_process(box, monkeypatch):
    started = []
    spawn = asyncio.create_subprocess_exec

    async def recording(*args, **kwargs):
        process = await spawn(*args, **kwargs)
        started.append(process)
        return process

    monkeypatch.setattr(asyncio, "create_subprocess_exec", recording)
    task = asyncio.ensure_future(box.arun("import time\ntime.sleep(60)"))
    while not started:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert started[0].returncode == -9  # killed and reaped, not left running


def test_limits_have_a_stable_label():
    limits = SandboxLimits(timeout_s=2.5, memory_mb=128)
    assert limits.cpu_seconds == 4
    assert limits.label == "timeout=2.5s,cpu=4s,mem=128MiB,out=1000000B,net=off"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="isolation needs Linux")
def test_on_linux_the_default_backend_is_isolated(box):
    # CI installs the dev extra, which includes rolegraph[sandbox]: the red-team suite
    # runs against this backend there.
    assert isinstance(box.backend, BubblewrapBackend) and box.backend.isolated
    seen = box.run(
        "import os\n"
        "assert os.getuid() == 65534 and not os.path.exists('/proc')\n"
        "assert os.getcwd() == '/rolegraph-sandbox' and os.environ.get('HOME') == os.getcwd()\n"
        "assert sorted(os.listdir('/rolegraph-sandbox')) == []\n"
    )
    assert seen.passed, seen.reason


@pytest.fixture
def no_isolation(monkeypatch):
    """A machine where bubblewrap cannot run: the warning is fresh, the variables unset."""
    monkeypatch.setattr(sandbox_backends, "_isolation_problem", lambda python: "no bwrap here")
    monkeypatch.setattr(sandbox_backends, "_warned", False)
    monkeypatch.delenv("ROLEGRAPH_SANDBOX", raising=False)
    monkeypatch.delenv("ROLEGRAPH_REQUIRE_ISOLATION", raising=False)


def test_without_isolation_the_fallback_warns_once_naming_the_extra(no_isolation):
    with pytest.warns(IsolationWarning, match=r"WITHOUT OS isolation \(no bwrap here\)") as seen:
        first = Sandbox(SandboxLimits(timeout_s=3))
    assert "pip install 'rolegraph[sandbox]'" in str(seen[0].message)
    assert isinstance(first.backend, AuditHookBackend) and first.run("assert 1").passed
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Sandbox()  # once per process, not once per metric


def test_isolation_can_be_required(no_isolation, monkeypatch):
    with pytest.raises(IsolationUnavailableError, match=r"required .* no bwrap here"):
        Sandbox(require_isolation=True)
    monkeypatch.setenv("ROLEGRAPH_REQUIRE_ISOLATION", "1")
    with pytest.raises(IsolationUnavailableError, match="rolegraph\\[sandbox\\]"):
        get_backend()
    with pytest.raises(IsolationUnavailableError, match="'audit-hook' backend has none"):
        Sandbox(backend="audit-hook")
    monkeypatch.setenv("ROLEGRAPH_REQUIRE_ISOLATION", "0")
    assert get_backend("audit-hook").name == "audit-hook"


def test_a_backend_is_chosen_by_name(monkeypatch):
    monkeypatch.setenv("ROLEGRAPH_SANDBOX", "audit-hook")
    assert isinstance(get_backend(), AuditHookBackend)
    with pytest.raises(ValueError, match="unknown sandbox backend 'docker'"):
        get_backend("docker")


def test_the_fallback_warning_shows_in_the_cli_output(tmp_path):
    rows = tmp_path / "code.jsonl"
    rows.write_text(
        "".join(
            f'{{"id": "t{i}", "question": "def f():", "answer": "def f(): return 1", '
            '"test": "assert f() == 1", "entry_point": "f"}\n'
            for i in range(4)
        )
    )
    config = tmp_path / "search.yaml"
    config.write_text(
        f"dataset: {{path: {rows}, kind: code}}\nmetric: pass@1\n"
        "space: {topologies: [single], pool: [sim:atlas-nano]}\nbudget: {dollars: 1}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROLEGRAPH_")}
    env["ROLEGRAPH_BWRAP"] = str(tmp_path / "no-bwrap-here")  # as on a machine without it
    cli = "from search.cli import app; app()"
    command = [sys.executable, "-c", cli, "search", "--config", str(config)]
    done = subprocess.run(
        [*command, "--dry-run"], env=env, capture_output=True, text=True, check=False
    )
    # The simulated pool cannot answer code tasks, so the search is refused before any
    # call; the warning about the sandbox is printed first all the same.
    assert "WITHOUT OS isolation" in done.stderr and "rolegraph[sandbox]" in done.stderr
    env["ROLEGRAPH_REQUIRE_ISOLATION"] = "1"
    refused = subprocess.run(
        [*command, "--dry-run"], env=env, capture_output=True, text=True, check=False
    )
    assert refused.returncode != 0 and "isolation is required" in refused.stderr + refused.stdout


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="isolation needs Linux")
def test_the_isolated_sandbox_runs_threads_but_starts_no_process(box):
    program = (
        "import _posixsubprocess, os, sys, threading\n"
        "seen = []\n"
        "worker = threading.Thread(target=seen.append, args=(1,))\n"
        "worker.start()\n"
        "worker.join()\n"
        "assert seen == [1]\n"
        "r, w = os.pipe()\n"
        "args = [[sys.executable, '-c', ''], [sys.executable.encode()], True, (), None, None,\n"
        "        -1, -1, -1, -1, -1, -1, r, w, True, True, -1, None, None, None, -1, None]\n"
        "for extra in ([], [False]):  # the signature differs between Python versions\n"
        "    try:\n"
        "        _posixsubprocess.fork_exec(*args, *extra)  # no audit event: the kernel refuses\n"
        "    except TypeError:\n"
        "        continue\n"
        "    except PermissionError:\n"
        "        break\n"
        "    raise AssertionError('a process started')\n"
        "else:\n"
        "    raise AssertionError('fork_exec was not called')\n"
    )
    result = box.run(program)
    assert result.passed, result.reason


def test_the_fallback_refuses_proc_and_introspection(fallback):
    # /proc/self/mem would expose the secret that proves a pass; /proc/<ppid>/environ
    # the parent's keys. The isolated backend has no /proc at all.
    through_dir_fd = fallback.run(
        "import os\nos.open('self/mem', os.O_RDONLY, dir_fd=os.open('/proc', os.O_RDONLY))"
    )
    assert through_dir_fd.status == "forbidden" and "/proc" in through_dir_fd.reason
    environ = fallback.run(f"open('/proc/{os.getpid()}/environ').read()")
    assert environ.status == "forbidden"
    for call in ("sys.settrace(print)", "gc.get_objects()", "sys.addaudithook(print)"):
        result = fallback.run(f"import gc, sys\n{call}")
        assert result.status == "forbidden" and "inspecting the interpreter" in result.reason
