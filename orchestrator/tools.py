"""Tools agents can call, by name. ``calculator`` is built in.

The calculator reads arithmetic that a model wrote, so it treats it as
hostile: it evaluates the parsed expression itself (never ``eval``), within
limits on the expression's length, its size and nesting, and the size of every
number it makes, and it answers every failure with an ``error: ...`` reply
instead of raising or running for long.

A model also chooses how many tools to call: :func:`tool_call_cap` gives each
run a :class:`ToolCallCap` that runs at most :data:`MAX_TOOL_CALLS_PER_REPLY`
calls of one reply and :data:`MAX_TOOL_CALLS_PER_RUN` in the whole run; the rest
get an ``error: ...`` reply instead of running.
"""

from __future__ import annotations

import ast
import math
import operator
import sys
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from langchain_core.tools import BaseTool, StructuredTool, tool
from pydantic import ValidationError

__all__ = [
    "MAX_EXPRESSION_CHARS",
    "MAX_EXPRESSION_NODES",
    "MAX_EXPRESSION_DEPTH",
    "MAX_INTEGER_DIGITS",
    "MAX_SECONDS",
    "MAX_TOOL_CALLS_PER_REPLY",
    "MAX_TOOL_CALLS_PER_RUN",
    "ToolCallCap",
    "tool_call_cap",
    "calculate",
    "calculator",
    "register_tool",
    "get_tool",
    "list_tools",
    "tool_origin",
]

MAX_EXPRESSION_CHARS = 1_000
"""Longest expression the calculator reads."""
MAX_EXPRESSION_NODES = 200
"""Most numbers and operators in one expression."""
MAX_EXPRESSION_DEPTH = 50
"""Deepest nesting of operators (and so of parentheses)."""
MAX_INTEGER_DIGITS = 1_000
"""Most digits of any integer, given or computed."""
MAX_SECONDS = 1.0
"""Wall-clock allowance for one evaluation; a backstop behind the size limits."""
MAX_TOOL_CALLS_PER_REPLY = 16
"""Most tool calls run for one model reply; the rest are refused."""
MAX_TOOL_CALLS_PER_RUN = 64
"""Most tool calls run in one workflow run, all agents and rounds together."""

_INT_LIMIT = 10**MAX_INTEGER_DIGITS
_MAX_BITS = _INT_LIMIT.bit_length()
_EXACT_FLOAT = 2.0**53  # below this, an integral float prints as the integer it is

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}


class _RefusedError(Exception):
    """The expression breaks a rule or a limit; the message is the reply."""


def _check_number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        kind = "complex" if isinstance(value, complex) else type(value).__name__
        raise _RefusedError(f"the result is {kind}, not a real number")
    if isinstance(value, float) and not math.isfinite(value):
        raise _RefusedError("a number is too large (floating-point overflow)")
    if isinstance(value, int) and abs(value) >= _INT_LIMIT:
        raise _RefusedError(f"a number has more than {MAX_INTEGER_DIGITS:,} digits")
    return value


def _check_size(op: ast.operator, left: int | float, right: int | float) -> None:
    """Refuse an int product or power whose result would have too many digits."""
    if not isinstance(left, int) or not isinstance(right, int):
        return  # float results are checked for overflow afterwards
    if isinstance(op, ast.Mult) and left.bit_length() + right.bit_length() - 1 > _MAX_BITS:
        raise _RefusedError(f"the product has more than {MAX_INTEGER_DIGITS:,} digits")
    big_power = isinstance(op, ast.Pow) and right > 0 and abs(left) > 1
    if big_power and (left.bit_length() - 1) * right > _MAX_BITS:
        raise _RefusedError(f"the power has more than {MAX_INTEGER_DIGITS:,} digits")


def _shape(tree: ast.expr) -> None:
    """Refuse unsupported syntax, too many nodes or too deep nesting, before any arithmetic."""
    count = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, ast.operator | ast.unaryop):
            continue
        count += 1
        if count > MAX_EXPRESSION_NODES:
            raise _RefusedError(f"the expression has more than {MAX_EXPRESSION_NODES} parts")
        if depth > MAX_EXPRESSION_DEPTH:
            raise _RefusedError(f"the expression is nested more than {MAX_EXPRESSION_DEPTH} deep")
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            stack.extend([(node.left, depth + 1), (node.right, depth + 1)])
        elif isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            stack.append((node.operand, depth + 1))
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, bool | str | bytes) or node.value is None:
                raise _RefusedError(f"unsupported value {node.value!r:.20}; use numbers")
            _check_number(node.value)
        else:
            raise _RefusedError(
                f"unsupported expression element: {type(node).__name__}; use numbers, "
                "+ - * / // % ** and parentheses"
            )


def _evaluate(node: ast.expr, deadline: float) -> int | float:
    if time.monotonic() > deadline:
        raise _RefusedError(f"the expression took longer than {MAX_SECONDS:g}s")
    if isinstance(node, ast.Constant):
        return _check_number(node.value)
    if isinstance(node, ast.BinOp):
        left, right = _evaluate(node.left, deadline), _evaluate(node.right, deadline)
        _check_size(node.op, left, right)
        return _check_number(_BINARY[type(node.op)](left, right))
    assert isinstance(node, ast.UnaryOp)  # _shape() allows nothing else
    return _check_number(_UNARY[type(node.op)](_evaluate(node.operand, deadline)))


def calculate(expression: str) -> str:
    """Evaluate arithmetic and return the tool reply: the value, or ``error: ...``.

    Supports numbers, ``+ - * / // % **`` and parentheses, within the limits
    :data:`MAX_EXPRESSION_CHARS`, :data:`MAX_EXPRESSION_NODES`,
    :data:`MAX_EXPRESSION_DEPTH`, :data:`MAX_INTEGER_DIGITS` and
    :data:`MAX_SECONDS`. Never raises.

    Example:
        >>> calculate("(2 + 3) * 4")
        '20'
        >>> calculate("9 ** 9 ** 9")
        'error: the power has more than 1,000 digits'
    """
    try:
        if not isinstance(expression, str):
            raise _RefusedError(f"the expression must be text, not {type(expression).__name__}")
        if len(expression) > MAX_EXPRESSION_CHARS:
            raise _RefusedError(
                f"the expression is {len(expression):,} characters long; the limit is "
                f"{MAX_EXPRESSION_CHARS:,}"
            )
        tree = ast.parse(expression.strip(), mode="eval").body
        _shape(tree)
        value = _evaluate(tree, time.monotonic() + MAX_SECONDS)
        if isinstance(value, float) and value.is_integer() and abs(value) < _EXACT_FLOAT:
            value = int(value)
        return str(value)
    except _RefusedError as exc:
        return f"error: {exc}"
    except SyntaxError as exc:
        return f"error: not an arithmetic expression ({exc.msg})"
    except ZeroDivisionError:
        return "error: division by zero"
    except OverflowError:
        return "error: a number is too large (floating-point overflow)"
    except (MemoryError, RecursionError):
        return "error: the expression is too complex"
    except Exception as exc:  # the tool answers; it never raises into the run
        return f"error: {type(exc).__name__}: {exc}"


def _invalid_arguments(error: ValidationError) -> str:
    fields = ", ".join(str(e["loc"][0]) for e in error.errors() if e["loc"]) or "arguments"
    return f"error: call calculator with one text argument 'expression' (bad: {fields})"


calculator: BaseTool = StructuredTool.from_function(
    func=calculate,
    name="calculator",
    description="Evaluate an arithmetic expression with + - * / // % ** and parentheses.",
    handle_validation_error=_invalid_arguments,
)


_REGISTRY: dict[str, BaseTool] = {"calculator": calculator}
_ORIGINS: dict[str, str] = {"calculator": __name__}  # tool name -> the module that registered it
_LOCK = threading.Lock()


def register_tool(new_tool: BaseTool | Callable[..., Any], *, replace: bool = False) -> str:
    """Make a tool usable by name in ``Agent(tools=[...])``; plain functions are wrapped.

    Returns:
        The tool's name.
    """
    wrapped = new_tool if isinstance(new_tool, BaseTool) else tool(new_tool)
    origin = sys._getframe(1).f_globals.get("__name__", "")
    with _LOCK:
        if wrapped.name in _REGISTRY and not replace and _REGISTRY[wrapped.name] is not wrapped:
            raise ValueError(f"tool {wrapped.name!r} is already registered; pass replace=True")
        _REGISTRY[wrapped.name] = wrapped
        _ORIGINS[wrapped.name] = origin
    return wrapped.name


def tool_origin(name: str) -> str | None:
    """The module that registered the tool ``name`` (None if unknown)."""
    return _ORIGINS.get(name)


def get_tool(name: str) -> BaseTool:
    """Look a tool up by name.

    Raises:
        KeyError: No tool has that name.
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown tool {name!r}; known tools: {', '.join(list_tools())}") from None


def list_tools() -> list[str]:
    """Names of every registered tool."""
    return sorted(_REGISTRY)


_Call = TypeVar("_Call")


class ToolCallCap:
    """Counts one run's tool calls and refuses those past the per-reply or per-run cap.

    Args:
        per_reply: Most calls run for one reply.
        per_run: Most calls run in the run.
    """

    def __init__(
        self, *, per_reply: int = MAX_TOOL_CALLS_PER_REPLY, per_run: int = MAX_TOOL_CALLS_PER_RUN
    ) -> None:
        """Start counting at zero."""
        if per_reply < 0 or per_run < 0:
            raise ValueError("tool call caps must not be negative")
        self.per_reply = per_reply
        self.per_run = per_run
        self.used = 0
        self._lock = threading.Lock()

    @property
    def refusal(self) -> str:
        """The tool reply of a refused call."""
        return (
            f"error: tool call refused: at most {self.per_reply} tool calls per reply and "
            f"{self.per_run} per run"
        )

    def admit(self, calls: Sequence[_Call]) -> tuple[list[_Call], list[_Call]]:
        """Split one reply's calls into those to run and those refused (in order)."""
        with self._lock:
            room = max(0, min(self.per_reply, self.per_run - self.used))
            allowed = list(calls[:room])
            self.used += len(allowed)
        return allowed, list(calls[room:])


_CAPS: dict[int, ToolCallCap] = {}


def tool_call_cap(run: object) -> ToolCallCap:
    """The cap of the run ``run`` (e.g. its context object), made at its first tool call."""
    key = id(run)
    with _LOCK:
        cap = _CAPS.get(key)
        if cap is None:
            cap = _CAPS[key] = ToolCallCap()
            weakref.finalize(run, _CAPS.pop, key, None)  # forgotten with the run
    return cap
