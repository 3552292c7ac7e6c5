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
    "arithmetic_tasks",
    "read_problem",
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
    unknown = [level for level in levels if level not in LEVELS]
    if unknown or not levels:
        raise ValueError(f"unknown levels {unknown}; choose from {sorted(LEVELS)}")
    rng = random.Random(f"arith:{seed}")
    tasks = []
    for i in range(n):
        level = levels[i % len(levels)]
        low, high = LEVELS[level]
        question, problem = _write(rng, rng.randint(low, high))
        tasks.append(
            {
                "id": f"{prefix}-{seed}-{i:04d}",
                "question": question,
                "answer": str(problem.answer),
                "metadata": {"level": level, "steps": problem.difficulty},
            }
        )
    return tasks


# --- reading problems back --------------------------------------------------------------

_N = r"(\d+)"
_READERS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], Step]]] = [
    (
        re.compile(rf"buys {_N} \w+ with {_N} \w+ in each"),
        lambda m: Step("add", int(m[1]) * int(m[2])),
    ),
    (re.compile(rf"(?:buys|finds) {_N} more"), lambda m: Step("add", int(m[1]))),
    (re.compile(rf"(?:gives|loses) {_N} \w+"), lambda m: Step("sub", int(m[1]))),
    (re.compile(r"doubles"), lambda m: Step("mul", 2)),
    (re.compile(r"triples"), lambda m: Step("mul", 3)),
    (re.compile(r"half of"), lambda m: Step("div", 2)),
    (re.compile(rf"among {_N} friends"), lambda m: Step("div", int(m[1]))),
]
_START = re.compile(r"^\s*[A-Z][a-z]+ has (\d+) \w+\.")
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


def read_problem(question: str) -> Problem | None:
    """Parse a question from the bundled grammar, or a bare arithmetic expression.

    Returns ``None`` when the question is in neither form.
    """
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
    return Problem(int(start.group(1)), tuple(steps)) if steps else None


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
