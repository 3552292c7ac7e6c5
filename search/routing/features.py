"""What a router knows about a query: cheap text features, a user function, or embeddings.

Every feature is a function of the question text alone: the router never sees an answer,
a gold label or a task's metadata at decision time.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "Features",
    "TextFeatures",
    "FunctionFeatures",
    "EmbeddingFeatures",
    "FeatureSpec",
    "as_features",
    "infer_kind",
    "question_text",
]

_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_OPERATOR = re.compile(r"[+\-*/=%^\u00d7\u00f7]")
_CHOICE = re.compile(r"(?m)^\s*\(?[A-Ha-h][).:]\s")
_CODE = re.compile(r"```|\bdef |\breturn\b|\bfunction\b|[{};]\s*$", re.MULTILINE)
_SENTENCE = re.compile(r"[.!?](?:\s|$)")

FeatureSpec = Any
"""What :func:`as_features` accepts: ``"text"``, a :class:`Features`, a function of the
question returning numbers, or a LangChain ``Embeddings`` instance."""


def question_text(query: object) -> str:
    """The question of ``query``, refusing anything that could carry an answer.

    Raises:
        TypeError: ``query`` is not a string (a Task, a mapping with an answer, ...).
    """
    if isinstance(query, str):
        return query
    raise TypeError(
        f"a router decides from the question text only, got {type(query).__name__}; "
        "pass task.question, never the task (its answer must not reach the router)"
    )


def infer_kind(question: str) -> str:
    """The task kind a question looks like: ``multiple_choice``, ``code`` or ``short_answer``."""
    if len(_CHOICE.findall(question)) >= 2:
        return "multiple_choice"
    if _CODE.search(question):
        return "code"
    return "short_answer"


class Features(ABC):
    """Maps a question to a fixed-length vector of floats."""

    name: str = "features"

    @property
    @abstractmethod
    def names(self) -> tuple[str, ...]:
        """One name per dimension."""

    @abstractmethod
    def vector(self, question: str) -> list[float]:
        """The features of one question."""

    def matrix(self, questions: Sequence[str]) -> np.ndarray:
        """Features of many questions, one row each."""
        rows = [self.vector(question_text(q)) for q in questions]
        return np.asarray(rows, dtype=float).reshape(len(rows), len(self.names))

    @property
    def portable(self) -> bool:
        """Whether an exported router can rebuild these features from their name."""
        return False


class TextFeatures(Features):
    """Length, numbers, operators, the kind the text looks like and a few structural cues."""

    name = "text"

    @property
    def names(self) -> tuple[str, ...]:
        """Feature names."""
        return (
            "log_chars",
            "log_words",
            "numbers",
            "log_digits",
            "operators",
            "sentences",
            "lines",
            "kind_multiple_choice",
            "kind_code",
            "question_mark",
        )

    def vector(self, question: str) -> list[float]:
        """The features of one question."""
        numbers = _NUMBER.findall(question)
        kind = infer_kind(question)
        return [
            math.log1p(len(question)),
            math.log1p(len(question.split())),
            float(len(numbers)),
            math.log1p(sum(len(n) for n in numbers)),
            float(len(_OPERATOR.findall(question))),
            float(len(_SENTENCE.findall(question))),
            float(question.count("\n") + 1),
            float(kind == "multiple_choice"),
            float(kind == "code"),
            float("?" in question),
        ]

    @property
    def portable(self) -> bool:
        """Text features are rebuilt by name."""
        return True


class FunctionFeatures(Features):
    """A user's function of the question text returning a sequence of numbers."""

    name = "function"

    def __init__(self, function: Callable[[str], Sequence[float]], *, size: int) -> None:
        """Wrap ``function``; ``size`` is how many numbers it returns."""
        self.function = function
        self.size = size

    @property
    def names(self) -> tuple[str, ...]:
        """``f0``, ``f1``, ..."""
        return tuple(f"f{i}" for i in range(self.size))

    def vector(self, question: str) -> list[float]:
        """The function's numbers, checked for length."""
        values = [float(v) for v in self.function(question)]
        if len(values) != self.size:
            raise ValueError(
                f"the feature function returned {len(values)} values, not {self.size}"
            )
        return values


class EmbeddingFeatures(Features):
    """A LangChain ``Embeddings`` instance's vector of the question (any provider package)."""

    name = "embedding"

    def __init__(self, embeddings: Any) -> None:
        """Wrap an ``Embeddings`` instance; its dimension is read from one probe."""
        from langchain_core.embeddings import Embeddings  # lazy: only routers that embed

        if not isinstance(embeddings, Embeddings):
            raise TypeError(f"expected a LangChain Embeddings, got {type(embeddings).__name__}")
        self.embeddings = embeddings
        self.size = len(embeddings.embed_query("probe"))

    @property
    def names(self) -> tuple[str, ...]:
        """``e0``, ``e1``, ..."""
        return tuple(f"e{i}" for i in range(self.size))

    def vector(self, question: str) -> list[float]:
        """The question's embedding."""
        return [float(v) for v in self.embeddings.embed_query(question)]

    def matrix(self, questions: Sequence[str]) -> np.ndarray:
        """Embeds many questions in one call."""
        texts = [question_text(q) for q in questions]
        rows = self.embeddings.embed_documents(texts) if texts else []
        return np.asarray(rows, dtype=float).reshape(len(texts), self.size)


def as_features(spec: FeatureSpec = None, *, probe: str = "What is 2 + 3?") -> Features:
    """A :class:`Features` from ``"text"``/``None``, a Features, a function or an Embeddings."""
    if spec is None or spec == "text":
        return TextFeatures()
    if isinstance(spec, Features):
        return spec
    if hasattr(spec, "embed_query") and hasattr(spec, "embed_documents"):
        return EmbeddingFeatures(spec)
    if callable(spec):
        return FunctionFeatures(spec, size=len(list(spec(probe))))
    raise TypeError(
        "features: give 'text', a Features, a function of the question, or an Embeddings"
    )
