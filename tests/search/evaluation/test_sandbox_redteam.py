"""Red team: hostile generated code and hostile datasets against the default sandbox.

Each payload is one that got out of the audit-hook sandbox. Under the default Linux
backend (bubblewrap) every one must be contained: no file written, changed or removed
outside, no process left running, no network, no signal to the evaluator or any other
process, no secret read, no forged score, and the evaluator finishes every task.
"""

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from search.evaluation.benchmark_metrics import PassAt1
from search.evaluation.datasets import Task
from search.evaluation.sandbox import Sandbox, SandboxLimits

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the isolated backend needs Linux"
)

MARK = f"rolegraph-redteam-{os.getpid()}"
SECRET = "sk-redteam-0123456789abcdef"  # a fake API key, in the victim's environment only
ADD_TASK = Task(
    id="add",
    question='def add(a, b):\n    """Return a + b."""\n',
    answer="def add(a, b):\n    return a + b",
    metadata={
        "test": "def check(candidate):\n    assert candidate(2, 3) == 5\n",
        "entry_point": "add",
    },
)

# Each payload is formatted with: out (a directory outside), victim (a file in it),
# decoy (the pid of a process outside), port (a listening socket outside), py, mark.
PAYLOADS = {
    "fork_exec": """
        import _posixsubprocess, os, sys, time
        code = "import time; open({out!r} + '/fork_exec', 'w'); time.sleep(60)"
        r, w = os.pipe()
        args = [[{py!r}, "-c", code, {mark!r}], [{py!r}.encode()], True, (), None, None,
                -1, -1, -1, -1, -1, -1, r, w, True, True, -1, None, None, None]
        try:
            _posixsubprocess.fork_exec(*args, -1, None)
        except TypeError:
            _posixsubprocess.fork_exec(*args, -1, None, False)
        time.sleep(1.5)
    """,
    "multiprocessing_spawn": """
        import multiprocessing, time
        code = "import os, time; os.setsid(); open({out!r} + '/spawn', 'w'); time.sleep(60)"
        ctx = multiprocessing.get_context("spawn")
        ctx.Process(target=exec, args=(code + " # " + {mark!r},), daemon=False).start()
        time.sleep(3)
    """,
    "dir_fd_write": """
        import os
        fd = os.open({out!r}, os.O_RDONLY)
        f = os.open("dir_fd_write", os.O_WRONLY | os.O_CREAT, dir_fd=fd)
        os.write(f, b"x")
    """,
    "dir_fd_unlink": """
        import os
        os.unlink("victim.txt", dir_fd=os.open({out!r}, os.O_RDONLY))
    """,
    "dir_fd_rename": """
        import os
        fd = os.open({out!r}, os.O_RDONLY)
        os.rename("victim.txt", "renamed.txt", src_dir_fd=fd, dst_dir_fd=fd)
    """,
    "sqlite_outside": """
        import sqlite3
        sqlite3.connect({out!r} + "/evil.db").execute("create table t(x)")
    """,
    "mkfifo": """
        import os
        os.mkfifo({out!r} + "/fifo")
    """,
    "readline_history": """
        import readline
        readline.add_history("x")
        readline.write_history_file({out!r} + "/history")
    """,
    "fchmod_utime_on_fd": """
        import os
        fd = os.open({victim!r}, os.O_RDONLY)
        try:
            os.fchmod(fd, 0o777)
        finally:
            os.utime(fd, (0, 0))
    """,
    "disarm_guard_class": """
        import sys
        sys.modules["__main__"]._Guard.__call__ = lambda *a: None
        open({out!r} + "/disarmed", "w").write("x")
    """,
    "disarm_guard_gc": """
        import gc
        for o in gc.get_objects():
            if type(o).__name__ == "_Guard":
                type(o).__call__ = lambda *a: None
        open({out!r} + "/disarmed_gc", "w").write("x")
    """,
    "os_exit_patched": """
        import os
        os._exit = lambda *a: None
        open({out!r} + "/exit_patched", "w").write("x")
    """,
    "dev_shm_leftover": """
        import _posixshmem, os
        os.write(_posixshmem.shm_open("/" + {mark!r}, os.O_CREAT | os.O_RDWR, 0o600), b"x")
    """,
    "signal_other_process": """
        import os, signal
        fd = os.pidfd_open({decoy})
        signal.pidfd_send_signal(fd, signal.SIGKILL)
    """,
    "signal_parent": """
        import os, signal
        fd = os.pidfd_open(os.getppid())
        signal.pidfd_send_signal(fd, signal.SIGUSR1)
    """,
    "network": """
        import socket
        socket.create_connection(("127.0.0.1", {port}), timeout=2).sendall(b"leak")
    """,
}


def _processes_with(mark: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if mark.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_mode, p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def box():
    return Sandbox(SandboxLimits(timeout_s=6, memory_mb=512), max_parallel=2)


@pytest.fixture
def world(tmp_path):
    """The outside: a directory with a file, a decoy process, a listener, a signal counter."""
    out = tmp_path / "outside"
    out.mkdir()
    victim = out / "victim.txt"
    victim.write_text("precious")
    victim.chmod(0o600)
    decoy = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    received = []
    previous = signal.signal(signal.SIGUSR1, lambda *_: received.append(1))
    yield {
        "out": out,
        "victim": victim,
        "decoy": decoy,
        "listener": listener,
        "signals": received,
        "format": {
            "out": str(out),
            "victim": str(victim),
            "decoy": decoy.pid,
            "port": listener.getsockname()[1],
            "py": sys.executable,
            "mark": MARK,
        },
    }
    signal.signal(signal.SIGUSR1, previous)
    listener.close()
    decoy.kill()
    decoy.wait()
    for pid in _processes_with(MARK):  # whatever a failing case left behind
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for leftover in Path("/dev/shm").glob(f"*{MARK}*"):
        leftover.unlink()


def _assert_contained(world) -> None:
    out = world["out"]
    assert _snapshot(out) == {"victim.txt": (0o100600, world["victim"].stat().st_mtime_ns)}
    assert world["victim"].read_text() == "precious"
    assert world["victim"].stat().st_mtime_ns > 10**18  # not reset by utime
    time.sleep(0.2)  # give a process that escaped time to act; the checks below do not wait
    assert _processes_with(MARK) == [], "a process it started is still running"
    assert list(Path("/dev/shm").glob(f"*{MARK}*")) == [], "it left a shared-memory segment"
    assert world["decoy"].poll() is None, "it killed a process outside"
    assert world["signals"] == [], "it signalled the evaluator"
    with pytest.raises(BlockingIOError):
        world["listener"].accept()  # nobody connected


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_each_payload_is_contained_by_sandbox_run(box, world, name):
    program = textwrap.dedent(PAYLOADS[name]).format(**world["format"])
    result = box.run(program)
    _assert_contained(world)
    assert SECRET not in result.model_dump_json()


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_each_payload_as_an_answer_scores_zero_under_pass_at_1(box, world, name):
    program = textwrap.dedent(PAYLOADS[name]).format(**world["format"])
    answer = f"def add(a, b):\n    return a - b\n\n{program}"
    metric = PassAt1(limits=box.limits, max_parallel=1)
    assert metric.explain(answer, ADD_TASK).score == 0.0
    _assert_contained(world)


FORGERS = {
    "status_fd_from_caller_frame": """
        import os, sys
        def add(a, b):
            return a - b
        frame = sys._getframe(1)
        for value in list(frame.f_locals.values()):
            if isinstance(value, str) and len(value) >= 16:
                for fd in range(3, 20):
                    try:
                        os.write(fd, f"{value}\\tpassed\\t\\n".encode())
                    except OSError:
                        pass
                print(f"{value}\\tpassed")
        sys.stdout.flush()
        os._exit(0)
    """,
    "frames_from_a_traceback": """
        import os, sys
        def add(a, b):
            return a - b
        try:
            raise ValueError
        except ValueError as exc:
            frame = exc.__traceback__.tb_frame
        while frame is not None:
            for value in list(frame.f_locals.values()):
                if isinstance(value, str) and len(value) >= 16:
                    for fd in (1, 2, 3, 4, 5, 6):
                        try:
                            os.write(fd, f"{value}\\tpassed\\t\\n".encode())
                        except OSError:
                            pass
            frame = frame.f_back
        os._exit(0)
    """,
    "raise_the_verdict_event": """
        import sys
        def add(a, b):
            return a - b
        sys.audit("rolegraph.sandbox.verdict")
    """,
    "call_the_harness_again": """
        import os, sys, json
        def add(a, b):
            return a - b
        r, w = os.pipe()  # becomes fd 0: a job of its own for a second harness
        os.write(w, json.dumps({"token": "x" * 64, "status_fd": 1, "workdir": ".",
                                "program": "pass", "limits": {"network": False}}).encode())
        os.close(w)
        sys.modules["__main__"].main()
    """,
    "a_thread_outlives_the_program": """
        import os, threading, time
        def add(a, b):
            return a - b
        def later():
            time.sleep(0.2)
            for fd in range(3, 12):
                try:
                    os.write(fd, b"passed\\t" + b"0" * 64 + b"\\n")
                except OSError:
                    pass
        threading.Thread(target=later).start()
    """,
    "exit_zero_before_the_tests": """
        import os
        def add(a, b):
            return a - b
        os._exit(0)
    """,
    "sys_exit_zero_before_the_tests": """
        import sys
        def add(a, b):
            return a - b
        sys.exit(0)
    """,
}


@pytest.mark.parametrize("name", sorted(FORGERS))
def test_a_wrong_answer_cannot_forge_a_pass(box, name):
    metric = PassAt1(limits=box.limits, max_parallel=1)
    answer = textwrap.dedent(FORGERS[name])
    assert metric.explain(answer, ADD_TASK).score == 0.0
    assert metric.explain("def add(a, b):\n    return a + b", ADD_TASK).score == 1.0


VICTIM = """
import json, sys
from search.evaluation.benchmark_metrics import PassAt1
from search.evaluation.datasets import Task
from search.evaluation.sandbox import SandboxLimits
task = Task.model_validate_json(sys.argv[1])
metric = PassAt1(limits=SandboxLimits(timeout_s=6), max_parallel=1)
for answer in json.loads(sys.argv[2]):
    print(metric.explain(answer, task).model_dump_json(), flush=True)
"""


def _victim(tmp_path: Path, answers: list[str]) -> subprocess.CompletedProcess[str]:
    """Score ``answers`` in a process with an API key in its environment and a store in its cwd."""
    home = tmp_path / "project"
    home.mkdir()
    with sqlite3.connect(home / "rolegraph.db") as db:
        db.execute("create table evaluations (task text, score real)")
        db.execute("insert into evaluations values ('add', 0.0)")
    db.close()
    env = {**os.environ, "OPENAI_API_KEY": SECRET}
    return subprocess.run(
        [sys.executable, "-c", VICTIM, ADD_TASK.model_dump_json(), json.dumps(answers)],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


ATTACKS_ON_THE_PARENT = {
    "environ_secrets_in_the_error": """
        import os
        def add(a, b):
            raise AssertionError(open(f"/proc/{os.getppid()}/environ").read())
    """,
    "environ_through_proc_scan": """
        import os
        def add(a, b):
            found = []
            for pid in os.listdir("/proc"):
                try:
                    found.append(open(f"/proc/{pid}/environ").read())
                except Exception:
                    pass
            raise AssertionError("".join(found))
    """,
    "store_rewrite_through_parent_cwd": """
        import os, sqlite3
        db = sqlite3.connect(f"/proc/{os.getppid()}/cwd/rolegraph.db")
        db.execute("update evaluations set score = 1.0")
        db.commit()
        def add(a, b):
            return a + b
    """,
    "kill_the_evaluator": """
        import os, signal
        signal.pidfd_send_signal(os.pidfd_open(os.getppid()), signal.SIGKILL)
        def add(a, b):
            return a + b
    """,
}


@pytest.mark.parametrize("name", sorted(ATTACKS_ON_THE_PARENT))
def test_the_parent_keeps_its_secrets_its_store_and_its_life(tmp_path, name):
    attack = textwrap.dedent(ATTACKS_ON_THE_PARENT[name])
    honest = "def add(a, b):\n    return a + b"
    done = _victim(tmp_path, [attack, honest])
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert len(lines) == 2  # the evaluator went on to the next answer
    assert json.loads(lines[1])["score"] == 1.0
    assert SECRET not in done.stdout
    with sqlite3.connect(tmp_path / "project" / "rolegraph.db") as db:
        assert db.execute("select score from evaluations").fetchall() == [(0.0,)]
    db.close()


def test_the_evaluator_finishes_every_task_of_a_hostile_dataset(world, tmp_path):
    from orchestrator import Agent, WorkflowSpec
    from orchestrator.testing import ScriptedChatModel
    from search.evaluation import Evaluator, load_dataset

    fmt = world["format"]
    hostile_test = textwrap.dedent(PAYLOADS["dir_fd_write"]).format(**fmt)
    records = [
        {
            "id": name,
            "question": f"{ADD_TASK.question}    # {name}\n",
            "answer": "x",
            "test": f"def check(candidate):\n    assert candidate(2, 3) == 5\n# {name}\n",
            "entry_point": "add",
        }
        for name in sorted(PAYLOADS)
    ]
    records.append({**records[0], "id": "hostile-test", "test": hostile_test})
    rows = tmp_path / "hostile.jsonl"
    rows.write_text("".join(json.dumps(r) + "\n" for r in records))

    def answer(prompt: str) -> str:
        name = next((n for n in PAYLOADS if f"# {n}\n" in prompt), "dir_fd_unlink")
        code = "def add(a, b):\n    return a - b\n\n" + textwrap.dedent(PAYLOADS[name])
        return json.dumps({"answer": code.format(**fmt), "confidence": 0.9})

    model = ScriptedChatModel(replies=answer)
    spec = WorkflowSpec(agents=[Agent(name="solver", role="solver", model=model)])
    data = load_dataset(rows, kind="code")
    metric = PassAt1(limits=SandboxLimits(timeout_s=6), max_parallel=2)
    summary = Evaluator(data, metric, max_concurrency=2).evaluate(spec)
    assert len(summary.records) == len(records)
    assert [r.score for r in summary.records] == [0.0] * len(records)
    _assert_contained(world)
