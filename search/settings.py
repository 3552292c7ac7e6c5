"""Settings of a search, as small frozen records (evaluation settings live beside the evaluator).

Example:
    >>> SearchSettings(test_size=0.25).parallel
    4
"""

from __future__ import annotations

from pydantic import Field

from search.evaluation.settings import EvalSettings, RetrySettings, Settings

__all__ = ["SearchSettings", "EvalSettings", "RetrySettings"]


class SearchSettings(Settings):
    """How a search splits its data, spends its evaluations and finishes."""

    test_size: float = Field(
        default=0.3, gt=0.0, lt=1.0, description="Share of the dataset held out for the test."
    )
    test_share: float = Field(
        default=0.2, ge=0.0, lt=1.0, description="Share of each budget limit kept for the test."
    )
    split_seed: int | None = Field(
        default=None, description="Seed of the search/test split; None follows the search seed."
    )
    parallel: int = Field(default=4, ge=1, le=1024, description="Proposals evaluated at once.")
    max_evaluations: int | None = Field(
        default=None,
        ge=1,
        description="Most workflow x task evaluations the search may ask for, stored ones "
        "included; never exceeded.",
    )
    finalists: int = Field(
        default=3,
        ge=0,
        le=100,
        description="Partly-evaluated candidates completed at the end, when promising.",
    )
    isolated: bool = Field(
        default=True,
        description="Judge candidates only on what this run asked for, not on results other "
        "searches left in the store (those are still served free), so a rerun decides as "
        "the first run did. False lets every stored result on the search tasks count.",
    )
    deterministic: bool = Field(
        default=True,
        description="Evaluate proposals in rounds and tell them in the order asked, so a run "
        "(and a resumed run) depends on the seed and the results, not on timing. False "
        "tells each proposal as it finishes: a little faster, not repeatable.",
    )
