"""Checks before a search spends: can the metric score its references, can models read the tasks.

A metric that gives a reference answer less than full marks would score every
candidate on a scale nobody can reach, and the search would crown whichever
candidate failed cheapest. A simulated model that cannot read the questions
answers nothing. Both are caught here, before any model is called.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from orchestrator.answers import parse_number
from search.errors import SearchError
from search.evaluation.datasets import Task
from search.evaluation.scoring import score_of

__all__ = ["check_references", "check_simulated_pool", "check_before_search", "wrappings"]

_SHOWN = 3


def wrappings(metric: Any, reference: str) -> dict[str, str]:
    """The forms of ``reference`` that ``metric`` must give full marks.

    The reference itself always; a JSON reply and a sentence stating it too when
    the metric says it reads them (``metric.reads``) and the reference is a number.
    """
    forms = {"the reference itself": reference}
    reads = tuple(getattr(metric, "reads", ()))
    if parse_number(reference) is None:
        return forms
    if "json" in reads:
        forms["the reference as a JSON reply"] = json.dumps(
            {"answer": reference, "confidence": 0.9}
        )
    if "sentence" in reads:
        forms["the reference in a sentence"] = f"The answer is {reference}."
    return forms


def check_references(metric: Any, tasks: Sequence[Task]) -> None:
    """Raise unless ``metric`` gives full marks to every task's own reference answer.

    Metrics that set ``self_check = False`` (their references are not answers, e.g.
    code checked by tests) are skipped.

    Raises:
        SearchError: The metric raises on a reference or scores one below 1, with
            the tasks and forms that failed.
    """
    if not getattr(metric, "self_check", True):
        return
    name = getattr(metric, "name", repr(metric))
    problems: list[str] = []
    failed = 0
    for task in tasks:
        for form, text in wrappings(metric, task.answer).items():
            try:
                score = score_of(metric, text, task).score
            except Exception as exc:  # the user's metric: any error is the finding
                problem = f"task {task.id!r}, {form} {text!r}: raised {type(exc).__name__}: {exc}"
            else:
                if score >= 1.0 - 1e-9:
                    continue
                problem = f"task {task.id!r}, {form} {text!r}: scored {score:g}"
            failed += 1
            if len(problems) < _SHOWN:
                problems.append(problem)
    if failed:
        raise SearchError(
            f"metric {name!r} cannot score its own references: {failed} of "
            f"{len(tasks)} tasks' reference answers do not get full marks (e.g. "
            + "; ".join(problems)
            + "). No model was called. Fix the metric (it must return 1.0 when the answer "
            "is the reference) or the dataset's answers."
        )


def check_simulated_pool(models: Iterable[str], tasks: Sequence[Task]) -> None:
    """Raise when a simulated ``sim:`` model is offered tasks the simulator cannot read.

    The simulator answers the bundled arithmetic family and bare arithmetic
    expressions (:func:`orchestrator.sim.read_problem`); on anything else it
    cannot answer, and every candidate would score the floor.

    Raises:
        SearchError: Some task's question is not one the simulator reads.
    """
    simulated = sorted(m for m in models if m.startswith("sim:"))
    if not simulated:
        return
    from orchestrator.sim import read_problem

    unreadable = [t for t in tasks if read_problem(t.question) is None]
    if not unreadable:
        return
    example = unreadable[0]
    raise SearchError(
        f"the simulated models {simulated} cannot read {len(unreadable)} of {len(tasks)} "
        f"tasks (e.g. task {example.id!r}: {example.question[:80]!r}); the simulator "
        "answers only arithmetic questions (the bundled 'bundled:arithmetic' family or a bare "
        "expression such as 'What is (3 + 4) * 2?'). Use real models for this dataset."
    )


def check_before_search(*, metric: Any, tasks: Sequence[Task], models: Iterable[str]) -> None:
    """Every check above, in order: the metric on its references, then the models on the tasks."""
    check_references(metric, tasks)
    check_simulated_pool(models, tasks)
