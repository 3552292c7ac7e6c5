"""Why a search, or one proposal's evaluation, stopped: a :class:`StopReason` and a detail.

The runner decides on the reason (does it end the search?); people read the
text, ``str(stop)``, which keeps the sentences searches have always printed
and saved, e.g. ``"budget: dollars limit reached"`` or ``"strategy finished:
3 trials done (n_trials)"``.
"""

from __future__ import annotations

import enum

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["StopReason", "Stop"]

_FINALISTS = "; finalists stopped by "


class StopReason(enum.StrEnum):
    """Why evaluating stopped; the value is how its text begins."""

    COMPLETED = "completed"
    """Every task asked for was evaluated."""
    PRUNED = "pruned"
    """The strategy stopped the proposal early."""
    BUDGET = "budget"
    """The budget (dollars, tokens, calls or evaluations) ran out."""
    MAX_EVALUATIONS = "max_evaluations"
    """The search's cap on evaluations asked for was reached."""
    MAX_ERRORS = "max_errors"
    """Too many evaluations failed."""
    CANCELLED = "stopped by the caller"
    """Whoever was reading the results stopped them."""
    STRATEGY_FINISHED = "strategy finished"
    """The strategy had nothing more to propose."""
    ECONOMIC = "economic"
    """No candidate left could repay its evaluation at the expected query volume."""
    OTHER = "stopped"
    """A sentence naming none of the above (an executor's own); the detail holds it whole."""

    @property
    def ends_search(self) -> bool:
        """Whether a proposal stopped for this reason ends the whole search."""
        return self in (StopReason.BUDGET, StopReason.MAX_EVALUATIONS)


class Stop(BaseModel):
    """A stop reason with its detail, and what stopped the finalists after it, if anything.

    Example:
        >>> str(Stop(reason=StopReason.MAX_EVALUATIONS, detail="120 reached"))
        'max_evaluations: 120 reached'
    """

    model_config = ConfigDict(frozen=True)

    reason: StopReason = Field(description="Why it stopped.")
    detail: str = Field(default="", description="More, in words (e.g. which limit).")
    finalists: Stop | None = Field(
        default=None, description="What stopped completing the finalists afterwards."
    )

    def __str__(self) -> str:
        """The sentence printed and saved with a result."""
        text = f"{self.reason.value}: {self.detail}" if self.detail else self.reason.value
        if self.reason is StopReason.OTHER:
            text = self.detail or self.reason.value
        if self.finalists is not None:
            text = f"{text}{_FINALISTS}{self.finalists}"
        return text

    @property
    def ends_search(self) -> bool:
        """Whether this stop ends the whole search (see :attr:`StopReason.ends_search`)."""
        return self.reason.ends_search

    @classmethod
    def from_text(cls, text: str | None) -> Stop:
        """Read a stop sentence, as the evaluator and the budget ledger give it.

        ``None`` means it completed. A sentence that names no known reason is
        kept whole as the detail of :attr:`StopReason.OTHER`.
        """
        if text is None:
            return cls(reason=StopReason.COMPLETED)
        text, _, cut = text.partition(_FINALISTS)
        if cut:
            return cls.from_text(text).model_copy(update={"finalists": cls.from_text(cut)})
        head, sep, detail = text.partition(":")
        for reason in StopReason:
            if reason is StopReason.OTHER:
                continue
            if text == reason.value or (sep and head == reason.value):
                return cls(reason=reason, detail=detail.strip())
        return cls(reason=StopReason.OTHER, detail=text)
