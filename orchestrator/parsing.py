"""Parsing of model replies into role contracts: repaired JSON first, then field patterns.

Real models do not answer in clean JSON. They add trailing commas, wrap the object
in prose or a code fence, run into the output cap, copy the prompt's example, or
write a program that returns a dict. The parser repairs what is recoverable (with
``json-repair``) and refuses what is not an answer:

- a value copied from the prompt's format (a ``<...>`` placeholder, or an object
  made only of the example's words and placeholders) is a template echo;
- a field's value is read as the contract types it: an object or a list never
  becomes the text of a string field;
- a value the output cap cut off is dropped, not read as a shorter value;
- an object inside code (``return {...}``, ``x = {...}``, a Python block) is code,
  not the reply.
"""

from __future__ import annotations

import json
import re
import types
import typing
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import json_repair
from langchain_core.messages import AIMessage
from pydantic import BaseModel, ValidationError

__all__ = [
    "OutputParseError",
    "ReplyFormat",
    "parse_reply",
    "parse_text",
    "message_text",
    "placeholders",
    "reask_prompt",
    "ParseStats",
    "parse_failure_rates",
]

T = TypeVar("T", bound=BaseModel)

_FENCE = re.compile(r"```([\w+-]*)[ \t]*\n?(.*?)(?:```|$)", re.DOTALL)
_JSON_FENCES = {"", "json", "json5", "javascript", "js"}
_DECODER = json.JSONDecoder()
_PLACEHOLDER = re.compile(r"<([^<>\n{}]{2,120})>")
# Text right before a ``{`` that makes the object a value inside code, not the reply.
_IN_CODE = re.compile(r"(?:\breturn|\byield|\bprint\s*\(|[=(\[])\s*$")
_SHOWN_REPLY = 2000  # characters of a bad reply a re-ask shows back
# A one-line reply that is an option: ``C``, ``(C)``, ``C.``, ``C) Paris``, ``C: Paris``.
_OPTION = re.compile(r"\(?([A-Z])\)?(?:[.):]\s+\S.*|[.):]?)")
_LITERAL = re.compile(r'(?:[:\[,]|\bor)\s*"([^"<>\n]{1,40})"')

# Field-specific phrasings seen in free-text replies, tried after ``field: value``.
_UNTIL_END = r"([^\n*<>]+?)(?=\s*(?:\.(?:\s|$)|\n|$|[;,]\s*confidence))"
_KEY = r"[\"']?\s*[:=]"  # ``answer:``, ``answer =`` and a JSON key missing its opening quote
_FIELD_PATTERNS: dict[str, tuple[str, ...]] = {
    "answer": (
        rf"final answer\s*(?:is|:)?\s*:?\s*\**\s*{_UNTIL_END}",
        rf"revised answer\s*(?:is|:)?\s*:?\s*\**\s*{_UNTIL_END}",
        rf"the (?:correct |right )?answer is\s*:?\s*\**\s*{_UNTIL_END}",
        rf"answer{_KEY}\s*\**\s*{_UNTIL_END}",
    ),
    "confidence": (rf"confidence\s*(?:is|{_KEY})?\s*([0-9.]+\s*%?)",),
    "critique": (rf"critique{_KEY}\s*(.+)", r"(?:error|problem|issue)\s*[:=]\s*(.+)"),
    "choice": (r"(?:choice|candidate|pick|choose|option)\s*(?:is|[\"']?\s*[:=#])?\s*(\d+)",),
    "reason": (rf"reason{_KEY}\s*(.+)",),
}
_VERDICT_WORDS = re.compile(r"\b(accept(?:ed)?|reject(?:ed)?|correct|incorrect)\b", re.IGNORECASE)


class OutputParseError(ValueError):
    """A reply could not be read as the role's contract.

    Attributes:
        detail: Why, without the reply's text: what a re-ask tells the model.
    """

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail or message


def message_text(message: AIMessage) -> str:
    """The text of a message, whatever shape its content has."""
    content = message.content
    if isinstance(content, str):
        return content
    parts = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
    return "".join(parts)


def placeholders(template: str) -> frozenset[str]:
    """The ``<...>`` placeholders a prompt template shows, without their brackets."""
    return frozenset(m.strip().lower() for m in _PLACEHOLDER.findall(template))


@dataclass(frozen=True)
class ReplyFormat:
    """What the prompt showed the model as the reply's format: its example and placeholders.

    A value that repeats a placeholder, or an object made only of the example's
    own words once a placeholder was copied, is the prompt echoed back.

    Attributes:
        placeholders: The ``<...>`` texts of the template, lower-cased.
        literals: The quoted words of the template's example (``"accept"``).
        example: The template's JSON example, shown again when a reply is re-asked.
    """

    placeholders: frozenset[str] = frozenset()
    literals: frozenset[str] = frozenset()
    example: str = ""

    @classmethod
    def from_template(cls, template: str) -> ReplyFormat:
        """The format a prompt template asks for: its placeholders and example words."""
        example = ""
        for line in template.splitlines():  # the JSON example: a ``{...}`` that is not a tag
            start = line.find('{"')
            if start != -1 and "}" in line[start:]:
                example = line[start : line.rindex("}") + 1]
        return cls(
            placeholders=placeholders(template),
            literals=frozenset(w.strip().lower() for w in _LITERAL.findall(example)),
            example=example,
        )

    @property
    def wants_letter(self) -> bool:
        """Whether the prompt asks for an option's letter as the answer (multiple choice)."""
        return any("letter" in p for p in self.placeholders)

    @property
    def wants_code(self) -> bool:
        """Whether the prompt asks for a program as the answer (a code task's prompt)."""
        return any("code" in p for p in self.placeholders)

    def is_placeholder(self, value: Any) -> bool:
        """Whether ``value`` is, or contains, one of the prompt's placeholders."""
        if not isinstance(value, str):
            return False
        text = value.strip().lower()
        bare = text.strip("<>").strip()
        if text.startswith("<") and text.endswith(">") and " " in bare:
            return True  # ``<the answer>``: a placeholder even if the prompt wrote it otherwise
        return any(bare == p or f"<{p}>" in text for p in self.placeholders)


@dataclass
class _Candidate:
    """One JSON object found in a reply, and whether the output cap cut it."""

    value: dict[str, Any]
    truncated: bool
    fragment: str = ""


def _fenced(text: str) -> Iterator[tuple[str, bool]]:
    """``(block, is_json)`` for every fenced block of ``text``."""
    for match in _FENCE.finditer(text):
        yield match.group(2), match.group(1).lower() in _JSON_FENCES


def _strict_objects(source: str) -> Iterator[tuple[int, int, dict[str, Any]]]:
    start = source.find("{")
    while start != -1:
        try:
            value, end = _DECODER.raw_decode(source, start)
        except json.JSONDecodeError:
            start = source.find("{", start + 1)
            continue
        if isinstance(value, dict):
            yield start, end, value
        start = source.find("{", end)


def _in_code(source: str, start: int) -> bool:
    line = source[source.rfind("\n", 0, start) + 1 : start]
    return bool(_IN_CODE.search(line))


def _repair(fragment: str) -> dict[str, Any] | None:
    try:
        value = json_repair.loads(fragment)
    except (ValueError, RecursionError):  # the library's own errors are ValueErrors
        return None
    if isinstance(value, list):  # several objects side by side: the first one
        value = next((v for v in value if isinstance(v, dict)), None)
    return value if isinstance(value, dict) and value else None


def _balanced_end(source: str, start: int) -> int | None:
    """Index after the ``}`` closing the ``{`` at ``start``, or ``None`` if it never closes."""
    depth, in_string, escaped = 0, False, False
    for i in range(start, len(source)):
        ch = source[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i + 1
    return None


def _objects(source: str) -> Iterator[_Candidate]:
    """Objects of one source: strict JSON first, then repaired fragments."""
    strict = [(s, e, v) for s, e, v in _strict_objects(source) if not _in_code(source, s)]
    for _, _, value in strict:
        yield _Candidate(value, truncated=False)
    covered = [(s, e) for s, e, _ in strict]
    start = source.find("{")
    while start != -1:
        if any(s <= start < e for s, e in covered) or _in_code(source, start):
            start = source.find("{", start + 1)
            continue
        end = _balanced_end(source, start)
        fragment = source[start:end] if end is not None else source[start:]
        repaired = _repair(fragment)
        if repaired is not None:
            yield _Candidate(repaired, truncated=end is None, fragment=fragment.rstrip())
        if end is None:
            return
        start = source.find("{", end)


def _whole_object(text: str) -> dict[str, Any] | None:
    stripped = text.strip()
    if not stripped.startswith("{"):
        return None
    try:
        value = json.loads(stripped)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) and value else None


def _candidates(text: str) -> list[_Candidate]:
    """Every object of a reply: JSON-fenced blocks first, then the reply outside code blocks."""
    found: list[_Candidate] = []
    whole = _whole_object(text)
    if whole is not None:  # a reply that is one JSON object: its strings may hold fences
        found.append(_Candidate(whole, truncated=False))
    for block, is_json in _fenced(text):
        if is_json:
            found.extend(_objects(block))
    found.extend(_objects(_FENCE.sub(" ", text)))
    return found


def _field_types(contract: type[BaseModel]) -> dict[str, tuple[type, ...]]:
    """The JSON shapes each field accepts: objects and lists only where its type allows."""
    shapes: dict[str, tuple[type, ...]] = {}
    for name, info in contract.model_fields.items():
        annotation = info.annotation
        origins = {typing.get_origin(annotation) or annotation}
        if typing.get_origin(annotation) in (typing.Union, types.UnionType):
            origins = {typing.get_origin(a) or a for a in typing.get_args(annotation)}
        allowed: set[type] = {str, int, float, bool, type(None)}
        if origins & {list, tuple, set, frozenset}:
            allowed.add(list)
        if origins & {dict, typing.Any} or any(
            isinstance(o, type) and issubclass(o, BaseModel) for o in origins
        ):
            allowed.update({dict, list})
        shapes[name] = tuple(allowed)
    return shapes


def _complete(fragment: str, key: str) -> bool:
    """Whether the value of ``key``, the last field of a cut-off object, ended before the cut."""
    found = list(re.finditer(rf"[\"']?{re.escape(key)}[\"']?\s*:\s*", fragment))
    if not found:
        return False
    rest = fragment[found[-1].end() :]
    try:
        value, end = _DECODER.raw_decode(rest)
    except json.JSONDecodeError:
        return False
    # A string, list or object closes itself; a number is whole only once something follows.
    return isinstance(value, str | list | dict) or bool(rest[end:].strip())


def _cut_last(candidate: _Candidate) -> dict[str, Any]:
    """Drop what the output cap cut: the last field, or the last item of a last list."""
    value = dict(candidate.value)
    if not candidate.truncated or not value:
        return value
    last = next(reversed(value))
    if _complete(candidate.fragment, last):
        return value
    if isinstance(value[last], list) and candidate.fragment.endswith(('"', ",")):
        return value  # the cut fell between items: every item is whole
    if isinstance(value[last], list) and len(value[last]) > 1:
        value[last] = value[last][:-1]
        return value
    del value[last]
    return value


def _key_words(key: str) -> list[str]:
    """A key's words, lower-cased: ``"Final_Answer"`` and ``"final answer"`` are the same."""
    return "".join(ch if ch.isalnum() else " " for ch in key.lower()).split()


def _fields_of(value: dict[str, Any], shapes: dict[str, tuple[type, ...]]) -> dict[str, Any]:
    """The object's values under the contract's field names.

    A key is a field's when it is the field's name written in another case or with
    other separators (``"Answer"``, ``"final_answer"`` for ``final_answer``), or a short
    qualified name that ends in it (``"final answer"``, ``"revised_answer"`` for
    ``answer``). A field's own key wins over a qualified one, and a qualified key that
    two fields could claim, or that two keys give one field, is read for none.
    """
    exact: dict[str, Any] = {}
    qualified: dict[str, list[Any]] = {}
    for key, item in value.items():
        words = _key_words(key)
        named = "_".join(words)
        if key in shapes or named in shapes:
            exact.setdefault(key if key in shapes else named, item)
        elif 1 < len(words) <= 3 and words[-1] in shapes:
            qualified.setdefault(words[-1], []).append(item)
    found = dict(exact)
    for name, items in qualified.items():
        if name not in found and len(items) == 1:
            found[name] = items[0]
    return found


def _read(candidate: _Candidate, contract: type[T], fmt: ReplyFormat) -> T:
    """Validate one found object as ``contract``, or raise ``ValueError`` saying why not."""
    value = _cut_last(candidate)
    shapes = _field_types(contract)
    fields: dict[str, Any] = {}
    echoed: list[str] = []
    for key, item in _fields_of(value, shapes).items():
        if fmt.is_placeholder(item) or (
            isinstance(item, list) and any(fmt.is_placeholder(i) for i in item)
        ):
            echoed.append(key)
            continue
        if not isinstance(item, shapes[key]):
            raise ValueError(
                f"field {key!r} is a {type(item).__name__}, not a {_shape(contract, key)}"
            )
        if isinstance(item, list) and any(isinstance(i, dict | list) for i in item):
            raise ValueError(f"field {key!r} holds nested values, not a list of texts")
        fields[key] = item
    if echoed:
        copied = all(
            isinstance(v, str) and v.strip().lower() in fmt.literals for v in fields.values()
        )
        missing = [
            k for k, f in contract.model_fields.items() if f.is_required() and k not in fields
        ]
        if copied or missing:
            raise ValueError(
                f"the reply copies the prompt's placeholder for {', '.join(echoed)}"
                " instead of giving a value"
            )
    if candidate.truncated and not fields:
        raise ValueError("the reply was cut off before any complete field")
    try:
        return contract.model_validate(fields)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        reason = f"{where}: {error['msg']}" if where else error["msg"]
        raise ValueError(f"JSON did not fit: {reason}") from None


def _shape(contract: type[BaseModel], key: str) -> str:
    annotation = contract.model_fields[key].annotation
    return getattr(annotation, "__name__", str(annotation))


def _code_answer(text: str, contract: type[T], fmt: ReplyFormat) -> T | None:
    """A program in a fenced block, where the prompt asked for code as the answer."""
    if not fmt.wants_code or "answer" not in contract.model_fields:
        return None
    for match in _FENCE.finditer(text):
        language, block = match.group(1).lower(), match.group(2).strip()
        if language in ("python", "py", "") and block.startswith(("def ", "import ", "from ")):
            try:
                return contract.model_validate({"answer": block})
            except ValidationError:
                return None
    return None


def _letter_answer(text: str, contract: type[T], fmt: ReplyFormat) -> T | None:
    """A one-option reply, ``"C"`` or ``"C. Mercury"``, where the prompt asked for a letter.

    Only a one-line reply that starts with the letter: a letter in longer prose may be
    one option of several the reply goes through.
    """
    if not fmt.wants_letter or "answer" not in contract.model_fields:
        return None
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    match = _OPTION.fullmatch(lines[0]) if len(lines) == 1 else None
    if match is None:
        return None
    try:
        return contract.model_validate({"answer": match.group(1)})
    except ValidationError:
        return None


def _strip(value: str) -> str:
    return value.strip().strip("\"'`*").strip().rstrip(".").strip()


def _prose(text: str, fmt: ReplyFormat) -> str:
    """The reply without code blocks, JSON-looking objects and the prompt's placeholders."""
    text = _FENCE.sub(" ", text)
    text = _PLACEHOLDER.sub(
        lambda m: " " if m.group(1).strip().lower() in fmt.placeholders else m.group(0), text
    )
    kept, start = [], 0
    brace = text.find("{")
    while brace != -1:  # cut every object out, nested ones whole, a cut-off one to the end
        kept.append(text[start:brace])
        end = _balanced_end(text, brace)
        if end is None:
            return " ".join(kept)
        start, brace = end, text.find("{", end)
    kept.append(text[start:])
    return " ".join(kept)


def _verdict(text: str) -> str | None:
    """The verdict a prose reply states, if all its verdict words agree."""
    words = {w.lower().removesuffix("ed") for w in _VERDICT_WORDS.findall(text)}
    verdicts = {"accept" if w in ("accept", "correct") else "reject" for w in words}
    return verdicts.pop() if len(verdicts) == 1 else None


def _from_patterns(text: str, contract: type[BaseModel]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field in contract.model_fields:
        if field == "steps":
            steps = re.findall(r"^\s*(?:\d+[.)]|[-*])\s+(.+)$", text, re.MULTILINE)
            if steps:
                values["steps"] = steps
            continue
        if field == "verdict":
            verdict = _verdict(text)
            if verdict is not None:
                values["verdict"] = verdict
            continue
        patterns = (*_FIELD_PATTERNS.get(field, ()), rf"\b{field}{_KEY}\s*([^\n]+)")
        for pattern in patterns:
            match = re.search(pattern, text, re.IGNORECASE)
            if match and _strip(match.group(1)):
                values[field] = _strip(match.group(1))
                break
    return values


def parse_text(text: str, contract: type[T], *, fmt: ReplyFormat | None = None) -> T:
    """Read ``text`` as ``contract``: any JSON object that fits, else field patterns.

    Args:
        text: The reply.
        contract: The output contract to fill.
        fmt: The format the prompt showed; its placeholders and example are refused
            as values.

    Raises:
        OutputParseError: No object and no pattern gives a valid contract; the
            message says why, for a re-ask.
    """
    fmt = fmt or ReplyFormat()
    errors: list[str] = []
    candidates = _candidates(text)
    for candidate in candidates:
        try:
            return _read(candidate, contract, fmt)
        except ValueError as exc:
            errors.append(str(exc))
    code = _code_answer(text, contract, fmt) or _letter_answer(text, contract, fmt)
    if code is not None:
        return code
    values = _from_patterns(_prose(text, fmt), contract)
    if values:
        try:
            return contract.model_validate(values)
        except ValidationError as exc:
            errors.append(f"patterns did not fit: {exc.errors()[0]['msg']}")
    snippet = text.strip().replace("\n", " ")[:120]
    detail = "; ".join(dict.fromkeys(errors)) or "no JSON object and no recognisable fields"
    raise OutputParseError(
        f"could not parse {contract.__name__} from {snippet!r}: {detail}", detail=detail
    )


def parse_reply(message: AIMessage, contract: type[T], *, fmt: ReplyFormat | None = None) -> T:
    """Read a model reply as ``contract``, from tool-call arguments or from its text."""
    for call in message.tool_calls:
        try:
            return contract.model_validate(call["args"])
        except ValidationError:
            continue
    return parse_text(message_text(message), contract, fmt=fmt)


def reask_prompt(
    error: str,
    contract: type[BaseModel],
    fmt: ReplyFormat | None = None,
    *,
    prompt: str = "",
    reply: str = "",
) -> str:
    """The user message that re-asks a model whose reply did not parse.

    Like LangChain's ``RetryWithErrorOutputParser``, it repeats the prompt, shows the
    reply, says what was wrong and shows the expected format again: one message, so a
    model that reads only the last user message still sees the whole task.

    Args:
        error: The parse error (an :class:`OutputParseError`'s message or detail).
        contract: The output contract.
        fmt: The prompt's reply format; its JSON example is shown again.
        prompt: The user message first sent.
        reply: The reply that did not parse.
    """
    example = (fmt.example if fmt else "") or json.dumps(
        {name: f"<{name}>" for name in contract.model_fields}
    )
    reason = error.split("': ", 1)[-1] if error.startswith("could not parse") else error
    parts = [prompt.strip()] if prompt.strip() else []
    if reply.strip():
        parts.append(f"Your previous reply was:\n{reply.strip()[:_SHOWN_REPLY]}")
    parts.append(
        f"That reply could not be read: {reason}\n"
        "Reply again with only a JSON object in this format, with real values in place of "
        f"the <...> placeholders and nothing else:\n{example}"
    )
    return "\n\n".join(parts)


@dataclass(frozen=True)
class ParseStats:
    """How often one role's replies on one model did not parse.

    Attributes:
        runs: Agent runs that asked the model (cached replies included).
        replies: Replies parsed: one per run, two where the run re-asked.
        failures: Replies that did not parse.
        fallbacks: Runs whose re-ask failed too, so the role handed on its fallback.
    """

    runs: int = 0
    replies: int = 0
    failures: int = 0
    fallbacks: int = 0

    @property
    def rate(self) -> float:
        """Parse-failure rate: failed replies per reply (0 when there were none)."""
        return self.failures / self.replies if self.replies else 0.0

    @property
    def fallback_rate(self) -> float:
        """Runs that ended on the role's fallback, per run."""
        return self.fallbacks / self.runs if self.runs else 0.0


def parse_failure_rates(nodes: Iterable[Any]) -> dict[tuple[str, str | None], ParseStats]:
    """Parse statistics per ``(role, model)`` from node traces.

    Args:
        nodes: :class:`~orchestrator.trace.NodeTrace` objects or their records (dicts),
            e.g. every ``RunResult.nodes`` of an evaluation.
    """
    stats: dict[tuple[str, str | None], ParseStats] = {}
    for node in nodes:
        get = node.get if isinstance(node, dict) else lambda key, n=node: getattr(n, key, None)
        if not get("calls") or get("raw") is None:
            continue  # no model reply: a role without a model, or a skipped run
        failures = int(get("parse_failures") or (1 if get("parse_error") else 0))
        reasked = failures > 1 or (failures == 1 and not get("parse_error"))
        key = (str(get("role")), get("model"))
        old = stats.get(key, ParseStats())
        stats[key] = ParseStats(
            runs=old.runs + 1,
            replies=old.replies + 1 + int(reasked),
            failures=old.failures + failures,
            fallbacks=old.fallbacks + int(bool(get("parse_error"))),
        )
    return stats
