"""Simulated model profiles and families: plain data describing skill, price and behaviour.

Every number here describes the simulator, not any real LLM. The bundled
profiles (``profiles.yaml`` next to this module) are calibrated so that the
simulator's phenomena have the size the literature reports; ``docs/simulator.md``
lists each one with its source and the measured value.

A profile or a family can be written as data, YAML or JSON, and registered
with :func:`load_profiles` or :func:`register_profiles`, no code needed:

.. code-block:: yaml

    families:
      - name: heron
        error_correlation: 0.3
    profiles:
      - name: heron-small
        base: atlas-nano          # start from a bundled profile
        family: heron
        reasoning: 0.95
        input_price: 0.08
        output_price: 0.32
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    computed_field,
    model_validator,
)

from orchestrator.errors import RolegraphError, UnknownModelError

__all__ = [
    "SimFamily",
    "SimProfile",
    "SimProfileError",
    "PROFILES",
    "FAMILIES",
    "register_profile",
    "register_family",
    "register_profiles",
    "load_profiles",
    "get_profile",
    "get_family",
    "list_profiles",
    "list_families",
]

_BUNDLED = Path(__file__).with_name("profiles.yaml")


class SimProfileError(RolegraphError):
    """A simulated profile or family is invalid, or its data cannot be read."""


def _share(description: str, default: float) -> Any:
    return Field(default=default, ge=0.0, le=1.0, description=description)


class SimFamily(BaseModel):
    """A family of simulated models (one provider's line-up): what its models share.

    Models of one family fail on the same tasks and, when they fail, tend to
    give the same wrong answer (Kim et al., 2025, "Correlated errors in large
    language models": errors are shared across providers and more so within one).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="Family name, referenced by each profile's ``family``.")
    error_correlation: float = _share(
        "Share of a model's error variance common to the whole family on a task.", 0.05
    )
    mistake_correlation: float = _share(
        "Share of the wrong-answer draw common to the family: how often two failing "
        "members of the family give the same wrong answer.",
        0.5,
    )
    description: str = Field(default="", description="Free text for people.")


class SimProfile(BaseModel):
    """One simulated model. Probabilities are in [0, 1]; prices are USD per 1M tokens.

    Unset fields take the values of a mid-tier model (like ``atlas-mini``).

    Correctness follows a Gaussian copula: a call is right when ``Phi(z) < p``,
    where ``p`` comes from the per-step skills and the task's number of steps and
    ``z`` mixes latents shared by every model on the task
    (``task_correlation``), by the family (the family's ``error_correlation``),
    by every call of this model (``model_correlation``), by calls with the same
    prompt (``prompt_sensitivity``), and one private to the sample, whose share
    is what remains at temperature 1 and scales with the temperature (none at
    temperature 0, where a model answers a prompt the same way every time).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="Model name, used as ``sim:<name>``.")
    family: str = Field(description="Family name; models of one family make correlated errors.")
    # --- skill
    reasoning: float = _share("Per step: chance of choosing the right operation.", 0.972)
    arithmetic: float = _share("Per step: chance of computing it without a slip.", 0.993)
    # --- how errors are shared (shares of the error variance at temperature 1)
    task_correlation: float = _share(
        "Share of error variance common to every model on a task (hard for everyone).", 0.58
    )
    family_correlation: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Overrides the family's ``error_correlation`` for this model.",
    )
    model_correlation: float = _share(
        "Share common to every call of this model on a task, whatever the prompt or "
        "sample: what makes a same-model vote saturate.",
        0.065,
    )
    prompt_sensitivity: float = _share(
        "Share that changes with the prompt's wording (a sub-task, a role's template).", 0.02
    )
    common_mistakes: float = _share(
        "Share of the wrong-answer draw common to every model: the task's tempting misreadings.",
        0.45,
    )
    canonical_pull: float = _share(
        "Chance that a failing call gives the task's canonical wrong answer (its most "
        "tempting misreading), the trap every family can fall into.",
        0.55,
    )
    hot_slip: float = _share("Per-step slip chance added per unit of temperature above 1.", 0.04)
    # --- planning and sub-tasks
    plan_gain: float = _share("Share of reasoning errors a correct plan prevents.", 0.5)
    plan_trust: float = _share("Chance of following a wrong plan.", 0.6)
    focus_gain: float = _share(
        "Share of errors avoided on the steps of its own sub-task ('part i of n').", 0.25
    )
    # --- checking others
    verifier_tpr: float = _share(
        "Verifier: chance of rejecting a candidate its own working disagrees with.", 0.6
    )
    verifier_fpr: float = _share(
        "Verifier: chance of rejecting a candidate its own working agrees with.", 0.08
    )
    judge_accuracy: float = _share(
        "Judge and aggregator: chance of picking the candidate its own working agrees with.",
        0.8,
    )
    position_bias: float = _share(
        "Judge: when its own working settles nothing, chance of picking the first candidate "
        "(how often verdicts on two answers of similar quality flip when they are swapped).",
        0.72,
    )
    insight: float = _share(
        "Debate, judge and aggregator: chance of recognising a right answer shown to it "
        "that its own working missed.",
        0.3,
    )
    persuadability: float = _share(
        "Debate: chance of re-drawing its answer from the answers shown (conformity).", 0.5
    )
    fix_rate: float = _share(
        "Rectifier: chance of taking up a right fix (its own, or one the critique states).", 0.6
    )
    break_rate: float = _share("Rectifier: chance of giving way to a critique that is wrong.", 0.4)
    calibration: float = _share(
        "How well its stated confidence separates its right answers from its wrong ones "
        "(0: not at all; 1: by 1.2 standard deviations).",
        0.4,
    )
    # --- output
    format_error_rate: float = _share(
        "Chance of replying in prose instead of the asked format (half of these wrap the "
        "asked JSON in prose, half leave it out).",
        0.02,
    )
    missing_field_rate: float = _share(
        "Chance of a reply in the asked format that leaves out its main field.", 0.01
    )
    garble_rate: float = _share("Chance of an unreadable reply.", 0.005)
    input_price: float = Field(ge=0.0, description="USD per 1M input tokens.")
    output_price: float = Field(ge=0.0, description="USD per 1M output tokens.")
    latency_s: float = Field(default=0.4, ge=0.0, description="Seconds before the first token.")
    seconds_per_token: float = Field(default=0.01, ge=0.0, description="Seconds per output token.")
    verbosity: float = Field(
        default=1.0, gt=0.0, description="Multiplier on hidden reasoning tokens."
    )

    @model_validator(mode="before")
    @classmethod
    def _drop_computed(cls, data: Any) -> Any:
        # model_dump() includes the computed family settings; they are not inputs.
        if isinstance(data, Mapping) and "family_settings" in data:
            data = {k: v for k, v in data.items() if k != "family_settings"}
        return data

    @computed_field(  # type: ignore[prop-decorator]
        description="The family's settings this profile uses; part of its fingerprint."
    )
    @property
    def family_settings(self) -> dict[str, float]:
        """The family parameters in effect (the family's, with this profile's override)."""
        family = get_family(self.family)
        return {
            "error_correlation": self.error_correlation,
            "mistake_correlation": family.mistake_correlation,
        }

    @property
    def error_correlation(self) -> float:
        """Share of error variance common to the family (profile override, else family's)."""
        if self.family_correlation is not None:
            return self.family_correlation
        return get_family(self.family).error_correlation

    @property
    def sampling_share(self) -> float:
        """Share of error variance private to one sample at temperature 1."""
        return 1.0 - (
            self.task_correlation
            + self.error_correlation
            + self.model_correlation
            + self.prompt_sensitivity
        )

    def check(self) -> SimProfile:
        """Validate what depends on the family; returns ``self``.

        Raises:
            SimProfileError: The shared shares leave no room for sampling noise.
        """
        if self.sampling_share <= 0.0:
            raise SimProfileError(
                f"sim profile {self.name!r}: task_correlation + family error_correlation + "
                "model_correlation + prompt_sensitivity must be below 1 (the rest is "
                "sampling noise at temperature 1)"
            )
        return self


_LOCK = threading.RLock()
_PROFILES: dict[str, SimProfile] = {}
_FAMILIES: dict[str, SimFamily] = {}


def register_family(family: SimFamily, *, replace: bool = False) -> SimFamily:
    """Make ``family`` available to profiles that name it.

    A profile may name a family that was never registered; it then uses a
    family with the default settings.

    Raises:
        SimProfileError: The name is taken by a different family and ``replace`` is false.
    """
    with _LOCK:
        known = _FAMILIES.get(family.name)
        if known is not None and known != family and not replace:
            raise SimProfileError(f"sim family {family.name!r} exists; pass replace=True")
        _FAMILIES[family.name] = family
    return family


def register_profile(profile: SimProfile, *, replace: bool = False) -> SimProfile:
    """Make ``profile`` available as ``sim:<name>``.

    Raises:
        SimProfileError: The name is taken by a different profile and ``replace``
            is false, or the profile's shares leave no room for sampling noise.
    """
    profile.check()
    with _LOCK:
        known = _PROFILES.get(profile.name)
        if known is not None and known != profile and not replace:
            raise SimProfileError(f"sim profile {profile.name!r} exists; pass replace=True")
        _PROFILES[profile.name] = profile
    return profile


def get_profile(name: str) -> SimProfile:
    """Look a profile up by name.

    Raises:
        UnknownModelError: No profile has that name.
    """
    try:
        return _PROFILES[name]
    except KeyError:
        raise UnknownModelError(
            f"unknown simulated model 'sim:{name}'; profiles: {', '.join(list_profiles())}"
        ) from None


def get_family(name: str) -> SimFamily:
    """The family called ``name``; an unregistered name gets the default settings."""
    family = _FAMILIES.get(name)
    return family if family is not None else SimFamily(name=name)


def list_profiles() -> list[str]:
    """Names of every registered profile."""
    return sorted(_PROFILES)


def list_families() -> list[str]:
    """Names of every registered family."""
    return sorted(_FAMILIES)


def _entries(data: Any, key: str) -> list[Mapping[str, Any]]:
    value = data.get(key, []) if isinstance(data, Mapping) else []
    if isinstance(value, Mapping):  # {"name": {...}} form
        value = [{"name": name, **dict(body or {})} for name, body in value.items()]
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise SimProfileError(f"sim profile data: '{key}' must be a list of mappings")
    return value


def register_profiles(
    data: Mapping[str, Any] | Iterable[Mapping[str, Any] | SimProfile | SimFamily],
    *,
    replace: bool = False,
) -> list[SimProfile]:
    """Register families and profiles given as plain data.

    Args:
        data: A mapping with ``families`` and ``profiles`` (each a list of
            mappings, or a mapping from name to settings), a single profile
            mapping, or a list of profile mappings, :class:`SimProfile` or
            :class:`SimFamily` objects. A profile mapping may name a ``base``
            profile to start from; its other keys override the base's.
        replace: Replace profiles and families that already exist.

    Returns:
        The registered profiles, in the order given.

    Raises:
        SimProfileError: An entry is invalid; the message names it and the field.

    Example:
        >>> [p.name for p in register_profiles(
        ...     {"profiles": [{"name": "doc-nano", "base": "atlas-nano", "reasoning": 0.9}]},
        ...     replace=True,
        ... )]
        ['doc-nano']
    """
    families: list[Mapping[str, Any] | SimFamily] = []
    profiles: list[Mapping[str, Any] | SimProfile] = []
    if isinstance(data, Mapping):
        if "profiles" in data or "families" in data:
            families.extend(_entries(data, "families"))
            profiles.extend(_entries(data, "profiles"))
        else:
            profiles.append(data)
    else:
        for item in data:
            if isinstance(item, SimFamily):
                families.append(item)
            else:
                profiles.append(item)
    for family_entry in families:
        try:
            family = (
                family_entry
                if isinstance(family_entry, SimFamily)
                else SimFamily.model_validate(family_entry)
            )
        except ValidationError as exc:
            name = family_entry.get("name", "?") if isinstance(family_entry, Mapping) else "?"
            raise SimProfileError(f"sim family {name!r}: {_first_error(exc)}") from None
        register_family(family, replace=replace)
    return [register_profile(_build(entry), replace=replace) for entry in profiles]


def _build(entry: Mapping[str, Any] | SimProfile) -> SimProfile:
    if isinstance(entry, SimProfile):
        return entry
    values = dict(entry)
    name = values.get("name", "?")
    base = values.pop("base", None)
    if base is not None:
        try:
            start = get_profile(str(base)).model_dump(exclude={"family_settings"})
        except UnknownModelError:
            raise SimProfileError(
                f"sim profile {name!r}: base profile {base!r} is not registered; "
                f"profiles: {', '.join(list_profiles())}"
            ) from None
        values = {**start, **values}
    try:
        return SimProfile.model_validate(values)
    except ValidationError as exc:
        raise SimProfileError(f"sim profile {name!r}: {_first_error(exc)}") from None


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "entry"
    return f"{where}: {error['msg']}"


def load_profiles(path: str | Path, *, replace: bool = False) -> list[SimProfile]:
    """Read families and profiles from a YAML or JSON file and register them.

    See :func:`register_profiles` for the accepted shapes.

    Raises:
        SimProfileError: The file is missing, unreadable, or holds an invalid entry.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise SimProfileError(f"cannot read sim profiles from {file}: {exc}") from None
    try:
        data = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise SimProfileError(f"{file.name} is not valid YAML or JSON: {exc}") from None
    if not isinstance(data, Mapping | list):
        raise SimProfileError(f"{file.name} must hold a mapping or a list of profiles")
    return register_profiles(data, replace=replace)


PROFILES: tuple[SimProfile, ...] = tuple(load_profiles(_BUNDLED))
"""The bundled profiles (see ``docs/simulator.md`` for their calibration)."""

FAMILIES: tuple[SimFamily, ...] = tuple(_FAMILIES[name] for name in list_families())
"""The bundled families."""
