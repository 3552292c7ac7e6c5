"""A search's budget and course belong to the search: reruns, kills and several processes."""

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from search import Budget
from search.store import Store

from ._search_worker import make_search

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("_search_worker.py")


def calls(path: Path) -> int:
    return sum(1 for _ in path.open()) if path.exists() else 0


def spawn(store: Path, name: str, log: Path, *args: str) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, str(WORKER), str(store), name, "--calls", str(log), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().startswith("READY"), process.stderr.read()
    return process


def finish(process: subprocess.Popen) -> dict:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def test_two_runs_with_the_same_seed_make_the_same_calls(tmp_path):
    first = make_search(tmp_path / "a.db", "s", calls=tmp_path / "a.calls").run()
    second = make_search(tmp_path / "b.db", "s", calls=tmp_path / "b.calls").run()
    assert calls(tmp_path / "a.calls") == calls(tmp_path / "b.calls") == first.spend.calls
    assert first.best == second.best and first.history == second.history
    again = make_search(tmp_path / "a.db", "s", calls=tmp_path / "a.calls").run()
    assert again.spend_this_run.calls == 0 and again.history == first.history


@pytest.mark.slow
def test_a_killed_search_resumes_to_the_same_winner_paying_only_for_what_was_in_flight(
    tmp_path,
):
    whole = make_search(tmp_path / "whole.db", "s", calls=tmp_path / "whole.calls").run()
    store, log = tmp_path / "killed.db", tmp_path / "killed.calls"
    process = spawn(store, "s", log, "--latency", "0.05")
    while True:
        try:
            with sqlite3.connect(store) as db:
                done = db.execute("SELECT count(*) FROM evaluations").fetchone()[0]
        except sqlite3.Error:
            done = 0
        if done >= whole.evaluations // 3 or process.poll() is not None:
            break
        time.sleep(0.02)
    assert process.poll() is None, "the search finished before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    resumed = make_search(store, "s", calls=log).run()
    assert resumed.best == whole.best and resumed.history == whole.history
    in_flight = 2 * 4 * 3  # proposals at once x evaluations per proposal x calls per evaluation
    assert calls(log) <= calls(tmp_path / "whole.calls") + in_flight


def test_reruns_spend_from_one_budget_and_raising_it_is_explicit(tmp_path):
    store, log = tmp_path / "b.db", tmp_path / "b.calls"
    first = make_search(store, "s", calls=log, budget=0.01, n_trials=30).run()
    assert first.stop_reason.startswith("budget") and first.spend.dollars <= 0.01
    again = make_search(store, "s", calls=log, budget=0.01, n_trials=30).run()
    third = make_search(store, "s", calls=log, n_trials=30).run()  # no budget given: the same
    assert third.budget == Budget(dollars=0.01)
    assert third.spend.dollars <= 0.01 and calls(log) == third.spend.calls
    assert (
        again.spend_this_run.dollars + third.spend_this_run.dollars <= 0.01 - first.spend.dollars
    )
    raised = make_search(store, "s", calls=log, budget=0.03, n_trials=30).run()
    assert any("dollars raised from $0.01 to $0.03" in line for line in raised.account)
    assert 0.01 < raised.spend.dollars <= 0.03


def test_two_processes_on_one_search_share_one_budget(tmp_path):
    store = tmp_path / "shared.db"
    Store(store)  # the schema exists before both start
    logs = [tmp_path / "p1.calls", tmp_path / "p2.calls"]
    processes = [spawn(store, "s", log, "--budget", "0.01", "--trials", "30") for log in logs]
    results = [finish(process) for process in processes]
    total = Store(store).budget_spent("search:s")
    assert total.dollars <= 0.01 * 0.8 + 1e-9  # the search's share; the test keeps 20%
    assert (
        total.calls
        == sum(calls(log) for log in logs) - Store(store).budget_spent("search:s:test").calls
    )
    assert all(r["spend"]["dollars"] <= 0.01 + 1e-9 for r in results)
