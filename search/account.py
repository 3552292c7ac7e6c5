"""What a search leaves behind besides its result: an account in words, and an Optuna log.

:func:`account` says how the winner was found: what each stage spent and
tried, when the winner first led, and why the nearest rivals lost.
:func:`log_to_optuna` writes every evaluated candidate as a trial of the
search's Optuna study, so ``optuna-dashboard`` shows the whole search.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Mapping, Sequence
from typing import Literal

from orchestrator.budget import Spend
from search.objective import Objective
from search.ranking import same
from search.results import CandidateStats, Step

__all__ = ["account", "log_to_optuna", "LOG_STUDY_DIRECTIONS"]

LOG_STUDY_DIRECTIONS: tuple[Literal["maximize", "minimize"], ...] = ("maximize", "minimize")
"""The search's study records accuracy (maximised) and dollars per task (minimised)."""


def account(
    *,
    history: Sequence[Step],
    stages: Mapping[str, Spend],
    candidates: Sequence[CandidateStats],
    best: CandidateStats | None,
    objective: Objective,
    budget_note: str | None = None,
    test: Spend | None = None,
    reused: Spend | None = None,
    unfinished: Spend | None = None,
) -> tuple[str, ...]:
    """A few lines on how the winner was found.

    The stages' lines and ``test`` (what the held-out test spent) add up to the
    search's spend: the same evaluations, model calls and dollars, with ``unfinished``
    (runs a refused call or a cancel left without a result, paid all the same). ``reused``
    (results other searches in the store paid for) is said apart: it cost nothing here.
    """
    lines: list[str] = []
    if budget_note:
        lines.append(budget_note)
    tried: dict[str, set[str]] = {}
    for step in history:
        tried.setdefault(step.stage, set()).add(step.candidate)
    for stage, spend in stages.items():
        counted = f"{len(tried[stage])} candidates, " if stage in tried else ""
        lines.append(f"stage {stage}: {counted}{_counts(spend)}")
    if unfinished is not None and (unfinished.evaluations or unfinished.calls):
        lines.append(f"cut off without a result (paid all the same): {_counts(unfinished)}")
    if test is not None and (test.evaluations or test.calls or test.dollars):
        lines.append(f"held-out test: {_counts(test)}")
    if reused is not None and reused.evaluations:
        lines.append(
            f"reused from other searches in the store, at no cost here: {reused.evaluations} "
            f"results (${reused.dollars:.4f} when they ran)"
        )
    if best is None:
        lines.append("no candidate was evaluated on every search task and within the ceiling")
        return tuple(lines)
    first = next((step for step in history if step.best == best.workflow), None)
    found = (
        f" (leading since step {history.index(first) + 1} of {len(history)}, "
        f"proposed by {first.stage})"
        if first is not None
        else ""
    )
    lines.append(
        f"winner: {best.label}, accuracy {best.mean:.3f} "
        f"({best.ci_low:.2f}-{best.ci_high:.2f}) on {best.n_tasks} tasks at "
        f"${best.cost_per_task:.6f} per task{found}"
    )
    for rival in [c for c in candidates if c.workflow != best.workflow][:3]:
        lines.append(f"  not {rival.label}: {_why_not(rival, best, objective)}")
    return tuple(lines)


def _counts(spend: Spend) -> str:
    return f"{spend.evaluations} evaluations run, {spend.calls} model calls, ${spend.dollars:.4f}"


def _why_not(rival: CandidateStats, best: CandidateStats, objective: Objective) -> str:
    if not objective.feasible(rival.cost_per_task):
        return f"${rival.cost_per_task:.6f} per task is over the ceiling"
    if rival.pruned:
        return f"stopped early as clearly worse after {rival.n_tasks} tasks ({rival.mean:.3f})"
    if not rival.complete:
        return f"evaluated on {rival.n_tasks} tasks only ({rival.mean:.3f})"
    if same(rival.mean, best.mean) and same(rival.cost_per_task, best.cost_per_task):
        return (
            f"tied with the winner ({rival.mean:.3f} at ${rival.cost_per_task:.6f} per task): "
            "ties are broken by a fixed rule, the same on every run"
        )
    if rival.mean > best.mean and not same(rival.mean, best.mean):
        return (
            f"more accurate ({rival.mean:.3f} vs {best.mean:.3f}) at "
            f"${rival.cost_per_task:.6f} per task, but within noise or worth less than its "
            "cost (see the certificate)"
        )
    if same(rival.mean, best.mean):
        return (
            f"as accurate ({rival.mean:.3f}) but worth less at ${rival.cost_per_task:.6f} per task"
        )
    return f"less accurate ({rival.mean:.3f} vs {best.mean:.3f})"


def log_to_optuna(
    storage: str,
    study_name: str,
    candidates: Sequence[CandidateStats],
    *,
    specs: Mapping[str, str],
    stages: Mapping[str, str],
    topologies: Sequence[str],
) -> int:
    """Write every candidate as a trial of the study ``study_name``; returns how many.

    The study is made afresh, so a rerun of the search rewrites the same log.
    """
    import optuna
    from optuna.distributions import CategoricalDistribution
    from optuna.trial import TrialState, create_trial

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with contextlib.suppress(KeyError):
        optuna.delete_study(study_name=study_name, storage=storage)
    try:
        study = optuna.create_study(
            storage=storage, study_name=study_name, directions=list(LOG_STUDY_DIRECTIONS)
        )
    except optuna.exceptions.DuplicatedStudyError:
        return 0  # another process of this search is writing the same log right now
    choices = [*topologies, "spec"]
    distribution = CategoricalDistribution(choices)
    trials = []
    for stats in candidates:
        complete = stats.complete and not stats.pruned
        attrs = {
            "hash": stats.workflow,
            "label": stats.label,
            "spec": specs.get(stats.workflow, ""),
            "stage": stages.get(stats.workflow, ""),
            "n_tasks": stats.n_tasks,
            "ci_low": stats.ci_low,
            "ci_high": stats.ci_high,
            "cost_per_task": stats.cost_per_task,
            "complete": stats.complete,
            "pruned": stats.pruned,
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trials.append(
                create_trial(
                    params={"topology": stats.topology if stats.topology in choices else "spec"},
                    distributions={"topology": distribution},
                    values=[stats.mean, stats.cost_per_task] if complete else None,
                    state=TrialState.COMPLETE if complete else TrialState.PRUNED,
                    user_attrs=attrs,
                )
            )
    study.add_trials(trials)
    return len(trials)
