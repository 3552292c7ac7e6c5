"""The records the store keeps: evaluations, their keys, searches, trials and cost profiles."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.trace import NodeTrace, Usage

__all__ = [
    "EvalKey",
    "EvalRecord",
    "CostProfile",
    "SearchRecord",
    "TrialRecord",
    "TrialState",
]

TrialState = Literal["waiting", "running", "complete", "pruned", "fail"]


def now() -> str:
    """The current UTC time, ISO 8601 with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def dumps(value: Any) -> str:
    """Canonical JSON text (sorted keys) of ``value``."""
    return json.dumps(value, sort_keys=True, default=str)


class EvalKey(NamedTuple):
    """What identifies one evaluation; equal keys give equal results."""

    workflow: str
    """Content hash of the workflow spec."""
    dataset: str
    """Dataset name."""
    task_id: str
    """Task id within the dataset."""
    seed: int
    """Sampling seed of the run."""
    settings: str
    """Digest of everything else that changes the result (see ``EvalRecord.settings``)."""


class EvalRecord(BaseModel):
    """The result of running one workflow on one task with one seed."""

    model_config = ConfigDict(frozen=True)

    workflow: str = Field(description="Content hash of the workflow spec.")
    dataset: str = Field(description="Dataset name.")
    task_id: str = Field(description="Task id within the dataset.")
    seed: int = Field(default=0, description="Sampling seed of the run.")
    settings: str = Field(
        description="Digest of the evaluation settings (``config``) and the task's content "
        "(``task_digest``); part of the key, so an edited task or prompt is never served "
        "a stale result."
    )
    config: str = Field(
        default="",
        description="Digest of the settings shared by every task: role prompt fingerprints, "
        "model identities and the metric.",
    )
    task_digest: str = Field(default="", description="Digest of the task's question and answer.")
    metric: str = Field(default="", description="Name of the metric that scored it.")
    score: float = Field(description="Metric score in [0, 1]; the failure score if it failed.")
    answer: str | None = Field(default=None, description="The workflow's answer.")
    expected: str | None = Field(default=None, description="The task's reference answer.")
    failed: bool = Field(default=False, description="Whether the run failed or gave no answer.")
    error: str | None = Field(default=None, description="Why it failed: type and message.")
    error_type: str | None = Field(default=None, description="Exception class name, if any.")
    transient: bool = Field(
        default=False,
        description="Whether the failure was transient (rate limit, timeout, 5xx); "
        "transient failures are evaluated again instead of being served from the store.",
    )
    usage: Usage = Field(default_factory=Usage, description="Tokens of every model call.")
    cost: float = Field(default=0.0, description="List-price dollars of every model call.")
    charged: float = Field(default=0.0, description="Dollars actually spent (cache misses).")
    calls: int = Field(default=0, description="Model calls, cached ones included.")
    cached_calls: int = Field(default=0, description="Model calls answered by the LLM cache.")
    latency_s: float = Field(default=0.0, description="Wall-clock seconds of the run.")
    trace: tuple[NodeTrace, ...] = Field(default=(), description="Every agent run, in order.")
    created_at: str = Field(default_factory=now, description="When it finished (ISO 8601).")
    owner: str = Field(
        default="",
        description="Who ran and paid for it (a search's ``search:NAME``); '' when not known, "
        "as in stores written before it was recorded.",
    )
    cached: bool = Field(
        default=False,
        description="True when this record was read from the store instead of evaluated now; "
        "not stored.",
    )

    @property
    def key(self) -> EvalKey:
        """The record's key."""
        return EvalKey(self.workflow, self.dataset, self.task_id, self.seed, self.settings)

    @property
    def tokens(self) -> int:
        """Tokens of every model call."""
        return self.usage.total_tokens


class CostProfile(BaseModel):
    """What one evaluation of a workflow has been seen to use; drives budget estimates."""

    model_config = ConfigDict(frozen=True)

    n: int = Field(description="Completed evaluations observed.")
    mean_cost: float = Field(description="Mean list-price dollars per evaluation.")
    max_cost: float = Field(description="Largest list-price dollars of one evaluation.")
    max_tokens: int = Field(description="Most tokens used by one evaluation.")
    max_calls: int = Field(description="Most model calls made by one evaluation.")


class SearchRecord(BaseModel):
    """One search: its strategy, configuration, state, spend and result."""

    model_config = ConfigDict(frozen=True)

    id: int = Field(description="Row id.")
    name: str = Field(description="Unique name.")
    strategy: str = Field(description="Search strategy, e.g. 'tpe' or 'mcts'.")
    config: dict[str, Any] = Field(default_factory=dict, description="Strategy settings.")
    status: str = Field(default="running", description="'running', 'complete', 'stopped', ...")
    stop_reason: str | None = Field(default=None, description="Why it stopped, if it did.")
    spend: dict[str, Any] = Field(default_factory=dict, description="What it spent so far.")
    result: dict[str, Any] | None = Field(default=None, description="Final result, if any.")
    created_at: str = Field(description="When it was created (ISO 8601).")
    updated_at: str = Field(description="When it last changed (ISO 8601).")


class TrialRecord(BaseModel):
    """One trial of a search: a candidate workflow and what it scored."""

    model_config = ConfigDict(frozen=True)

    search_id: int = Field(description="The search it belongs to.")
    number: int = Field(description="0-based trial number within the search.")
    workflow: str | None = Field(default=None, description="Content hash of its workflow.")
    params: dict[str, Any] = Field(default_factory=dict, description="Sampled parameters.")
    values: list[float] | None = Field(default=None, description="Objective values, if done.")
    state: TrialState = Field(default="running", description="Trial state (Optuna's names).")
    user_attrs: dict[str, Any] = Field(default_factory=dict, description="Free-form attributes.")
    created_at: str = Field(description="When it was created (ISO 8601).")
    updated_at: str = Field(description="When it last changed (ISO 8601).")
