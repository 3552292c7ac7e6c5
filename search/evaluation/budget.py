"""Budgets for evaluations: the core's hard-budget ledger, and what one evaluation may cost.

The ledger itself lives in the core (:mod:`orchestrator.budget`): every model
call holds its worst case before it starts, and every evaluation is admitted
on the worst case of its run (:func:`orchestrator.estimate.worst_case_run`),
computed from the same numbers. This module adds the evaluation-level
estimate as a record, for reports and the CLI's ``estimate``.

Example:
    >>> ledger = BudgetLedger(Budget(dollars=0.50, evaluations=200))
    >>> ledger.remaining.dollars
    0.5
"""

from __future__ import annotations

from collections.abc import Mapping

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, ConfigDict, Field

from orchestrator.budget import (
    Amount,
    Budget,
    BudgetError,
    BudgetLedger,
    BudgetPool,
    Group,
    MemoryPool,
    Spend,
    get_ledger,
)
from orchestrator.estimate import worst_case_run
from orchestrator.pricing import PriceTable
from orchestrator.spec import WorkflowSpec

__all__ = [
    "Budget",
    "Spend",
    "Amount",
    "Estimate",
    "BudgetLedger",
    "BudgetPool",
    "MemoryPool",
    "BudgetError",
    "Group",
    "get_ledger",
    "estimate_evaluation",
    "split_budget",
]


class Estimate(BaseModel):
    """The worst case one evaluation may use, if every model honours its output cap."""

    model_config = ConfigDict(frozen=True)

    dollars: float = Field(default=0.0, ge=0, description="Worst-case dollars.")
    tokens: int = Field(default=0, ge=0, description="Worst-case tokens.")
    calls: int = Field(default=0, ge=0, description="Worst-case model calls.")

    @property
    def amount(self) -> Amount:
        """As a ledger amount."""
        return Amount(self.dollars, self.tokens, self.calls, 0)


def estimate_evaluation(
    spec: WorkflowSpec,
    *,
    question: str = "",
    prices: PriceTable | None = None,
    models: Mapping[str, BaseChatModel] | None = None,
) -> Estimate:
    """The worst case one evaluation of ``spec`` on ``question`` may use.

    Every model-calling agent, run as often as its loops and tool rounds allow,
    with its prompt templates, the question and its predecessors' replies at
    their caps as input, and its output cap as output: the numbers its calls
    hold at run time.
    """
    amount = worst_case_run(spec, question=question, models=models, prices=prices)
    return Estimate(dollars=amount.dollars, tokens=amount.tokens, calls=amount.calls)


def split_budget(budget: Budget | None, share: float) -> tuple[Budget | None, Budget | None]:
    """Divide each limit into a search part and a held-out-test part (``share`` of it)."""
    if budget is None:
        return None, None
    search: dict[str, float | int] = {}
    test: dict[str, float | int] = {}
    for name, limit in budget.model_dump().items():
        if limit is None:
            continue
        reserved = limit * share
        if isinstance(limit, int):
            reserved = int(reserved)
        search[name] = limit - reserved
        test[name] = reserved
    return Budget.model_validate(search), Budget.model_validate(test)
