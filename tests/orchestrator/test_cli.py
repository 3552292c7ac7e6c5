"""The rolegraph command line."""

from typer.testing import CliRunner

from orchestrator import Workflow
from orchestrator.cli import app

runner = CliRunner()


def _spec(tmp_path):
    spec = (
        Workflow("refine")
        .add_agent("solver", role="solver", model="sim:atlas-mini")
        .add_agent("check", role="verifier", model="sim:atlas-pro")
        .add_agent("fix", role="rectifier", model="sim:atlas-mini")
        .add_edge("solver", "check")
        .add_edge("check", "fix")
        .add_loop("fix", "check", max_rounds=2)
        .build()
    )
    return spec, spec.save(tmp_path / "refine.yaml")


def test_run_prints_the_answer_and_cost(tmp_path):
    _, path = _spec(tmp_path)
    result = runner.invoke(app, ["run", str(path), "What is 6 * 7?", "--trace"])
    assert result.exit_code == 0, result.output
    assert "42" in result.output and "simulated models" in result.output
    assert "check" in result.output  # the per-agent table


def test_validate_and_graph(tmp_path):
    spec, path = _spec(tmp_path)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0 and spec.hash in result.output
    assert runner.invoke(app, ["graph", str(path)]).output.startswith("flowchart TD")


def test_invalid_spec_fails_with_the_named_problem(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"agents": [{"name": "a", "role": "solver", "model": "sim:nope"}]}')
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 2
    assert "unknown simulated model 'sim:nope'" in result.output


def test_profiles_and_roles_are_listed():
    wide = {"COLUMNS": "160"}
    assert "sim:atlas-pro" in runner.invoke(app, ["profiles"], env=wide).output
    assert "rectifier" in runner.invoke(app, ["roles"], env=wide).output
