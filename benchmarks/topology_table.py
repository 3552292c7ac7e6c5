"""Every topology builder at a few settings, on the simulated model: accuracy, cost, calls.

Runs each setting on the same bundled arithmetic tasks (mixed easy/medium/hard)
and prints a Markdown table: accuracy with a 95% Wilson interval, accuracy per
level, mean cost per task in USD and model calls per task. Then it reports
three effects a topology search might exploit, each as a paired difference on
the same tasks with a 95% interval, says whether each holds on the simulator
(calibrated to published figures, ``docs/simulator.md``), and ends with one
machine-readable ``RESULT`` line.

SIMULATED MODEL: these numbers describe rolegraph's simulator, not any LLM.

    python benchmarks/topology_table.py                  # the full table (about 4 minutes)
    python benchmarks/topology_table.py --tasks 150      # quicker, wider intervals
    python benchmarks/topology_table.py --only vote      # settings whose label contains "vote"
    python benchmarks/topology_table.py --pictures       # Mermaid pictures of every builder
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import math
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Run as a script, this folder comes first on sys.path and this file's name would shadow
# the topologies package it measures.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

from orchestrator import deploy
from orchestrator.answers import normalize_answer
from orchestrator.sim import arithmetic_tasks
from topologies import get_topology, list_topologies, mermaid_markdown

NANO, MINI, PRO = "sim:atlas-nano", "sim:atlas-mini", "sim:atlas-pro"
LYNX_S, LYNX_L = "sim:lynx-small", "sim:lynx-large"
ORCA_S, ORCA_M = "sim:orca-small", "sim:orca-medium"
CHEAP3 = [NANO, LYNX_S, ORCA_S]  # one cheap model from each family
CHEAP5 = [NANO, NANO, LYNX_S, LYNX_S, ORCA_S]
CHEAP = {NANO, LYNX_S, ORCA_S}


@dataclass(frozen=True)
class Setting:
    label: str
    topology: str
    params: dict[str, Any]


SETTINGS: list[Setting] = [
    # one model alone: the baselines
    Setting("single atlas-nano", "single", {"model": NANO}),
    Setting("single atlas-mini", "single", {"model": MINI}),
    Setting("single atlas-pro", "single", {"model": PRO}),
    Setting("single lynx-small", "single", {"model": LYNX_S}),
    Setting("single lynx-large", "single", {"model": LYNX_L}),
    Setting("single orca-small", "single", {"model": ORCA_S}),
    Setting("single orca-medium", "single", {"model": ORCA_M}),
    Setting("plan_solve mini->nano", "plan_solve", {"planner": MINI, "solver": NANO}),
    # majority votes: homogeneous vs diverse teams of the same size
    Setting("vote 3x nano", "vote_ensemble", {"n": 3, "models": NANO}),
    Setting("vote 3 diverse cheap", "vote_ensemble", {"models": CHEAP3}),
    Setting("vote 5x nano", "vote_ensemble", {"n": 5, "models": NANO}),
    Setting("vote 5 diverse cheap", "vote_ensemble", {"models": CHEAP5}),
    Setting(
        "vote 5 diverse cheap, weighted", "vote_ensemble", {"models": CHEAP5, "weighted": True}
    ),
    Setting("best_of_n 3 diverse, judge mini", "best_of_n", {"models": CHEAP3, "judge": MINI}),
    Setting("best_of_n 3 diverse, judge pro", "best_of_n", {"models": CHEAP3, "judge": PRO}),
    # self-refine: the verifier decides whether refinement helps
    *(
        Setting(
            f"refine mini, verifier {v.removeprefix('sim:')}, k={k}",
            "self_refine",
            {"solver": MINI, "verifier": v, "rectifier": MINI, "rounds": k},
        )
        for k, verifiers in ((1, (PRO, MINI, NANO, ORCA_S)), (2, (PRO, NANO)))
        for v in verifiers
    ),
    # intrinsic self-refine: one model solves, verifies and revises
    *(
        Setting(
            f"refine {m.removeprefix('sim:atlas-')} self-verified, k=2",
            "self_refine",
            {"solver": m, "verifier": m, "rectifier": m, "rounds": 2},
        )
        for m in (NANO, PRO)
    ),
    Setting(
        "refine nano+plan, verifier mini, k=2",
        "self_refine",
        {"solver": NANO, "verifier": MINI, "rectifier": MINI, "plan": True, "planner": MINI},
    ),
    # debate (Du et al.; DMAD options)
    Setting("debate 3x nano, 2 rounds", "debate", {"n": 3, "models": NANO}),
    Setting("debate 3 diverse, 2 rounds", "debate", {"models": CHEAP3}),
    Setting("debate 3 diverse, confidence", "debate", {"models": CHEAP3, "confidence": True}),
    Setting("debate 3 diverse, diverse start", "debate", {"models": CHEAP3, "init": "diverse"}),
    Setting("debate 3 diverse, judge mini", "debate", {"models": CHEAP3, "aggregate": "judge"}),
    # hierarchies
    Setting("supervisor mini / 3 diverse / mini", "supervisor", {"models": CHEAP3}),
    Setting(
        "supervisor nano / 3 diverse / nano",
        "supervisor",
        {"planner": NANO, "models": CHEAP3, "aggregator": NANO},
    ),
    *(
        Setting(f"tree depth {d} x breadth {b}", "tree", {"depth": d, "breadth": b})
        for d, b in ((1, 3), (2, 2), (2, 3), (3, 2))
    ),
    # plan, execute, judge, answer
    Setting("plan_execute_judge, 1 executor", "plan_execute_judge", {}),
    Setting(
        "plan_execute_judge, 3 diverse, 2 revisions",
        "plan_execute_judge",
        {"executors": 3, "models": CHEAP3, "revisions": 2},
    ),
]

# The three effects, each a pre-declared pair of settings compared on the same tasks.
DIVERSE, HOMOGENEOUS = "vote 5 diverse cheap", "vote 5x nano"
BASE = "single atlas-mini"
STRONG, WEAK = "refine mini, verifier atlas-pro, k=1", "refine mini, verifier atlas-nano, k=1"
CHEAP_TEAM, EXPENSIVE = "vote 5 diverse cheap, weighted", "single lynx-large"
TOP = "single atlas-pro"  # reported too: no cheap team here reliably reaches the top tier


@dataclass
class Row:
    setting: Setting
    agents: int
    correct: list[bool]
    levels: list[str]
    cost: float
    calls: float
    models: set[str]

    @property
    def accuracy(self) -> float:
        return sum(self.correct) / len(self.correct)

    def level_accuracy(self, level: str) -> float:
        hits = [c for c, lv in zip(self.correct, self.levels, strict=True) if lv == level]
        return sum(hits) / len(hits) if hits else float("nan")


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a proportion."""
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return centre - half, centre + half


def paired(a: Row, b: Row, z: float = 1.96) -> tuple[float, float, float]:
    """Mean accuracy difference a - b over the same tasks, with a 95% normal interval."""
    diffs = [int(x) - int(y) for x, y in zip(a.correct, b.correct, strict=True)]
    n = len(diffs)
    mean = sum(diffs) / n
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1))
    half = z * sd / math.sqrt(n)
    return mean, mean - half, mean + half


async def evaluate(setting: Setting, tasks: list[dict[str, Any]], seed: int, limit: int) -> Row:
    spec = get_topology(setting.topology).build(setting.params)
    workflow = deploy(spec, seed=seed, record_prompts=False)
    gate = asyncio.Semaphore(limit)

    async def one(task: dict[str, Any]) -> Any:
        async with gate:
            return await workflow.ainvoke(task["question"])

    results = await asyncio.gather(*(one(task) for task in tasks))
    n = len(tasks)
    return Row(
        setting=setting,
        agents=len(spec.agents),
        correct=[
            normalize_answer(r.answer) == t["answer"] for r, t in zip(results, tasks, strict=True)
        ],
        levels=[t["metadata"]["level"] for t in tasks],
        cost=sum(r.cost for r in results) / n,
        calls=sum(r.calls for r in results) / n,
        models={a.model for a in spec.agents if a.model},
    )


def table(rows: list[Row]) -> str:
    lines = [
        "| setting | topology | agents | accuracy | 95% CI | easy | medium | hard "
        "| USD / task | calls / task |",
        "|---|---|--:|--:|:-:|--:|--:|--:|--:|--:|",
    ]
    for row in rows:
        low, high = wilson(sum(row.correct), len(row.correct))
        lines.append(
            f"| {row.setting.label} | {row.setting.topology} | {row.agents} "
            f"| {row.accuracy:.3f} | [{low:.3f}, {high:.3f}] "
            f"| {row.level_accuracy('easy'):.2f} | {row.level_accuracy('medium'):.2f} "
            f"| {row.level_accuracy('hard'):.2f} | {row.cost:.6f} | {row.calls:.2f} |"
        )
    return "\n".join(lines)


def effects(by_label: dict[str, Row]) -> list[str]:
    needed = [DIVERSE, HOMOGENEOUS, BASE, STRONG, WEAK, CHEAP_TEAM, EXPENSIVE, TOP]
    if any(label not in by_label for label in needed):
        return ["(effects need the full set of settings; run without --only)"]

    def fmt(name: str, diff: tuple[float, float, float]) -> str:
        mean, low, high = diff
        return f"{name}: {mean:+.3f} [{low:+.3f}, {high:+.3f}]"

    diverse = paired(by_label[DIVERSE], by_label[HOMOGENEOUS])
    strong = paired(by_label[STRONG], by_label[BASE])
    weak = paired(by_label[WEAK], by_label[BASE])
    team, single = by_label[CHEAP_TEAM], by_label[EXPENSIVE]
    match = paired(team, single)
    ratio = team.cost / single.cost
    top = paired(team, by_label[TOP])
    assert team.models <= CHEAP, "the cheap team must use cheap models only"
    verdicts = [
        fmt(f"diverse minus homogeneous ({DIVERSE} vs {HOMOGENEOUS})", diverse)
        + ("  -> diverse wins" if diverse[1] > 0 else "  -> NOT SUPPORTED"),
        fmt(f"refine gain, strong verifier ({STRONG} vs {BASE})", strong)
        + ("  -> helps" if strong[1] > 0 else "  -> NOT SUPPORTED"),
        fmt(f"refine gain, weak verifier ({WEAK} vs {BASE})", weak)
        + ("  -> hurts" if weak[2] < 0 else "  -> NOT SUPPORTED"),
        fmt(f"cheap team minus expensive single ({CHEAP_TEAM} vs {EXPENSIVE})", match)
        + f", cost ratio {ratio:.3f}"
        + ("  -> matches at a fraction of the cost" if match[2] >= 0 else "  -> NOT SUPPORTED"),
        fmt(f"(for reference) cheap team minus {TOP}", top)
        + f", cost ratio {team.cost / by_label[TOP].cost:.3f}",
        (
            f"RESULT diverse_minus_homogeneous={diverse[0]:.4f} "
            f"refine_gain_strong={strong[0]:.4f} refine_gain_weak={weak[0]:.4f} "
            f"cheap_team_minus_expensive={match[0]:.4f} cheap_team_cost_ratio={ratio:.4f} "
            f"cheap_team_minus_top={top[0]:.4f} "
            f"supported={int(diverse[1] > 0 and strong[1] > 0 and weak[2] < 0 and match[2] >= 0)}"
        ),
    ]
    return verdicts


def pictures() -> None:
    for name in list_topologies():
        spec = get_topology(name).build()
        print(f"### `{name}` (defaults, {len(spec.agents)} agents)\n")
        print(mermaid_markdown(spec))


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=600, help="tasks per setting")
    parser.add_argument("--seed", type=int, default=0, help="task set and sampling seed")
    parser.add_argument("--only", default="", help="run settings whose label contains this")
    parser.add_argument("--concurrency", type=int, default=64, help="runs in flight")
    parser.add_argument("--pictures", action="store_true", help="print Mermaid pictures only")
    args = parser.parse_args(argv)
    if args.pictures:
        pictures()
        return 0

    tasks = arithmetic_tasks(args.tasks, seed=args.seed)
    chosen = [s for s in SETTINGS if args.only in s.label]
    print("SIMULATED MODEL: these numbers describe rolegraph's simulator, not any LLM.")
    print(
        f"{len(chosen)} settings x {len(tasks)} arithmetic tasks (easy/medium/hard in turn), "
        f"seed {args.seed}, {dt.date.today().isoformat()}, Python {platform.python_version()}\n"
    )
    started = time.perf_counter()
    rows = []
    for setting in chosen:
        rows.append(await evaluate(setting, tasks, args.seed, args.concurrency))
        print(f"  {setting.label}: {rows[-1].accuracy:.3f}", file=sys.stderr, flush=True)
    print(table(rows))
    print()
    for line in effects({row.setting.label: row for row in rows}):
        print(line)
    print(f"\n({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
