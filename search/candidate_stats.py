"""One candidate's identity and statistics, as a search reports and certifies them."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from search.evaluation.stats import Scored

__all__ = ["CandidateStats"]


class CandidateStats(Scored):
    """One candidate's identity and its :class:`ScoreSummary` on the search tasks it has seen."""

    model_config = ConfigDict(frozen=True)

    workflow: str = Field(description="Content hash of its spec.")
    label: str = Field(description="Short description, e.g. 'self_refine(rounds=2, ...)'.")
    topology: str | None = Field(default=None, description="Registered topology, if any.")
    params: dict[str, Any] = Field(default_factory=dict, description="Its parameters.")
    origin: str = Field(default="", description="What proposed it.")
    complete: bool = Field(description="Whether it was evaluated on every search task.")
    pruned: bool = Field(default=False, description="Stopped early by a pruner or a race.")
    value: float = Field(description="The objective's value (higher is better).")
    baseline: str | None = Field(
        default=None,
        description="'single' or 'self-consistency' when it is one of the baselines every "
        "search runs (search.baselines).",
    )
