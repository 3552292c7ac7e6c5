"""``benchmarks/search_suite.py``: the measuring stick's rules, and ``--quick`` end to end."""

import importlib.util
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def suite():
    spec = importlib.util.spec_from_file_location(
        "search_suite", ROOT / "benchmarks/search_suite.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def test_the_ceiling_sits_in_the_widest_gap_near_its_quantile(suite) -> None:
    # A cluster near 1, a cluster near 2, then 6. At the 0.3 quantile the old rule put the
    # ceiling midway between the costs of rank 3 and 4 (2.00 and 2.02): 0.5% from both, a
    # trap. The widest gap within the window is 1.02 -> 2.00.
    costs = [1.0, 1.01, 1.02, 2.0, 2.02, 2.04, 2.06, 2.08, 2.1, 6.0]
    ceiling = suite.ceiling_in_gap(costs, 0.3, window=0.1)
    assert ceiling == pytest.approx(math.sqrt(1.02 * 2.0))
    assert suite.gap_around(costs, ceiling) > 1.35  # no candidate within 35% of it
    # The window keeps it near the quantile: the wider gap 2.1 -> 6.0 is out of its reach.
    assert suite.ceiling_in_gap(costs, 0.5, window=0.1) < 2.1
    # Ties collapse: a ceiling never lands on a cost that several candidates share.
    assert suite.ceiling_in_gap([1.0, 1.0, 1.0, 3.0], 0.5) == pytest.approx(math.sqrt(3.0))


def test_a_hand_set_ceiling_moves_to_the_middle_of_its_gap(suite) -> None:
    costs = [1.0, 2.0, 2.99, 4.0]
    ceiling = suite.middle_of_gap(costs, 3.0)  # by hand, 0.3% above a candidate's cost
    assert ceiling == pytest.approx(math.sqrt(2.99 * 4.0))
    feasible = [c <= ceiling for c in costs]
    assert feasible == [c <= 3.0 for c in costs]  # the same candidates are feasible
    assert suite.middle_of_gap(costs, 9.0) == 9.0  # above every cost: nothing to move


def test_the_summary_is_the_geomean_of_per_problem_medians_with_an_interval(suite) -> None:
    per_problem = {"a": [1.0, 4.0, 100.0], "b": [0.5, 1.0, 2.0]}  # medians 4 and 1
    point, low, high = suite.summarise(per_problem, resamples=500)
    assert point == pytest.approx(2.0)  # sqrt(4 * 1): one lucky set does not move it
    assert low < point < high
    assert suite.summarise({"a": [3.0, 3.0]}, resamples=50) == pytest.approx((3.0, 3.0, 3.0))
    assert all(math.isnan(v) for v in suite.summarise({}))


def test_a_baseline_outside_the_space_is_not_the_strategys_find(suite) -> None:
    from types import SimpleNamespace

    truth = suite.Truth(
        accuracy={"a": 0.9, "b": 0.8}, cost={"a": 1.0, "b": 1.0}, ceiling=2.0,
        search_evaluations=10, search_dollars=1.0,
    )  # fmt: skip
    standings = [SimpleNamespace(workflow=w) for w in ("vote-of-5", "a", "b")]
    certificate = SimpleNamespace(leader="vote-of-5", standings=standings)
    # The self-consistency baseline leads on the search tasks; the space's best finalist is a.
    assert suite.final_leader(certificate, truth) == "a"
    points = [(5, 0.5, "a"), (9, 0.9, suite.final_leader(certificate, truth))]
    reached = suite._reached(points, truth)
    assert reached[:2] == (5.0, 0.5) and math.isnan(reached[2])  # when a led, not never
    # Dollars paid with shared calls once run beside the points, and are read at the same one.
    assert suite._reached(points, truth, [0.3, 0.4]) == (5.0, 0.5, 0.3)
    assert suite.final_leader(None, truth) is None
    certificate.standings = standings[:1]
    assert suite.final_leader(certificate, truth) is None


def test_the_table_counts_each_candidate_and_task_once(suite, tmp_path, monkeypatch) -> None:
    import sqlite3

    db = tmp_path / "store.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE evaluations (workflow, task_id, score, cost, created_at)")
        con.executemany(
            "INSERT INTO evaluations VALUES (?, ?, ?, ?, ?)",
            [
                ("a", "t1", 0.0, 1.0, "2026-12-01"),  # before a prompt edit: an old key
                ("a", "t1", 1.0, 2.0, "2026-12-07"),  # the same task after it
                ("a", "t2", 1.0, 3.0, "2026-12-07"),
                ("b", "t1", 1.0, 5.0, "2026-12-07"),
                ("b", "test", 1.0, 9.0, "2026-12-07"),  # a held-out task: not the search's
            ],
        )
    monkeypatch.setattr(suite, "store_path", lambda problem: db)
    monkeypatch.setattr(suite, "search_task_ids", lambda problem, args: {"t1", "t2"})
    table = suite.search_table(None, None)
    assert table == {"a": {"t1": (1.0, 2.0), "t2": (1.0, 3.0)}, "b": {"t1": (1.0, 5.0)}}
    assert suite._table_costs(None, None) == {"a": 5.0, "b": 5.0}  # not 6.0: no double count


def test_resampled_search_sets_draw_other_tasks_into_their_own_store(suite) -> None:
    from dataclasses import replace
    from types import SimpleNamespace

    args = SimpleNamespace(search_tasks=20, test_size=0.2, held_out=0, problem_seed=2026)
    problem = next(
        p for p in suite.suite(SimpleNamespace(**vars(args), quick=True, problems=None))
    )
    other = replace(problem, search_set=1)
    first, second = suite.search_data(problem, args), suite.search_data(other, args)
    assert [t.question for t in first] != [t.question for t in second]
    assert suite.store_path(problem) != suite.store_path(other)
    assert problem.fingerprint(300) == other.fingerprint(300)  # one truth for every set


def test_each_search_set_has_strategy_seeds_of_its_own(suite) -> None:
    from dataclasses import replace

    problem = suite.hand_made()[0]
    seeds = {
        suite.strategy_seed(replace(problem, search_set=k), s) for k in range(5) for s in range(5)
    }
    assert len(seeds) == 25  # no two (set, run) pairs share a seed
    assert suite.strategy_seed(problem, 0) == 0  # set 0, first run: the seed it always had


def test_random_as_run_draws_small_topologies_sooner(suite) -> None:
    problem = next(p for p in suite.hand_made() if p.name == "refine-or-vote")
    weights = suite.sampling_weights(problem, draws=6_000)
    assert sum(weights.values()) == pytest.approx(1.0)
    by_topology: dict[str, list[float]] = {}
    for candidate in problem.space.grid():
        by_topology.setdefault(candidate.topology, []).append(weights.get(candidate.hash, 0.0))
    # A topology is drawn first, uniformly: each gets an equal share of the draws, however
    # many candidates it has, so one model alone (4 of them) is drawn far more often than
    # one self-refine (64).
    shares = {t: sum(w) for t, w in by_topology.items()}
    assert all(share == pytest.approx(1 / len(shares), abs=0.04) for share in shares.values())
    assert min(by_topology["single"]) > 4 * max(by_topology["self_refine"])


def test_held_out_problems_are_their_own(suite) -> None:
    from types import SimpleNamespace

    seen = suite.suite(SimpleNamespace(held_out=0, problem_seed=2026, quick=False, problems=None))
    held = suite.suite(SimpleNamespace(held_out=10, problem_seed=2026, quick=False, problems=None))
    assert len(held) == 10 and all(p.name.startswith("held-") for p in held)
    assert not {p.data_seed for p in held} & {p.data_seed for p in seen}
    assert {p.pool for p in held} != {p.pool for p in seen}


def test_shared_calls_are_paid_once_whatever_order_the_candidates_run_in(suite) -> None:
    import numpy as np

    # Entries 0-2 cost 1, 2, 4. A single calls entry 0 on each of two tasks (temperature 0:
    # one entry); a vote calls 0, 1 and 2 on task a; its twin asks exactly the same.
    table = suite.CallTable(
        {
            ("single", "a"): np.array([0]),
            ("single", "b"): np.array([0]),
            ("vote", "a"): np.array([0, 1, 2]),
            ("twin", "a"): np.array([0, 1, 2]),
        },
        np.array([1.0, 2.0, 4.0]),
    )
    meter = table.meter()
    meter.add(table.calls[("single", "a")])
    meter.add(table.calls[("single", "b")])
    assert meter.dollars == 1.0  # list price would be 2
    meter.add(table.calls[("vote", "a")])
    meter.add(table.calls[("twin", "a")])
    assert meter.dollars == 7.0  # list price would be 16
    assert table.price_of(table.union(["vote", "twin", "single"])) == 7.0
    assert table.price_of(table.union(["single"])) == 1.0
    other = table.meter()  # the other way round: the same entries, the same dollars
    for key in [("twin", "a"), ("vote", "a"), ("single", "b"), ("single", "a")]:
        other.add(table.calls[key])
    assert other.dollars == 7.0


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
    found = re.fullmatch(
        r"RESULT best_strategy=\S+ speedup_dollars_vs_random=\S+ "
        r"speedup_paid_dollars_vs_random=(\S+) "
        r"speedup_dollars_interval=(\S+)-\S+ ci_low=(\S+) speedup_evals_vs_random=\S+ "
        r"speedup_vs_tpe=\S+ speedup_dollars_vs_random_as_run=\S+ worse_than_random=\d+ "
        r"shipped_in_true_set=\S+ false_claims=\S+ "
        r"problems=1",
        result,
    )
    assert found is not None and found.group(2) == found.group(3), result
    # The table's traces name their calls, so what was really paid is priced.
    assert math.isfinite(float(found.group(1))) and float(found.group(1)) > 0, result
    # What auto ships is in the true target set, and its leader reached the set for good.
    # (Before the ceiling moved into a gap between candidates' costs, gen-03's leader on the
    # search tasks was a hair over the ceiling on the truth tasks: nobody could reach it.)
    row = next(line for line in out.splitlines() if line.startswith("auto "))
    shipped = re.search(r"(\d+)/(\d+)\s+\d+/\d+\s+\d+/\d+\s+\S+\s+\S+\s+\S+\s+(\S+)$", row)
    assert shipped is not None and shipped.group(1) == shipped.group(2), row
    spent = float(row.split()[-2])
    assert 0 < float(shipped.group(3)) <= spent, row  # shared calls are paid once
    assert re.match(r"auto\s+\d+\s+\S+\s+1/1\s", row), row
    gap = re.search(r"the nearest candidate's true cost ([\d.]+)% away", out)
    assert gap is not None and float(gap.group(1)) > 5.0, out[:600]
    # Every auto run's certificate was judged against the truth: what shipped, what it claimed.
    claims = next(
        line for line in out.splitlines() if line.startswith("auto ") and "claim" in line
    )
    assert re.search(r"claim false about what it tried \d+/[1-9]", claims), claims
    # The truth table was cached where it was told to be.
    assert list(tmp_path.glob("gen-03-*.json"))
