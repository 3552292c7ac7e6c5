"""``benchmarks/search_suite.py --quick`` runs end to end and reports what it measured."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quick_suite_runs_and_auto_ships_from_the_target_set(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "benchmarks/search_suite.py", "--quick", "--cache", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert "simulated" in out.splitlines()[0]
    result = out.strip().splitlines()[-1]
    assert re.fullmatch(
        r"RESULT best_strategy=\S+ speedup_dollars_vs_random=\S+ speedup_evals_vs_random=\S+ "
        r"speedup_vs_tpe=\S+ worse_than_random=\d+ shipped_in_true_set=\S+ false_claims=\S+",
        result,
    ), result
    # What auto ships is in the true target set. (Whether its leader "reached" the set is not
    # asserted: on this simulator gen-03's leader on the search tasks is over the ceiling on
    # the truth tasks, so even the exhaustive table never reaches it; issue 27's stick.)
    row = next(line for line in out.splitlines() if line.startswith("auto "))
    shipped = re.search(r"(\d+)/(\d+)\s+\d+/\d+\s+\d+/\d+\s+\S+\s+\S+\s+\S+$", row)
    assert shipped is not None and shipped.group(1) == shipped.group(2), row
    # Every auto run's certificate was judged against the truth: what shipped, what it claimed.
    claims = next(
        line for line in out.splitlines() if line.startswith("auto ") and "claim" in line
    )
    assert re.search(r"claim false about what it tried \d+/[1-9]", claims), claims
    # The truth table was cached where it was told to be.
    assert list(tmp_path.glob("gen-03-*.json"))
