"""A fingerprint of what a user function does, for keys that must change when its logic does.

:func:`code_fingerprint` hashes a function's normalised syntax tree (comments,
formatting and docstrings do not count) together with everything its result
depends on in the user's code: the values its closures hold, its default
arguments, the module-level names it reads (functions are followed
recursively, constants by value), and for a bound method or a callable object
its class's methods and its simple attribute values. Code of the standard
library and of installed packages counts by name only: it changes with a
version, not with an edit.

With ``libraries=True`` (how a user's LangGraph graph is versioned) the state
that LangChain and LangGraph objects hold is followed too, because that is
where a prebuilt agent keeps the user's prompt, tools and models: a library
function's closure and defaults, a library object's attributes, a compiled
graph's builder (nodes, edges, branches, schemas) and drawn structure. A language
model counts by its class and identifying parameters, and any object may say
what it counts as with a ``__fingerprint__()`` method.

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
import json
import re
import sys
import sysconfig
import textwrap
import types
from pathlib import Path
from typing import Any

from langchain_core.caches import BaseCache
from langchain_core.callbacks import BaseCallbackHandler, BaseCallbackManager
from langchain_core.language_models import BaseLanguageModel
from langchain_core.rate_limiters import BaseRateLimiter
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.pregel import Pregel
from langgraph.store.base import BaseStore

__all__ = ["code_fingerprint", "is_user_code"]

_SIMPLE = (int, float, complex, str, bytes, bool, type(None))
_MAX_DEPTH = 12
_MAX_LIBRARY_DEPTH = 48  # a prebuilt agent nests its prompt a dozen objects deep
_FOLLOWED = ("langchain", "langgraph")
_BY_NAME = (
    BaseCheckpointSaver,
    BaseStore,
    BaseCache,
    BaseCallbackHandler,
    BaseCallbackManager,
    BaseRateLimiter,
)


@functools.cache
def _library_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    roots = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    roots |= {p for p in sys.path if "site-packages" in p or "dist-packages" in p}
    return tuple(str(Path(r).resolve()) for r in roots)


def is_user_code(obj: Any) -> bool:
    """Whether ``obj`` is defined in the user's code (not the standard library or a package)."""
    code = getattr(obj, "__code__", None)
    if isinstance(code, types.CodeType) and not code.co_filename.startswith("<"):
        # A function knows its own file; its module's may be another (a script run by runpy).
        resolved = str(Path(code.co_filename).resolve())
        return not any(resolved.startswith(root) for root in _library_roots())
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
    def __init__(self, *, libraries: bool = False) -> None:
        self.seen: dict[int, int] = {}
        self.libraries = libraries
        self.max_depth = _MAX_LIBRARY_DEPTH if libraries else _MAX_DEPTH
        self.kept: list[Any] = []

    def visit(self, obj: Any, depth: int = 0) -> Any:
        if isinstance(obj, _SIMPLE):
            return [type(obj).__name__, repr(obj)]
        if depth > self.max_depth:
            return ["deep", _name(obj)]
        if id(obj) in self.seen:
            return ["ref", self.seen[id(obj)]]
        self.seen[id(obj)] = len(self.seen)
        self.kept.append(obj)  # alive until the end, so no later object reuses its id
        if self.libraries:
            followed = self._library(obj, depth)
            if followed is not None:
                return followed
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
        attributes = _attributes(obj)
        return ["object", self.visit(type(obj), depth + 1), self.visit(attributes, depth + 1)]

    def _library(self, obj: Any, depth: int) -> Any:
        """LangChain and LangGraph state that decides what a graph does; None for the rest."""
        own = getattr(type(obj), "__fingerprint__", None)
        if callable(own) and not isinstance(obj, type):
            return ["own", self.visit(own(obj), depth + 1)]
        if isinstance(obj, BaseLanguageModel):
            params = sorted((str(k), repr(v)) for k, v in obj._identifying_params.items())
            return ["chat_model", _name(obj), params]
        if isinstance(obj, type) or not _followed(obj):
            return None
        if isinstance(obj, types.FunctionType):
            cells = [c.cell_contents for c in obj.__closure__ or () if _filled(c)]
            return [
                "library-function",
                _name(obj),
                self.visit(dict(zip(obj.__code__.co_freevars, cells, strict=False)), depth + 1),
                self.visit(obj.__defaults__, depth + 1),
                self.visit(obj.__kwdefaults__, depth + 1),
            ]
        if isinstance(obj, _BY_NAME):
            return ["library", _name(obj)]  # what it stores changes with every run
        if isinstance(obj, Pregel):
            return ["graph", _structure(obj), self.visit(getattr(obj, "builder", None), depth + 1)]
        attributes = _attributes(obj)
        return ["library-object", _name(obj), self.visit(attributes, depth + 1)]

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


def _followed(obj: Any) -> bool:
    """Whether ``obj`` (a function, or an instance) comes from LangChain or LangGraph."""
    owner = obj if isinstance(obj, types.FunctionType) else type(obj)
    module = getattr(owner, "__module__", None) or ""
    return module.split(".")[0].startswith(_FOLLOWED)


def _structure(graph: Pregel) -> Any:
    """A compiled graph as drawn (nodes, edges, branches, subgraphs) and its input schema."""
    try:
        drawn = graph.get_graph(xray=True).to_json()
    except Exception:  # a graph LangGraph cannot draw: its builder still counts
        drawn = {}
    try:
        schema = graph.get_input_jsonschema()
    except Exception:  # a state LangGraph cannot render as JSON schema
        schema = {}
    return json.dumps([drawn, schema], sort_keys=True, default=str)


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


def code_fingerprint(obj: Any, *, libraries: bool = False) -> str:
    """A 16-hex-digit digest of what ``obj`` computes (see the module docstring).

    Equal for two functions that differ only in comments, formatting,
    docstrings or their own name. Different when the body (local names
    included), a default, a closure's value, a module-level name it reads (a
    function of the user's code, followed recursively, or a value), or a
    callable object's method or attribute changes. ``libraries=True`` also
    follows what LangChain and LangGraph objects hold (prompts, tools, nodes).
    """
    payload = repr(_Hasher(libraries=libraries).visit(obj))
    return hashlib.sha256(payload.encode()).hexdigest()[:16]
