"""Datasets of tasks: loading from JSONL, JSON, CSV, records or HuggingFace, seeded splits.

A task has an ``id``, a ``question``, a reference ``answer`` and a ``kind``;
every other field is kept as metadata. Field names can be mapped
(``load_dataset(path, question="problem", answer="solution", id="uid")``, see
:class:`~search.evaluation.fields.FieldMap`), and ids are generated from the content when
the source has none. Loading fails with a :class:`DatasetError` that names the
file, the line or record, and the field at fault.

Example:
    >>> data = load_dataset([
    ...     {"id": "q1", "question": "What is 2 + 3?", "answer": "5"},
    ...     {"id": "q2", "question": "What is 6 * 7?", "answer": 42, "topic": "times"},
    ... ], name="toy")
    >>> data.tasks[1].answer, data.tasks[1].metadata
    ('42', {'topic': 'times'})
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.roles import TASK_KINDS, TaskKind
from orchestrator.sim import LEVELS, arithmetic_tasks
from search.errors import DatasetError
from search.evaluation.fields import FieldError, FieldMap, generated_id
from search.evaluation.hf import hf_records, is_hf_source
from search.evaluation.langsmith_source import LANGSMITH_PREFIX, langsmith_records

__all__ = [
    "Task",
    "Dataset",
    "Splits",
    "DatasetError",
    "load_dataset",
    "bundled_dataset",
    "list_bundled",
]

SplitName = Literal["train", "validation", "test"]
_DEFAULT_FIELDS = FieldMap()


class Task(BaseModel):
    """One question with its reference answer."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="Unique id within the dataset.")
    question: str = Field(description="The input given to the workflow.")
    answer: str = Field(description="The reference answer the metric compares against.")
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="Every other field, e.g. difficulty or topic."
    )
    kind: TaskKind = Field(
        default="short_answer",
        description="short_answer, multiple_choice (choices lettered in the question, "
        "answered with a letter) or code (answered with a program); roles prompt for it.",
    )

    @cached_property
    def digest(self) -> str:
        """Digest of the question, answer and kind (and an example's other inputs)."""
        parts = [self.question, self.answer]
        if self.kind != "short_answer":  # short answers keep the digests they always had
            parts.append(self.kind)
        inputs = self.metadata.get("inputs")
        if isinstance(inputs, Mapping) and len(inputs) > 1:
            # A LangSmith example's other inputs reach a graph too: they decide its result.
            parts.append(json.dumps(inputs, sort_keys=True, default=str))
        payload = json.dumps(parts)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


class Dataset(BaseModel):
    """A named, ordered collection of tasks with unique ids.

    Build one with :func:`load_dataset`, :meth:`from_jsonl`, :meth:`from_csv`,
    :meth:`from_records` or :func:`bundled_dataset`. The name is part of every
    evaluation key, so keep it stable for a given task set.
    """

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="Name used in evaluation keys and reports.")
    tasks: tuple[Task, ...] = Field(description="The tasks, in order.")
    partition: SplitName | None = Field(
        default=None, description="Which split this is, when it came from :meth:`split`."
    )

    @property
    def fingerprint(self) -> str:
        """Digest of the task ids and contents, independent of the name."""
        digest = hashlib.sha256()
        for task in self.tasks:
            digest.update(f"{task.id}\x00{task.digest}\x00".encode())
        return digest.hexdigest()[:16]

    def __len__(self) -> int:
        return len(self.tasks)

    def __iter__(self) -> Iterator[Task]:  # type: ignore[override]
        return iter(self.tasks)

    def __getitem__(self, index: int) -> Task:
        return self.tasks[index]

    def get(self, task_id: str) -> Task:
        """The task with id ``task_id``.

        Raises:
            KeyError: No task has that id.
        """
        for task in self.tasks:
            if task.id == task_id:
                return task
        raise KeyError(f"dataset {self.name!r} has no task {task_id!r}")

    def ids(self) -> list[str]:
        """Task ids in order."""
        return [task.id for task in self.tasks]

    def subset(self, task_ids: Iterable[str]) -> Dataset:
        """The tasks with these ids, in the given order; same name, so results are shared."""
        by_id = {task.id: task for task in self.tasks}
        missing = [task_id for task_id in task_ids if task_id not in by_id]
        if missing:
            raise KeyError(f"dataset {self.name!r} has no tasks {missing}")
        return self.model_copy(update={"tasks": tuple(by_id[t] for t in task_ids)})

    def head(self, n: int) -> Dataset:
        """The first ``n`` tasks."""
        return self.model_copy(update={"tasks": self.tasks[:n]})

    # --- splits ----------------------------------------------------------------------

    def split(
        self,
        *,
        train: float = 0.6,
        validation: float = 0.2,
        test: float = 0.2,
        seed: int = 0,
        stratify: str | None = None,
    ) -> Splits:
        """Deterministic train/validation/test splits.

        Tasks are ordered by a seeded hash of their id, so the split depends on
        the ids and the seed only, never on the file's order. The splits keep the
        dataset's name: a task's evaluations are shared whichever split it is in.
        The test split is for final reporting; :class:`~search.Evaluator`
        refuses it unless told ``allow_test=True``.

        Args:
            train: Share of tasks for training (the search's own evaluations).
            validation: Share for validation (choosing between candidates).
            test: Share held out for the final numbers.
            seed: Split seed.
            stratify: A metadata key; each of its values is split in the same
                proportions (for example ``"level"``).

        Raises:
            ValueError: The shares are negative or do not sum to 1.
        """
        shares = {"train": train, "validation": validation, "test": test}
        if any(share < 0 for share in shares.values()) or abs(sum(shares.values()) - 1) > 1e-9:
            raise ValueError(f"split shares must be >= 0 and sum to 1, got {shares}")
        groups: dict[str, list[Task]] = {}
        for task in self.tasks:
            group = "" if stratify is None else str(task.metadata.get(stratify, ""))
            groups.setdefault(group, []).append(task)
        parts: dict[str, list[Task]] = {"train": [], "validation": [], "test": []}
        for group_tasks in groups.values():
            ordered = sorted(group_tasks, key=lambda t: _rank(seed, t.id))
            n_test, n_val = _sizes(len(ordered), test, validation)
            parts["test"] += ordered[:n_test]
            parts["validation"] += ordered[n_test : n_test + n_val]
            parts["train"] += ordered[n_test + n_val :]
        position = {task.id: i for i, task in enumerate(self.tasks)}

        def make(name: SplitName) -> Dataset:
            chosen = sorted(parts[name], key=lambda t: position[t.id])
            return Dataset(name=self.name, tasks=tuple(chosen), partition=name)

        return Splits(train=make("train"), validation=make("validation"), test=make("test"))

    # --- loading ---------------------------------------------------------------------

    @classmethod
    def from_records(
        cls,
        records: Iterable[Mapping[str, Any]],
        *,
        name: str = "records",
        source: str = "",
        fields: FieldMap | None = None,
    ) -> Dataset:
        """Build from dicts with ``id``, ``question`` and ``answer``; other keys are metadata.

        Args:
            records: The records.
            name: Dataset name.
            source: Where they came from, for error messages.
            fields: Which fields hold what (default: ``id``, ``question``, ``answer``).

        Raises:
            DatasetError: A field is missing, an id repeats, or there are no records.
        """
        where = source or "records"

        def checked() -> Iterator[tuple[int, Mapping[str, Any]]]:
            for i, record in enumerate(records, 1):
                if not isinstance(record, Mapping):
                    raise DatasetError(
                        f"{where} record {i}: expected a dict, got {type(record).__name__}",
                        source=where,
                        location=i,
                    )
                yield i, record

        return cls._build(checked(), name=name, source=where, unit="record", fields=fields)

    @classmethod
    def from_jsonl(
        cls, path: str | Path, *, name: str | None = None, fields: FieldMap | None = None
    ) -> Dataset:
        """Read one JSON object per line; blank lines are skipped.

        Raises:
            DatasetError: A line is not a JSON object, a field is missing, an id
                repeats, or the file has no tasks.
        """
        source = Path(path)
        text = _read_text(source)

        def lines() -> Iterator[tuple[int, Mapping[str, Any]]]:
            for number, line in enumerate(text.splitlines(), 1):
                if not line.strip():
                    continue
                value = _parse_json(line, source, f"line {number}", number)
                if not isinstance(value, dict):
                    raise DatasetError(
                        f"{source} line {number}: expected a JSON object, "
                        f"got {type(value).__name__}",
                        source=str(source),
                        location=number,
                    )
                yield number, value

        return cls._build(
            lines(), name=name or source.stem, source=str(source), unit="line", fields=fields
        )

    @classmethod
    def from_json(
        cls, path: str | Path, *, name: str | None = None, fields: FieldMap | None = None
    ) -> Dataset:
        """Read a JSON array of task objects.

        Raises:
            DatasetError: The file is not a JSON array, or a task is malformed.
        """
        source = Path(path)
        data = _parse_json(_read_text(source), source, "", None)
        if not isinstance(data, list):
            raise DatasetError(
                f"{source}: expected a JSON array of tasks (or use .jsonl)", source=str(source)
            )
        for i, item in enumerate(data, 1):
            if not isinstance(item, dict):
                raise DatasetError(
                    f"{source} record {i}: expected an object, got {type(item).__name__}",
                    source=str(source),
                    location=i,
                )
        return cls._build(
            enumerate(data, 1),
            name=name or source.stem,
            source=str(source),
            unit="record",
            fields=fields,
        )

    @classmethod
    def from_csv(
        cls, path: str | Path, *, name: str | None = None, fields: FieldMap | None = None
    ) -> Dataset:
        """Read a CSV file with a header row; columns not mapped to a task part are metadata.

        Line numbers in errors count the header as line 1.

        Raises:
            DatasetError: A column is missing, a cell is empty, an id repeats, or
                the file has no tasks.
        """
        source = Path(path)
        mapping = fields or _DEFAULT_FIELDS

        text = _read_text(source)

        def rows() -> Iterator[tuple[int, Mapping[str, Any]]]:
            reader = csv.DictReader(io.StringIO(text, newline=""))
            try:
                header = reader.fieldnames or []
                missing = [column for column in mapping.required() if column not in header]
                if header and missing:
                    raise DatasetError(
                        f"{source} line 1: the header has no {_names(missing)} column "
                        f"(columns: {', '.join(header)})",
                        source=str(source),
                        location=1,
                    )
                for row in reader:
                    if None in row:  # DictReader's place for cells beyond the header
                        raise DatasetError(
                            f"{source} line {reader.line_num}: {len(header) + len(row[None])} "
                            f"cells, but the header has {len(header)} columns",
                            source=str(source),
                            location=reader.line_num,
                        )
                    if not any((value or "").strip() for value in row.values() if value):
                        continue
                    yield reader.line_num, dict(row)
            except csv.Error as exc:
                raise DatasetError(
                    f"{source} line {reader.line_num}: not valid CSV ({exc})",
                    source=str(source),
                    location=reader.line_num,
                ) from None

        return cls._build(
            rows(), name=name or source.stem, source=str(source), unit="line", fields=fields
        )

    @classmethod
    def _build(
        cls,
        items: Iterable[tuple[int, Mapping[str, Any]]],
        *,
        name: str,
        source: str,
        unit: str,
        fields: FieldMap | None = None,
    ) -> Dataset:
        mapping = fields or _DEFAULT_FIELDS
        tasks: list[Task] = []
        seen: dict[str, int] = {}
        ids = _Ids(mapping, source=source, unit=unit)
        for location, record in items:
            task = _task(record, source=source, location=location, unit=unit, fields=mapping)
            task = ids.assign(task, record, location)
            if task.id in seen:
                raise DatasetError(
                    f"{source} {unit} {location}: duplicate id {task.id!r} "
                    f"(first used on {unit} {seen[task.id]})",
                    source=source,
                    location=location,
                )
            seen[task.id] = location
            tasks.append(task)
        if not tasks:
            raise DatasetError(f"empty dataset: {source} has no tasks", source=source)
        return cls(name=name, tasks=tuple(tasks))


class Splits(BaseModel):
    """Train, validation and test datasets from :meth:`Dataset.split`."""

    model_config = ConfigDict(frozen=True)

    train: Dataset = Field(description="For the search's evaluations.")
    validation: Dataset = Field(description="For choosing between candidates.")
    test: Dataset = Field(description="Held out; for the final report only.")


def _read_text(source: Path) -> str:
    """The file's text; bytes that are not UTF-8 are a :class:`DatasetError` naming the line."""
    raw = source.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DatasetError(
            f"{source} line {line}: not UTF-8 text (byte {exc.start + 1}); save it as UTF-8",
            source=str(source),
            location=line,
        ) from None


def _parse_json(text: str, source: Path, where: str, location: int | None) -> Any:
    """Parse JSON; every parser failure is a :class:`DatasetError`."""
    at = f" {where}" if where else ""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        line = location if location is not None else exc.lineno
        detail = exc.msg if where else f"{exc.msg}, line {exc.lineno}"
        raise DatasetError(
            f"{source}{at}: invalid JSON ({detail})", source=str(source), location=line
        ) from None
    except RecursionError:
        raise DatasetError(
            f"{source}{at}: JSON nested too deeply", source=str(source), location=location
        ) from None
    except ValueError as exc:  # e.g. an integer over Python's 4,300-digit limit
        raise DatasetError(
            f"{source}{at}: unreadable JSON value ({exc})", source=str(source), location=location
        ) from None


def _names(fields: Sequence[str]) -> str:
    quoted = [repr(field) for field in fields]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def _task(
    record: Mapping[str, Any], *, source: str, location: int, unit: str, fields: FieldMap
) -> Task:
    try:
        parts = fields.extract(record)
    except FieldError as exc:
        raise DatasetError(
            f"{source} {unit} {location}: {exc}", source=source, location=location
        ) from None
    return Task(
        id=parts.id or "",  # filled in by _Ids when the source has no ids
        question=parts.question,
        answer=parts.answer,
        metadata=parts.metadata,
        kind=fields.kind,
    )


class _Ids:
    """Keeps a source's ids consistent: every record has one, or none does (generated)."""

    def __init__(self, fields: FieldMap, *, source: str, unit: str) -> None:
        self.fields = fields
        self.source = source
        self.unit = unit
        # None until the first record says whether the source has ids.
        self.generate: bool | None = True if fields.id is None else None
        if fields.id_required:
            self.generate = False
        self.first: int | None = None
        self.repeats: dict[str, int] = {}

    def assign(self, task: Task, record: Mapping[str, Any], location: int) -> Task:
        has_id = self.fields.has_id(record)
        if self.generate is None:
            self.generate, self.first = not has_id, location
        where = f"{self.source} {self.unit} {location}"
        either = "Give every task an id, or none and ids are generated from the content"
        if not self.generate:
            if not has_id:
                field = self.fields.id
                label = repr(field) if field == "id" else f"{field!r} (mapped to id)"
                seen = "" if self.first is None else f"; {self.unit} {self.first} has one"
                raise DatasetError(
                    f"{where}: missing field {label}{seen}. {either}",
                    source=self.source,
                    location=location,
                )
            return task
        if has_id:
            raise DatasetError(
                f"{where}: has an id ({self.fields.id!r}) but {self.unit} {self.first} has "
                f"none. {either}",
                source=self.source,
                location=location,
            )
        base = generated_id(task.question, task.answer)
        count = self.repeats[base] = self.repeats.get(base, 0) + 1
        return task.model_copy(update={"id": base if count == 1 else f"{base}-{count}"})


def _rank(seed: int, task_id: str) -> str:
    return hashlib.sha256(f"split:{seed}:{task_id}".encode()).hexdigest()


def _sizes(n: int, test: float, validation: float) -> tuple[int, int]:
    n_test = round(n * test)
    n_val = round(n * validation)
    # A non-zero share gets at least one task when there are enough to go round.
    if test > 0 and n_test == 0 and n >= 3:
        n_test = 1
    if validation > 0 and n_val == 0 and n >= 3:
        n_val = 1
    n_val = min(n_val, n - n_test)
    return n_test, n_val


def load_dataset(
    source: Dataset | str | Path | Iterable[Mapping[str, Any]] | Any,
    *,
    name: str | None = None,
    question: str = "question",
    answer: str = "answer",
    id: str | None = "id",
    choices: str | Sequence[str] | None = None,
    kind: TaskKind | None = None,
    split: str | None = None,
    hf_options: Mapping[str, Any] | None = None,
) -> Dataset:
    """A :class:`Dataset` from a file, records, a HuggingFace dataset, or a bundled name.

    Files may be ``.jsonl``, ``.json`` (an array) or ``.csv``. Field names are
    mapped with ``question``, ``answer``, ``id`` and ``choices``; every other
    field becomes metadata. A source without ids gets ids generated from each
    task's content (see :mod:`search.evaluation.fields`), so they are stable across
    reorderings. HuggingFace ``datasets`` (the ``hf`` extra) are accepted as a
    ``datasets.Dataset``, a ``DatasetDict`` with ``split``, or ``"hf:PATH"``,
    which calls ``datasets.load_dataset(PATH, split=split, **hf_options)``.

    Example:
        >>> data = load_dataset(
        ...     [{"problem": "What is 2 + 3?", "solution": "5", "uid": "a1"}],
        ...     question="problem", answer="solution", id="uid",
        ... )
        >>> data[0].id, data[0].answer
        ('a1', '5')

    Args:
        source: A dataset (returned as is, renamed if ``name`` is given), a path,
            ``"bundled:arithmetic"``, ``"hf:PATH"``, ``"langsmith:NAME"`` (a LangSmith
            dataset, read with the ``langsmith`` client), a ``datasets.Dataset`` or
            ``DatasetDict``, or an iterable of dicts.
        name: Dataset name; defaults to the file's stem, the HuggingFace dataset's
            name and split, or ``"records"``. It is part of every evaluation key.
        question: Field holding the question (a dotted path reaches into nested
            records, e.g. ``"input.text"``).
        answer: Field holding the reference answer.
        id: Field holding the task id. With the default ``"id"``, a source where
            no record has one gets ids generated from the content; another name
            must be present in every record; ``None`` always generates them.
        choices: For multiple choice: the field holding the list of choices, or
            one field per choice (``["A", "B", "C", "D"]``); the choices are
            lettered into the question and the answer becomes a letter.
        kind: The tasks' kind: ``"short_answer"`` (default), ``"multiple_choice"``
            (default when ``choices`` is given) or ``"code"``.
        split: The split of a HuggingFace ``DatasetDict``, an ``"hf:"`` dataset or a
            LangSmith dataset.
        hf_options: More arguments for ``datasets.load_dataset`` (``name`` for a
            configuration, ``data_files``, ``revision``, ``cache_dir``, ...).

    Raises:
        DatasetError: The data is empty or malformed: the message names the file,
            the line or record and the field.
        FileNotFoundError: The path does not exist.
        ValueError: The file type is not supported.
        MissingIntegrationError: A HuggingFace source without ``datasets`` installed.
    """
    if isinstance(source, Dataset):
        return source if name is None else source.model_copy(update={"name": name})
    if isinstance(source, str) and source.startswith("bundled:"):
        dataset = bundled_dataset(source.removeprefix("bundled:"))
        return dataset if name is None else dataset.model_copy(update={"name": name})
    if kind is not None and kind not in TASK_KINDS:
        raise DatasetError(
            f"unknown task kind {kind!r}; use one of {', '.join(TASK_KINDS)}",
            source=str(source) if isinstance(source, str | Path) else "records",
        )
    fields = FieldMap.build(id=id, question=question, answer=answer, choices=choices, kind=kind)
    if isinstance(source, str) and source.startswith(LANGSMITH_PREFIX):
        dataset_name = source.removeprefix(LANGSMITH_PREFIX)
        examples = langsmith_records(dataset_name, split=split)
        return Dataset.from_records(
            examples, name=name or f"langsmith-{dataset_name}", source=source, fields=fields
        )
    if is_hf_source(source):
        records, default_name, label = hf_records(source, split=split, options=hf_options)
        return Dataset.from_records(
            records, name=name or default_name, source=label, fields=fields
        )
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"no dataset file at {path}")
        suffix = path.suffix.lower()
        if suffix == ".jsonl":
            return Dataset.from_jsonl(path, name=name, fields=fields)
        if suffix == ".json":
            return Dataset.from_json(path, name=name, fields=fields)
        if suffix == ".csv":
            return Dataset.from_csv(path, name=name, fields=fields)
        raise ValueError(
            f"unsupported dataset file {path.name!r}: use .jsonl, .json or .csv, or read "
            "other formats (Parquet, ...) through HuggingFace datasets: "
            "load_dataset('hf:parquet', split='train', hf_options={'data_files': PATH})"
        )
    if isinstance(source, Mapping):
        raise TypeError("expected a list of task dicts, got a single dict")
    return Dataset.from_records(source, name=name or "records", fields=fields)


_BUNDLED = ("arithmetic",)


def list_bundled() -> list[str]:
    """Names of the bundled datasets."""
    return list(_BUNDLED)


def bundled_dataset(
    name: str = "arithmetic",
    *,
    n: int = 60,
    seed: int = 0,
    levels: Sequence[str] = ("easy", "medium", "hard"),
) -> Dataset:
    """The simulator's task suite as a dataset.

    ``"arithmetic"`` is multi-step arithmetic word problems whose difficulty
    is the number of steps (``levels`` from :data:`orchestrator.sim.LEVELS`);
    the ``sim:`` models answer them. The dataset is named after the generator
    settings, so different settings never share evaluations.

    Example:
        >>> data = bundled_dataset("arithmetic", n=6, seed=1)
        >>> len(data), data.name
        (6, 'arithmetic-s1-easy-medium-hard')
    """
    if name != "arithmetic":
        raise ValueError(f"unknown bundled dataset {name!r}; bundled: {', '.join(_BUNDLED)}")
    if n <= 0:
        raise DatasetError(f"empty dataset: bundled {name!r} asked for n={n}", source=name)
    unknown = [level for level in levels if level not in LEVELS]
    if unknown:
        raise ValueError(f"unknown levels {unknown}; choose from {sorted(LEVELS)}")
    tasks = arithmetic_tasks(n, seed=seed, levels=levels)
    label = f"{name}-s{seed}-{'-'.join(levels)}"
    return Dataset.from_records(tasks, name=label, source=f"bundled:{name}")
