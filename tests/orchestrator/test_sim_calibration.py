"""The simulator stays calibrated, and docs/simulator.md is a fresh run's output.

Each row of ``benchmarks/sim_calibration.py`` (run on 1,500 tasks for the docs) is
measured here on a smaller seeded task set. A row passes when its value is within
the published band widened by the row's ``slack`` (about two standard deviations at
this size, less where a switched-off phenomenon would otherwise pass) and within
twice that slack of the value the docs record.
``test_sim_mutations.py`` switches each phenomenon off and checks these fail.
"""

import json

import pytest

from tests.orchestrator.sim_bench import ROOT, TASKS, load_benchmark

calibration = load_benchmark()


@pytest.fixture(scope="module")
def bench():
    return calibration.Bench(TASKS, seed=0)


@pytest.fixture(scope="module")
def record():
    return json.loads(calibration.RESULTS.read_text(encoding="utf-8"))


@pytest.mark.parametrize("row", calibration.ROWS, ids=lambda row: row.key)
def test_each_phenomenon_stays_near_its_published_size(bench, record, row):
    value = row.measure(bench)
    assert row.low - row.slack <= value <= row.high + row.slack, (
        f"{row.key}: measured {row.fmt.format(value)}, tolerance {row.tolerance()} "
        f"(+/- {row.slack} at {TASKS} tasks); published: {row.published}"
    )
    recorded = record["values"][row.key]
    assert abs(value - recorded) <= 2 * row.slack, (
        f"{row.key}: {row.fmt.format(value)} at {TASKS} tasks, but the docs record "
        f"{row.fmt.format(recorded)}"
    )


def test_every_band_has_a_basis_and_unsourced_rows_say_so():
    assert len(calibration.ROWS) >= 25
    for row in calibration.ROWS:
        assert row.basis in {"source", "assumption", "structural"}
        assert row.low <= row.high
        if row.basis == "assumption":
            assert row.source.startswith("assumption"), row.key
        if row.basis == "structural":
            assert row.note, f"{row.key}: say why the row cannot fail as a calibration"


def test_the_docs_tables_are_the_recorded_run_of_this_simulator(record):
    assert record["fingerprint"] == calibration.fingerprint(), (
        "the simulator or the benchmark changed since docs/simulator.md was generated: "
        "run python benchmarks/sim_calibration.py --docs"
    )
    assert record["tasks"] == 1500 and set(record["values"]) == {r.key for r in calibration.ROWS}
    doc = (ROOT / "docs" / "simulator.md").read_text(encoding="utf-8")
    assert doc == calibration.splice(doc, calibration.render_tables(record))
    rows = len(calibration.ROWS)
    assert all(row.within(record["values"][row.key]) for row in calibration.ROWS)
    assert f"RESULT calibrated={rows} rows={rows}" in doc
