"""The simulator stays calibrated: every row of docs/simulator.md, measured at a smaller size.

The same measurements as ``benchmarks/sim_calibration.py`` (which runs them on
1,500 tasks) on a smaller, seeded task set. Each row's tolerance is widened by
its ``slack``: about three standard deviations of the measurement at this
size (estimated over eight task sets), so the test is exactly reproducible and
not fragile, yet a change that moves a phenomenon well outside its published
range fails here.
"""

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TASKS = 200


def _load_benchmark():
    spec = importlib.util.spec_from_file_location(
        "sim_calibration", ROOT / "benchmarks" / "sim_calibration.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


calibration = _load_benchmark()


@pytest.fixture(scope="module")
def bench():
    return calibration.Bench(TASKS, seed=0)


@pytest.mark.parametrize("row", calibration.ROWS, ids=lambda row: row.key)
def test_each_phenomenon_stays_near_its_published_size(bench, row):
    value = row.measure(bench)
    assert row.low - row.slack <= value <= row.high + row.slack, (
        f"{row.key}: measured {row.fmt.format(value)}, tolerance {row.tolerance()} "
        f"(+/- {row.slack} at {TASKS} tasks); published: {row.published}"
    )


def test_the_docs_table_lists_every_row_with_its_source():
    doc = (ROOT / "docs" / "simulator.md").read_text(encoding="utf-8")
    section = doc.split("## Calibration table", 1)[1].split("\n## ", 1)[0]
    table = [line for line in section.splitlines() if line.startswith("| `")]
    keys = [line.split("`")[1] for line in table]
    assert keys == [row.key for row in calibration.ROWS]
    for line, row in zip(table, calibration.ROWS, strict=True):
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert cells[3] == row.published and cells[4] == row.source and cells[6] == row.tolerance()
        assert row.within(float(cells[5])), f"{row.key}: the recorded value is out of tolerance"
    rows = len(calibration.ROWS)
    assert f"RESULT calibrated={rows} rows={rows}" in section
