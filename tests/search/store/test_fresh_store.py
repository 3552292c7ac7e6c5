"""Several processes that start one named search on a fresh store all succeed."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
WORKER = Path(__file__).with_name("_fresh_worker.py")

pytestmark = pytest.mark.slow


def test_four_processes_start_one_search_on_a_fresh_store(tmp_path):
    db, go = tmp_path / "fresh.db", tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [
        subprocess.Popen(
            [sys.executable, str(WORKER), str(db), "shared", str(go)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for worker in workers:  # all imported and waiting: they start together
        assert worker.stdout.readline().strip() == "READY", worker.communicate()
    assert not db.exists()
    go.touch()
    outputs = [worker.communicate(timeout=300) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0, 0, 0], outputs
    done = [
        line.split() for out, _ in outputs for line in out.splitlines() if line.startswith("DONE")
    ]
    assert len(done) == 4 and {d[1] for d in done} == {"shared"}
    assert all("Traceback" not in err for _, err in outputs)


def test_a_search_made_by_another_process_between_look_and_create_is_joined(tmp_path):
    # The race, played in one process: the search row appears after this run looked for it.
    from search import SearchSpace, Store, create_search

    store = Store(tmp_path / "s.db")
    search = create_search(
        space=SearchSpace(topologies=["single"], pool=["sim:atlas-nano", "sim:atlas-pro"]),
        dataset="bundled:arithmetic",
        strategy="grid",
        store=store,
        name="shared",
    )
    made = store.create_search("shared", strategy="grid")
    looked = []

    def get_search(name):
        looked.append(name)
        return None if len(looked) == 1 else Store.get_search(store, name)

    store.get_search = get_search
    result = search.run()
    assert result.search_id == made.id and result.best is not None
