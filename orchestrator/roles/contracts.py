"""Typed output contracts of the built-in roles.

Each contract is what a role's model is asked to return. The validators are
lenient on purpose: models write confidences as ``0.8``, ``8`` or ``"80%"``
and verdicts as ``"ACCEPT"`` or ``"correct"``, and all of these should parse.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "SolverOutput",
    "PlannerOutput",
    "VerifierOutput",
    "JudgeOutput",
    "RectifierOutput",
    "AggregatorOutput",
    "normalize_confidence",
    "normalize_verdict",
]

_ACCEPT = {"accept", "accepted", "approve", "approved", "correct", "yes", "pass", "valid", "ok"}
_REJECT = {"reject", "rejected", "incorrect", "wrong", "no", "fail", "invalid", "revise"}


def normalize_confidence(value: Any) -> float:
    """Map ``0.8``, ``8`` (out of 10), ``80`` or ``"80%"`` to a float in [0, 1]."""
    if isinstance(value, str):
        text = value.strip().rstrip("%").strip()
        percent = value.strip().endswith("%")
        number = float(text)
        if percent:
            number /= 100
    else:
        number = float(value)
    if number > 1.0:
        number = number / 10 if number <= 10 else number / 100
    return min(1.0, max(0.0, number))


def normalize_verdict(value: Any) -> str:
    """Map verdict synonyms to ``"accept"`` or ``"reject"``."""
    word = re.sub(r"[^a-z]", "", str(value).lower())
    if word in _ACCEPT:
        return "accept"
    if word in _REJECT:
        return "reject"
    raise ValueError(f"verdict must be 'accept' or 'reject', got {value!r}")


def _to_text(value: Any) -> str:
    if isinstance(value, dict | list | tuple | set):
        # ``str({...})`` would read as an answer; a nested value is not one.
        raise ValueError(f"expected text or a number, got a {type(value).__name__}")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


class _Contract(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class _Answer(_Contract):
    """An answer with a confidence: the shape of solver, rectifier and aggregator output."""

    answer: str = Field(description="The final answer only, without explanation.")
    confidence: float = Field(default=0.5, description="Probability in [0, 1] that it is right.")

    _answer = field_validator("answer", mode="before")(_to_text)

    @field_validator("confidence", mode="before")
    @classmethod
    def _confidence(cls, value: Any) -> float:
        return normalize_confidence(value)


class SolverOutput(_Answer):
    """A solver's answer and how sure it is."""


class PlannerOutput(_Contract):
    """A plan: ordered steps that lead to the answer."""

    steps: list[str] = Field(description="Ordered, self-contained steps.")

    @field_validator("steps", mode="before")
    @classmethod
    def _steps(cls, value: Any) -> list[str]:
        if isinstance(value, str):
            value = [line for line in value.splitlines() if line.strip()]
        steps = [re.sub(r"^\s*(?:\d+[.)]|[-*])\s*", "", str(step)).strip() for step in value]
        steps = [step for step in steps if step]
        if not steps:
            raise ValueError("a plan needs at least one step")
        return steps


class VerifierOutput(_Contract):
    """A verifier's verdict on one candidate answer, with a critique."""

    verdict: Literal["accept", "reject"] = Field(description="accept or reject.")
    critique: str = Field(default="", description="What is wrong, if anything.")

    @field_validator("verdict", mode="before")
    @classmethod
    def _verdict(cls, value: Any) -> str:
        return normalize_verdict(value)


class JudgeOutput(_Contract):
    """A judge's pick among numbered candidates."""

    choice: int | str = Field(
        description="Number of the chosen candidate, starting at 1. A reply that names the "
        "chosen answer instead (a letter, a word) keeps that text, and the judge matches it "
        "against the candidates' answers."
    )
    reason: str = Field(default="", description="Why this candidate.")

    @field_validator("choice", mode="before")
    @classmethod
    def _choice(cls, value: Any) -> int | str:
        if isinstance(value, str):
            match = re.search(r"\d+", value)
            if match is not None:
                return int(match.group())
            if not value.strip():
                raise ValueError("an empty choice")
            return value.strip()
        return int(value)


class RectifierOutput(_Answer):
    """A revised answer that addresses a critique."""

    answer: str = Field(description="The revised final answer only.")


class AggregatorOutput(_Answer):
    """One answer combined from several workers' answers."""

    answer: str = Field(description="The combined final answer only.")
