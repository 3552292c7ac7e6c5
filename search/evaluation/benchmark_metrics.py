"""The metrics of the benchmarks: GSM8K's final number, MMLU's choice letter, HumanEval's pass@1.

Each scores one answer in [0, 1] like any :class:`~search.evaluation.metrics.Metric`, and
explains a zero (:class:`~search.evaluation.scoring.MetricScore`): the evaluator records the
reason with the evaluation.

- :class:`FinalNumberMatch` compares the final number of the answer with the
  reference's. Both may follow GSM8K's convention of reasoning followed by
  ``#### <number>``; otherwise the last number in the text counts.
- :class:`ChoiceMatch` reads a choice letter from the answer, tolerating
  ``"B"``, ``"(B)"``, ``"B."``, ``"B) text"``, ``"The answer is B"`` and the
  text of a choice, and compares it with the reference letter.
- :class:`PassAt1` runs the answer's code against the task's tests in a
  :class:`~search.evaluation.sandbox.Sandbox`: 1 when every test passes. Averaged over
  tasks (and over samples, with repetitions) it is the unbiased pass@1.

Example:
    >>> task = Task(id="t", question="...", answer="Natalia sold 48/2 = 24 ... #### 72")
    >>> FinalNumberMatch()("So the total is 72 clips.", task)
    1.0
"""

from __future__ import annotations

import ast
import math
import re
import textwrap
from collections.abc import Callable, Sequence
from typing import Any

from orchestrator.answers import normalize_answer
from search.evaluation.datasets import Dataset, DatasetError, Task
from search.evaluation.numbers import json_answer
from search.evaluation.sandbox import ExecutionResult, Sandbox, SandboxLimits
from search.evaluation.sandbox_backends import SandboxBackend
from search.evaluation.scoring import MetricScore

__all__ = [
    "FinalNumberMatch",
    "ChoiceMatch",
    "PassAt1",
    "final_number",
    "read_choice",
    "extract_code",
    "build_program",
    "BUILTIN_BENCHMARK_METRICS",
]

# --- GSM8K: the final number ---------------------------------------------------------------

_MARKER = re.compile(r"####\s*\$?\s*(-?[\d,]*\.?\d+)")
_NUMBER = re.compile(r"-?\$?\d[\d,]*(?:\.\d+)?|-?\.\d+")


def _to_float(token: str) -> float | None:
    try:
        return float(token.replace(",", "").replace("$", ""))
    except ValueError:
        return None


def final_number(text: str | None) -> float | None:
    r"""The final number of ``text``: after its last ``####``, else its last number.

    Example:
        >>> final_number("3 + 4 = 7, then 7 * 2 = 14\n#### 14"), final_number("It is $1,200.")
        (14.0, 1200.0)
    """
    if not text:
        return None
    markers = _MARKER.findall(text)
    if markers:
        return _to_float(markers[-1])
    numbers = _NUMBER.findall(text)
    return _to_float(numbers[-1]) if numbers else None


class FinalNumberMatch:
    """GSM8K's metric: 1 when the answer's final number equals the reference's.

    Both sides may be reasoning ending in ``#### <number>`` (the dataset's
    convention); without the marker the last number in the text counts, so
    ``"The answer is 18 dollars."`` states 18. Commas and ``$`` are ignored. A
    JSON reply is read by its ``answer`` field.
    """

    reads = ("json", "sentence")
    """Wrappings of an answer it reads: checked on the references before a search."""

    def __init__(self, *, abs_tol: float = 1e-6) -> None:
        """Set the tolerance."""
        if abs_tol < 0:
            raise ValueError("abs_tol must be >= 0")
        self.abs_tol = abs_tol

    @property
    def name(self) -> str:
        """``final_number`` with its tolerance."""
        return f"final_number(abs_tol={self.abs_tol:g})"

    def explain(self, prediction: str | None, task: Task) -> MetricScore:
        """Score one answer, with a reason for a zero."""
        reference = final_number(task.answer)
        if reference is None:
            same = normalize_answer(prediction) == normalize_answer(task.answer)
            return MetricScore(score=float(same and prediction is not None))
        value = final_number(json_answer(prediction or "") or prediction)
        if value is None:
            return MetricScore(score=0.0, reason="no number in the answer", outcome="unreadable")
        if math.isclose(value, reference, rel_tol=0.0, abs_tol=self.abs_tol):
            return MetricScore(score=1.0)
        return MetricScore(
            score=0.0, reason=f"final number {value:g}, expected {reference:g}", outcome="wrong"
        )

    async def aexplain(self, prediction: str | None, task: Task) -> MetricScore:
        """Async :meth:`explain` (it does not block)."""
        return self.explain(prediction, task)

    def __call__(self, prediction: str | None, task: Task) -> float:
        """The score of one answer."""
        return self.explain(prediction, task).score

    def __repr__(self) -> str:
        return f"FinalNumberMatch(abs_tol={self.abs_tol!r})"


# --- MMLU: the choice letter ---------------------------------------------------------------

_CHOICE_LINE = re.compile(r"^\s*\(?([A-Z])[.)]\s+\S", re.MULTILINE)


def _letters(task: Task) -> str:
    choices = task.metadata.get("choices")
    if isinstance(choices, Sequence) and not isinstance(choices, str) and choices:
        return "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[: len(choices)]
    found = sorted(set(_CHOICE_LINE.findall(task.question)))
    if len(found) >= 2 and "".join(found) == "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[: len(found)]:
        return "".join(found)
    return "ABCD"


def read_choice(
    text: str | None, letters: str = "ABCD", choices: Sequence[str] | None = None
) -> str | None:
    """The choice letter an answer gives, or ``None`` when it gives none or several.

    Tried in order: the whole answer is a letter (``"B"``, ``"(B)"``, ``"b."``);
    an explicit phrase (``"The answer is B"``, ``"Answer: (B)"``, ``"option B"``,
    the last one wins); a leading letter (``"B. Paris"``, ``"(B) Paris"``); the
    text of exactly one choice; a single distinct capital letter standing alone.

    Example:
        >>> [read_choice(t) for t in ["(B)", "B.", "The answer is C", "D) 42", "A or B"]]
        ['B', 'B', 'C', 'D', None]
    """
    if not text:
        return None
    cleaned = text.strip().strip("*_`\"' ").strip()
    span = f"[{letters}]"
    whole = re.fullmatch(rf"[\(\[]?\s*({span})\s*[\)\]]?\.?", cleaned, re.IGNORECASE)
    if whole:
        return whole.group(1).upper()
    phrases = re.findall(
        rf"(?i:answer|choice|option)(?:\s+(?i:is))?\s*[:=]?\s*(?i:option\s+|choice\s+)?"
        rf"\**[\(\[]?({span})\b",
        cleaned,
    )
    if phrases:
        return str(phrases[-1])
    leading = re.match(rf"[\(\[]?({span})[\)\]\.:]", cleaned)
    if leading:
        return leading.group(1)
    if choices:
        wanted = normalize_answer(cleaned)
        matches = [i for i, c in enumerate(choices) if normalize_answer(c) == wanted]
        if len(matches) == 1 and matches[0] < len(letters):
            return letters[matches[0]]
    standalone = set(re.findall(rf"(?<![\w'])[\(\[]?({span})[\)\]]?(?![\w'])", cleaned))
    if len(standalone) == 1:
        return standalone.pop()
    return None


class ChoiceMatch:
    """MMLU's metric: 1 when the answer's choice letter is the reference letter.

    The letters are those of ``task.metadata["choices"]`` (or the lettered
    lines of the question; A-D otherwise). See :func:`read_choice` for what
    counts as giving a letter.
    """

    name = "choice_letter"

    def explain(self, prediction: str | None, task: Task) -> MetricScore:
        """Score one answer, with a reason for a zero."""
        letters = _letters(task)
        raw = task.metadata.get("choices")
        choices = list(raw) if isinstance(raw, Sequence) and not isinstance(raw, str) else None
        reference = read_choice(task.answer, letters, choices) or task.answer.strip().upper()
        chosen = read_choice(prediction, letters, choices)
        if chosen is None:
            shown = (prediction or "").strip().replace("\n", " ")[:80]
            return MetricScore(
                score=0.0,
                reason=f"no single choice letter ({letters[0]}-{letters[-1]}) in {shown!r}",
                outcome="unreadable",
            )
        if chosen == reference:
            return MetricScore(score=1.0)
        return MetricScore(
            score=0.0, reason=f"chose {chosen}, expected {reference}", outcome="wrong"
        )

    async def aexplain(self, prediction: str | None, task: Task) -> MetricScore:
        """Async :meth:`explain` (it does not block)."""
        return self.explain(prediction, task)

    def __call__(self, prediction: str | None, task: Task) -> float:
        """The score of one answer."""
        return self.explain(prediction, task).score

    def __repr__(self) -> str:
        return "ChoiceMatch()"


# --- HumanEval: pass@1 ---------------------------------------------------------------------

_FENCE = re.compile(r"```[ \t]*(?:python3?|py)?[ \t]*\n(.*?)```", re.DOTALL | re.IGNORECASE)


def extract_code(text: str, entry_point: str | None = None) -> str:
    """The code of an answer: its fenced block that defines ``entry_point``, else its first.

    An answer without fences is taken as code as it is.
    """
    blocks = _FENCE.findall(text)
    if not blocks:
        return text.strip("\n")
    if entry_point:
        for block in blocks:
            if re.search(rf"^\s*(?:async\s+)?def\s+{re.escape(entry_point)}\s*\(", block, re.M):
                return str(block).strip("\n")
    return str(blocks[0]).strip("\n")


def _is_python(text: str) -> bool:
    try:
        ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    return True


def build_program(code: str, task: Task) -> str:
    """The program that tests ``code`` on ``task``.

    The task's ``metadata["prompt"]`` (or its question, when that is Python:
    a signature with a docstring) comes first, so imports and helper functions
    it defines are there. ``code`` follows: a complete function replaces the
    prompt's stub; an indented body completes it. Then ``metadata["test"]``,
    and ``check(<entry_point>)`` when the tests define ``check``.
    """
    entry = task.metadata.get("entry_point")
    tests = str(task.metadata.get("test", ""))
    preamble = task.metadata.get("prompt")
    if preamble is None and _is_python(task.question):
        preamble = task.question
    preamble = str(preamble or "")
    defines = bool(entry) and re.search(
        rf"^\s*(?:async\s+)?def\s+{re.escape(str(entry))}\s*\(", code, re.MULTILINE
    )
    if defines or not preamble:
        body = f"{preamble.rstrip()}\n\n\n{code.strip(chr(10))}\n" if preamble else code + "\n"
    else:
        first = next((line for line in code.splitlines() if line.strip()), "")
        if first and not first[0].isspace():
            code = textwrap.indent(code, "    ")  # a body given without its indentation
        body = f"{preamble.rstrip(chr(10))}\n{code.rstrip()}\n"
    check = f"\n\ncheck({entry})\n" if entry and re.search(r"^def check\(", tests, re.M) else ""
    return f"{body}\n\n{tests.strip(chr(10))}\n{check}"


class PassAt1:
    """HumanEval's metric: 1 when the answer's code passes the task's tests, run in a sandbox.

    A task needs ``metadata["test"]`` (test code: a ``check(candidate)``
    function, as in HumanEval, or plain asserts) and, for ``check``,
    ``metadata["entry_point"]`` (the function's name); see
    :func:`build_program` for how the program is put together. Each attempt
    runs in its own subprocess and directory under the :class:`SandboxLimits`;
    a timeout, a limit hit or a refused operation scores 0 with the reason.
    The evaluator awaits :meth:`aexplain`, so other evaluations go on while a
    program runs. The mean over tasks is pass@1; with several samples per task
    (repetitions) the per-task mean ``c / n`` is its unbiased estimate.

    The dataset's ``test`` and ``entry_point`` fields are untrusted too: they are only
    ever run inside the sandbox, never by this process.

    Args:
        limits: What each run may use.
        max_parallel: Most programs running at once (default: the CPU count).
        backend: The sandbox backend (default: the isolated one where it works; see
            :func:`~search.evaluation.sandbox_backends.get_backend`).
        require_isolation: Refuse to run without OS isolation (default: the
            ``ROLEGRAPH_REQUIRE_ISOLATION`` environment variable).

    Raises:
        IsolationUnavailableError: Isolation is required and unavailable here.
    """

    self_check = False
    """References are solutions checked by ``check_dataset``'s tests, not run before a search."""

    def __init__(
        self,
        *,
        limits: SandboxLimits | None = None,
        max_parallel: int | None = None,
        backend: SandboxBackend | str | None = None,
        require_isolation: bool | None = None,
    ) -> None:
        """Configure the sandbox (and warn once if it has no OS isolation)."""
        self.sandbox = Sandbox(
            limits,
            max_parallel=max_parallel,
            backend=backend,
            require_isolation=require_isolation,
        )

    @property
    def name(self) -> str:
        """``pass@1`` with the sandbox limits (they can change a result)."""
        return f"pass@1({self.sandbox.limits.label})"

    def check_dataset(self, dataset: Dataset) -> None:
        """Refuse a dataset whose tasks have no tests, before any model is called.

        Raises:
            DatasetError: A task has no ``metadata["test"]``.
        """
        for position, task in enumerate(dataset.tasks, 1):
            if not str(task.metadata.get("test", "")).strip():
                raise DatasetError(
                    f"dataset {dataset.name!r} task {task.id!r} (record {position}) has no "
                    "tests: the pass@1 metric needs metadata['test'] (test code, e.g. a "
                    "check(candidate) function) and metadata['entry_point'] (the function "
                    "name); give the records 'test' and 'entry_point' fields",
                    source=dataset.name,
                    location=position,
                )

    def program(self, prediction: str, task: Task) -> str:
        """The program run for ``prediction`` on ``task``."""
        entry = task.metadata.get("entry_point")
        return build_program(extract_code(prediction, str(entry) if entry else None), task)

    def _scored(self, result: ExecutionResult) -> MetricScore:
        if result.passed:
            return MetricScore(score=1.0, outcome="passed")
        return MetricScore(
            score=0.0, reason=f"{result.status}: {result.reason}", outcome=result.status
        )

    def explain(self, prediction: str | None, task: Task) -> MetricScore:
        """Run the tests (blocking) and score."""
        if not prediction or not prediction.strip():
            return MetricScore(score=0.0, reason="no code in the answer", outcome="unreadable")
        return self._scored(self.sandbox.run(self.program(prediction, task)))

    async def aexplain(self, prediction: str | None, task: Task) -> MetricScore:
        """Run the tests in a subprocess without blocking the event loop, and score."""
        if not prediction or not prediction.strip():
            return MetricScore(score=0.0, reason="no code in the answer", outcome="unreadable")
        return self._scored(await self.sandbox.arun(self.program(prediction, task)))

    def __call__(self, prediction: str | None, task: Task) -> float:
        """The score of one answer (blocking)."""
        return self.explain(prediction, task).score

    def __repr__(self) -> str:
        return f"PassAt1({self.sandbox.limits.label})"


BUILTIN_BENCHMARK_METRICS: dict[str, Callable[[], Any]] = {
    "final_number": FinalNumberMatch,
    "gsm8k": FinalNumberMatch,
    "choice": ChoiceMatch,
    "choice_letter": ChoiceMatch,
    "mmlu": ChoiceMatch,
    "pass@1": PassAt1,
    "humaneval": PassAt1,
}
"""The names under which :mod:`search.evaluation.metrics` registers these metrics."""
