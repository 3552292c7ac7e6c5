"""The search report: files, figures, numbers that match the result, and a page that renders."""

import html
import re
import shutil
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from orchestrator.budget import Spend
from orchestrator.errors import MissingIntegrationError
from search import create_search
from search.results import Step

pytest.importorskip("matplotlib")
from PIL import Image  # Pillow comes with matplotlib

from search.report import write_report

runner = CliRunner()
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A finished search: random search over single solvers and ensembles, simulated."""
    store = tmp_path_factory.mktemp("small") / "rg.db"
    search = create_search(
        space={
            "topologies": ["single", "vote_ensemble"],
            "pool": ["sim:atlas-nano", "sim:atlas-pro"],
            "fixed": {"single": {"temperature": 0.0}},
        },
        dataset="bundled:arithmetic",
        strategy="random",
        n_candidates=5,
        budget={"dollars": 2.0},
        store=store,
        name="small",
    )
    return search.run(), search.store


def _history(result):
    """A history and per-stage spend, as the runner records them."""
    steps, best, best_mean = [], None, None
    for i, c in enumerate(reversed(result.candidates)):
        if best_mean is None or c.mean > best_mean:
            best, best_mean = c.workflow, c.mean
        steps.append(
            Step(
                evaluations=(i + 1) * 10,
                dollars=0.01 * (i + 1),
                candidate=c.workflow,
                stage="random" if i < 3 else "bandit",
                n_tasks=c.n_tasks,
                mean=c.mean,
                pruned=i == 1,
                best=best,
                best_mean=best_mean,
            )
        )
    stages = {"random": Spend(dollars=0.03, calls=40), "bandit": Spend(dollars=0.02, calls=20)}
    return tuple(steps), stages


def _span(page, ident):
    match = re.search(rf'id="{ident}">([^<]*)<', page)
    assert match, f"no #{ident} in the page"
    return html.unescape(match.group(1))


def _pngs(folder):
    return sorted(p.name for p in folder.glob("*.png"))


def _check_png(path):
    assert path.read_bytes()[:8] == PNG
    with Image.open(path) as image:
        width, height = image.size
        assert width > 200 and height > 100
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 10, f"{path.name} is nearly blank"


def test_a_report_without_history_says_so(small, tmp_path):
    result, _ = small
    assert result.history and result.stages  # the runner fills them
    result = result.model_copy(update={"history": (), "stages": {}})  # as an old result has
    page_path = write_report(result, tmp_path / "report")
    folder = page_path.parent
    assert page_path.name == "report.html" and (folder / "result.json").is_file()
    assert _pngs(folder) == ["pareto.png", "spend.png", "winner.png"]
    for name in _pngs(folder):
        _check_png(folder / name)
    page = page_path.read_text()
    assert 'id="no-history"' in page and "progress.png" not in page
    assert "all runs" in page  # the spend figure's fallback, said in its caption


def test_the_numbers_on_the_page_are_the_results(small, tmp_path):
    result, _ = small
    page = write_report(result, tmp_path).read_text()
    assert _span(page, "winner-label") == result.best_stats.label
    assert _span(page, "winner-accuracy") == f"{result.best_stats.mean:.3f}"
    assert _span(page, "test-accuracy") == f"{result.test.mean:.3f}"
    assert _span(page, "spend-dollars") == f"${result.spend.dollars:.4f}"
    assert f"on {result.test.n_tasks} tasks the search never saw" in page
    for candidate in result.candidates:
        assert html.escape(candidate.label) in page and candidate.workflow in page
    assert page.count('<tr class="win">') == 1
    assert 'id="simulated"' in page and "say nothing about any real LLM" in page
    # Self-contained: it loads only files it wrote, by relative path.
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all("/" not in s and ":" not in s for s in sources)
    assert all((tmp_path / s).is_file() for s in sources)


def test_a_report_with_history_draws_the_curve_and_the_stages(small, tmp_path):
    result, _ = small
    steps, stages = _history(result)
    account = ("random search tried 5 candidates", "the winner had the best accuracy")
    full = result.model_copy(update={"history": steps, "stages": stages, "account": account})
    page = write_report(full, tmp_path).read_text()
    assert _pngs(tmp_path) == ["pareto.png", "progress.png", "spend.png", "winner.png"]
    _check_png(tmp_path / "progress.png")
    assert 'src="progress.png"' in page and 'id="no-history"' not in page
    assert f"One point per outcome the strategy was told ({len(steps)})" in page
    assert "random search tried 5 candidates" in page
    assert "Dollars each strategy stage's evaluations cost when they ran" in page


def test_an_old_report_figure_does_not_linger(small, tmp_path):
    result, _ = small
    steps, stages = _history(result)
    write_report(result.model_copy(update={"history": steps, "stages": stages}), tmp_path)
    write_report(result.model_copy(update={"history": (), "stages": {}}), tmp_path)
    assert "progress.png" not in _pngs(tmp_path)


def test_a_report_of_a_search_without_a_winner(small, tmp_path):
    result, _ = small
    empty = result.model_copy(update={"best": None, "best_stats": None, "test": None})
    page = write_report(empty, tmp_path).read_text()
    assert _pngs(tmp_path) == ["pareto.png", "progress.png", "spend.png"]
    assert "No winner" in page and "No held-out test result" in page


def test_real_models_get_no_disclaimer_and_text_is_escaped(small, tmp_path):
    result, _ = small
    first = result.candidates[0].model_copy(update={"label": "<script>alert(1)</script>"})
    changed = result.model_copy(
        update={"simulated": False, "candidates": (first, *result.candidates[1:])}
    )
    page = write_report(changed, tmp_path).read_text()
    assert 'id="simulated"' not in page and "Simulated models" not in page
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_the_store_adds_trial_counts(small, tmp_path):
    result, store = small
    page = write_report(result, tmp_path, store=store).read_text()
    # One complete trial per candidate: the proposals and the baselines (search.baselines).
    assert any(c.origin == "baseline" for c in result.candidates)
    n = len(result.candidates)
    assert f"Proposals recorded as trials in the store: {n} complete." in page


def test_missing_matplotlib_says_what_to_install(small, tmp_path, monkeypatch):
    result, _ = small
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingIntegrationError, match=r"pip install 'rolegraph\[plot\]'"):
        write_report(result, tmp_path)


def _chromium():
    for candidate in ("chromium", "chromium-browser"):
        found = shutil.which(candidate)
        if found:
            return found
    return None


def test_the_page_renders_in_a_browser(small, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("no headless Chromium (Debian's 'chromium' package) on this machine")
    result, _ = small
    page = write_report(result, tmp_path / "report")
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1200,1800",
            f"--screenshot={shot}",
            page.resolve().as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    with Image.open(shot) as image:
        pixels = image.convert("L")
        width, height = pixels.size
        histogram = pixels.histogram()
    inked = sum(histogram[:200]) / (width * height)  # clearly darker than white
    # A blank (or failed) page is all white; text, tables and figures ink several percent.
    assert inked > 0.02, f"only {inked:.1%} of the screenshot is not white"
