"""A fingerprint of what a user function does, for keys that must change when its logic does.

:func:`code_fingerprint` hashes a function's normalised syntax tree (comments,
formatting and docstrings do not count) together with everything its result
depends on in the user's code: the values its closures hold, its default
arguments, the module-level names it reads (functions are followed
recursively, constants by value), and for a bound method or a callable object
its class's methods and its simple attribute values. Code of the standard
library and of installed packages counts by name only: it changes with a
version, not with an edit.

Example:
    >>> def double(x):
    ...     return 2 * x  # a comment does not count
    >>> def double_again(x):
    ...     return 2*x
    >>> code_fingerprint(double) == code_fingerprint(double_again)
    True
"""

from __future__ import annotations

import ast
import functools
import hashlib
import inspect
import re
import sys
import sysconfig
import textwrap
import types
from pathlib import Path
from typing import Any

__all__ = ["code_fingerprint", "is_user_code"]

_SIMPLE = (int, float, complex, str, bytes, bool, type(None))
_MAX_DEPTH = 12


@functools.cache
def _library_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    roots = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    roots |= {p for p in sys.path if "site-packages" in p or "dist-packages" in p}
    return tuple(str(Path(r).resolve()) for r in roots)


def is_user_code(obj: Any) -> bool:
    """Whether ``obj`` is defined in the user's code (not the standard library or a package)."""
    module = sys.modules.get(getattr(obj, "__module__", None) or "")
    if module is None:
        return getattr(obj, "__module__", None) in {"__main__", None}
    filename = getattr(module, "__file__", None)
    if filename is None:
        return module.__name__ == "__main__"
    resolved = str(Path(filename).resolve())
    return not any(resolved.startswith(root) for root in _library_roots())


class _Strip(ast.NodeTransformer):
    """Drops docstrings: they describe the logic, they are not it."""

    def generic_visit(self, node: ast.AST) -> ast.AST:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            return self._body(node)
        return super().generic_visit(node)

    def _body(self, node: Any) -> Any:
        super().generic_visit(node)
        body = node.body
        if (
            body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
        return node


def _syntax(fn: types.FunctionType) -> str | None:
    """The normalised syntax tree of a named function's source; None when it has none."""
    if fn.__name__ == "<lambda>":
        return None  # a lambda's source is its whole line: use its code object instead
    try:
        source = textwrap.dedent(inspect.getsource(fn))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None
    tree = _Strip().visit(tree)
    if tree.body and isinstance(tree.body[0], ast.FunctionDef | ast.AsyncFunctionDef):
        tree.body[0].name = ""  # the code counts, not what it is called
    return ast.dump(tree, include_attributes=False)


def _code(code: types.CodeType) -> list[Any]:
    """A code object's instructions and constants (nested code objects too)."""
    consts = [_code(c) if isinstance(c, types.CodeType) else repr(c) for c in code.co_consts]
    return [code.co_code.hex(), consts, list(code.co_names), list(code.co_varnames)]


def _names(code: types.CodeType) -> list[str]:
    """Every global name the code (and the code nested in it) reads."""
    found = list(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            found.extend(_names(const))
    return list(dict.fromkeys(found))


class _Hasher:
    def __init__(self) -> None:
        self.seen: dict[int, int] = {}

    def visit(self, obj: Any, depth: int = 0) -> Any:
        if isinstance(obj, _SIMPLE):
            return [type(obj).__name__, repr(obj)]
        if depth > _MAX_DEPTH:
            return ["deep", _name(obj)]
        if id(obj) in self.seen:
            return ["ref", self.seen[id(obj)]]
        self.seen[id(obj)] = len(self.seen)
        if isinstance(obj, list | tuple | set | frozenset):
            items = [self.visit(x, depth + 1) for x in obj]
            return [
                type(obj).__name__,
                sorted(map(repr, items)) if isinstance(obj, set | frozenset) else items,
            ]
        if isinstance(obj, dict):
            return ["dict", [[repr(k), self.visit(v, depth + 1)] for k, v in obj.items()]]
        if isinstance(obj, functools.partial):
            return [
                "partial",
                self.visit(obj.func, depth + 1),
                self.visit(obj.args, depth + 1),
                self.visit(obj.keywords, depth + 1),
            ]
        if isinstance(obj, types.MethodType):
            return [
                "method",
                self.visit(obj.__func__, depth + 1),
                self.visit(obj.__self__, depth + 1),
            ]
        if isinstance(obj, types.ModuleType):
            return ["module", obj.__name__]
        if isinstance(obj, re.Pattern):
            return ["pattern", obj.pattern, obj.flags]
        if not is_user_code(obj) and not _is_instance_of_user_class(obj):
            return ["library", _name(obj)]
        if isinstance(obj, types.FunctionType):
            return self._function(obj, depth)
        if isinstance(obj, type):
            return self._class(obj, depth)
        return [
            "object",
            self.visit(type(obj), depth + 1),
            self.visit(_attributes(obj), depth + 1),
        ]

    def _function(self, fn: types.FunctionType, depth: int) -> Any:
        closure = {
            name: self.visit(cell.cell_contents, depth + 1)
            for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=True)
            if _filled(cell)
        }
        globals_used = {
            name: self.visit(fn.__globals__[name], depth + 1)
            for name in _names(fn.__code__)
            if name in fn.__globals__
        }
        return [
            "function",
            _syntax(fn) or _code(fn.__code__),
            self.visit(fn.__defaults__, depth + 1),
            self.visit(fn.__kwdefaults__, depth + 1),
            closure,
            globals_used,
        ]

    def _class(self, cls: type, depth: int) -> Any:
        parts = []
        for klass in cls.__mro__:
            if klass is object or not is_user_code(klass):
                continue
            members = {
                name: self.visit(_unwrap(value), depth + 1)
                for name, value in vars(klass).items()
                if _counts(name, value)
            }
            parts.append([klass.__qualname__, members])
        return ["class", parts]


def _filled(cell: types.CellType) -> bool:
    try:
        cell.cell_contents  # noqa: B018  (an empty cell raises)
    except ValueError:
        return False
    return True


def _unwrap(value: Any) -> Any:
    if isinstance(value, staticmethod | classmethod):
        return value.__func__
    if isinstance(value, property):
        return [value.fget, value.fset]
    return value


def _counts(name: str, value: Any) -> bool:
    """Class members that can decide a result: methods and simple values, not dunder data."""
    if name in {"__dict__", "__weakref__", "__module__", "__doc__", "__qualname__"}:
        return False
    if name.startswith("__") and not callable(value):
        return False
    return callable(value) or isinstance(value, (*_SIMPLE, staticmethod, classmethod, property))


def _attributes(obj: Any) -> dict[str, Any]:
    """An instance's attribute values (its ``__dict__``, or its slots)."""
    if hasattr(obj, "__dict__"):
        return dict(vars(obj))
    slots = [s for klass in type(obj).__mro__ for s in getattr(klass, "__slots__", ())]
    return {s: getattr(obj, s) for s in slots if hasattr(obj, s)}


def _is_instance_of_user_class(obj: Any) -> bool:
    return not isinstance(obj, type | types.FunctionType) and is_user_code(type(obj))


def _name(obj: Any) -> str:
    target = (
        obj
        if isinstance(obj, type | types.FunctionType | types.BuiltinFunctionType)
        else type(obj)
    )
    return f"{getattr(target, '__module__', '')}.{getattr(target, '__qualname__', repr(target))}"


def code_fingerprint(obj: Any) -> str:
    """A 16-hex-digit digest of what ``obj`` computes (see the module docstring).

    Equal for two functions that differ only in comments, formatting,
    docstrings or their own name. Different when the body (local names
    included), a default, a closure's value, a module-level name it reads (a
    function of the user's code, followed recursively, or a value), or a
    callable object's method or attribute changes.
    """
    payload = repr(_Hasher().visit(obj))
    return hashlib.sha256(payload.encode()).hexdigest()[:16]
