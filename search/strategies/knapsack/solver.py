"""Knapsack selection of components: an exact 0/1 solver and the online ZCL admission rule.

Two forms, as in "Automated Composition of Agents: a knapsack approach"
(2025):

- :func:`solve_knapsack` is the offline case: every item's utility and cost is
  known up front, and it returns the best set exactly.
- :func:`zcl_threshold` and :func:`zcl_admits` are the online case: items
  arrive one at a time, and each is admitted for good when its value per
  dollar clears a threshold that rises as the budget fills (ZCL: Zhou,
  Chakrabarty and Lukose, 2008). :func:`label_record` turns one sandbox test
  into the paper's helpful / not / broken label.

:class:`~search.strategies.knapsack.KnapsackStrategy` runs both over a search
space's component pool.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator

from search.store import EvalRecord

__all__ = [
    "Item",
    "Selection",
    "Label",
    "solve_knapsack",
    "zcl_threshold",
    "zcl_bounds",
    "zcl_admits",
    "label_record",
]

Label = Literal["helpful", "not", "broken"]
"""A sandbox test's verdict on one component and one task."""


def _finite(value: float, what: str) -> float:
    if not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return value


class Item(BaseModel):
    """One thing the knapsack may take: a component with its utility and its cost.

    Example:
        >>> Item(name="sim:atlas-mini", value=7, cost=0.0002).value
        7.0
    """

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="What it is, e.g. a model reference.")
    value: float = Field(description="Utility it adds when taken (any finite number).")
    cost: float = Field(ge=0, description="What it costs when taken, e.g. dollars per task.")

    @field_validator("value", "cost")
    @classmethod
    def _check_finite(cls, value: float) -> float:
        return _finite(value, "an item's value and cost")


class Selection(BaseModel):
    """The items a solver took, with their total value and cost."""

    model_config = ConfigDict(frozen=True)

    items: tuple[Item, ...] = Field(description="The items taken, in input order.")
    value: float = Field(description="Sum of their values.")
    cost: float = Field(description="Sum of their costs; never above the budget.")

    @property
    def names(self) -> list[str]:
        """Names of the items taken, in input order."""
        return [item.name for item in self.items]


class _State(NamedTuple):
    cost: Fraction
    value: Fraction
    picks: tuple[int, ...]  # positions in the input, ascending


def solve_knapsack(items: Sequence[Item], budget: float) -> Selection:
    """The exact 0/1 knapsack: the set of highest total value whose total cost fits.

    It is exact for any finite float values and costs, with no cost
    resolution: sums are kept as :class:`fractions.Fraction`, so nothing is
    rounded. The method is the Nemhauser-Ullmann list dynamic programme: it
    adds items one at a time and keeps only the partial sets that no other
    partial set beats on both cost and value. Its work grows with the number
    of such undominated sets, which is small for component pools (tens of
    items); with integer costs it is at most ``budget + 1`` per step.

    Ties are broken deterministically: among sets of equal value the cheaper
    wins, then the one with fewer items, then the one whose positions in
    ``items`` come first (lexicographically smallest). Items of negative
    value are never taken.

    Args:
        items: The candidates.
        budget: The most the selection may cost (>= 0).

    Raises:
        ValueError: The budget is negative or not finite.

    Example:
        >>> chosen = solve_knapsack([Item(name="a", value=6, cost=3),
        ...                          Item(name="b", value=5, cost=2),
        ...                          Item(name="c", value=4, cost=2)], budget=4)
        >>> chosen.names, chosen.value
        (['b', 'c'], 9.0)
    """
    _finite(budget, "the budget")
    if budget < 0:
        raise ValueError(f"the budget must be >= 0, got {budget}")
    limit = Fraction(budget)
    states = [_State(Fraction(0), Fraction(0), ())]
    # Items are added last-to-first, so every later item has a smaller position than any
    # already picked: the tie-break on positions then decides between partial sets alone.
    for index in reversed(range(len(items))):
        cost, value = Fraction(items[index].cost), Fraction(items[index].value)
        grown = [
            _State(s.cost + cost, s.value + value, (index, *s.picks))
            for s in states
            if s.cost + cost <= limit
        ]
        states = _undominated([*states, *grown])
    best = min(states, key=lambda s: (-s.value, s.cost, len(s.picks), s.picks))
    return Selection(
        items=tuple(items[i] for i in best.picks), value=float(best.value), cost=float(best.cost)
    )


def _undominated(states: list[_State]) -> list[_State]:
    """The states that no cheaper-or-equal state matches in value, preferred ones kept."""
    states.sort(key=lambda s: (s.cost, -s.value, len(s.picks), s.picks))
    kept: list[_State] = []
    for state in states:
        if not kept or state.value > kept[-1].value:
            kept.append(state)
    return kept


# --- the online rule ----------------------------------------------------------------------


def zcl_threshold(z: float, lower: float, upper: float) -> float:
    """The ZCL admission threshold ``Psi(z) = (U*e/L)**z * L/e`` on value per unit cost.

    ``z`` is the share of the budget already spent. The threshold starts at
    ``L/e`` when nothing is spent and rises exponentially to ``U`` when the
    budget is full, so early items need only be reasonable while late ones
    must be excellent. With ``L`` and ``U`` the lowest and highest value per
    unit cost any item can have, admitting exactly the items that clear it is
    ``ln(U/L) + 1``-competitive against the best choice in hindsight.

    Args:
        z: Budget share spent, in [0, 1].
        lower: ``L``, a lower bound on value per unit cost (> 0).
        upper: ``U``, an upper bound on value per unit cost (>= ``lower``).

    Raises:
        ValueError: ``z`` is outside [0, 1] or the bounds are not ``0 < L <= U``.

    Example:
        >>> round(zcl_threshold(0.0, 1.0, 100.0), 4), zcl_threshold(1.0, 1.0, 100.0)
        (0.3679, 100.0)
    """
    if not 0.0 <= z <= 1.0:
        raise ValueError(f"z is the share of the budget spent and must be in [0, 1], got {z}")
    if not (0.0 < lower <= upper and math.isfinite(upper)):
        raise ValueError(f"need 0 < lower <= upper < inf, got lower={lower}, upper={upper}")
    if z == 1.0:
        return upper  # exactly, not up to rounding
    return (upper * math.e / lower) ** z * lower / math.e


def zcl_bounds(
    costs: Iterable[float], *, total_value: float, min_value: float = 1.0
) -> tuple[float, float]:
    """``(L, U)`` for :func:`zcl_threshold` from the items' costs.

    ``L = min_value / max(cost)``: the worst useful item adds ``min_value``
    at the highest cost. ``U = total_value / min(cost)``: the best item adds
    everything at the lowest cost. Free items are left out of ``U`` (any
    value is infinitely many per dollar; :func:`zcl_admits` takes them
    whenever they add value).

    Raises:
        ValueError: No item has a positive cost, or ``total_value < min_value``.
    """
    positive = [c for c in costs if c > 0]
    if not positive:
        raise ValueError("the ZCL bounds need at least one item with a positive cost")
    if not 0 < min_value <= total_value:
        raise ValueError(f"need 0 < min_value <= total_value, got {min_value}, {total_value}")
    return min_value / max(positive), total_value / min(positive)


def zcl_admits(
    value: float, cost: float, *, spent: float, budget: float, lower: float, upper: float
) -> bool:
    """Whether the online composer admits an item: it fits, and clears ``Psi(spent/budget)``.

    An item with no value is never admitted; a free item with value always
    is (if it fits, which it does). The budget is never exceeded.

    Example:
        >>> zcl_admits(3, 0.5, spent=0.0, budget=1.0, lower=1.0, upper=10.0)
        True
        >>> zcl_admits(3, 0.5, spent=0.6, budget=1.0, lower=1.0, upper=10.0)  # does not fit
        False
    """
    if value <= 0 or spent + cost > budget:
        return False
    if cost == 0:
        return True
    return value / cost >= zcl_threshold(min(1.0, spent / budget), lower, upper)


def label_record(record: EvalRecord, *, success: float = 0.5) -> Label:
    """A sandbox test's verdict: broken (failed, unparsable, empty), helpful (solved), or not."""
    if record.failed or record.answer is None or not record.answer.strip():
        return "broken"
    return "helpful" if record.score >= success else "not"
