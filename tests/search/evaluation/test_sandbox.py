"""The code sandbox: each run in its own process and directory, under limits, with a reason."""

import asyncio

import pytest

from search.evaluation.sandbox import Sandbox, SandboxLimits

pytestmark = pytest.mark.skipif(
    not hasattr(__import__("os"), "killpg"), reason="the sandbox's limits need a POSIX system"
)


@pytest.fixture(scope="module")
def box():
    return Sandbox(SandboxLimits(timeout_s=3, memory_mb=256), max_parallel=2)


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


def test_a_write_outside_the_sandbox_directory_is_refused(box, tmp_path):
    target = tmp_path / "escaped.txt"
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


async def test_the_event_loop_runs_other_work_while_a_program_runs(box, tmp_path):
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
