"""Each calibrated phenomenon, switched off, makes its calibration test fail.

A calibration test that still passes with its phenomenon gone protects nothing.
Each case here switches one phenomenon off (profile settings, or the behaviour
itself), measures the rows that test it on the calibration tests' task set, and
checks that at least one leaves its tolerance (band widened by the slack).
``temperature_zero_diversity`` is not here: it holds by construction.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from orchestrator.sim import behaviour
from orchestrator.sim.profiles import (
    get_family,
    get_profile,
    list_families,
    list_profiles,
    register_family,
    register_profile,
)
from tests.orchestrator.sim_bench import TASKS, load_benchmark

calibration = load_benchmark()
ROWS = {row.key: row for row in calibration.ROWS}


@contextmanager
def profiles(
    every: dict[str, Any] | None = None,
    family: dict[str, Any] | None = None,
    **each: dict[str, Any],
) -> Iterator[None]:
    """Every profile (and family) changed as given, for the duration."""
    saved = [get_profile(name) for name in list_profiles()]
    families = [get_family(name) for name in list_families()]
    try:
        for profile in saved:
            changes = {**(every or {}), **each.get(profile.name.replace("-", "_"), {})}
            register_profile(profile.model_copy(update=changes), replace=True)
        for entry in families:
            register_family(entry.model_copy(update=family or {}), replace=True)
        yield
    finally:
        for profile in saved:
            register_profile(profile, replace=True)
        for entry in families:
            register_family(entry, replace=True)


def _nano_skill() -> dict[str, float]:
    mini = get_profile("atlas-mini")
    return {"reasoning": mini.reasoning, "arithmetic": mini.arithmetic}


def _truthful_debate(mind: Any, prompt: Any, own: str | None) -> str | None:
    # The leak the simulator used to have: a debater that knows which peer is right.
    answers = [answer for _, answer, _ in prompt.peers]
    return mind.truth if any(a == mind.truth for a in answers) else own


def _own_working(mind: Any, prompt: Any) -> tuple[str | None, float]:
    answer = mind.work()
    return answer, mind.confidence(answer)


def _perfect_confidence(self: Any, answer: str | None) -> float:
    return 0.99 if answer == self.truth else 0.5


def _oracle_verify(mind: Any, prompt: Any) -> tuple[str, str]:
    if behaviour._same(prompt.candidate, mind.truth):
        return "accept", "No error found."
    return "reject", f"Step 1 is wrong. I get {mind.truth}."


def _clear_sighted_checks(mp: pytest.MonkeyPatch) -> Any:
    # A model that sees its own errors, and a rectifier that takes the fix it is given.
    mp.setattr(behaviour, "_verify", _oracle_verify)
    return profiles(every={"fix_rate": 1.0, "break_rate": 1.0})


def _misleading_planner(mp: pytest.MonkeyPatch) -> Any:
    # Plans no better than a wrong working, followed every time: a planner that only misleads.
    def plan(mind: Any, prompt: Any) -> list[str]:
        wrong = behaviour._working_for(mind, mind.canonical()) or mind.problem
        return behaviour.plan_steps(wrong.start, wrong.steps)

    mp.setattr(behaviour, "_plan", plan)
    return profiles(every={"plan_gain": 0.0, "plan_trust": 1.0})


def _hot_from_zero(mp: pytest.MonkeyPatch) -> Any:
    mp.setattr(behaviour, "HOT_FROM", 0.0)
    return profiles(every={"hot_slip": 0.2})


CASES: dict[str, tuple[Callable[[pytest.MonkeyPatch], Any], tuple[str, ...]]] = {
    "tier prices": (
        lambda mp: profiles(atlas_pro={"input_price": 0.05, "output_price": 0.20}),
        ("tier_price_ratio",),
    ),
    "tier skill": (lambda mp: profiles(every=_nano_skill()), ("tier_error_ratio",)),
    "sampling diversity": (
        lambda mp: mp.setattr(behaviour, "_diversity", lambda t: 0.0),
        ("self_consistency_gain",),
    ),
    "canonical wrong answer": (
        lambda mp: profiles(every={"canonical_pull": 0.0}),
        ("cross_family_wrong_agreement", "vote_scaling_hard"),
    ),
    "family error sharing": (
        lambda mp: profiles(family={"mistake_correlation": 0.0, "error_correlation": 0.0}),
        ("within_family_extra_agreement",),
    ),
    "shared task difficulty": (
        lambda mp: profiles(every={"task_correlation": 0.05, "canonical_pull": 0.0}),
        ("panel_effective_votes", "panel_vs_best_cheap", "panel_vs_best_top"),
    ),
    "weak stated confidence": (
        lambda mp: mp.setattr(behaviour._Mind, "confidence", _perfect_confidence),
        ("confidence_auroc",),
    ),
    "self-verification's blind spots": (
        _clear_sighted_checks,
        ("intrinsic_refine_weak", "intrinsic_refine_mid", "intrinsic_refine_strong"),
    ),
    "a strong verifier's help": (
        lambda mp: profiles(atlas_pro={"verifier_tpr": 0.0, "verifier_fpr": 0.5}),
        ("strong_verifier_gain",),
    ),
    "aggregator as a vote": (
        lambda mp: mp.setattr(behaviour, "_combine", _own_working),
        ("aggregator_vs_vote",),
    ),
    "debate without the answer key": (
        lambda mp: mp.setattr(behaviour, "_debate", _truthful_debate),
        ("debate_vs_vote",),
    ),
    "position bias": (
        lambda mp: profiles(every={"position_bias": 0.0}),
        ("judge_position_flip_strong", "judge_position_flip_mid"),
    ),
    "self-preference": (
        lambda mp: profiles(every={"common_mistakes": 0.0}, family={"mistake_correlation": 0.0}),
        ("judge_self_preference",),
    ),
    "a planner's help": (_misleading_planner, ("planner_gain",)),
    "temperature keeps accuracy": (_hot_from_zero, ("temperature_accuracy",)),
    "sub-task focus": (lambda mp: profiles(every={"focus_gain": 0.0}), ("focus_gain",)),
    "format failures": (
        lambda mp: profiles(
            every={"format_error_rate": 0.0, "missing_field_rate": 0.0, "garble_rate": 0.0}
        ),
        ("unread_replies_cheap",),
    ),
}


def _outside(key: str, value: float) -> bool:
    row = ROWS[key]
    return not row.low - row.slack <= value <= row.high + row.slack


@pytest.mark.parametrize("case", list(CASES))
def test_switching_a_phenomenon_off_fails_its_calibration_test(monkeypatch, case):
    switch, keys = CASES[case]
    context = switch(monkeypatch)
    with context if context is not None else _nothing():
        bench = calibration.Bench(TASKS, seed=0)
        values = {key: ROWS[key].measure(bench) for key in keys}
    assert any(_outside(key, value) for key, value in values.items()), (
        f"with '{case}' switched off the rows still pass: {values}"
    )


def test_every_calibrated_row_is_covered_by_a_mutation():
    covered = {key for _, keys in CASES.values() for key in keys}
    structural = {"temperature_zero_diversity"}
    sampled_only = {"self_consistency_saturation"}  # shares the sampling-diversity switch
    assert set(ROWS) - covered - structural - sampled_only == set()


@contextmanager
def _nothing() -> Iterator[None]:
    yield
