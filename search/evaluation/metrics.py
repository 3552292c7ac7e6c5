"""Metrics: score a workflow's answer against a task's reference, in [0, 1].

Built in: :class:`NumericMatch` (with tolerance), :class:`ExactMatch`
(normalised) and :class:`TokenF1`; the benchmarks' metrics (final number,
choice letter, pass@1) are in :mod:`search.evaluation.benchmark_metrics`. Any callable
``fn(prediction, answer)`` (or ``fn(prediction, answer, task)``) returning a
number or bool in [0, 1] is a metric too; :func:`get_metric` wraps it. A
metric may also explain its scores (``explain``/``aexplain``, see
:mod:`search.evaluation.scoring`); the evaluator records the reason.

Example:
    >>> task = Task(id="t", question="What is 6 * 7?", answer="42")
    >>> NumericMatch()("42.0", task), ExactMatch()("The 42", task)
    (1.0, 1.0)
"""

from __future__ import annotations

import inspect
import math
import string
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from orchestrator.answers import normalize_answer, parse_number
from orchestrator.errors import RolegraphError
from search.errors import unknown_name
from search.evaluation.benchmark_metrics import BUILTIN_BENCHMARK_METRICS
from search.evaluation.datasets import Task
from search.evaluation.numbers import read_number

__all__ = [
    "Metric",
    "NumericMatch",
    "ExactMatch",
    "TokenF1",
    "FunctionMetric",
    "MetricError",
    "get_metric",
    "register_metric",
    "list_metrics",
]

_ARTICLES_SET = frozenset({"a", "an", "the"})


class MetricError(RolegraphError, ValueError):
    """A metric returned something that is not a score in [0, 1]."""


@runtime_checkable
class Metric(Protocol):
    """Scores one answer against one task.

    ``name`` identifies the metric and its settings; it is part of every
    evaluation's settings digest, so two metrics that score differently must
    have different names.
    """

    @property
    def name(self) -> str:
        """Identity of the metric and its settings."""
        ...

    def __call__(self, prediction: str | None, task: Task) -> float:
        """The score of ``prediction`` on ``task``, in [0, 1]."""
        ...


class NumericMatch:
    """1 when the answer states the reference number within tolerance, else 0.

    ``|prediction - answer| <= max(abs_tol, rel_tol * |answer|)``. The answer
    is read by :func:`~search.evaluation.numbers.read_number`: a bare number,
    a sentence's result (``17 + 25 = 42``) or a JSON reply's ``answer``. When
    the reference is not a number, it falls back to normalised exact match.
    """

    reads = ("json", "sentence")
    """Wrappings of an answer it reads: checked on the references before a search."""

    def __init__(self, *, abs_tol: float = 1e-6, rel_tol: float = 1e-9) -> None:
        """Set the tolerances."""
        if abs_tol < 0 or rel_tol < 0:
            raise ValueError("tolerances must be >= 0")
        self.abs_tol = abs_tol
        self.rel_tol = rel_tol

    @property
    def name(self) -> str:
        """``numeric_match`` with its tolerances."""
        return f"numeric_match(abs_tol={self.abs_tol:g},rel_tol={self.rel_tol:g})"

    def __call__(self, prediction: str | None, task: Task) -> float:
        """Score one answer."""
        if prediction is None:
            return 0.0
        reference = parse_number(task.answer)
        if reference is None:
            return float(normalize_answer(prediction) == normalize_answer(task.answer))
        value = read_number(prediction)
        if value is None:
            return 0.0
        return float(math.isclose(value, reference, rel_tol=self.rel_tol, abs_tol=self.abs_tol))

    def __repr__(self) -> str:
        return f"NumericMatch(abs_tol={self.abs_tol!r}, rel_tol={self.rel_tol!r})"


class ExactMatch:
    """1 when the normalised answers are equal, else 0.

    Case, punctuation, articles and spacing are ignored, and numbers compare by
    value (``"42.0"`` equals ``"42"``).
    """

    name = "exact_match"

    def __call__(self, prediction: str | None, task: Task) -> float:
        """Score one answer."""
        if prediction is None:
            return 0.0
        return float(normalize_answer(prediction) == normalize_answer(task.answer))

    def __repr__(self) -> str:
        return "ExactMatch()"


def _tokens(text: str) -> list[str]:
    tokens = []
    for raw in text.lower().split():
        word = raw.strip(string.punctuation.replace("$", "").replace("-", ""))
        if parse_number(word) is not None:
            tokens.append(normalize_answer(word))  # "42.0" and "42" are one token
            continue
        word = "".join(ch for ch in raw if ch not in string.punctuation)
        if word and word not in _ARTICLES_SET:
            tokens.append(word)
    return tokens


class TokenF1:
    """SQuAD-style token F1 between the normalised answer and reference."""

    name = "token_f1"

    def __call__(self, prediction: str | None, task: Task) -> float:
        """Score one answer."""
        if prediction is None:
            return 0.0
        predicted, reference = _tokens(prediction), _tokens(task.answer)
        if not predicted or not reference:
            return float(predicted == reference)
        overlap = sum((Counter(predicted) & Counter(reference)).values())
        if overlap == 0:
            return 0.0
        precision, recall = overlap / len(predicted), overlap / len(reference)
        return 2 * precision * recall / (precision + recall)

    def __repr__(self) -> str:
        return "TokenF1()"


_LANGSMITH_ARGS = frozenset({"inputs", "outputs", "reference_outputs", "run", "example"})


def _score_of(result: Any) -> Any:
    """The score of what a LangSmith evaluator returns (a value, a dict, a result object)."""
    if isinstance(result, Mapping):
        return result.get("score")
    return getattr(result, "score", result)


class FunctionMetric:
    """A user function as a metric.

    ``fn(prediction, answer)`` or ``fn(prediction, answer, task)`` must return a
    number or bool in [0, 1]; anything else raises :class:`MetricError`. A LangSmith
    evaluator, ``fn(inputs, outputs, reference_outputs)`` (any of those names), works
    too: ``inputs`` and ``reference_outputs`` are the example's (a LangSmith-style
    task's, else ``{"question": ...}`` and ``{"answer": ...}``), ``outputs`` is
    ``{"answer": prediction}``, and it may return a bool, a number, or a dict or
    result object with a ``score``.
    """

    def __init__(self, fn: Callable[..., Any], *, name: str | None = None) -> None:
        """Wrap ``fn``; ``name`` defaults to its qualified name."""
        self.fn = fn
        self._name = name or getattr(fn, "__qualname__", None) or type(fn).__name__
        try:
            parameters = inspect.signature(fn).parameters.values()
        except (TypeError, ValueError):
            parameters = None
        positional = (
            [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
            if parameters is not None
            else []
        )
        variadic = parameters is not None and any(p.kind == p.VAR_POSITIONAL for p in parameters)
        self._with_task = variadic or len(positional) >= 3
        names = {p.name for p in positional}
        self._langsmith = "outputs" in names and names <= _LANGSMITH_ARGS
        self._names = names

    @property
    def name(self) -> str:
        """The function's name (or the one given)."""
        return self._name

    def _langsmith_args(self, prediction: str | None, task: Task) -> dict[str, Any]:
        inputs = task.metadata.get("inputs")
        reference = task.metadata.get("outputs")
        given = {
            "inputs": dict(inputs) if isinstance(inputs, Mapping) else {"question": task.question},
            "outputs": {"answer": prediction},
            "reference_outputs": (
                dict(reference) if isinstance(reference, Mapping) else {"answer": task.answer}
            ),
            "run": None,
            "example": None,
        }
        return {name: given[name] for name in self._names}

    def __call__(self, prediction: str | None, task: Task) -> float:
        """Call the function and check its result."""
        if self._langsmith:
            raw = _score_of(self.fn(**self._langsmith_args(prediction, task)))
        elif self._with_task:
            raw = self.fn(prediction, task.answer, task)
        else:
            raw = self.fn(prediction, task.answer)
        if isinstance(raw, bool):
            return float(raw)
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise MetricError(
                f"metric {self.name!r} returned {raw!r} for task {task.id!r}; "
                "a metric must return a number or bool in [0, 1]"
            ) from None
        if not 0.0 <= value <= 1.0:
            raise MetricError(
                f"metric {self.name!r} returned {value} for task {task.id!r}; "
                "scores must lie in [0, 1]"
            )
        return value

    def __repr__(self) -> str:
        return f"FunctionMetric({self.name})"


_LOCK = threading.Lock()
_REGISTRY: dict[str, Callable[[], Metric]] = {}


def register_metric(name: str, factory: Callable[[], Metric], *, replace: bool = False) -> None:
    """Make a metric available by name (to :func:`get_metric`, ``create_search`` and the CLI).

    Args:
        name: The name to ask for, e.g. ``"bleu"``.
        factory: Builds a fresh metric with no arguments (a metric class, or a function).
        replace: Allow a name that is taken to be given to another factory.

    Raises:
        ValueError: An empty name, or a name that is taken (without ``replace``).
        TypeError: ``factory`` is not callable.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a metric's name must be a non-empty string, got {name!r}")
    if not callable(factory) or (isinstance(factory, Metric) and not isinstance(factory, type)):
        raise TypeError(
            f"register_metric({name!r}, ...) needs a factory that builds the metric (a class "
            f"or a function of no arguments), got {type(factory).__name__}; to register an "
            "instance, pass lambda: instance"
        )
    with _LOCK:
        known = _REGISTRY.get(name)
        if known is not None and known is not factory and not replace:
            raise ValueError(
                f"metric {name!r} is registered already (to {known!r}); pass replace=True "
                "to replace it, or choose another name"
            )
        _REGISTRY[name] = factory


def list_metrics() -> list[str]:
    """Names :func:`get_metric` accepts."""
    return sorted(_REGISTRY)


def get_metric(metric: Metric | str | Callable[..., Any]) -> Metric:
    """A metric from an instance, a registered name or a function.

    Names (:func:`list_metrics`): ``"numeric"``, ``"exact"``, ``"f1"``, the
    benchmarks' metrics ``"gsm8k"`` (final number), ``"mmlu"`` (choice letter) and
    ``"pass@1"`` (code run against tests in a sandbox; see
    :mod:`search.evaluation.benchmark_metrics`), and any name given to
    :func:`register_metric`.

    Raises:
        ValueError: The name is unknown; the message lists the known names.
    """
    if isinstance(metric, str):
        factory = _REGISTRY.get(metric)
        if factory is None:
            raise ValueError(unknown_name("metric", metric, _REGISTRY) + "; or pass a function")
        return factory()
    if isinstance(metric, NumericMatch | ExactMatch | TokenF1 | FunctionMetric):
        return metric
    if isinstance(metric, Metric) and not inspect.isfunction(metric):
        return metric
    if callable(metric):
        return FunctionMetric(metric)
    raise TypeError(f"expected a metric, a metric name or a function, got {type(metric).__name__}")


_BUILTIN: dict[str, Callable[[], Metric]] = {
    "numeric": NumericMatch,
    "numeric_match": NumericMatch,
    "exact": ExactMatch,
    "exact_match": ExactMatch,
    "f1": TokenF1,
    "token_f1": TokenF1,
    **BUILTIN_BENCHMARK_METRICS,
}
for _name, _factory in _BUILTIN.items():
    register_metric(_name, _factory)
