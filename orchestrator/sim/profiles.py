"""Simulated model profiles: plain data describing skill, price and behaviour.

Every number here describes the simulator, not any real LLM. The defaults are
chosen so that the trade-offs a topology search is meant to find exist:
cheap models are weak, errors are shared within a family, weak verifiers flag
correct answers, and so on.
"""

from __future__ import annotations

import threading

from pydantic import BaseModel, ConfigDict, Field, model_validator

from orchestrator.errors import UnknownModelError

__all__ = ["SimProfile", "PROFILES", "register_profile", "get_profile", "list_profiles"]


class SimProfile(BaseModel):
    """One simulated model. Probabilities are in [0, 1]; prices are USD per 1M tokens."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="Model name, used as ``sim:<name>``.")
    family: str = Field(description="Models of one family make correlated errors.")
    reasoning: float = Field(description="Per step: chance of choosing the right operation.")
    arithmetic: float = Field(description="Per step: chance of computing it without a slip.")
    plan_gain: float = Field(
        default=0.6, description="Share of reasoning errors a correct plan prevents."
    )
    plan_trust: float = Field(default=0.6, description="Chance of following a wrong plan.")
    verifier_tpr: float = Field(description="Verifier: chance of rejecting a wrong answer.")
    verifier_fpr: float = Field(description="Verifier: chance of rejecting a right answer.")
    blind_spot: float = Field(
        default=0.5, description="Share of ``verifier_tpr`` lost on its own family's mistakes."
    )
    judge_accuracy: float = Field(
        description="Judge: chance of picking a right candidate when one exists."
    )
    fix_rate: float = Field(
        description="Rectifier: chance of fixing a wrong answer given a specific critique."
    )
    break_rate: float = Field(
        description="Rectifier: chance of breaking a right answer that was wrongly rejected."
    )
    insight: float = Field(
        description="Debate and aggregation: chance of recognising a right peer answer."
    )
    persuadability: float = Field(
        default=0.6, description="Debate: chance of moving to a stronger consensus."
    )
    calibration: float = Field(
        description="How much higher its confidence is when right than when wrong."
    )
    family_correlation: float = Field(
        default=0.6, description="Share of error variance common to the family on a task."
    )
    task_correlation: float = Field(
        default=0.15, description="Share of error variance common to every model on a task."
    )
    family_mistake_share: float = Field(
        default=0.7, description="Chance that a wrong answer is the family's typical one."
    )
    format_error_rate: float = Field(
        default=0.02, description="Chance of replying in prose instead of the asked format."
    )
    garble_rate: float = Field(default=0.005, description="Chance of an unreadable reply.")
    input_price: float = Field(description="USD per 1M input tokens.")
    output_price: float = Field(description="USD per 1M output tokens.")
    latency_s: float = Field(default=0.4, description="Seconds before the first token.")
    seconds_per_token: float = Field(default=0.01, description="Seconds per output token.")
    verbosity: float = Field(default=1.0, description="Multiplier on hidden reasoning tokens.")

    @model_validator(mode="after")
    def _check(self) -> SimProfile:
        if self.family_correlation + self.task_correlation >= 1.0:
            raise ValueError("family_correlation + task_correlation must be below 1")
        return self


def _profile(**values: float | str) -> SimProfile:
    return SimProfile.model_validate(values)


PROFILES: tuple[SimProfile, ...] = (
    _profile(
        name="atlas-nano",
        family="atlas",
        reasoning=0.955,
        arithmetic=0.975,
        verifier_tpr=0.50,
        verifier_fpr=0.35,
        judge_accuracy=0.60,
        fix_rate=0.45,
        break_rate=0.50,
        insight=0.20,
        calibration=0.30,
        input_price=0.05,
        output_price=0.20,
        latency_s=0.25,
        seconds_per_token=0.004,
        verbosity=0.8,
        format_error_rate=0.04,
        garble_rate=0.01,
    ),
    _profile(
        name="atlas-mini",
        family="atlas",
        reasoning=0.975,
        arithmetic=0.99,
        verifier_tpr=0.75,
        verifier_fpr=0.10,
        judge_accuracy=0.80,
        fix_rate=0.70,
        break_rate=0.35,
        insight=0.40,
        calibration=0.50,
        input_price=0.30,
        output_price=1.20,
        latency_s=0.35,
        seconds_per_token=0.008,
    ),
    _profile(
        name="atlas-pro",
        family="atlas",
        reasoning=0.993,
        arithmetic=0.997,
        verifier_tpr=0.92,
        verifier_fpr=0.04,
        judge_accuracy=0.93,
        fix_rate=0.85,
        break_rate=0.12,
        insight=0.65,
        calibration=0.75,
        input_price=3.00,
        output_price=12.00,
        latency_s=0.60,
        seconds_per_token=0.02,
        verbosity=1.6,
        format_error_rate=0.005,
        garble_rate=0.001,
    ),
    _profile(
        name="lynx-small",
        family="lynx",
        reasoning=0.95,
        arithmetic=0.98,
        verifier_tpr=0.55,
        verifier_fpr=0.32,
        judge_accuracy=0.62,
        fix_rate=0.45,
        break_rate=0.45,
        insight=0.20,
        calibration=0.35,
        input_price=0.06,
        output_price=0.24,
        latency_s=0.30,
        seconds_per_token=0.005,
        verbosity=0.9,
        format_error_rate=0.03,
        garble_rate=0.01,
    ),
    _profile(
        name="lynx-large",
        family="lynx",
        reasoning=0.985,
        arithmetic=0.993,
        verifier_tpr=0.85,
        verifier_fpr=0.06,
        judge_accuracy=0.88,
        fix_rate=0.80,
        break_rate=0.20,
        insight=0.55,
        calibration=0.65,
        input_price=1.20,
        output_price=4.80,
        latency_s=0.50,
        seconds_per_token=0.015,
        verbosity=1.3,
    ),
    _profile(
        name="orca-small",
        family="orca",
        reasoning=0.96,
        arithmetic=0.97,
        verifier_tpr=0.50,
        verifier_fpr=0.38,
        judge_accuracy=0.58,
        fix_rate=0.40,
        break_rate=0.50,
        insight=0.20,
        calibration=0.30,
        input_price=0.04,
        output_price=0.16,
        latency_s=0.20,
        seconds_per_token=0.004,
        verbosity=0.8,
        format_error_rate=0.05,
        garble_rate=0.01,
    ),
    _profile(
        name="orca-medium",
        family="orca",
        reasoning=0.98,
        arithmetic=0.985,
        verifier_tpr=0.72,
        verifier_fpr=0.12,
        judge_accuracy=0.78,
        fix_rate=0.65,
        break_rate=0.35,
        insight=0.40,
        calibration=0.50,
        input_price=0.40,
        output_price=1.60,
        latency_s=0.40,
        seconds_per_token=0.009,
    ),
)

_REGISTRY: dict[str, SimProfile] = {profile.name: profile for profile in PROFILES}
_LOCK = threading.Lock()


def register_profile(profile: SimProfile, *, replace: bool = False) -> SimProfile:
    """Make ``profile`` available as ``sim:<name>``.

    Raises:
        ValueError: The name is taken and ``replace`` is false.
    """
    with _LOCK:
        if profile.name in _REGISTRY and not replace and _REGISTRY[profile.name] != profile:
            raise ValueError(f"sim profile {profile.name!r} exists; pass replace=True")
        _REGISTRY[profile.name] = profile
    return profile


def get_profile(name: str) -> SimProfile:
    """Look a profile up by name.

    Raises:
        UnknownModelError: No profile has that name.
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownModelError(
            f"unknown simulated model 'sim:{name}'; profiles: {', '.join(list_profiles())}"
        ) from None


def list_profiles() -> list[str]:
    """Names of every registered profile."""
    return sorted(_REGISTRY)
