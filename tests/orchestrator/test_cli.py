"""The rolegraph command line."""

import importlib.util
import json

import pytest
import typer
import yaml
from typer.testing import CliRunner

from orchestrator import Workflow
from orchestrator.cli import app, describe_error, fail, handle_errors

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


# --- errors: one line, no traceback, non-zero exit -------------------------------------


def _error_line(result):
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert "Traceback" not in result.output
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def test_a_missing_file_says_so_plainly(tmp_path):
    result = runner.invoke(app, ["validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    line = _error_line(result)
    assert "no such file" in line and "nope.yaml" in line and "Errno" not in line


def test_invalid_yaml_says_where(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("agents:\n  - name: a\n    role: solver\n    role: judge\n")
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 2
    assert "line 4, column 5: found duplicate key 'role'" in _error_line(result)
    broken = tmp_path / "broken.yaml"
    broken.write_text("agents: [\n")
    assert "broken.yaml at line 2" in _error_line(runner.invoke(app, ["graph", str(broken)]))


def test_invalid_json_says_where(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"agents": [}')
    result = runner.invoke(app, ["run", str(bad), "question"])
    assert result.exit_code == 2
    assert "line 1, column 13" in _error_line(result)


def test_a_missing_provider_package_says_what_to_install(tmp_path):
    pytest.importorskip("langchain_core")
    if importlib.util.find_spec("langchain_openai") is not None:
        pytest.skip("langchain-openai is installed")
    spec = tmp_path / "openai.json"
    spec.write_text(
        json.dumps({"agents": [{"name": "a", "role": "solver", "model": "openai:gpt-4o-mini"}]})
    )
    result = runner.invoke(app, ["run", str(spec), "What is 1 + 1?"])
    assert result.exit_code == 2
    assert "pip install langchain-openai" in _error_line(result)


def test_debug_shows_the_traceback(tmp_path):
    result = runner.invoke(app, ["--debug", "validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1
    assert isinstance(result.exception, FileNotFoundError)


def test_serving_on_a_public_address_without_a_token_is_refused(tmp_path, monkeypatch):
    import uvicorn

    def started(*args, **kwargs):
        raise AssertionError("the server started")

    monkeypatch.setattr(uvicorn.Server, "run", started)
    monkeypatch.delenv("ROLEGRAPH_SERVE_TOKEN", raising=False)
    _, path = _spec(tmp_path)
    result = runner.invoke(app, ["serve", str(path), "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "refusing to serve on 0.0.0.0 without a token" in _error_line(result)


def test_other_command_modules_reuse_the_error_handling():
    other = typer.Typer()

    @other.command()
    @handle_errors()
    def boom() -> None:
        raise RuntimeError("something broke")

    @other.command()
    def quit_early() -> None:
        with handle_errors():
            fail("the config names no dataset; add 'dataset:'")

    result = runner.invoke(other, ["boom"])
    assert result.exit_code == 1
    assert _error_line(result) == (
        "error: RuntimeError: something broke (run with --debug for the traceback)"
    )
    result = runner.invoke(other, ["quit-early"])
    assert result.exit_code == 2
    assert _error_line(result) == "error: the config names no dataset; add 'dataset:'"


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (FileNotFoundError(2, "No such file or directory", "x.yaml"), "no such file: x.yaml"),
        (IsADirectoryError(21, "Is a directory", "dir"), "dir is a directory"),
        (
            ModuleNotFoundError("no module", name="langchain_anthropic"),
            "pip install langchain-anthropic",
        ),
        (yaml.safe_load_all, None),
        (RecursionError(), "nested too deeply"),
    ],
)
def test_describe_error(error, text):
    if text is None:  # a raw YAML error, as a config loader might still raise
        with pytest.raises(yaml.YAMLError) as caught:
            yaml.safe_load("a: [\n")
        error, text = caught.value, "invalid YAML at line 2, column 1"
    assert text in describe_error(error)
