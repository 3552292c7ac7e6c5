"""A router as data: its arms, fitted policy, features and cost cap."""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from search.routing.records import Arm
from search.routing.selection import CrossValidation

__all__ = ["RouterConfig"]


class RouterConfig(BaseModel):
    """Everything that makes a router, as data: arms, fitted policy, features, cap."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="The router's name.")
    search: str = Field(default="", description="The search it was built from.")
    dataset: str = Field(default="", description="The dataset of that search.")
    arms: tuple[Arm, ...] = Field(min_length=1, description="The workflows it routes among.")
    policy: dict[str, Any] = Field(description="The fitted policy's state.")
    options: dict[str, Any] = Field(default_factory=dict, description="The policy's options.")
    features: str = Field(default="text", description="Features by name ('text' is portable).")
    cost_cap: float | None = Field(
        default=None, gt=0, description="Hard dollars per request, by worst-case estimate."
    )
    deadline: float | None = Field(
        default=None, gt=0, description="Seconds per request, by the arms' stored run times."
    )
    cross_validation: CrossValidation | None = Field(
        default=None, description="How the policy was chosen, when 'auto'."
    )
    trained_on: int = Field(default=0, description="Search-split tasks it was trained on.")

    @property
    def id(self) -> str:
        """Content digest: decisions and feedback are kept under it."""
        payload = self.model_dump_json(exclude={"cross_validation", "name"})
        return hashlib.sha256(payload.encode()).hexdigest()[:16]
