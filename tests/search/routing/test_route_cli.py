"""rolegraph route NAME: a router from a finished search, judged, written and served back."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from orchestrator.serve import load_workflow
from search.cli import app
from search.routing import RoutedWorkflow

runner = CliRunner()
WIDE = {"COLUMNS": "200"}


def test_route_command(tmp_path: Path) -> None:
    config = tmp_path / "search.json"
    config.write_text(
        json.dumps(
            {
                "dataset": {"bundled": "arithmetic", "n": 30, "seed": 2},
                "space": {
                    "topologies": ["single"],
                    "pool": ["sim:atlas-nano", "sim:atlas-mini", "sim:atlas-pro"],
                    "fixed": {"single": {"temperature": 0.0}},
                },
                "strategy": "grid",
            }
        )
    )
    store = tmp_path / "rg.db"
    args = ["--config", str(config), "--store", str(store)]
    made = runner.invoke(app, ["search", *args, "--name", "s", "--no-deploy"], env=WIDE)
    assert made.exit_code == 0, made.output
    out = tmp_path / "router.py"
    routed = runner.invoke(
        app,
        [
            "route",
            "s",
            *args,
            "--k",
            "2",
            "--cost-cap",
            "0.05",
            "--deadline",
            "60",
            "--verifier",
            "sim:atlas-pro",
            "--out",
            str(out),
        ],
        env=WIDE,
    )
    assert routed.exit_code == 0, routed.output
    assert "best single" in routed.output and "oracle" in routed.output
    loaded = load_workflow(out)
    assert isinstance(loaded, RoutedWorkflow)
    assert len(loaded.arms) == 3 and loaded.config.cost_cap == 0.05  # two, one checked
    assert loaded.config.deadline == 60.0
    assert loaded.config.arms[-1].label.endswith("+ verifier(sim:atlas-pro)")
    assert loaded("What is 6 * 7?")
