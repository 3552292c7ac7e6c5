"""Reading YAML and JSON from untrusted sources, with limits and named errors.

``yaml.safe_load`` never runs code, but it still lets a few kilobytes of
text cost seconds or crash: an alias bomb (``&a [*a, *a, ...]`` nested a
few levels) expands to billions of nodes when the data is walked, deep
nesting raises ``RecursionError``, and a duplicate key silently wins.
:func:`load_yaml` and :func:`load_json` read plain data (mappings, lists,
strings, numbers, booleans and nulls) and raise
:class:`~orchestrator.errors.InputFormatError`, naming the source, line and
column, for anything else.

Limits (keyword arguments, with these defaults):

- ``max_chars``: 10,000,000 characters of text;
- ``max_depth``: 64 levels of nested mappings and lists;
- ``max_nodes``: 100,000 values, counting each use of a YAML alias in full,
  so an alias bomb is rejected before it is ever expanded.

YAML timestamps (``2024-05-01``) stay strings; tags that build anything but
plain data (``!!binary``, ``!!set``, ``!!omap``, ``!!python/...``) are refused.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from orchestrator.errors import InputFormatError

__all__ = ["MAX_CHARS", "MAX_DEPTH", "MAX_NODES", "load_yaml", "load_json", "load_data_file"]

MAX_CHARS = 10_000_000
"""Longest text the loaders read, in characters."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and lists."""
MAX_NODES = 100_000
"""Most values in one document, aliases counted in full."""

_MERGE = "tag:yaml.org,2002:merge"


class _LimitError(yaml.MarkedYAMLError):
    """A loader limit was broken at a known place."""


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, plus depth, expansion and duplicate-key checks."""

    def __init__(self, stream: str, *, max_depth: int, max_nodes: int) -> None:
        super().__init__(stream)
        self.max_depth = max_depth
        self.max_nodes = max_nodes
        self._depth = 0
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        event = self.peek_event()
        mark: Any = event.start_mark
        if isinstance(event, yaml.AliasEvent):
            target = self.anchors.get(event.anchor)
            if target is not None and id(target) not in self._sizes:
                raise _LimitError(None, None, f"alias *{event.anchor} refers to itself", mark)
            return super().compose_node(parent, index)
        self._depth += 1
        try:
            if self._depth > self.max_depth:
                raise _LimitError(
                    None, None, f"data is nested more than {self.max_depth} levels deep", mark
                )
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if node is None:  # pragma: no cover - only at the end of a stream
            return None
        self._sizes[id(node)] = size = self._size(node)
        if size > self.max_nodes:
            raise _LimitError(
                None,
                None,
                f"data expands to more than {self.max_nodes:,} values (aliases counted "
                "each time they are used)",
                node.start_mark,
            )
        return node

    def _size(self, node: Node) -> int:
        if isinstance(node, SequenceNode):
            return 1 + sum(self._sizes.get(id(child), 1) for child in node.value)
        if isinstance(node, MappingNode):
            return 1 + sum(
                self._sizes.get(id(key), 1) + self._sizes.get(id(value), 1)
                for key, value in node.value
            )
        return 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == _MERGE:
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:
                continue  # unhashable: the base class reports it
            if duplicate:
                raise ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found duplicate key {key!r}; keep one of them",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_plain_timestamp(self, node: ScalarNode) -> str:
        return str(self.construct_scalar(node))

    def refuse_tag(self, node: Node) -> NoReturn:
        raise ConstructorError(
            None,
            None,
            f"tag {node.tag!r} is not supported; use plain mappings, lists and scalars",
            node.start_mark,
        )


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_plain_timestamp)
for _tag in ("binary", "set", "omap", "pairs"):
    _Loader.add_constructor(f"tag:yaml.org,2002:{_tag}", _Loader.refuse_tag)


def _text(text: str | bytes, source: str, max_chars: int) -> str:
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputFormatError(
                f"{source} is not UTF-8 text (byte {exc.start + 1}); save it as UTF-8",
                source=source,
            ) from None
    if not isinstance(text, str):
        raise InputFormatError(
            f"{source}: expected text, got {type(text).__name__}", source=source
        )
    if len(text) > max_chars:
        raise InputFormatError(
            f"{source} is {len(text):,} characters long; the limit is {max_chars:,}",
            source=source,
        )
    return text


def load_yaml(
    text: str | bytes,
    *,
    source: str = "<string>",
    max_chars: int = MAX_CHARS,
    max_depth: int = MAX_DEPTH,
    max_nodes: int = MAX_NODES,
) -> Any:
    """Parse one YAML document into plain data, within the limits.

    Args:
        text: The YAML text (bytes are decoded as UTF-8).
        source: Where the text came from, for error messages.
        max_chars: Longest text accepted.
        max_depth: Deepest nesting of mappings and lists.
        max_nodes: Most values, counting every use of an alias in full.

    Returns:
        The data; ``None`` for an empty document.

    Raises:
        InputFormatError: Invalid YAML, a duplicate key, an unsupported tag,
            more than one document, or a broken limit.

    Example:
        >>> load_yaml("a: [1, 2]")
        {'a': [1, 2]}
    """
    text = _text(text, source, max_chars)
    loader: _Loader | None = None
    try:
        loader = _Loader(text, max_depth=max_depth, max_nodes=max_nodes)
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        _raise(source, problem, None if mark is None else (mark.line + 1, mark.column + 1))
    except yaml.reader.ReaderError as exc:
        char = f"U+{exc.character:04X}" if isinstance(exc.character, int) else repr(exc.character)
        _raise(source, f"character {char} at offset {exc.position} is not allowed", None)
    except yaml.YAMLError as exc:
        _raise(source, " ".join(str(exc).split()), None)
    except RecursionError:
        _raise(source, f"data is nested more than {max_depth} levels deep", None)
    except ValueError as exc:  # e.g. an integer longer than Python converts
        _raise(source, _value_problem(exc), None)
    finally:
        if loader is not None:
            loader.dispose()


def _value_problem(exc: ValueError) -> str:
    if "integer string conversion" in str(exc):
        return "a number has more than 4,300 digits"
    return str(exc)


def _raise(source: str, problem: str, where: tuple[int, int] | None) -> NoReturn:
    at = f" at line {where[0]}, column {where[1]}" if where else ""
    raise InputFormatError(
        f"invalid data in {source}{at}: {problem}",
        source=source,
        line=where[0] if where else None,
        column=where[1] if where else None,
    ) from None


def _walk(value: Any) -> Iterator[tuple[Any, int]]:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        yield item, depth
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)


def load_json(
    text: str | bytes,
    *,
    source: str = "<string>",
    max_chars: int = MAX_CHARS,
    max_depth: int = MAX_DEPTH,
    max_nodes: int = MAX_NODES,
) -> Any:
    """Parse JSON text into plain data, within the same limits as :func:`load_yaml`.

    Duplicate keys and the non-standard ``NaN``/``Infinity`` are refused.

    Raises:
        InputFormatError: Invalid JSON, a duplicate key, or a broken limit.

    Example:
        >>> load_json('{"a": [1, 2]}')
        {'a': [1, 2]}
    """
    text = _text(text, source, max_chars)

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise ValueError(f"found duplicate key {key!r}; keep one of them")
            out[key] = value
        return out

    def constant(name: str) -> NoReturn:
        raise ValueError(f"{name} is not a JSON number; use a finite number or null")

    try:
        data = json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    except json.JSONDecodeError as exc:
        _raise(source, exc.msg, (exc.lineno, exc.colno))
    except RecursionError:
        _raise(source, f"data is nested more than {max_depth} levels deep", None)
    except ValueError as exc:
        _raise(source, _value_problem(exc), None)
    for count, (item, depth) in enumerate(_walk(data), start=1):
        if depth > max_depth:
            _raise(source, f"data is nested more than {max_depth} levels deep", None)
        if count > max_nodes:
            _raise(source, f"data has more than {max_nodes:,} values", None)
        if isinstance(item, float) and not math.isfinite(item):
            _raise(source, f"{item} is not a JSON number", None)  # e.g. 1e999
    return data


def load_data_file(path: str | Path, **limits: int) -> Any:
    """Read a ``.json``, ``.yaml`` or ``.yml`` file with :func:`load_json`/:func:`load_yaml`.

    Raises:
        FileNotFoundError: No such file.
        InputFormatError: The file is not UTF-8, not valid for its suffix, or too large.
    """
    file = Path(path)
    max_chars = limits.get("max_chars", MAX_CHARS)
    if file.stat().st_size > 4 * max_chars:  # UTF-8 takes at most 4 bytes a character
        raise InputFormatError(
            f"{file} is {file.stat().st_size:,} bytes; the limit is {max_chars:,} characters",
            source=str(file),
        )
    data = file.read_bytes()
    if file.suffix.lower() in {".yaml", ".yml"}:
        return load_yaml(data, source=str(file), **limits)
    return load_json(data, source=str(file), **limits)
