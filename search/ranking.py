"""The one rule for choosing a best: higher keys first, float noise ignored, ties by a stable id.

Every place that picks a winner, a leader or a shortlist (the runner, every
strategy) ranks through :func:`ranked` or :func:`best`, so that two executors
(or two processes) that receive the same results in a different order pick
the same candidate.

- **Keys are compared with a tolerance.** Two values within
  :data:`RELATIVE_TOLERANCE` of each other are equal: summing the same costs
  in another order changes the last bits of a mean, and that must not decide.
- **Ties go to the smaller id** (a candidate's hash, by default): a fixed
  order, the same whatever order the results arrived in.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

__all__ = ["RELATIVE_TOLERANCE", "same", "compare", "ranked", "best"]

T = TypeVar("T")

RELATIVE_TOLERANCE = 1e-12
"""Relative difference below which two keys are equal.

Float noise from summing in another order is a few ULPs (2.2e-16 each) per
term; 1e-12 covers means of thousands of results, while no difference a
search should act on (an accuracy step of 1/n tasks, a cost) is that small.
"""


def same(a: float, b: float) -> bool:
    """Whether ``a`` and ``b`` are equal but for float noise (infinities equal only themselves)."""
    if a == b:
        return True
    if math.isinf(a) or math.isinf(b) or math.isnan(a) or math.isnan(b):
        return False
    return math.isclose(a, b, rel_tol=RELATIVE_TOLERANCE, abs_tol=RELATIVE_TOLERANCE * 1e-3)


def compare(a: Sequence[float], b: Sequence[float]) -> int:
    """``1`` if key ``a`` is better (higher), ``-1`` if worse, ``0`` if equal but for noise."""
    for x, y in zip(a, b, strict=True):
        if not same(x, y):
            return 1 if x > y else -1
    return 0


def ranked(
    items: Iterable[T],
    *,
    key: Callable[[T], Sequence[float]],
    tiebreak: Callable[[T], Any] | None = None,
) -> list[T]:
    """``items`` best first: by ``key`` (higher is better), ties to the smaller ``tiebreak``.

    Args:
        items: What to rank.
        key: A tuple of floats per item, compared in order with :func:`compare`.
        tiebreak: A stable id per item (default: its ``hash`` attribute, a
            candidate's or a statistics record's ``workflow``).
    """
    stable = tiebreak or _identity
    keyed = [(tuple(key(item)), stable(item), item) for item in items]

    def order(left: tuple[Any, ...], right: tuple[Any, ...]) -> int:
        verdict = compare(right[0], left[0])  # best first
        if verdict:
            return verdict
        return (left[1] > right[1]) - (left[1] < right[1])

    keyed.sort(key=functools.cmp_to_key(order))
    return [item for _, _, item in keyed]


def best(
    items: Iterable[T],
    *,
    key: Callable[[T], Sequence[float]],
    tiebreak: Callable[[T], Any] | None = None,
) -> T | None:
    """The first of :func:`ranked`, or ``None`` when there are no items."""
    stable = tiebreak or _identity
    chosen: tuple[tuple[float, ...], Any, T] | None = None
    for item in items:
        entry = (tuple(key(item)), stable(item), item)
        if chosen is None:
            chosen = entry
            continue
        verdict = compare(entry[0], chosen[0])
        if verdict > 0 or (verdict == 0 and entry[1] < chosen[1]):
            chosen = entry
    return chosen[2] if chosen is not None else None


def _identity(item: Any) -> str:
    for name in ("hash", "workflow"):
        value = getattr(item, name, None)
        if isinstance(value, str):
            return value
    raise TypeError(f"give a tiebreak: {type(item).__name__} has no hash or workflow")
