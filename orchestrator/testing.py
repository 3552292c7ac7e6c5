"""Deterministic chat models for tests: scripted, slow, counting and flaky.

They are ordinary ``BaseChatModel`` s, so they exercise the same code path as
real providers. Use them with ``Agent(model=instance)`` or
``compile_workflow(spec, models={ref: instance})``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict, Field, PrivateAttr

from orchestrator.pricing import Price, default_prices

__all__ = ["ScriptedChatModel", "SlowChatModel", "FlakyChatModel", "RateLimitError"]

# Test models cost a fixed, small amount so that accounting is visible in tests.
default_prices().register("test:*", Price(input=1.0, output=2.0))


def _usage(messages: Sequence[BaseMessage], text: str) -> dict[str, int]:
    prompt = sum(len(str(m.content)) for m in messages)
    inp, out = max(1, prompt // 4), max(1, len(text) // 4)
    return {"input_tokens": inp, "output_tokens": out, "total_tokens": inp + out}


class _CountingModel(BaseChatModel):
    """Counts calls and tracks how many are in flight at once."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name_: str = Field(default="test-model", alias="model_name")
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _in_flight: int = PrivateAttr(default=0)
    _peak: int = PrivateAttr(default=0)
    _calls: int = PrivateAttr(default=0)

    @property
    def _llm_type(self) -> str:
        return "rolegraph-test"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": self.name_}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        return LangSmithParams(ls_provider="test", ls_model_name=self.name_, ls_model_type="chat")

    @property
    def calls(self) -> int:
        """Model calls made so far."""
        return self._calls

    @property
    def peak_in_flight(self) -> int:
        """Most calls that were running at the same time."""
        return self._peak

    def reset_counters(self) -> None:
        """Zero the counters."""
        with self._lock:
            self._calls = self._peak = self._in_flight = 0

    def _enter(self) -> int:
        with self._lock:
            self._calls += 1
            self._in_flight += 1
            self._peak = max(self._peak, self._in_flight)
            return self._calls

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _text(self, messages: list[BaseMessage], number: int) -> str:
        raise NotImplementedError

    def _delay(self, number: int) -> float:
        return 0.0

    def _result(self, messages: list[BaseMessage], text: str) -> ChatResult:
        message = AIMessage(
            content=text,
            usage_metadata=_usage(messages, text),
            response_metadata={"model_name": self.name_},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        number = self._enter()
        try:
            if delay := self._delay(number):
                time.sleep(delay)
            return self._result(messages, self._text(messages, number))
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
            if delay := self._delay(number):
                await asyncio.sleep(delay)
            return self._result(messages, self._text(messages, number))
        finally:
            self._leave()


class ScriptedChatModel(_CountingModel):
    """Replies from a list (cycled) or a function of the last message's text."""

    replies: Sequence[str] | Callable[[str], str] = Field(
        default=('{"answer": "42", "confidence": 0.9}',),
        description="Replies in order (cycled), or a function of the prompt text.",
    )

    def _text(self, messages: list[BaseMessage], number: int) -> str:
        if callable(self.replies):
            return self.replies(str(messages[-1].content))
        return self.replies[(number - 1) % len(self.replies)]


class SlowChatModel(_CountingModel):
    """Answers after a fixed delay; used to show that branches overlap."""

    delay: float = Field(default=0.1, description="Seconds per call.")
    reply: str = Field(default='{"answer": "42", "confidence": 0.9}')

    def _delay(self, number: int) -> float:
        return self.delay

    def _text(self, messages: list[BaseMessage], number: int) -> str:
        return self.reply


class RateLimitError(Exception):
    """Stands in for a provider's HTTP 429 error."""

    status_code = 429


class FlakyChatModel(_CountingModel):
    """Fails on a schedule: raises rate limits, hangs, or returns garbage.

    ``schedule`` is a sequence of ``"ok"``, ``"raise"``, ``"hang"`` and
    ``"garbage"``, applied to calls in order and cycled.
    """

    schedule: Sequence[str] = Field(default=("ok",), description="Behaviour per call, cycled.")
    hang_s: float = Field(default=30.0, description="How long a hang lasts.")
    reply: str = Field(default='{"answer": "42", "confidence": 0.9}')

    def _behaviour(self, number: int) -> str:
        return self.schedule[(number - 1) % len(self.schedule)]

    def _delay(self, number: int) -> float:
        return self.hang_s if self._behaviour(number) == "hang" else 0.0

    def _text(self, messages: list[BaseMessage], number: int) -> str:
        behaviour = self._behaviour(number)
        if behaviour == "raise":
            raise RateLimitError("429 Too Many Requests (simulated)")
        if behaviour == "garbage":
            return "<<<%%% not json, no answer %%%>>>"
        return self.reply
