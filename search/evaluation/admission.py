"""Admission: an evaluation starts only when the worst case of its run fits the budget."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping

from langchain_core.language_models import BaseChatModel

from orchestrator.budget import Amount, BudgetLedger, Group
from orchestrator.errors import BudgetExhaustedError
from orchestrator.pricing import PriceTable
from search.evaluation.streams import StreamState

__all__ = ["Admission"]

POLL_S = 0.01
"""Seconds between tries of an evaluation that waits for room in the budget."""


class Admission:
    """Admits a stream's evaluations on its target's worst case, scaled by overruns."""

    def __init__(
        self,
        ledger: BudgetLedger,
        *,
        models: Mapping[str, BaseChatModel],
        prices: PriceTable | None,
    ) -> None:
        """Admit on ``ledger``."""
        self.ledger = ledger
        self.models = models
        self.prices = prices

    def estimate(self, state: StreamState) -> Amount:
        """What one evaluation of the stream is admitted with (its longest question)."""
        if not self.ledger.budget.limited:
            return Amount()
        if state.estimate is None:
            longest = max((item.task.question for item in state.items), key=len, default="")
            state.estimate = state.target.worst_case(
                question=longest, models=self.models or None, prices=self.prices
            )
        # A model that overran its holds has them scaled up; so has what its runs reserve.
        scale = max((self.ledger.scale(ref) for ref in state.target.models), default=1.0)
        if scale == 1.0:
            return state.estimate
        worst = state.estimate
        return Amount(worst.dollars * scale, math.ceil(worst.tokens * scale), worst.calls, 0)

    async def admit(self, state: StreamState) -> Group | None:
        """The evaluation's reservation, once it fits; ``None`` once the stream stopped."""
        while True:
            try:
                group = self.ledger.admit(self.estimate(state))
            except BudgetExhaustedError:
                state.stop(self.ledger.stop_reason or "budget: exhausted")
                return None
            if group is not None:
                return group
            # It fits once running evaluations have spent less than their estimates.
            await asyncio.sleep(POLL_S)
            if state.stop_reason is not None:
                return None
