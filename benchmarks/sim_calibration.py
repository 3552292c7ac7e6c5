"""Measure every phenomenon of the simulator against the figure it is calibrated to.

Each row of ``docs/simulator.md`` is measured here through the public API:
workflows built with ``topologies`` (or ``orchestrator.Workflow`` where a
topology's space does not reach, e.g. a 15-sample vote) and deployed with
``orchestrator.deploy`` on the bundled arithmetic tasks; the judge rows send
the judge role's own prompt to the simulated model. One line per row, then::

    RESULT calibrated=<rows within tolerance> rows=<rows>

SIMULATED MODEL: these numbers describe rolegraph's simulator, not any LLM.

    python benchmarks/sim_calibration.py               # 1500 tasks per set (about 6 minutes)
    python benchmarks/sim_calibration.py --tasks 300   # quicker, noisier
    python benchmarks/sim_calibration.py --only judge  # rows whose key contains "judge"
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)  # run as a script: keep this folder from shadowing packages

from orchestrator import Workflow, WorkflowSpec, deploy
from orchestrator.answers import normalize_answer
from orchestrator.parsing import OutputParseError, parse_text
from orchestrator.roles import CandidateAnswer, JudgeOutput, RoleInputs, get_role
from orchestrator.sim import SimChatModel, arithmetic_tasks
from orchestrator.trace import RunResult
from topologies import debate, plan_solve, self_refine, single

NANO, MINI, PRO = "sim:atlas-nano", "sim:atlas-mini", "sim:atlas-pro"
LYNX_S, LYNX_L = "sim:lynx-small", "sim:lynx-large"
ORCA_S, ORCA_M = "sim:orca-small", "sim:orca-medium"
CHEAP = (NANO, LYNX_S, ORCA_S)
ALL = (NANO, MINI, PRO, LYNX_S, LYNX_L, ORCA_S, ORCA_M)
SAMPLED = 0.7  # the temperature of every sampled vote, as the topologies use


@dataclass(frozen=True)
class Row:
    """One calibrated phenomenon: what is measured, the published figure, the tolerance."""

    key: str
    phenomenon: str
    measured_as: str
    published: str
    source: str
    low: float
    high: float
    measure: Callable[[Bench], float]
    fmt: str = "{:+.3f}"
    slack: float = 0.0  # widening for the test's smaller task set (about 3 sd there)

    def within(self, value: float) -> bool:
        return self.low - 1e-9 <= value <= self.high + 1e-9

    def tolerance(self) -> str:
        return f"[{self.fmt.format(self.low)}, {self.fmt.format(self.high)}]"


def _vote(model: str, n: int, temperature: float = SAMPLED) -> WorkflowSpec:
    wf = Workflow(f"vote-{n}")
    names = [f"solver{i + 1}" for i in range(n)]
    for name in names:
        wf.add_agent(name, role="solver", model=model, temperature=temperature)
    wf.add_agent("vote", role="vote")
    wf.add_edge(names, "vote")
    return wf.build()


def _aggregate(model: str, n: int, aggregator: str) -> WorkflowSpec:
    # The same solvers as _vote (same names, models and temperature): the same samples.
    wf = Workflow(f"aggregate-{n}")
    names = [f"solver{i + 1}" for i in range(n)]
    for name in names:
        wf.add_agent(name, role="solver", model=model, temperature=SAMPLED)
    wf.add_agent("aggregator", role="aggregator", model=aggregator)
    wf.add_edge(names, "aggregator")
    return wf.build()


def _focused(model: str, focus: str | None) -> WorkflowSpec:
    options = {"focus": focus} if focus else {}
    return (
        Workflow("focus").add_agent("solver", role="solver", model=model, options=options).build()
    )


class Bench:
    """Runs workflows on seeded task sets, once each, and keeps the results."""

    def __init__(self, tasks: int, seed: int = 0, concurrency: int = 64) -> None:
        self.seed = seed
        self.concurrency = concurrency
        self.sets = {
            "mixed": arithmetic_tasks(tasks, seed=seed, prefix="calib"),
            "multi": arithmetic_tasks(tasks, seed=seed, levels=("medium", "hard"), prefix="mult"),
        }
        self._runs: dict[tuple[str, str, int], list[RunResult]] = {}

    def run(
        self, spec: WorkflowSpec, which: str = "mixed", seed: int | None = None
    ) -> list[RunResult]:
        seed = self.seed if seed is None else seed
        key = (spec.hash, which, seed)
        if key not in self._runs:
            self._runs[key] = asyncio.run(self._arun(spec, self.sets[which], seed))
        return self._runs[key]

    async def _arun(
        self, spec: WorkflowSpec, tasks: Sequence[dict[str, Any]], seed: int
    ) -> list[RunResult]:
        workflow = deploy(spec, seed=seed, record_prompts=False)
        gate = asyncio.Semaphore(self.concurrency)

        async def one(task: dict[str, Any]) -> RunResult:
            async with gate:
                return await workflow.ainvoke(task["question"])

        return list(await asyncio.gather(*(one(task) for task in tasks)))

    def answers(
        self, spec: WorkflowSpec, which: str = "mixed", seed: int | None = None
    ) -> list[str]:
        return [normalize_answer(r.answer) for r in self.run(spec, which, seed)]

    def correct(
        self, spec: WorkflowSpec, which: str = "mixed", seed: int | None = None
    ) -> list[bool]:
        truth = [t["answer"] for t in self.sets[which]]
        return [a == t for a, t in zip(self.answers(spec, which, seed), truth, strict=True)]

    def accuracy(self, spec: WorkflowSpec, which: str = "mixed", seed: int | None = None) -> float:
        hits = self.correct(spec, which, seed)
        return sum(hits) / len(hits)

    def cost(self, spec: WorkflowSpec, which: str = "mixed") -> float:
        runs = self.run(spec, which)
        return sum(r.cost for r in runs) / len(runs)

    def gain(self, spec: WorkflowSpec, base: WorkflowSpec, which: str = "mixed") -> float:
        """Accuracy difference in points (x100) on the same tasks."""
        return 100.0 * (self.accuracy(spec, which) - self.accuracy(base, which))


# --- measurements ----------------------------------------------------------------------------


def price_ratio(b: Bench) -> float:
    return b.cost(single(model=PRO)) / b.cost(single(model=NANO))


def error_ratio(b: Bench) -> float:
    return (1 - b.accuracy(single(model=NANO))) / (1 - b.accuracy(single(model=PRO)))


def sc_error_reduction(b: Bench) -> float:
    base = 1 - b.accuracy(single(model=NANO))
    return (base - (1 - b.accuracy(_vote(NANO, 15)))) / base


def sc_saturation(b: Bench) -> float:
    """Points gained by going from 5 to 15 samples (atlas-nano, T=0.7)."""
    return b.gain(_vote(NANO, 15), _vote(NANO, 5))


def _wrong_pairs(b: Bench, left: str, right: str) -> tuple[int, int]:
    """(both wrong, both wrong with the same answer) for two models' greedy answers."""
    truth = [t["answer"] for t in b.sets["mixed"]]
    a, c = b.answers(single(model=left)), b.answers(single(model=right))
    both = [(x, y) for x, y, t in zip(a, c, truth, strict=True) if x != t and y != t and x and y]
    return len(both), sum(x == y for x, y in both)


def _agreement(b: Bench, pairs: Sequence[tuple[str, str]]) -> float:
    counts = [_wrong_pairs(b, x, y) for x, y in pairs]
    return sum(same for _, same in counts) / max(1, sum(both for both, _ in counts))


CROSS = [(x, y) for x, y in combinations(ALL, 2) if x.split("-")[0] != y.split("-")[0]]
WITHIN = [(x, y) for x, y in combinations(ALL, 2) if x.split("-")[0] == y.split("-")[0]]


def cross_agreement(b: Bench) -> float:
    return _agreement(b, CROSS)


def within_minus_cross(b: Bench) -> float:
    return _agreement(b, WITHIN) - _agreement(b, CROSS)


def panel_neff(b: Bench) -> float:
    """Kish effective size of a 9-model panel from the mean cross-family correctness phi."""
    phis = []
    for x, y in CROSS:
        a, c = b.correct(single(model=x)), b.correct(single(model=y))
        n = len(a)
        pa, pc = sum(a) / n, sum(c) / n
        pac = sum(u and v for u, v in zip(a, c, strict=True)) / n
        denom = math.sqrt(pa * (1 - pa) * pc * (1 - pc))
        phis.append((pac - pa * pc) / denom if denom > 0 else 0.0)
    rho = sum(phis) / len(phis)
    return 9 / (1 + 8 * rho)


def confidence_auroc(b: Bench) -> float:
    """AUROC of atlas-pro's stated confidence for telling its right answers from wrong ones."""
    runs = b.run(single(model=PRO))
    truth = [t["answer"] for t in b.sets["mixed"]]
    right, wrong = [], []
    for run, answer in zip(runs, truth, strict=True):
        if run.confidence is None:
            continue
        (right if normalize_answer(run.answer) == answer else wrong).append(run.confidence)
    if not right or not wrong:
        return float("nan")
    wins = sum((r > w) + 0.5 * (r == w) for r in right for w in wrong)
    return wins / (len(right) * len(wrong))


def intrinsic_refine(model: str) -> Callable[[Bench], float]:
    def measure(b: Bench) -> float:
        loop = self_refine(solver=model, verifier=model, rectifier=model, rounds=2)
        return b.gain(loop, single(model=model))

    return measure


def strong_verifier(b: Bench) -> float:
    loop = self_refine(solver=MINI, verifier=PRO, rectifier=MINI, rounds=2)
    return b.gain(loop, single(model=MINI))


def aggregator_vs_vote(b: Bench) -> float:
    return b.gain(_aggregate(MINI, 5, MINI), _vote(MINI, 5))


def debate_vs_vote(b: Bench) -> float:
    return b.gain(debate(n=3, models=NANO, rounds=2), _vote(NANO, 9))


def planner_gain(b: Bench) -> float:
    return b.gain(plan_solve(planner=MINI, solver=MINI), single(model=MINI), "multi")


def temperature_accuracy(b: Bench) -> float:
    """Points: atlas-nano at T=1 (mean of five sampling seeds) - at T=0."""
    hot = single(model=NANO, temperature=1.0)
    mean = sum(b.accuracy(hot, seed=b.seed + k) for k in range(5)) / 5
    return 100.0 * (mean - b.accuracy(single(model=NANO)))


def greedy_diversity(b: Bench) -> float:
    """Mean number of distinct answers among 5 same-prompt samples at temperature 0."""
    runs = b.run(_vote(NANO, 5, temperature=0.0))
    distinct = [
        len({normalize_answer(n.answer) for n in r.nodes if n.role == "solver"}) for r in runs
    ]
    return sum(distinct) / len(distinct)


def focus_gain(b: Bench) -> float:
    """Points: atlas-nano given one third of the steps as its sub-task - without (mean of 3)."""
    base = _focused(NANO, None)
    gains = [
        b.gain(
            _focused(
                NANO,
                f"You handle part {part} of 3 of the plan. Work through the steps of your part "
                "carefully, then carry the calculation through and answer the whole question.",
            ),
            base,
            "multi",
        )
        for part in (1, 2, 3)
    ]
    return sum(gains) / len(gains)


def _judge_pick(judge: str, question: str, first: str, second: str) -> str | None:
    inputs = RoleInputs(
        question=question,
        candidates=(
            CandidateAnswer(index=1, agent="a", answer=first),
            CandidateAnswer(index=2, agent="b", answer=second),
        ),
    )
    reply = SimChatModel(model=judge.removeprefix("sim:")).invoke(get_role("judge").render(inputs))
    try:
        choice = parse_text(str(reply.content), JudgeOutput).choice
    except OutputParseError:
        return None
    return {1: first, 2: second}.get(choice)


def _wrong_pair_tasks(b: Bench, left: str, right: str) -> list[tuple[str, str, str]]:
    truth = [t["answer"] for t in b.sets["mixed"]]
    a, c = b.answers(single(model=left)), b.answers(single(model=right))
    return [
        (task["question"], x, y)
        for task, x, y, t in zip(b.sets["mixed"], a, c, truth, strict=True)
        if x and y and x != t and y != t and x != y
    ]


def judge_flips(judge: str) -> Callable[[Bench], float]:
    """Share of verdicts on two wrong answers that change when their order is swapped."""

    def measure(b: Bench) -> float:
        pairs = [
            p for left, right in combinations(CHEAP, 2) for p in _wrong_pair_tasks(b, left, right)
        ]
        flips = decided = 0
        for question, x, y in pairs:
            one, two = _judge_pick(judge, question, x, y), _judge_pick(judge, question, y, x)
            if one is None or two is None:
                continue
            decided += 1
            flips += one != two
        return flips / max(1, decided)

    return measure


def self_preference(b: Bench) -> float:
    """How much more often atlas-pro picks its own family's wrong answer than chance (0.5)."""
    picks = total = 0
    for own, other in ((NANO, ORCA_S), (MINI, LYNX_S)):
        for question, mine, theirs in _wrong_pair_tasks(b, own, other):
            for first, second in ((mine, theirs), (theirs, mine)):
                pick = _judge_pick(PRO, question, first, second)
                if pick is not None:
                    total += 1
                    picks += pick == mine
    return picks / max(1, total) - 0.5


ROWS: tuple[Row, ...] = (
    Row(
        "tier_price_ratio",
        "Price spread of model tiers",
        "cost per task, single atlas-pro / single atlas-nano",
        "20x (GPT-4.1 nano $0.10/$0.40 -> GPT-4.1 $2/$8); "
        "60x (Claude 3 Haiku $0.25/$1.25 -> Opus $15/$75)",
        "OpenAI GPT-4.1 and Anthropic Claude 3 list prices",
        20.0,
        60.0,
        price_ratio,
        "{:.1f}",
        slack=3.0,
    ),
    Row(
        "tier_error_ratio",
        "Skill spread of model tiers",
        "error rate of atlas-nano / error rate of atlas-pro, mixed tasks",
        "2.2x on GSM8K (Claude 3 Haiku 88.9, Sonnet 92.3, Opus 95.0)",
        "Anthropic, Claude 3 model family announcement, benchmark table (2024)",
        1.5,
        3.0,
        error_ratio,
        "{:.2f}",
        slack=1.2,
    ),
    Row(
        "self_consistency_gain",
        "Same-model self-consistency gain",
        "share of atlas-nano's greedy errors removed by a 15-sample vote (T=0.7)",
        "41% of GSM8K errors at 40 paths (PaLM-540B 56.5 -> 74.4, +17.9 points); "
        "smaller models gain less",
        "Wang et al. 2023, Self-Consistency, abstract and Table 2 (GSM8K)",
        0.20,
        0.45,
        sc_error_reduction,
        "{:.3f}",
        slack=0.25,
    ),
    Row(
        "self_consistency_saturation",
        "Self-consistency saturates",
        "points gained from 5 to 15 samples (atlas-nano, T=0.7)",
        "no exact figure: accuracy keeps rising ever more slowly as paths are added",
        "Wang et al. 2023, Self-Consistency, Fig. 4 (curve shape); chosen conservatively",
        -0.5,
        4.0,
        sc_saturation,
        "{:+.2f}",
        slack=4.5,
    ),
    Row(
        "cross_family_wrong_agreement",
        "Cross-family error sharing",
        "same wrong answer when two models of different families are both wrong (greedy)",
        "60% when both err, chance 33% (4-way MCQ): 0.40 above chance; the sim's answers are open",
        "Kim et al. 2025, Correlated Errors in Large Language Models (ICML), HELM results",
        0.30,
        0.50,
        cross_agreement,
        "{:.3f}",
        slack=0.18,
    ),
    Row(
        "within_family_extra_agreement",
        "Errors shared more within a family",
        "wrong-answer agreement within a family minus across families",
        "no exact figure: shared provider and architecture raise agreement",
        "Kim et al. 2025, regression on shared provider/architecture; chosen conservatively",
        0.05,
        0.35,
        within_minus_cross,
        slack=0.12,
    ),
    Row(
        "panel_effective_votes",
        "Diverse models are not independent voters",
        "Kish effective size of a 9-model panel, from the mean cross-family correctness phi",
        "9 frontier judges from 7 families are worth about 2 independent votes",
        "Nine Judges, Two Effective Votes (arXiv 2605.29800, 2026); NLI panels",
        1.5,
        3.5,
        panel_neff,
        "{:.2f}",
        slack=0.8,
    ),
    Row(
        "confidence_auroc",
        "Stated confidence is weakly informative",
        "AUROC of atlas-pro's stated confidence, right vs wrong answers (greedy, mixed tasks)",
        "0.52 to 0.61 for verbalized and white-box confidence; better with capability, "
        "far from ideal",
        "Xiong et al. 2024, Can LLMs Express Their Uncertainty? (ICLR), abstract and Sec. 5",
        0.55,
        0.80,
        confidence_auroc,
        "{:.3f}",
        slack=0.2,
    ),
    Row(
        "intrinsic_refine_weak",
        "Intrinsic self-refine, weak model",
        "points: self_refine(nano, nano, nano, rounds=2) - single nano",
        "about 0 (GPT-3.5, Self-Refine on GSM8K); small models cannot self-verify",
        "Madaan et al. 2023, Self-Refine, Table 1; "
        "Zhang et al. 2024 (small LMs need strong verifiers)",
        -6.0,
        1.0,
        intrinsic_refine(NANO),
        "{:+.2f}",
        slack=4.5,
    ),
    Row(
        "intrinsic_refine_mid",
        "Intrinsic self-refine, mid model",
        "points: self_refine(mini, mini, mini, rounds=2) - single mini",
        "+0.2 (ChatGPT, Self-Refine); -1.2 (GPT-3.5, GSM8K 75.9 -> 74.7 after two rounds)",
        "Madaan et al. 2023, Table 1; "
        "Huang et al. 2024, Large Language Models Cannot Self-Correct Reasoning Yet, Table 3",
        -3.0,
        1.0,
        intrinsic_refine(MINI),
        "{:+.2f}",
        slack=2.2,
    ),
    Row(
        "intrinsic_refine_strong",
        "Intrinsic self-refine, strong model",
        "points: self_refine(pro, pro, pro, rounds=2) - single pro",
        "+0.2 (GPT-4, Self-Refine on GSM8K); -6.5 (GPT-4, GSM8K 95.5 -> 91.5 -> 89.0)",
        "Madaan et al. 2023, Table 1; Huang et al. 2024, Table 3",
        -7.0,
        1.0,
        intrinsic_refine(PRO),
        "{:+.2f}",
        slack=2.0,
    ),
    Row(
        "strong_verifier_gain",
        "A stronger model as verifier",
        "points: self_refine(mini, pro verifier, mini, rounds=2) - single mini",
        "no single figure: gains with a strong (GPT-4) verifier where self-verification fails",
        "Zhang et al. 2024, Small Language Models Need Strong Verifiers; "
        "Kamoi et al. 2024 survey; chosen conservatively",
        0.5,
        6.0,
        strong_verifier,
        "{:+.2f}",
        slack=3.3,
    ),
    Row(
        "aggregator_vs_vote",
        "Aggregator vs majority vote",
        "points: 5 atlas-mini samples + atlas-mini aggregator - vote of the same 5",
        "USC matches self-consistency on GSM8K and MATH (within about a point)",
        "Chen et al. 2023, Universal Self-Consistency, Table 1",
        -1.5,
        1.5,
        aggregator_vs_vote,
        "{:+.2f}",
        slack=1.4,
    ),
    Row(
        "debate_vs_vote",
        "Debate vs a vote at equal calls",
        "points: debate 3 x atlas-nano, 2 rounds (9 calls) - vote of 9 samples",
        "majority voting accounts for most of debate's gains; debate alone is a martingale",
        "Choi et al. 2025, Debate or Vote: Which Yields Better Decisions in Multi-Agent LLMs?",
        -4.0,
        1.0,
        debate_vs_vote,
        "{:+.2f}",
        slack=7.0,
    ),
    Row(
        "judge_position_flip_strong",
        "Judge position bias, strong judge",
        "share of atlas-pro verdicts on two wrong answers that flip when the order is swapped",
        "35% (GPT-4: 65.0% consistent, 30.0% biased to first, 5.0% to second)",
        "Zheng et al. 2023, Judging LLM-as-a-Judge with MT-Bench, Table 2",
        0.25,
        0.45,
        judge_flips(PRO),
        "{:.3f}",
        slack=0.3,
    ),
    Row(
        "judge_position_flip_mid",
        "Judge position bias, mid judge",
        "share of atlas-mini verdicts on two wrong answers that flip when swapped",
        "51% (GPT-3.5: 46.2% consistent, 50.0% biased to first, 1.2% to second)",
        "Zheng et al. 2023, Table 2",
        0.41,
        0.61,
        judge_flips(MINI),
        "{:.3f}",
        slack=0.3,
    ),
    Row(
        "judge_self_preference",
        "Judge self-preference",
        "atlas-pro's pick rate of its own family's wrong answer over another family's, - 0.5",
        "+10% win rate (GPT-4 judging itself); +25% (Claude-v1)",
        "Zheng et al. 2023, Section 3.3 (self-enhancement bias), Fig. 3(b)",
        0.03,
        0.25,
        self_preference,
        "{:+.3f}",
        slack=0.25,
    ),
    Row(
        "planner_gain",
        "Planner gain on multi-step tasks",
        "points: plan_solve(mini, mini) - single mini, medium and hard tasks",
        "+1.8 (Plan-and-Solve), +2.9 (PS+) over zero-shot CoT on GSM8K",
        "Wang et al. 2023, Plan-and-Solve Prompting, Table 2 (text-davinci-003)",
        0.5,
        5.0,
        planner_gain,
        "{:+.2f}",
        slack=4.8,
    ),
    Row(
        "temperature_accuracy",
        "Temperature and accuracy",
        "points: single atlas-nano at T=1.0 (mean of 5 sampling seeds) - at T=0",
        "no statistically significant change from T=0.0 to 1.0",
        "Renze & Guven 2024, The Effect of Sampling Temperature on Problem Solving in LLMs",
        -2.0,
        2.0,
        temperature_accuracy,
        "{:+.2f}",
        slack=6.0,
    ),
    Row(
        "temperature_zero_diversity",
        "Temperature 0 gives one answer",
        "distinct answers among 5 same-prompt atlas-nano samples at T=0 (mean per task)",
        "1 (greedy decoding is deterministic: the single-path baseline of self-consistency)",
        "Wang et al. 2023, Self-Consistency (greedy decoding baseline)",
        1.0,
        1.0,
        greedy_diversity,
        "{:.3f}",
        slack=0.0,
    ),
    Row(
        "focus_gain",
        "Sub-task focus",
        "points: atlas-nano with a 'part i of 3' sub-task - without (mean over i), "
        "medium and hard tasks",
        "no published figure; chosen small",
        "none (conservative choice)",
        0.0,
        3.0,
        focus_gain,
        "{:+.2f}",
        slack=5.4,
    ),
)


def measure_all(tasks: int, seed: int = 0, only: str | None = None) -> list[tuple[Row, float]]:
    """Measure every row (or those whose key contains ``only``) on ``tasks`` tasks."""
    bench = Bench(tasks, seed)
    return [(row, row.measure(bench)) for row in ROWS if only is None or only in row.key]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1500, help="tasks per task set")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", default=None, help="rows whose key contains this")
    args = parser.parse_args(argv)
    print("SIMULATED: these numbers describe rolegraph's simulator, not any LLM.")
    start = time.perf_counter()
    results = measure_all(args.tasks, args.seed, args.only)
    within = 0
    for row, value in results:
        ok = row.within(value)
        within += ok
        print(
            f"{'ok  ' if ok else 'OUT '} {row.key:<30} measured={row.fmt.format(value):>8} "
            f"tolerance={row.tolerance():<18} published: {row.published}"
        )
    print(f"({args.tasks} tasks per set, seed {args.seed}, {time.perf_counter() - start:.0f} s)")
    print(f"RESULT calibrated={within} rows={len(results)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
