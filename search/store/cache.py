"""The LLM-call cache: a langchain-core ``BaseCache`` over the store's ``llm_calls`` table."""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from langchain_core.caches import RETURN_VAL_TYPE, BaseCache
from langchain_core.messages import message_to_dict, messages_from_dict
from langchain_core.outputs import ChatGeneration, Generation

from search.store.records import now

if TYPE_CHECKING:
    from search.store.database import StoreBase

__all__ = [
    "LLMCallCache",
    "hold_llm_calls",
    "held_lookup",
    "held_row",
    "held_update",
    "llm_key",
    "LLM_INSERT",
]

LLM_INSERT = (
    "INSERT OR REPLACE INTO llm_calls (key, llm_string, prompt, response, created_at)"
    " VALUES (?, ?, ?, ?, ?)"
)


class HeldCalls(list[tuple[Any, ...]]):
    """LLM-cache rows held back in one task; closed when the task's block ends."""

    def __init__(self) -> None:
        """Start empty and open."""
        super().__init__()
        self.lock = threading.Lock()
        self.closed = False

    def add(self, row: tuple[Any, ...]) -> bool:
        """Hold ``row``; ``False`` once closed (the caller then commits it itself)."""
        with self.lock:
            if self.closed:
                return False
            self.append(row)
            return True

    def close(self) -> None:
        """Hold nothing more."""
        with self.lock:
            self.closed = True


_HELD_CALLS: ContextVar[HeldCalls | None] = ContextVar("rolegraph_held_llm_calls", default=None)


@contextlib.contextmanager
def hold_llm_calls() -> Iterator[list[tuple[Any, ...]]]:
    """Inside the block, LLM-cache writes of this task are held instead of committed.

    The evaluator commits them together with the evaluation they belong to
    (``put_evaluation(record, calls=held)``): one transaction instead of one per
    call, and a killed run loses only what it had in flight, as before. Read the
    rows after the block: a write that comes later, from a model call that
    timed out but whose thread went on to finish it, is committed on its own.
    """
    held = HeldCalls()
    token = _HELD_CALLS.set(held)
    try:
        yield held
    finally:
        held.close()
        _HELD_CALLS.reset(token)


def llm_key(prompt: str, llm_string: str) -> str:
    """The ``llm_calls`` key of a call: a digest of the model's settings and the prompt."""
    digest = hashlib.sha256(llm_string.encode())
    digest.update(b"\x00")
    digest.update(prompt.encode())
    return digest.hexdigest()[:32]


def held_lookup(key: str) -> RETURN_VAL_TYPE | None:
    """A call held back in this task (:func:`hold_llm_calls`) under ``key``, or ``None``."""
    for row in _HELD_CALLS.get() or ():
        if row[0] == key:
            return _decode_generations(row[3])
    return None


def held_update(prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> bool:
    """Hold a call's row in this task's list; ``False`` when no :func:`hold_llm_calls` is open."""
    held = _HELD_CALLS.get()
    if held is None:
        return False
    return held.add(held_row(prompt, llm_string, return_val))


def held_row(prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> tuple[Any, ...]:
    """The ``llm_calls`` row of a call, as it is held and committed."""
    return (
        llm_key(prompt, llm_string),
        llm_string,
        prompt,
        _encode_generations(return_val),
        now(),
    )


def _encode_generations(value: RETURN_VAL_TYPE) -> str:
    items: list[dict[str, Any]] = []
    for generation in value:
        if isinstance(generation, ChatGeneration):
            items.append(
                {
                    "message": message_to_dict(generation.message),
                    "info": generation.generation_info,
                }
            )
        else:
            items.append({"text": generation.text, "info": generation.generation_info})
    return json.dumps(items, default=str)


def _decode_generations(text: str) -> list[Generation]:
    generations: list[Generation] = []
    for item in json.loads(text):
        if "message" in item:
            message = messages_from_dict([item["message"]])[0]
            generations.append(ChatGeneration(message=message, generation_info=item["info"]))
        else:
            generations.append(Generation(text=item["text"], generation_info=item["info"]))
    return generations


class LLMCallCache(BaseCache):
    """A langchain-core ``BaseCache`` backed by the store's ``llm_calls`` table.

    Pass it to :func:`orchestrator.deploy` (``cache=store.llm_cache()``) or set
    it as any chat model's ``cache``. Each entry is committed when written, so
    entries survive a crash and are shared between processes. The async methods
    run the query inline: a keyed SQLite lookup takes microseconds, less than a
    hop to a thread pool.
    """

    def __init__(self, store: StoreBase) -> None:
        """Cache into ``store``."""
        self.store = store

    @staticmethod
    def _key(prompt: str, llm_string: str) -> str:
        return llm_key(prompt, llm_string)

    def lookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        """The cached generations for ``prompt`` under ``llm_string``, or ``None``."""
        key = llm_key(prompt, llm_string)
        held = held_lookup(key)
        if held is not None:
            return held
        with self.store.connection() as db:
            found = db.conn.execute(
                "SELECT response FROM llm_calls WHERE key = ?", (key,)
            ).fetchone()
        return _decode_generations(found[0]) if found else None

    def update(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        """Store generations: committed at once, or held (:func:`hold_llm_calls`)."""
        if not held_update(prompt, llm_string, return_val):
            self.store.write_rows([(LLM_INSERT, held_row(prompt, llm_string, return_val))])

    def clear(self, **kwargs: Any) -> None:
        """Delete every cached call."""
        with self.store.connection() as db:
            db.execute("DELETE FROM llm_calls")

    async def alookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        """Async :meth:`lookup`."""
        return self.lookup(prompt, llm_string)

    async def aupdate(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        """Async :meth:`update`."""
        self.update(prompt, llm_string, return_val)

    async def aclear(self, **kwargs: Any) -> None:
        """Async :meth:`clear`."""
        self.clear()

    def __len__(self) -> int:
        with self.store.connection() as db:
            return int(db.execute("SELECT count(*) FROM llm_calls").fetchone()[0])
