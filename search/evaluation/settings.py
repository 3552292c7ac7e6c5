"""How evaluations run: concurrency, timeouts, retries, repetitions; small frozen records.

Like LangGraph's ``RetryPolicy``, each record groups settings that travel
together and documents each field. Plain keyword arguments of
:class:`~search.evaluation.Evaluator` and :func:`~search.create_search` cover the
common cases and override the records' fields.

Example:
    >>> EvalSettings(max_concurrency=32).retry.max_retries
    3
    >>> EvalSettings(call_timeout=0)
    Traceback (most recent call last):
    ...
    search.errors.SettingsError: call_timeout: Input should be greater than 0 (got 0)
"""

from __future__ import annotations

from types import UnionType
from typing import Any, Literal, Self, TypedDict, get_args

from langgraph.types import RetryPolicy
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from orchestrator.runtime import is_transient
from search.errors import SettingsError, unknown_name

__all__ = [
    "Settings",
    "RetrySettings",
    "EvalSettings",
    "EvalOptions",
    "option_fields",
    "options_source",
    "settings_from",
]


def _problems(cls: type[BaseModel], exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or cls.__name__
        message = error["msg"]
        if message.startswith("Value error, "):  # a nested record's own message
            problems.append(f"{where}.{message.removeprefix('Value error, ')}")
        else:
            got = f" (got {error['input']!r})" if error["loc"] else ""
            problems.append(f"{where}: {message}{got}")
    return "; ".join(problems)


class Settings(BaseModel):
    """Base of the settings records: frozen, strict, and named errors for bad values."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    def __init__(self, **data: Any) -> None:
        """Validate; a bad value raises :class:`SettingsError` naming the setting."""
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise SettingsError(_problems(type(self), exc)) from None

    def replace(self, **overrides: Any) -> Self:
        """A copy with the given fields changed, validated again."""
        if not overrides:
            return self
        return type(self)(**{**self.model_dump(), **overrides})


class RetrySettings(Settings):
    """Retries of a node after a transient failure (rate limit, timeout, 5xx)."""

    max_retries: int = Field(default=3, ge=0, le=20, description="Retries after the first try.")
    backoff: float = Field(
        default=0.5, gt=0, le=600, description="Seconds before the first retry; doubles each time."
    )
    max_backoff: float = Field(
        default=30.0, gt=0, le=3600, description="Longest wait between retries."
    )
    jitter: bool = Field(
        default=True,
        description="Add a random delay to each wait, so clients that failed together do not "
        "retry together.",
    )

    def policy(self) -> RetryPolicy:
        """The LangGraph node retry policy these settings describe."""
        return RetryPolicy(
            initial_interval=self.backoff,
            backoff_factor=2.0,
            max_interval=self.max_backoff,
            max_attempts=self.max_retries + 1,
            jitter=self.jitter,
            retry_on=is_transient,
        )


class EvalSettings(Settings):
    """How an evaluator runs workflows on tasks."""

    max_concurrency: int = Field(
        default=16, ge=1, le=100_000, description="Most evaluations running at once."
    )
    call_timeout: float | None = Field(
        default=60.0,
        gt=0,
        le=86_400,
        description="Seconds allowed per model call; a call that hangs longer fails with a "
        "timeout and is retried. None waits forever.",
    )
    repetitions: int = Field(
        default=1,
        ge=1,
        le=10_000,
        description="Seeds per task for workflows that sample (an agent with temperature > 0).",
    )
    seed: int = Field(default=0, ge=0, description="First seed; repetitions count up from it.")
    max_errors: int | None = Field(
        default=None, ge=1, description="Stop starting evaluations once this many have failed."
    )
    failure_score: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Score given to a failed evaluation."
    )
    confidence: float = Field(
        default=0.95, gt=0.0, lt=1.0, description="Coverage of the reported intervals."
    )
    record_prompts: bool = Field(
        default=False,
        description="Keep prompts in stored traces (the LLM-call cache has them anyway).",
    )
    cache_calls: bool = Field(
        default=True, description="Route model calls through the store's LLM-call cache."
    )
    show_progress: bool = Field(default=False, description="Show a progress bar on stderr.")
    tune_gc: bool = Field(
        default=True,
        description="Run the garbage collector less often while evaluating (restored after).",
    )
    retry: RetrySettings = Field(
        default_factory=RetrySettings,
        strict=False,  # a plain mapping (from a config file) is accepted and validated
        description="Retries of transient failures.",
    )
    executor: Literal["local", "ray"] = Field(
        default="local",
        description="Where workflows run: 'local' (this process, on asyncio) or 'ray' (Ray "
        "workers; the store, the budget ledger and the call cache stay here). Needs "
        "pip install 'rolegraph[ray]'.",
    )
    ray_address: str | None = Field(
        default=None,
        description="The Ray cluster to join ('auto', 'ray://head:10001'); None joins the "
        "one this process already started, or starts a local one.",
    )
    ray_workers: int | None = Field(
        default=None,
        ge=1,
        le=100_000,
        description="Ray worker actors; None: as many as the cluster's CPUs (or GPUs, or "
        "custom resources) allow at ray_num_cpus / ray_num_gpus / ray_resources each.",
    )
    ray_num_cpus: float = Field(
        default=1.0, ge=0, description="CPUs each Ray worker reserves (Ray's num_cpus)."
    )
    ray_num_gpus: float = Field(
        default=0.0,
        ge=0,
        description="GPUs each Ray worker reserves (Ray's num_gpus), e.g. 1 for a worker that "
        "serves a local model on its node's GPU.",
    )
    ray_resources: dict[str, float] = Field(
        default_factory=dict,
        strict=False,
        description="Custom Ray resources each worker needs, e.g. {'llm_server': 1}.",
    )
    ray_max_retries: int = Field(
        default=3,
        ge=0,
        le=100,
        description="Times Ray runs an evaluation again on a restarted worker after the "
        "worker process died.",
    )
    ray_setup: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$",
        description="'module:function' each Ray worker calls once before evaluating: register "
        "the custom roles, tools, simulated profiles or prices your specs use there.",
    )


# What Evaluator takes as plain keywords: every field of EvalSettings but the nested
# record and the executor (a keyword of its own), and every field of RetrySettings.
_NOT_OPTIONS = frozenset({"retry", "executor"})


def option_fields() -> dict[str, Any]:
    """The plain keyword options and their types, derived from the two records' fields."""
    fields = {
        name: info.annotation
        for name, info in EvalSettings.model_fields.items()
        if name not in _NOT_OPTIONS
    }
    retry = {name: info.annotation for name, info in RetrySettings.model_fields.items()}
    return {**fields, **retry}


def _spelled(annotation: Any) -> str:
    """A type as source text: ``float | None``, ``dict[str, float]``."""
    if annotation is type(None):
        return "None"
    if isinstance(annotation, type) and not get_args(annotation):
        return annotation.__name__
    if isinstance(annotation, UnionType):
        return " | ".join(_spelled(arg) for arg in get_args(annotation))
    return str(annotation).replace("typing.", "")


def options_source() -> str:
    """The source of :class:`EvalOptions` as derived from the records (see its docstring)."""
    lines = [f"    {name}: {_spelled(kind)}" for name, kind in option_fields().items()]
    return "\n".join(lines)


# --- generated by options_source(); tests/search/evaluation/test_settings.py checks it ---
class EvalOptions(TypedDict, total=False):
    """Plain keyword overrides of :class:`EvalSettings` and :class:`RetrySettings` fields.

    Type checkers need this class written out, so it is generated from the two records
    (:func:`options_source`) and a test fails, printing the new body, when a field of
    either record changes: add a setting there, never here.
    """

    max_concurrency: int
    call_timeout: float | None
    repetitions: int
    seed: int
    max_errors: int | None
    failure_score: float
    confidence: float
    record_prompts: bool
    cache_calls: bool
    show_progress: bool
    tune_gc: bool
    ray_address: str | None
    ray_workers: int | None
    ray_num_cpus: float
    ray_num_gpus: float
    ray_resources: dict[str, float]
    ray_max_retries: int
    ray_setup: str | None
    max_retries: int
    backoff: float
    max_backoff: float
    jitter: bool


# --- end of generated code ---


def settings_from(settings: EvalSettings | None, **overrides: Any) -> EvalSettings:
    """``settings`` (or the defaults) with plain keyword overrides applied.

    Overrides named after :class:`RetrySettings` fields go to ``retry``.

    Raises:
        SettingsError: An override is out of range or names no setting.
    """
    base = settings or EvalSettings()
    retry_fields = set(RetrySettings.model_fields)
    known = retry_fields | set(EvalSettings.model_fields) - {"retry"}
    unknown = [unknown_name("evaluation setting", k, known) for k in overrides if k not in known]
    if unknown:
        raise SettingsError("; ".join(unknown))
    retry = base.retry.replace(**{k: v for k, v in overrides.items() if k in retry_fields})
    rest = {k: v for k, v in overrides.items() if k not in retry_fields}
    if retry is not base.retry:
        rest["retry"] = retry
    return base.replace(**rest)
