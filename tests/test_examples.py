"""The examples a newcomer copies keep working."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("script", ["quickstart.py", "custom_search.py", "existing_langgraph.py"])
def test_example_runs(tmp_path, script):
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "accuracy" in done.stdout


def test_cli_config_example_is_valid(tmp_path):
    from search.cli import _build, _load_config

    search = _build(
        _load_config(ROOT / "examples" / "search.yaml"), {"store": str(tmp_path / "rg.db")}
    )
    assert search.strategy.name == "nsga2"
    assert search.space.topologies == ("single", "plan_solve", "self_refine", "best_of_n")
