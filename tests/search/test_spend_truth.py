"""Figures tell the truth: the progress curve's dollars are the real spend, reruns show it all."""

import re

import pytest

from search.report import write_report
from search.runner import create_search

SPACE = {
    "topologies": ["single", "vote_ensemble"],
    "pool": ["sim:atlas-nano", "sim:atlas-mini"],
    "fixed": {"single": {"temperature": 0.0}, "vote_ensemble": {"n": 3}},
}


def run(store, name="truth", **options):
    options = options or {"strategy": "random", "n_candidates": 4}
    return create_search(
        space=SPACE, dataset="bundled:arithmetic", store=store, name=name, **options
    ).run()


def _account_counts(result) -> tuple[int, int, float]:
    text = "\n".join(result.account)
    evaluations = sum(int(n) for n in re.findall(r"(\d+) evaluations run", text))
    calls = sum(int(n) for n in re.findall(r"(\d+) model calls", text))
    dollars = sum(float(n) for n in re.findall(r"model calls, \$([0-9.]+)", text))
    return evaluations, calls, dollars


def test_the_curve_ends_at_the_spend_and_a_rerun_shows_the_same_search(tmp_path):
    first = run(tmp_path / "rg.db")
    test = first.test.spent if first.test else 0.0
    staged = sum(s.dollars for s in first.stages.values())
    assert staged + test == pytest.approx(first.spend.dollars)  # every dollar, once
    # The curve's last point is what the strategy's evaluations cost: below the spend
    # (baselines and the test come after), never above it as list prices were.
    assert 0 < first.history[-1].spent <= first.spend.dollars
    assert first.history[-1].dollars > first.history[-1].spent  # list price counts cached calls
    again = run(tmp_path / "rg.db")
    assert again.spend_this_run.dollars == 0
    assert [s.spent for s in again.history] == pytest.approx([s.spent for s in first.history])
    assert {k: v.dollars for k, v in again.stages.items()} == pytest.approx(
        {k: v.dollars for k, v in first.stages.items()}
    )
    assert again.certificate.shipped == first.certificate.shipped


def test_the_account_counts_what_the_spend_counts(tmp_path):
    result = run(tmp_path / "rg.db")
    evaluations, calls, _ = _account_counts(result)
    assert any(line.startswith("held-out test:") for line in result.account)
    assert (evaluations, calls) == (result.spend.evaluations, result.spend.calls)


def test_results_another_search_paid_for_are_not_counted_as_this_ones_spend(tmp_path):
    store = tmp_path / "rg.db"
    run(store, name="first")
    second = run(store, name="second", strategy="auto")
    evaluations, calls, dollars = _account_counts(second)
    assert (evaluations, calls) == (second.spend.evaluations, second.spend.calls)
    assert dollars == pytest.approx(second.spend.dollars, abs=1e-4)
    reused = [line for line in second.account if line.startswith("reused from other searches")]
    assert reused and int(reused[0].split(": ")[1].split()[0]) > 0
    # Its stages count its own work only, on a rerun as on the first run.
    again = run(store, name="second", strategy="auto")
    assert again.account == second.account and again.spend_this_run.dollars == 0


def test_the_report_opens_with_the_certificate(tmp_path):
    pytest.importorskip("matplotlib")
    result = run(tmp_path / "rg.db")
    page = write_report(result, tmp_path / "out").read_text()
    assert page.index('id="certificate"') < page.index('class="cards"')
    for line in result.certificate.lines[:2]:
        assert line.split(":")[0] in page
    assert "P(best)" in page and "$ / correct answer" in page


def test_a_search_cut_short_by_its_budget_accounts_for_every_paid_call():
    # Many evaluations at once against a small budget: calls get refused mid-run, and the
    # runs they cut off were paid for without a result. The account says so, and still
    # adds up to the spend (whether or not this schedule cut one off).
    from orchestrator.budget import Budget
    from search.evaluation.settings import EvalSettings

    result = create_search(
        space={
            "topologies": ["self_refine", "vote_ensemble"],
            "pool": ["sim:atlas-mini", "sim:lynx-large"],
            "fixed": {"vote_ensemble": {"n": 5}},
        },
        dataset="bundled:arithmetic",
        strategy="random",
        n_candidates=4,
        store=None,
        budget=Budget(dollars=0.05),
        evaluation=EvalSettings(max_concurrency=16),
    ).run()
    assert result.stop_reason.startswith("budget")
    evaluations, calls, dollars = _account_counts(result)
    assert (evaluations, calls) == (result.spend.evaluations, result.spend.calls)
    assert dollars == pytest.approx(result.spend.dollars, abs=1e-4)
