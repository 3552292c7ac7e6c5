"""Knapsack composition: the exact 0/1 solver, the online ZCL rule, and the strategy."""

from search.strategies.knapsack.solver import (
    Item,
    Label,
    Selection,
    label_record,
    solve_knapsack,
    zcl_admits,
    zcl_bounds,
    zcl_threshold,
)
from search.strategies.knapsack.strategy import ComponentReport, KnapsackStrategy

__all__ = [
    "KnapsackStrategy",
    "ComponentReport",
    "Item",
    "Label",
    "Selection",
    "solve_knapsack",
    "zcl_threshold",
    "zcl_bounds",
    "zcl_admits",
    "label_record",
]
