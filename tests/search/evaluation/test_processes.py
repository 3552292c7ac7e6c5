"""Several processes share one store; a killed process resumes where it stopped."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchestrator import Workflow
from orchestrator.testing import CountingSimChatModel
from search.evaluation import Evaluator, bundled_dataset

ROOT = Path(__file__).resolve().parents[3]
WORKER = Path(__file__).with_name("_worker.py")

pytestmark = pytest.mark.slow


def start(db: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, str(WORKER), str(db), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_line(process: subprocess.Popen, prefix: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith(prefix):
            return line
        if not line and process.poll() is not None:
            break
    raise AssertionError(f"worker never printed {prefix!r}: {process.stderr.read()}")


def count_rows(db: Path) -> int:
    with sqlite3.connect(db, timeout=30) as conn:
        return conn.execute("SELECT count(*) FROM evaluations").fetchone()[0]


def test_two_processes_write_one_store_without_losing_rows(tmp_path):
    db, go = tmp_path / "shared.db", tmp_path / "go"
    # Both evaluate atlas-mini, so they write the same keys too.
    first = start(db, "--models", "atlas-mini,lynx-small", "--latency", "0.05", "--go", str(go))
    second = start(db, "--models", "atlas-mini,orca-small", "--latency", "0.05", "--go", str(go))
    for process in (first, second):
        wait_for_line(process, "READY")
    go.touch()
    outputs = [process.communicate(timeout=120) for process in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    assert all("Traceback" not in err and "locked" not in err for _, err in outputs)
    windows = []
    for out, _ in outputs:
        done = [line.split() for line in out.splitlines() if line.startswith("DONE")]
        windows.append((float(done[0][1]), float(done[0][2])))
        assert sum(line.startswith("EVAL") for line in out.splitlines()) == 80
    assert windows[0][0] < windows[1][1] and windows[1][0] < windows[0][1]  # they overlapped
    assert count_rows(db) == 3 * 40
    with sqlite3.connect(db) as conn:
        per_workflow = conn.execute(
            "SELECT count(DISTINCT task_id) FROM evaluations GROUP BY workflow"
        ).fetchall()
    assert sorted(n for (n,) in per_workflow) == [40, 40, 40]


def test_a_killed_evaluation_resumes_with_only_the_unfinished_tasks(tmp_path):
    db = tmp_path / "killed.db"
    n = 60
    worker = start(db, "--n", str(n), "--latency", "0.15", "--concurrency", "2")
    wait_for_line(worker, "READY")
    deadline = time.monotonic() + 60
    while count_rows(db) < 6:  # the worker created the store before it printed READY
        assert time.monotonic() < deadline and worker.poll() is None
        time.sleep(0.02)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)
    assert worker.returncode == -signal.SIGKILL
    finished = count_rows(db)
    assert 6 <= finished < n

    model = CountingSimChatModel(model="atlas-mini")
    ev = Evaluator(
        bundled_dataset(n=n, seed=11),
        "numeric",
        store=db,
        models={"sim:atlas-mini": model},
    )
    spec = Workflow("single-atlas-mini").add_agent("solver", role="solver", model="sim:atlas-mini")
    summary = ev.evaluate(spec.build())
    assert summary.cached == finished
    assert summary.evaluated == n - finished
    # Calls that finished before the kill are in the LLM-call cache, so at most one each,
    # plus one re-ask where a reply broke the asked format.
    assert model.calls <= summary.calls + summary.cached_calls <= 2 * (n - finished)
    assert summary.calls + summary.cached_calls >= n - finished
    assert count_rows(db) == n
