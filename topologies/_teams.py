"""Model arguments of builders: one model for a slot, one or several for a team."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

from langchain_core.language_models import BaseChatModel

from topologies.params import SpaceError

__all__ = ["ModelLike", "TeamLike", "expand_team"]

ModelLike: TypeAlias = str | BaseChatModel
"""What ``Workflow.add_agent(model=...)`` accepts: a ``"provider:model"`` string or an instance."""

TeamLike: TypeAlias = str | BaseChatModel | Sequence[str | BaseChatModel]
"""One model for every member of a team, or one model per member (a heterogeneous team)."""


def expand_team(models: TeamLike, n: int, *, name: str = "models") -> list[ModelLike]:
    """One model per member: a single model is repeated, a list must have ``n`` entries.

    Raises:
        SpaceError: The list has the wrong length.
    """
    if isinstance(models, str | BaseChatModel):
        return [models] * n
    members = list(models)
    if len(members) != n:
        raise SpaceError(f"{name} lists {len(members)} models for {n} agents")
    return members
