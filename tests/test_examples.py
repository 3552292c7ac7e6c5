"""The examples a newcomer copies keep working."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


# What each example writes, all of it into one folder; whether the test names the folder
# (else the example makes a temporary one).
WRITES = {
    "quickstart.py": (set(), False),
    "custom_search.py": ({"custom_search.db", "winner.py"}, False),
    "existing_langgraph.py": ({"existing_langgraph.db", "best_graph.json", "app"}, True),
}


@pytest.mark.parametrize("script", sorted(WRITES))
def test_example_runs_and_leaves_the_current_directory_clean(tmp_path, script):
    files, given = WRITES[script]
    cwd, temp, out = tmp_path / "cwd", tmp_path / "tmp", tmp_path / "out" / "here"
    cwd.mkdir()
    temp.mkdir()
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script), *([str(out)] if given else [])],
        cwd=cwd,
        env={**os.environ, "TMPDIR": str(temp)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "accuracy" in done.stdout
    assert list(cwd.iterdir()) == []  # the current directory is left as it was
    if files:
        folder = out if given else next(temp.iterdir())
        assert files <= {p.name for p in folder.iterdir()}
        assert f"files written to {folder}" in done.stdout
    if given:
        assert list(temp.iterdir()) == []


def test_cli_config_example_is_valid(tmp_path):
    from search.cli import _build, _load_config

    search = _build(
        _load_config(ROOT / "examples" / "search.yaml"), {"store": str(tmp_path / "rg.db")}
    )
    assert search.strategy.name == "nsga2"
    assert search.space.topologies == ("single", "plan_solve", "self_refine", "best_of_n")
