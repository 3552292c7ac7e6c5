"""The README's main job (``rolegraph search --example arithmetic``), run once for these tests.

Every test that reads the example's run lives here: under pytest-xdist (``--dist
loadscope``) a module runs on one worker, so the search behind the session fixture
``arithmetic_example`` runs once.
"""

import pytest
from typer.testing import CliRunner

from search.cli import EXAMPLES, prepare
from search.estimate import estimate_search
from tests.search.test_estimate import _brackets
from tests.search.test_report import _pngs, _span

runner = CliRunner()


@pytest.mark.slow
def test_the_estimate_brackets_the_readme_example(arithmetic_example):
    example = dict(EXAMPLES["arithmetic"])
    estimate = estimate_search(prepare({**example, "store": ":memory:"}).search)
    _brackets(estimate, arithmetic_example.result)


@pytest.mark.slow
def test_the_readme_command_writes_a_report(arithmetic_example):
    folder = arithmetic_example.report
    assert "report written to" in arithmetic_example.output
    pngs = _pngs(folder)
    assert len(pngs) >= 3 and {"pareto.png", "spend.png", "winner.png"} <= set(pngs)
    result = arithmetic_example.result
    page = (folder / "report.html").read_text()
    assert _span(page, "winner-label") == result.best_stats.label
    assert _span(page, "test-accuracy") == f"{result.test.mean:.3f}"
    assert _span(page, "spend-dollars") == f"${result.spend.dollars:.4f}"


@pytest.mark.slow
def test_report_command_writes_a_finished_searchs_report(arithmetic_example, tmp_path):
    from search.cli import app

    done = runner.invoke(
        app,
        [
            "report",
            arithmetic_example.name,
            str(tmp_path),
            "--store",
            str(arithmetic_example.store),
        ],
    )
    assert done.exit_code == 0, done.output
    page = (tmp_path / "report.html").read_text()
    stored = arithmetic_example.stored()
    assert _span(page, "winner-label") == stored.best_stats.label
    assert _span(page, "spend-dollars") == f"${stored.spend.dollars:.4f}"
    assert len(_pngs(tmp_path)) >= 3
    unknown = runner.invoke(
        app, ["report", "nope", str(tmp_path), "--store", str(arithmetic_example.store)]
    )
    assert unknown.exit_code == 2 and arithmetic_example.name in unknown.output
