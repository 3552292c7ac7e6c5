"""Shared pieces for strategy tests: a context without a runner, and fabricated outcomes."""

import random

from orchestrator.budget import BudgetLedger
from orchestrator.sim import get_profile, register_profile
from search.evaluation.datasets import bundled_dataset
from search.evaluation.stats import summarize
from search.objective import Objective
from search.results import CandidateStats
from search.runner import create_search
from search.space import SearchSpace
from search.stops import Stop
from search.store import EvalRecord
from search.strategies.base import Outcome, Proposal, SearchContext

# Calibrated tiers are as close as real ones, too close to rank on a few dozen tasks; the
# top of the pool is atlas-pro made near-perfect (same price), so runs have a clear best.
register_profile(
    get_profile("atlas-pro").model_copy(
        update={"name": "runner-ace", "reasoning": 0.999, "arithmetic": 0.9995}
    ),
    replace=True,
)
POOL = ["sim:atlas-nano", "sim:orca-small", "sim:atlas-mini", "sim:runner-ace"]
DATA = "bundled:arithmetic"
TASKS = bundled_dataset("arithmetic", n=20, seed=5).tasks


def single_space(pool=POOL) -> SearchSpace:
    """Single solvers, one per pool model."""
    return SearchSpace(topologies=["single"], pool=pool, fixed={"single": {"temperature": 0.0}})


def context(space, *, objective=None, candidates=(), store=None, name="t") -> SearchContext:
    return SearchContext(
        space=space,
        tasks=TASKS,
        objective=objective or Objective(),
        rng=random.Random(0),
        ledger=BudgetLedger(),
        stats=lambda candidate: None,
        candidates=tuple(candidates),
        store=store,
        search_name=name,
    )


def record(proposal: Proposal, task_id: str, score: float, cost: float = 0.001) -> EvalRecord:
    return EvalRecord(
        workflow=proposal.candidate.hash,
        dataset="d",
        task_id=task_id,
        settings="s",
        score=score,
        cost=cost,
    )


def outcome(proposal: Proposal, scores, *, cost=0.001, pruned=False, stop="completed") -> Outcome:
    """The outcome of ``proposal`` with ``scores`` on its tasks, in order."""
    ids = list(proposal.tasks) if proposal.tasks is not None else [t.id for t in TASKS]
    records = tuple(record(proposal, t, s, cost) for t, s in zip(ids, scores, strict=False))
    summary = summarize(records)
    stats = CandidateStats(
        workflow=proposal.candidate.hash,
        label=proposal.candidate.label,
        score=summary,
        complete=summary.n_tasks >= len(TASKS),
        value=summary.mean,
    )
    return Outcome(
        proposal=proposal,
        records=records,
        stats=stats,
        pruned=pruned,
        stop=Stop.from_text(stop),
    )


def run(tmp_path, strategy, **kw):
    kw.setdefault("store", tmp_path / "rg.db")
    return create_search(
        space=kw.pop("space", single_space()),
        dataset=DATA,
        strategy=strategy,
        seed=kw.pop("seed", 1),
        **kw,
    ).run()
