"""The search commands of the rolegraph CLI."""

import json

from typer.testing import CliRunner

from search.cli import app

runner = CliRunner()
WIDE = {"COLUMNS": "200"}


def _config(tmp_path):
    config = {
        "dataset": {"bundled": "arithmetic", "n": 24, "seed": 2},
        "space": {
            "topologies": ["single"],
            "pool": ["sim:atlas-nano", "sim:atlas-pro"],
            "fixed": {"single": {"temperature": 0.0}},
        },
        "strategy": "grid",
        "budget": {"dollars": 1.0},
        "question": "What is 6 * 7?",
    }
    path = tmp_path / "search.json"
    path.write_text(json.dumps(config))
    return path


def test_search_show_export_and_run(tmp_path):
    store = tmp_path / "rg.db"
    out = tmp_path / "result.json"
    result = runner.invoke(
        app,
        [
            "search",
            "--config",
            str(_config(tmp_path)),
            "--store",
            str(store),
            "--name",
            "demo",
            "--out",
            str(out),
        ],
        env=WIDE,
    )
    assert result.exit_code == 0, result.output
    assert "Simulated models" in result.output
    assert "Pareto front" in result.output and "held-out test" in result.output
    assert "deployed winner" in result.output and "-> 42" in result.output
    assert json.loads(out.read_text())["best_stats"]["label"].startswith("single(")

    listed = runner.invoke(app, ["show", "--store", str(store)], env=WIDE)
    assert "demo" in listed.output and "complete" in listed.output
    shown = runner.invoke(app, ["show", "demo", "--store", str(store)], env=WIDE)
    assert "atlas-pro" in shown.output

    module = tmp_path / "winner.py"
    exported = runner.invoke(app, ["export", "demo", str(module), "--store", str(store)])
    assert exported.exit_code == 0, exported.output
    answered = runner.invoke(app, ["run", str(module), "What is 6 * 7?"])
    assert answered.exit_code == 0 and "42" in answered.output


def test_search_rejects_bad_input_before_spending(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "dataset: {bundled: arithmetic}\nspace: {topologies: [nope], pool: [sim:atlas-nano]}\n"
    )
    result = runner.invoke(
        app, ["search", "--config", str(bad), "--store", str(tmp_path / "x.db")]
    )
    assert result.exit_code == 2 and "unknown topology 'nope'" in result.output
    both = runner.invoke(app, ["search"])
    assert both.exit_code == 2 and "exactly one of --example or --config" in both.output
    unknown = runner.invoke(app, ["search", "--example", "chess"])
    assert unknown.exit_code == 2 and "unknown example 'chess'" in unknown.output
