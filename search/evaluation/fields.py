r"""Field mapping: which fields of a record hold a task's id, question, answer and choices.

A :class:`FieldMap` turns one raw record (a JSONL line, a CSV row, a JSON or
HuggingFace record, a dict) into a task's parts. Names may be dotted paths
into nested records (``"answers.text.0"``).

Ids, when the source has none, are generated from the content: the first 12
hex digits of ``sha256(question + "\0" + answer)`` of the task as loaded
(for multiple choice, the question with its choices and the answer letter),
with ``-2``, ``-3``, ... appended to repeats of one question and answer in
the order they appear. So an id does not change when records are reordered,
added or removed, and evaluations stored under it stay valid.

Example:
    >>> fields = FieldMap(question="problem", answer="solution", id=None)
    >>> parts = fields.extract({"problem": "What is 2 + 3?", "solution": 5, "level": 1})
    >>> parts.id is None, parts.question, parts.answer, parts.metadata
    (True, 'What is 2 + 3?', '5', {'level': 1})
"""

from __future__ import annotations

import hashlib
import json
import string
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.answers import normalize_answer
from orchestrator.roles import TaskKind

__all__ = [
    "FieldMap",
    "FieldError",
    "TaskParts",
    "generated_id",
    "render_choices",
    "choice_letters",
]

_MISSING = object()


class FieldError(ValueError):
    """A record lacks a mapped field or holds a value of the wrong shape.

    The loaders turn it into a :class:`~search.evaluation.datasets.DatasetError` that
    names the file and line or record.
    """


class TaskParts(NamedTuple):
    """A task's parts read from one record."""

    id: str | None
    question: str
    answer: str
    metadata: dict[str, Any]


def generated_id(question: str, answer: str) -> str:
    """The id a task gets when its source has none (before any ``-2`` suffix for repeats)."""
    return hashlib.sha256(f"{question}\x00{answer}".encode()).hexdigest()[:12]


def choice_letters(n: int) -> str:
    """The letters of ``n`` choices: ``"ABCD"`` for four."""
    if not 1 <= n <= len(string.ascii_uppercase):
        raise FieldError(f"a question needs 1 to 26 choices, got {n}")
    return string.ascii_uppercase[:n]


def render_choices(question: str, choices: Sequence[str]) -> str:
    """The question followed by its lettered choices, one per line.

    Example:
        >>> print(render_choices("Which is prime?", ["4", "6", "7", "9"]))
        Which is prime?
        <BLANKLINE>
        A. 4
        B. 6
        C. 7
        D. 9
    """
    letters = choice_letters(len(choices))
    lines = [f"{letter}. {choice}" for letter, choice in zip(letters, choices, strict=True)]
    return question.rstrip() + "\n\n" + "\n".join(lines)


def _lookup(record: Mapping[str, Any], path: str) -> Any:
    if path in record:
        return record[path]
    value: Any = record
    for part in path.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, Sequence) and not isinstance(value, str) and part.isdigit():
            index = int(part)
            if index >= len(value):
                return _MISSING
            value = value[index]
        else:
            return _MISSING
    return value


def _example(record: Mapping[str, Any], question: str, answer: str) -> Mapping[str, Any]:
    """A LangSmith example with its question and answer lifted to the top level.

    ``{"inputs": {...}, "outputs": {...}}``: ``inputs`` and ``outputs`` stay, as
    metadata. The question is ``inputs[question]``, or the only input; the answer likewise from
    ``outputs``. Any other record is returned as it is.
    """
    inputs, outputs = record.get("inputs"), record.get("outputs")
    if not isinstance(inputs, Mapping) or _lookup(record, question) is not _MISSING:
        return record
    lifted = {**record, question: _only(inputs, question)}
    if isinstance(outputs, Mapping) and _lookup(record, answer) is _MISSING:
        lifted[answer] = _only(outputs, answer)
    return lifted


def _only(values: Mapping[str, Any], name: str) -> Any:
    if name in values:
        found = values[name]
    elif len(values) == 1:
        found = next(iter(values.values()))
    else:
        return _MISSING
    if isinstance(found, list) and found and isinstance(found[-1], Mapping):
        return found[-1].get("content", _MISSING)  # a chat example: its last message
    return found


def _empty(value: Any) -> bool:
    return value is _MISSING or value is None or (isinstance(value, str) and not value.strip())


def _scalar(value: Any, *, role: str, path: str) -> str:
    if isinstance(value, Mapping | list | tuple):
        label = repr(path) if path == role else f"{path!r} (mapped to {role})"
        raise FieldError(
            f"field {label} must be text or a number, got {type(value).__name__}; map a "
            f"nested field with a dotted path, e.g. {role}='{path}.text'"
        )
    return str(value)


class FieldMap(BaseModel):
    """Where a record keeps each part of a task, and what kind of task it is.

    Every field of a record that is not mapped is kept as the task's metadata
    (a ``"metadata"`` object is merged in).
    """

    model_config = ConfigDict(frozen=True)

    id: str | None = Field(
        default="id",
        description="Field holding the task id; None to generate ids from the content. With "
        "the default 'id', a source where no record has one gets generated ids; a field "
        "mapped to another name must be in every record.",
    )
    question: str = Field(default="question", description="Field holding the question.")
    answer: str = Field(
        default="answer",
        description="Field holding the reference answer. For multiple choice it may be the "
        "letter, a 0-based index into the choices, or the text of the right choice.",
    )
    choices: str | tuple[str, ...] | None = Field(
        default=None,
        description="For multiple choice: one field holding the list of choices, or several "
        "fields holding one choice each (e.g. the columns A, B, C, D). The choices are "
        "rendered, lettered, into the question.",
    )
    kind: TaskKind = Field(
        default="short_answer",
        description="Kind of every task: short_answer, multiple_choice or code.",
    )

    @classmethod
    def build(
        cls,
        *,
        id: str | None = "id",
        question: str = "question",
        answer: str = "answer",
        choices: str | Sequence[str] | None = None,
        kind: TaskKind | None = None,
    ) -> FieldMap:
        """A field map from :func:`~search.evaluation.datasets.load_dataset`'s arguments.

        ``kind`` defaults to ``"multiple_choice"`` when choices are mapped, else
        ``"short_answer"``.
        """
        if choices is not None and not isinstance(choices, str):
            choices = tuple(choices)
        if kind is None:
            kind = "multiple_choice" if choices is not None else "short_answer"
        return cls(id=id, question=question, answer=answer, choices=choices, kind=kind)

    @property
    def id_required(self) -> bool:
        """Whether every record must carry an id: the id field was mapped to another name."""
        return self.id is not None and self.id != "id"

    def required(self) -> list[str]:
        """Top-level fields every record must have (the default ``id`` may be generated)."""
        names = [self.question, self.answer]
        if self.id_required:
            assert self.id is not None
            names.insert(0, self.id)
        if isinstance(self.choices, str):
            names.append(self.choices)
        elif self.choices is not None:
            names.extend(self.choices)
        return [name.split(".", 1)[0] for name in names]

    def has_id(self, record: Mapping[str, Any]) -> bool:
        """Whether ``record`` carries an id under the mapped field."""
        return self.id is not None and not _empty(_lookup(record, self.id))

    def _consumed(self) -> set[str]:
        names = {self.question, self.answer, "metadata"}
        if self.id is not None:
            names.add(self.id)
        if isinstance(self.choices, str):
            names.add(self.choices)
        elif self.choices is not None:
            names.update(self.choices)
        return names

    def _label(self, path: str, role: str) -> str:
        return repr(path) if path == role else f"{path!r} (mapped to {role})"

    def _require(self, record: Mapping[str, Any], path: str, role: str) -> Any:
        value = _lookup(record, path)
        if _empty(value):
            raise self._missing(record, [(path, role)])
        return value

    def _missing(self, record: Mapping[str, Any], absent: list[tuple[str, str]]) -> FieldError:
        labels = [self._label(path, role) for path, role in absent]
        named = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " or " + labels[-1]
        hint = f"load_dataset(..., {absent[0][1]}='<field>')"
        return FieldError(
            f"missing field {named} (a task needs a question and an answer; the record has "
            f"{', '.join(map(repr, record)) or 'no fields'}). Add the field, or map another "
            f"one with {hint}"
        )

    def _choices(self, record: Mapping[str, Any]) -> list[str] | None:
        if self.choices is None:
            return None
        if isinstance(self.choices, str):
            value = self._require(record, self.choices, "choices")
            if isinstance(value, str):
                try:
                    value = json.loads(value)  # a CSV cell holding a JSON list
                except json.JSONDecodeError:
                    value = None
            if not isinstance(value, Sequence) or isinstance(value, str):
                raise FieldError(
                    f"field {self.choices!r} (choices) must be a list of choices, e.g. "
                    '["4", "6", "7"]; or map one field per choice: choices=["A", "B", "C", "D"]'
                )
            items = list(value)
        else:
            items = [self._require(record, path, "choices") for path in self.choices]
        return [_scalar(item, role="choices", path=str(self.choices)).strip() for item in items]

    def _choice_answer(self, raw: Any, choices: list[str]) -> str:
        letters = choice_letters(len(choices))
        if isinstance(raw, int) and not isinstance(raw, bool):
            if 0 <= raw < len(choices):
                return letters[raw]
            raise FieldError(f"answer index {raw} is out of range for {len(choices)} choices")
        text = _scalar(raw, role="answer", path=self.answer).strip()
        letter = text.strip("()").rstrip(".").upper()
        if len(letter) == 1 and letter in letters:
            return letter
        matches = [
            i for i, c in enumerate(choices) if normalize_answer(c) == normalize_answer(text)
        ]
        if len(matches) == 1:
            return letters[matches[0]]
        raise FieldError(
            f"answer {text!r} is not a choice letter ({letters[0]}-{letters[-1]}), a 0-based "
            "index, or the text of exactly one choice"
        )

    def extract(self, record: Mapping[str, Any]) -> TaskParts:
        """Read a task's parts from ``record``.

        Raises:
            FieldError: A mapped field is missing or has the wrong shape.
        """
        record = _example(record, self.question, self.answer)
        wanted = [(self.question, "question"), (self.answer, "answer")]
        absent = [(path, role) for path, role in wanted if _empty(_lookup(record, path))]
        if absent:
            raise self._missing(record, absent)
        question_raw = _lookup(record, self.question)
        answer_raw = _lookup(record, self.answer)
        question = _scalar(question_raw, role="question", path=self.question)
        choices = self._choices(record)
        if choices is not None:
            answer = self._choice_answer(answer_raw, choices)
            question = render_choices(question, choices)
        else:
            answer = _scalar(answer_raw, role="answer", path=self.answer).strip()
        task_id: str | None = None
        if self.has_id(record):
            assert self.id is not None
            task_id = _scalar(_lookup(record, self.id), role="id", path=self.id).strip()
        consumed = self._consumed()
        metadata = {k: v for k, v in record.items() if k not in consumed}
        nested = record.get("metadata")
        if isinstance(nested, Mapping):
            metadata = {**nested, **metadata}
        elif nested is not None:
            metadata["metadata"] = nested
        if choices is not None:
            metadata["choices"] = choices
        return TaskParts(task_id, question, answer, metadata)
