"""Deterministic chat models for tests: scripted, slow, counting and flaky.

They are ordinary ``BaseChatModel`` s, so they exercise the same code path as
real providers. Use them with ``Agent(model=instance)`` or
``compile_workflow(spec, models={ref: instance})``. They stream too: a reply
comes as one chunk per word (with its leading space), usage on the last one,
so ``stream_mode="messages"`` shows tokens as with a real provider.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field, PrivateAttr

from orchestrator.pricing import Price, default_prices
from orchestrator.sim import SimChatModel

__all__ = [
    "ScriptedChatModel",
    "SlowChatModel",
    "FlakyChatModel",
    "FaultyChatModel",
    "CountingSimChatModel",
    "RateLimitError",
]

# Test models cost a fixed, small amount so that accounting is visible in tests.
default_prices().register("test:*", Price(input=1.0, output=2.0))


def _usage(messages: Sequence[BaseMessage], text: str) -> UsageMetadata:
    prompt = sum(len(str(m.content)) for m in messages)
    inp, out = max(1, prompt // 4), max(1, len(text) // 4)
    return UsageMetadata(input_tokens=inp, output_tokens=out, total_tokens=inp + out)


_WORD = re.compile(r"\s*\S+")


@dataclass
class _Counters:
    lock: threading.Lock = field(default_factory=threading.Lock)
    calls: int = 0
    in_flight: int = 0
    peak: int = 0


class _CountingModel(BaseChatModel):
    """Counts calls and tracks how many are in flight at once."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name_: str = Field(default="test-model", alias="model_name")
    max_tokens: int | None = Field(
        default=None, description="Output cap; replies are cut to it (as real providers do)."
    )
    reasoning_tokens: int = Field(
        default=0, description="Hidden output tokens each reply reports on top of its text."
    )
    ignores_max_tokens: bool = Field(
        default=False, description="Report every token even past max_tokens (a faulty provider)."
    )
    # One counter object shared by the copies compile() makes (model_copy is shallow),
    # so the instance a test holds sees every call.
    _counters: _Counters = PrivateAttr(default_factory=lambda: _Counters())

    @property
    def _llm_type(self) -> str:
        return "rolegraph-test"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        # Every setting, so two test models with different scripts never share cache entries.
        settings = {k: getattr(self, k) for k in type(self).model_fields if k != "cache"}
        digest = hashlib.sha256(repr(sorted(settings.items(), key=str)).encode()).hexdigest()
        return {"model": self.name_, "settings": digest[:16]}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        return LangSmithParams(ls_provider="test", ls_model_name=self.name_, ls_model_type="chat")

    @property
    def _lock(self) -> threading.Lock:
        return self._counters.lock

    @property
    def calls(self) -> int:
        """Model calls made so far."""
        return self._counters.calls

    @property
    def peak_in_flight(self) -> int:
        """Most calls that were running at the same time."""
        return self._counters.peak

    def reset_counters(self) -> None:
        """Zero the counters."""
        counters = self._counters
        with counters.lock:
            counters.calls = counters.peak = counters.in_flight = 0

    def _enter(self) -> int:
        counters = self._counters
        with counters.lock:
            counters.calls += 1
            counters.in_flight += 1
            counters.peak = max(counters.peak, counters.in_flight)
            return counters.calls

    def _leave(self) -> None:
        counters = self._counters
        with counters.lock:
            counters.in_flight -= 1

    def _respond(self, messages: list[BaseMessage], number: int) -> tuple[float, str]:
        """Seconds to wait, then the reply text, for call ``number``; may raise instead."""
        raise NotImplementedError

    def _capped(self, messages: list[BaseMessage], text: str) -> tuple[str, UsageMetadata, str]:
        """The reply's text and usage under the output cap, and its finish reason."""
        usage = _usage(messages, text)
        out = usage["output_tokens"] + self.reasoning_tokens
        cap = self.max_tokens
        if cap is not None and out > cap and not self.ignores_max_tokens:
            keep = max(0, cap - self.reasoning_tokens)
            text, out = text[: keep * 4], cap
            reason = "length"
        else:
            reason = "stop"
        usage = UsageMetadata(
            input_tokens=usage["input_tokens"],
            output_tokens=out,
            total_tokens=usage["input_tokens"] + out,
        )
        return text, usage, reason

    def _result(self, messages: list[BaseMessage], text: str) -> ChatResult:
        text, usage, reason = self._capped(messages, text)
        message = AIMessage(
            content=text,
            usage_metadata=usage,
            response_metadata={"model_name": self.name_, "finish_reason": reason},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _chunks(self, messages: list[BaseMessage], text: str) -> list[ChatGenerationChunk]:
        """The reply as word chunks; the last carries the usage, as providers send it."""
        text, usage, reason = self._capped(messages, text)
        words = _WORD.findall(text) or [text]
        chunks = [ChatGenerationChunk(message=AIMessageChunk(content=w)) for w in words[:-1]]
        last = AIMessageChunk(
            content=words[-1],
            usage_metadata=usage,
            response_metadata={"model_name": self.name_, "finish_reason": reason},
            chunk_position="last",
        )
        return [*chunks, ChatGenerationChunk(message=last)]

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        number = self._enter()
        try:
            delay, text = self._respond(messages, number)
            if delay:
                time.sleep(delay)
            return self._result(messages, text)
        finally:
            self._leave()

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        number = self._enter()
        try:
            delay, text = self._respond(messages, number)
            if delay:
                time.sleep(delay)
            yield from self._chunks(messages, text)
        finally:
            self._leave()

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        number = self._enter()
        try:
            delay, text = self._respond(messages, number)
            if delay:
                await asyncio.sleep(delay)
            for chunk in self._chunks(messages, text):
                yield chunk
        finally:
            self._leave()

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        number = self._enter()
        try:
            delay, text = self._respond(messages, number)
            if delay:
                await asyncio.sleep(delay)
            return self._result(messages, text)
        finally:
            self._leave()


class ScriptedChatModel(_CountingModel):
    """Replies from a list (cycled) or a function of the last message's text."""

    replies: Sequence[str] | Callable[[str], str] = Field(
        default=('{"answer": "42", "confidence": 0.9}',),
        description="Replies in order (cycled), or a function of the prompt text.",
    )

    def _respond(self, messages: list[BaseMessage], number: int) -> tuple[float, str]:
        if callable(self.replies):
            return 0.0, self.replies(str(messages[-1].content))
        return 0.0, self.replies[(number - 1) % len(self.replies)]


class SlowChatModel(_CountingModel):
    """Answers after a fixed delay; used to show that branches overlap."""

    delay: float = Field(default=0.1, description="Seconds per call.")
    reply: str = Field(default='{"answer": "42", "confidence": 0.9}')

    def _respond(self, messages: list[BaseMessage], number: int) -> tuple[float, str]:
        return self.delay, self.reply


class RateLimitError(Exception):
    """Stands in for a provider's HTTP 429 error."""

    status_code = 429


def _act(behaviour: str, hang_s: float, reply: str) -> tuple[float, str]:
    """Carry out one fault-schedule entry: raise, hang first, or answer (garbage or not)."""
    if behaviour == "raise":
        raise RateLimitError("429 Too Many Requests (simulated)")
    if behaviour == "garbage":
        return 0.0, "<<<%%% not json, no answer %%%>>>"
    return (hang_s if behaviour == "hang" else 0.0), reply


class FlakyChatModel(_CountingModel):
    """Fails on a schedule: raises rate limits, hangs, or returns garbage.

    ``schedule`` is a sequence of ``"ok"``, ``"raise"``, ``"hang"`` and
    ``"garbage"``, applied to calls in order and cycled.
    """

    schedule: Sequence[str] = Field(default=("ok",), description="Behaviour per call, cycled.")
    hang_s: float = Field(default=30.0, description="How long a hang lasts.")
    reply: str = Field(default='{"answer": "42", "confidence": 0.9}')

    def _respond(self, messages: list[BaseMessage], number: int) -> tuple[float, str]:
        return _act(self.schedule[(number - 1) % len(self.schedule)], self.hang_s, self.reply)


class FaultyChatModel(_CountingModel):
    """Fails by prompt, not by call order, so faults stay put under concurrency.

    ``faults`` maps a piece of prompt text (say, a task's question) to a
    schedule of ``"ok"``, ``"raise"``, ``"hang"`` and ``"garbage"``, applied
    to that prompt's first, second, ... call; its last entry repeats. Prompts
    that match nothing are answered. ``reply`` is the reply text, or a
    function of the prompt's last message.
    """

    faults: dict[str, list[str]] = Field(
        default_factory=dict, description="Prompt text -> behaviour per attempt."
    )
    hang_s: float = Field(default=30.0, description="How long a hang lasts.")
    reply: str | Callable[[str], str] = Field(default='{"answer": "42", "confidence": 0.9}')
    _attempts: dict[str, int] = PrivateAttr(default_factory=dict)

    def _behaviour(self, messages: list[BaseMessage]) -> str:
        text = str(messages[-1].content)
        for marker, schedule in self.faults.items():
            if marker in text:
                with self._lock:
                    attempt = self._attempts[marker] = self._attempts.get(marker, 0) + 1
                return schedule[min(attempt, len(schedule)) - 1]
        return "ok"

    def attempts(self, marker: str) -> int:
        """Calls made so far with prompts containing ``marker``."""
        with self._lock:
            return self._attempts.get(marker, 0)

    def _respond(self, messages: list[BaseMessage], number: int) -> tuple[float, str]:
        text = str(messages[-1].content)
        reply = self.reply(text) if callable(self.reply) else self.reply
        return _act(self._behaviour(messages), self.hang_s, reply)


class CountingSimChatModel(SimChatModel):
    """The simulated model, counting the calls that reach it (cache hits never do).

    Copies made for an agent's temperature share the count with the original.

    Example:
        >>> model = CountingSimChatModel(model="atlas-mini")
        >>> model.calls
        0
    """

    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _count_box: list[int] = PrivateAttr(default_factory=lambda: [0])

    @property
    def calls(self) -> int:
        """Model calls made so far, by this model and its copies."""
        return self._count_box[0]

    def reset_counters(self) -> None:
        """Zero the counter."""
        with self._lock:
            self._count_box[0] = 0

    def _count(self) -> None:
        with self._lock:
            self._count_box[0] += 1

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self._count()
        return super()._generate(messages, stop, run_manager, **kwargs)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self._count()
        return await super()._agenerate(messages, stop, run_manager, **kwargs)
