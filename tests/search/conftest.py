"""Shared fixtures: the README's main command, run once per test session."""

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from search import SearchResult, Store


@dataclass(frozen=True)
class ExampleRun:
    """``rolegraph search --example arithmetic --report DIR`` into a temporary store."""

    store: Path
    report: Path
    out: Path
    output: str

    @property
    def result(self) -> SearchResult:
        return SearchResult.load(self.out)

    @property
    def name(self) -> str:
        return json.loads(self.out.read_text())["name"]

    def stored(self) -> SearchResult:
        record = Store(self.store).get_search(self.name)
        assert record is not None and record.result is not None
        return SearchResult.model_validate(record.result)


@pytest.fixture(scope="session")
def arithmetic_example(tmp_path_factory) -> ExampleRun:
    """The example search (simulated, a few minutes), with its report."""
    pytest.importorskip("matplotlib")
    from search.cli import app

    folder = tmp_path_factory.mktemp("example")
    store, report, out = folder / "rolegraph.db", folder / "out", folder / "result.json"
    done = CliRunner().invoke(
        app,
        [
            "search",
            "--example",
            "arithmetic",
            "--store",
            str(store),
            "--report",
            str(report),
            "--out",
            str(out),
        ],
        env={"COLUMNS": "200"},
    )
    assert done.exit_code == 0, done.output
    return ExampleRun(store=store, report=report, out=out, output=done.output)
