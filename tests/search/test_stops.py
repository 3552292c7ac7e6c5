"""A search's stop is a reason to test and a detail to read; the printed sentence is unchanged."""

from __future__ import annotations

import pytest

from search import create_search
from search.evaluation import Budget, bundled_dataset
from search.settings import SearchSettings
from search.stops import Stop, StopReason

SPACE = {"topologies": ["single"], "pool": ["sim:atlas-nano", "sim:lynx-small"]}
DATA = bundled_dataset("arithmetic", n=12, seed=1)


@pytest.mark.parametrize(
    ("text", "reason", "ends"),
    [
        ("completed", StopReason.COMPLETED, False),
        ("pruned", StopReason.PRUNED, False),
        ("budget: dollars limit of $0.01 reached", StopReason.BUDGET, True),
        ("max_evaluations: 120 reached", StopReason.MAX_EVALUATIONS, True),
        ("max_errors: 3 evaluations failed (max_errors=3)", StopReason.MAX_ERRORS, False),
        ("strategy finished", StopReason.STRATEGY_FINISHED, False),
        ("strategy finished: 3 trials done (n_trials)", StopReason.STRATEGY_FINISHED, False),
        ("stopped by the caller", StopReason.CANCELLED, False),
        ("the cluster went away", StopReason.OTHER, False),
        ("stopped: a worker died", StopReason.OTHER, False),
    ],
)
def test_a_stop_sentence_reads_back_as_its_reason(text, reason, ends) -> None:
    stop = Stop.from_text(text)
    assert (stop.reason, stop.ends_search, str(stop)) == (reason, ends, text)


def test_what_stopped_the_finalists_is_kept_apart() -> None:
    text = "strategy finished: the race is over; finalists stopped by budget: calls limit reached"
    stop = Stop.from_text(text)
    assert stop.reason is StopReason.STRATEGY_FINISHED and not stop.ends_search
    assert stop.finalists is not None and stop.finalists.reason is StopReason.BUDGET
    assert str(stop) == text


def test_a_search_says_which_limit_stopped_it() -> None:
    capped = create_search(
        space=SPACE,
        dataset=DATA,
        strategy="grid",
        store=None,
        settings=SearchSettings(max_evaluations=5, test_size=0.25),
    ).run()
    assert capped.stop.reason is StopReason.MAX_EVALUATIONS
    assert capped.stop_reason == "max_evaluations: 5 reached"
    broke = create_search(
        space=SPACE, dataset=DATA, strategy="grid", store=None, budget=Budget(evaluations=4)
    ).run()
    assert broke.stop.reason is StopReason.BUDGET and broke.stop_reason.startswith("budget: ")
    done = create_search(space=SPACE, dataset=DATA, strategy="grid", store=None).run()
    assert done.stop.reason is StopReason.STRATEGY_FINISHED
    assert done.stop_reason == "strategy finished"
