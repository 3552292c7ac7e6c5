"""Tools agents can call, by name. ``calculator`` is built in."""

from __future__ import annotations

import ast
import operator
import threading
from collections.abc import Callable
from typing import Any

from langchain_core.tools import BaseTool, tool

__all__ = ["register_tool", "get_tool", "list_tools", "calculator"]

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


def _evaluate(node: ast.expr) -> int | float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > 64:
            raise ValueError("exponent too large")
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand))
    raise ValueError(f"unsupported expression element: {ast.dump(node)[:40]}")


@tool
def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression with + - * / // % ** and parentheses."""
    try:
        value = _evaluate(ast.parse(expression, mode="eval").body)
    except (SyntaxError, ValueError, ZeroDivisionError) as exc:
        return f"error: {exc}"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


_REGISTRY: dict[str, BaseTool] = {"calculator": calculator}
_LOCK = threading.Lock()


def register_tool(new_tool: BaseTool | Callable[..., Any], *, replace: bool = False) -> str:
    """Make a tool usable by name in ``Agent(tools=[...])``; plain functions are wrapped.

    Returns:
        The tool's name.
    """
    wrapped = new_tool if isinstance(new_tool, BaseTool) else tool(new_tool)
    with _LOCK:
        if wrapped.name in _REGISTRY and not replace and _REGISTRY[wrapped.name] is not wrapped:
            raise ValueError(f"tool {wrapped.name!r} is already registered; pass replace=True")
        _REGISTRY[wrapped.name] = wrapped
    return wrapped.name


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
