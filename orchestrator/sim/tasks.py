"""The bundled task family: multi-step arithmetic word problems.

The generator writes problems from a small sentence grammar; :func:`read_problem`
reads the same grammar back, which is how the simulated model works out the
true answer from the question text alone. Difficulty is the number of steps.
"""

from __future__ import annotations

import ast
import operator
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "LEVELS",
    "Step",
    "Problem",
    "Choices",
    "arithmetic_tasks",
    "choice_tasks",
    "code_tasks",
    "read_problem",
    "read_choices",
    "read_program",
    "write_program",
    "wrong_workings",
    "plan_steps",
    "read_plan",
]

OpKind = Literal["add", "sub", "mul", "div"]

LEVELS: dict[str, tuple[int, int]] = {"easy": (1, 2), "medium": (3, 4), "hard": (5, 7)}
"""Difficulty levels as inclusive ranges of step counts."""

_NAMES = [
    "Ava",
    "Ben",
    "Chloe",
    "Dev",
    "Elena",
    "Farid",
    "Grace",
    "Hugo",
    "Iris",
    "Jonas",
    "Kemi",
    "Liam",
    "Maya",
    "Nils",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sam",
    "Tara",
]
_ITEMS = [
    "apples",
    "stickers",
    "marbles",
    "coins",
    "cards",
    "shells",
    "pencils",
    "beads",
    "stamps",
    "books",
]
_CONTAINERS = ["bags", "boxes", "packs", "jars", "crates"]
_FRIENDS = ["a neighbour", "a classmate", "a cousin", "a friend", "the teacher"]

_OPS: dict[OpKind, Callable[[int, int], int]] = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "div": operator.floordiv,
}


@dataclass(frozen=True)
class Step:
    """One operation of a problem: ``value <op> amount``."""

    kind: OpKind
    amount: int

    def apply(self, value: int) -> int:
        """Apply the step to a running value."""
        if self.kind == "div" and self.amount == 0:
            return value
        return _OPS[self.kind](value, self.amount)


@dataclass(frozen=True)
class Problem:
    """A parsed problem: a start value and its steps."""

    start: int
    steps: tuple[Step, ...]
    operators: int | None = None

    @property
    def answer(self) -> int:
        """The correct answer."""
        return run_steps(self.start, self.steps)

    @property
    def difficulty(self) -> int:
        """Number of operations: the steps, or every operator of a bare expression."""
        return self.operators if self.operators is not None else len(self.steps)


def run_steps(start: int, steps: Sequence[Step]) -> int:
    """The value after applying ``steps`` to ``start`` in order."""
    value = start
    for step in steps:
        value = step.apply(value)
    return value


# --- writing problems -------------------------------------------------------------------


def _sentence(rng: random.Random, value: int, pronoun: str, item: str) -> tuple[str, Step]:
    """Pick a step that keeps the running value a positive integer under 10 000."""
    options: list[tuple[str, Step]] = []
    k = rng.randint(2, 19)
    options.append((f"{pronoun} buys {k} more {item}.", Step("add", k)))
    options.append((f"{pronoun} finds {k} more {item}.", Step("add", k)))
    groups, each = rng.randint(2, 6), rng.randint(2, 9)
    options.append(
        (
            f"{pronoun} buys {groups} {rng.choice(_CONTAINERS)} with {each} {item} in each.",
            Step("add", groups * each),
        )
    )
    if value > 3:
        lost = rng.randint(1, min(value - 1, 15))
        options.append(
            (f"{pronoun} gives {lost} {item} to {rng.choice(_FRIENDS)}.", Step("sub", lost))
        )
        options.append((f"{pronoun} loses {lost} {item}.", Step("sub", lost)))
    if value < 1500:
        options.append((f"{pronoun} doubles the number of {item}.", Step("mul", 2)))
        options.append((f"{pronoun} triples the number of {item}.", Step("mul", 3)))
    if value % 2 == 0 and value >= 4:
        options.append((f"{pronoun} gives away half of the {item}.", Step("div", 2)))
    divisors = [d for d in range(3, 7) if value % d == 0 and value // d >= 2]
    if divisors:
        d = rng.choice(divisors)
        options.append(
            (
                f"{pronoun} shares the {item} equally among {d} friends and keeps one share.",
                Step("div", d),
            )
        )
    return rng.choice(options)


def _write(rng: random.Random, n_steps: int) -> tuple[str, Problem]:
    name = rng.choice(_NAMES)
    item = rng.choice(_ITEMS)
    pronoun = name
    start = rng.randint(5, 60)
    sentences = [f"{name} has {start} {item}."]
    steps: list[Step] = []
    value = start
    for _ in range(n_steps):
        text, step = _sentence(rng, value, pronoun, item)
        sentences.append(text)
        steps.append(step)
        value = step.apply(value)
    sentences.append(f"How many {item} does {name} have now?")
    return " ".join(sentences), Problem(start, tuple(steps))


def arithmetic_tasks(
    n: int,
    *,
    seed: int = 0,
    levels: Sequence[str] = ("easy", "medium", "hard"),
    prefix: str = "arith",
) -> list[dict[str, Any]]:
    """Generate ``n`` word problems, cycling through ``levels``.

    Returns:
        Records with ``id``, ``question``, ``answer`` and ``metadata``
        (``level`` and ``steps``), ready for a dataset.

    Example:
        >>> arithmetic_tasks(1, seed=3)[0]["metadata"]["level"]
        'easy'
    """
    rng = random.Random(f"arith:{seed}")
    tasks = [record for record, _ in _problems(n, rng, levels, prefix, seed)]
    return tasks


SWAPS: dict[OpKind, OpKind] = {"add": "sub", "sub": "add", "mul": "add", "div": "mul"}


def _plausible(answer: int, truth: int) -> bool:
    # Nobody answers "how many" with a negative count: a working that goes below zero is
    # noticed and redone. (Bare expressions with a negative result keep negative slips.)
    return answer >= 0 or truth < 0


def wrong_workings(problem: Problem, *, slips: bool = False) -> list[int]:
    """The answers of the task's tempting wrong workings, in the order of its steps.

    Misreadings drop a step or swap its operation; with ``slips``, one step's amount
    is a little off instead. At least two are always returned.
    """
    steps = list(problem.steps)
    truth = problem.answer
    found: list[int] = []
    for j, step in enumerate(steps):
        if slips:
            variants = [
                [*steps[:j], Step(step.kind, max(1, step.amount + delta)), *steps[j + 1 :]]
                for delta in (-10, -2, -1, 1, 2, 10)
            ]
        else:
            variants = [[*steps[:j], Step(SWAPS[step.kind], step.amount), *steps[j + 1 :]]]
            if len(steps) > 1:
                variants.append(steps[:j] + steps[j + 1 :])
        for variant in variants:
            answer = run_steps(problem.start, variant)
            if answer != truth and answer not in found and _plausible(answer, truth):
                found.append(answer)
    for k in (1, 2, 3):
        if len(found) >= 2:
            break
        if truth + k not in found:
            found.append(truth + k)
    return found


LETTERS = "ABCDEFGHIJ"


def choice_tasks(
    n: int,
    *,
    seed: int = 0,
    levels: Sequence[str] = ("easy", "medium", "hard"),
    options: int = 4,
    prefix: str = "choice",
) -> list[dict[str, Any]]:
    """``n`` word problems as multiple choice: the right count and tempting wrong ones.

    The distractors are the task's own wrong workings, so a model that misreads the
    task finds its wrong answer among the choices. Load them with
    ``load_dataset(tasks, kind="multiple_choice")``; the answer is a letter.

    Example:
        >>> choice_tasks(1, seed=3)[0]["answer"] in "ABCD"
        True
    """
    if not 2 <= options <= len(LETTERS):
        raise ValueError(f"options must be between 2 and {len(LETTERS)}, not {options}")
    rng = random.Random(f"choice:{seed}")
    tasks = []
    for record, problem in _problems(n, rng, levels, prefix, seed):
        truth = problem.answer
        wrong = [*wrong_workings(problem), *wrong_workings(problem, slips=True)]
        distractors = list(dict.fromkeys(w for w in wrong if w != truth))[: options - 1]
        k = 1
        while len(distractors) < options - 1:
            if truth + k not in distractors:
                distractors.append(truth + k)
            k += 1
        values = [truth, *distractors]
        rng.shuffle(values)
        lines = [f"{LETTERS[i]}. {value}" for i, value in enumerate(values)]
        record["question"] = record["question"] + "\n" + "\n".join(lines)
        record["answer"] = LETTERS[values.index(truth)]
        record["metadata"]["choices"] = [str(value) for value in values]
        tasks.append(record)
    return tasks


def code_tasks(
    n: int,
    *,
    seed: int = 0,
    levels: Sequence[str] = ("easy", "medium", "hard"),
    prefix: str = "code",
) -> list[dict[str, Any]]:
    """``n`` word problems as functions to write, with hidden tests (HumanEval's shape).

    The function takes the starting count, so a program passes its tests only if it
    applies every step right. Load them with ``load_dataset(tasks, kind="code")`` and
    score with the ``"pass@1"`` metric; ``metadata`` holds ``entry_point`` and ``test``.
    """
    rng = random.Random(f"code:{seed}")
    tasks = []
    for record, problem in _problems(n, rng, levels, prefix, seed):
        story = record["question"]
        start = problem.start
        first, _, rest = story.partition(f" {start} ")
        stub = (
            "def solve(n: int) -> int:\n"
            f'    """{first} n {rest}\n\n'
            f"    >>> solve({start})\n    {problem.answer}\n"
            '    """\n'
        )
        inputs = sorted({start, start + 6, start * 2, start + 30})
        checks = "\n".join(
            f"    assert candidate({x}) == {run_steps(x, problem.steps)}" for x in inputs
        )
        record["question"] = stub
        record["answer"] = write_program(problem.steps)
        record["metadata"].update(
            {"entry_point": "solve", "prompt": stub, "test": f"def check(candidate):\n{checks}\n"}
        )
        tasks.append(record)
    return tasks


def _problems(
    n: int, rng: random.Random, levels: Sequence[str], prefix: str, seed: int
) -> list[tuple[dict[str, Any], Problem]]:
    unknown = [level for level in levels if level not in LEVELS]
    if unknown or not levels:
        raise ValueError(f"unknown levels {unknown}; choose from {sorted(LEVELS)}")
    out = []
    for i in range(n):
        level = levels[i % len(levels)]
        low, high = LEVELS[level]
        question, problem = _write(rng, rng.randint(low, high))
        record = {
            "id": f"{prefix}-{seed}-{i:04d}",
            "question": question,
            "answer": str(problem.answer),
            "metadata": {"level": level, "steps": problem.difficulty},
        }
        out.append((record, problem))
    return out


_SYMBOLS: dict[OpKind, str] = {"add": "+", "sub": "-", "mul": "*", "div": "//"}
_LINE = re.compile(r"^\s*n\s*=\s*n\s*(\+|-|\*|//)\s*(\d+)\s*$")


def write_program(steps: Sequence[Step]) -> str:
    """A function ``solve(n)`` applying ``steps`` to ``n``: how the simulator writes code."""
    body = [f"    n = n {_SYMBOLS[step.kind]} {step.amount}" for step in steps]
    return "\n".join(["def solve(n: int) -> int:", *body, "    return n"])


def read_program(text: str) -> tuple[Step, ...] | None:
    """The steps of a program written by :func:`write_program`; ``None`` for other code."""
    kinds = {symbol: kind for kind, symbol in _SYMBOLS.items()}
    steps = []
    for line in text.splitlines():
        found = _LINE.match(line)
        if found:
            steps.append(Step(kinds[found[1]], int(found[2])))
    return tuple(steps) if steps or "return n" in text else None


class Choices:
    """A question's lettered choices: letters to values and back."""

    def __init__(self, values: Sequence[str]) -> None:
        self.values = list(values)

    def letter(self, value: str | None) -> str | None:
        """The letter of ``value``, or of the nearest choice when it is not one."""
        if value is None:
            return None
        if value in self.values:
            return LETTERS[self.values.index(value)]
        try:
            target = float(value)
            numbers = [float(v) for v in self.values]
        except ValueError:
            return LETTERS[0]
        return LETTERS[min(range(len(numbers)), key=lambda i: abs(numbers[i] - target))]

    def value(self, letter: str | None) -> str | None:
        """The value a letter (``"B"``, ``"B."``, ``"(b)"``) stands for; ``None`` if none."""
        if letter is None:
            return None
        found = re.search(r"\b([A-J])\b", letter.upper())
        index = LETTERS.index(found[1]) if found else -1
        return self.values[index] if 0 <= index < len(self.values) else letter


_CHOICE = re.compile(r"^\s*\(?([A-J])[.)]\s+(.+?)\s*$", re.MULTILINE)


def read_choices(question: str) -> tuple[str, Choices | None]:
    """The question without its lettered choices, and the choices (``None`` without)."""
    found = _CHOICE.findall(question)
    if len(found) < 2 or [letter for letter, _ in found] != list(LETTERS[: len(found)]):
        return question, None
    stem = _CHOICE.sub("", question).strip()
    return stem, Choices([value for _, value in found])


# --- reading problems back --------------------------------------------------------------

_N = r"(\d[\d,]*)"


def _int(text: str) -> int:
    return int(text.replace(",", ""))


# Present or past tense, any case: "buys"/"bought", "has"/"had". A sentence that names
# no step it knows is not read as one.
_READERS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], Step]]] = [
    (
        re.compile(rf"(?:buys|bought|buy) {_N} \w+ with {_N} \w+ in each", re.I),
        lambda m: Step("add", _int(m[1]) * _int(m[2])),
    ),
    (
        re.compile(rf"(?:buys|bought|buy|finds|found|find) {_N} more", re.I),
        lambda m: Step("add", _int(m[1])),
    ),
    (
        re.compile(rf"(?:gives|gave|give|loses|lost|lose) {_N} \w+", re.I),
        lambda m: Step("sub", _int(m[1])),
    ),
    (re.compile(r"doubles|doubled|double the", re.I), lambda m: Step("mul", 2)),
    (re.compile(r"triples|tripled|triple the", re.I), lambda m: Step("mul", 3)),
    (re.compile(r"half of", re.I), lambda m: Step("div", 2)),
    (re.compile(rf"among {_N} friends", re.I), lambda m: Step("div", _int(m[1]))),
]
_START = re.compile(rf"^\s*[A-Z][a-z]+ (?:has|had|have) {_N} \w+\.", re.I)
_BINOPS: dict[type[ast.operator], OpKind] = {
    ast.Add: "add",
    ast.Sub: "sub",
    ast.Mult: "mul",
    ast.Div: "div",
    ast.FloorDiv: "div",
}


def _read_expression(text: str) -> Problem | None:
    """Read a bare arithmetic question such as ``What is (3 + 4) * 2?``."""
    match = re.search(r"[\d(][\d\s()+\-*/]*", text)
    if match is None:
        return None
    try:
        tree = ast.parse(match.group().strip().rstrip("+-*/ "), mode="eval").body
    except SyntaxError:
        return None

    def value(node: ast.expr) -> int | None:
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            left, right = value(node.left), value(node.right)
            if left is None or right is None:
                return None
            if _BINOPS[type(node.op)] == "div" and (right == 0 or left % right):
                return None  # the simulator works in integers
            return Step(_BINOPS[type(node.op)], right).apply(left)
        return None

    if not isinstance(tree, ast.BinOp) or value(tree) is None:
        return None
    # The left spine becomes the steps; a nested right operand is folded into one amount.
    steps: list[Step] = []
    node: ast.expr = tree
    while isinstance(node, ast.BinOp):
        steps.insert(0, Step(_BINOPS[type(node.op)], value(node.right) or 0))
        node = node.left
    start = value(node)
    if start is None:
        return None
    operators = sum(isinstance(n, ast.BinOp) for n in ast.walk(tree))
    return Problem(start, tuple(steps), operators)


_STUB = re.compile(r'def \w+\(n[^)]*\)[^:]*:\s*"""(.*?)>>>\s*\w+\((\d+)\)', re.S)


def read_problem(question: str) -> Problem | None:
    """Parse a question from the bundled grammar, or a bare arithmetic expression.

    A code task's stub (see :func:`code_tasks`) is read from its docstring, with the
    start of its example. Returns ``None`` when the question is in none of these forms.
    """
    stub = _STUB.search(question)
    if stub is not None:
        story = stub[1].replace(" has n ", f" has {stub[2]} ", 1)
        question = " ".join(story.split())
    start = _START.match(question)
    if start is None:
        return _read_expression(question)
    steps: list[Step] = []
    for sentence in re.split(r"(?<=\.)\s+", question)[1:]:
        for pattern, make in _READERS:
            found = pattern.search(sentence)
            if found:
                steps.append(make(found))
                break
    return Problem(_int(start.group(1)), tuple(steps)) if steps else None


_PLAN_VERBS: dict[OpKind, str] = {
    "add": "Add",
    "sub": "Subtract",
    "mul": "Multiply by",
    "div": "Divide by",
}
_PLAN_STEP = re.compile(r"(Start with|Add|Subtract|Multiply by|Divide by)\s+(-?\d+)", re.I)


def plan_steps(start: int, steps: Sequence[Step]) -> list[str]:
    """Write a plan in the canonical phrasing that :func:`read_plan` understands."""
    lines = [f"Start with {start}."]
    lines += [f"{_PLAN_VERBS[step.kind]} {step.amount}." for step in steps]
    return lines


def read_plan(text: str) -> Problem | None:
    """Read a plan written by :func:`plan_steps`; ``None`` if it is in another form."""
    found = _PLAN_STEP.findall(text)
    if not found or found[0][0].lower() != "start with":
        return None
    kinds = {verb.lower(): kind for kind, verb in _PLAN_VERBS.items()}
    steps = tuple(Step(kinds[verb.lower()], int(amount)) for verb, amount in found[1:])
    return Problem(int(found[0][1]), steps)
