"""``SimChatModel``: a deterministic, offline ``BaseChatModel`` for rolegraph's role prompts."""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, Field, SecretStr

from orchestrator.sim.behaviour import Reply, respond
from orchestrator.sim.profiles import SimProfile, get_profile
from orchestrator.sim.reading import content_key, read_prompt

__all__ = ["SimChatModel"]

_CONTRACT_FIELDS = {"answer", "steps", "verdict", "choice"}
# A user's schema (with_structured_output) gets the answer in the field named most like one.
_ANSWER_NAMES = ("answer", "final_answer", "result", "value", "solution", "output", "number")
_EMPTY = {"string": "", "number": 0.0, "integer": 0, "boolean": False, "array": [], "object": {}}


def _coerce(answer: str | None, schema: dict[str, Any]) -> Any:
    """The answer in the JSON type a schema field wants (its empty value if it cannot be)."""
    kind = schema.get("type", "string")
    if answer is None:
        return _EMPTY.get(kind, "")
    try:
        if kind == "integer":
            return int(float(answer))
        if kind == "number":
            return float(answer)
    except ValueError:
        return _EMPTY[kind]
    if kind == "boolean":
        return answer.strip().lower() in {"true", "yes", "1"}
    return answer if kind == "string" else _EMPTY.get(kind, answer)


def fill_schema(parameters: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """Arguments for any JSON schema from the simulated reply's fields.

    The answer goes into the field named most like an answer, else the first required
    string or number field; fields the reply has by name are copied; every other
    required field gets the empty value of its type.
    """
    properties: dict[str, Any] = parameters.get("properties", {})
    required = list(parameters.get("required", list(properties)))
    target = next((n for n in _ANSWER_NAMES if n in properties), None) or next(
        (n for n in required if properties[n].get("type") in {"string", "number", "integer"}),
        required[0] if required else None,
    )
    args = {n: fields[n] for n in properties if n in fields and n != target}
    for name in required:
        args.setdefault(name, _EMPTY.get(properties[name].get("type", "string"), ""))
    if target is not None:
        args[target] = _coerce(fields.get("answer"), properties[target])
    return args


def _text(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    return "".join(
        block if isinstance(block, str) else str(block.get("text", ""))
        for block in content
        if isinstance(block, str) or block.get("type") == "text"
    )


def _prose(fields: dict[str, Any]) -> str:
    """The reply a model gives when it ignores the requested JSON format."""
    if "steps" in fields:
        return "Here is the plan:\n" + "\n".join(
            f"{i}. {step}" for i, step in enumerate(fields["steps"], 1)
        )
    if "verdict" in fields:
        return f"Verdict: {fields['verdict'].upper()}. {fields['critique']}"
    if "choice" in fields:
        return f"I pick candidate {fields['choice']}. {fields['reason']}"
    confidence = round(100 * float(fields.get("confidence") or 0.5))
    return (
        "I went through the problem one step at a time.\n"
        f"The final answer is {fields.get('answer')}. Confidence: {confidence}%"
    )


class SimChatModel(BaseChatModel):
    r"""A simulated chat model that answers rolegraph's role prompts.

    It computes the true answer from the question text (it never sees an
    answer key) and then errs the way its :class:`SimProfile` says: per-model
    skill and price, correlated mistakes within a model family, verifiers,
    judges and rectifiers that check by working the problem themselves,
    helpful but costly planners, and a latency model. At temperature 0 a
    reply depends only on the model and the prompt's content. Above 0 it
    also depends on which sample the call is: ``seed`` plus the call
    metadata's ``rolegraph_sample`` (rolegraph's id of the draw, shared by
    candidates that make the same call), or, without it, the run seed, agent
    and round. Output is cut at ``max_tokens`` (``finish_reason="length"``).
    Its numbers describe the simulator, not any real LLM.

    Example:
        >>> model = SimChatModel(model="atlas-mini")
        >>> reply = model.invoke("Task: solve the question.\\n## Question\\nWhat is 2 + 3?")
        >>> reply.usage_metadata["input_tokens"] > 0
        True
    """

    model_config = ConfigDict(populate_by_name=True)

    model: str = Field(default="atlas-mini", alias="model_name", description="Profile name.")
    temperature: float = Field(
        default=0.0,
        description="0 answers a prompt the same way every time; higher values add "
        "sampling noise (more diverse answers at the same mean accuracy up to 1).",
    )
    max_tokens: int | None = Field(
        default=None, description="Most output tokens (hidden reasoning included) per reply."
    )
    timeout: float | None = Field(default=None, description="Accepted for compatibility.")
    stop: list[str] | None = Field(default=None, description="Accepted for compatibility.")
    max_retries: int = Field(default=2, description="Accepted for compatibility.")
    api_key: SecretStr | None = Field(default=None, description="Ignored; the sim is offline.")
    seed: int = Field(default=0, description="Sampling seed, used when temperature > 0.")
    latency_scale: float = Field(
        default=0.0,
        description="Multiply the simulated latency by this and really wait; 0 does not wait.",
    )

    @property
    def _llm_type(self) -> str:
        return "rolegraph-sim"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self.model,
            "temperature": self.temperature,
            "seed": self.seed,
        }
        if self.max_tokens is not None:
            params["max_tokens"] = self.max_tokens  # it changes the reply: part of the cache key
        return params

    @property
    def sim_profile(self) -> SimProfile:
        """The profile this model simulates."""
        return get_profile(self.model)

    def fingerprint(self) -> str:
        """Digest of the simulated profile: a recalibrated profile is a different model."""
        payload = self.sim_profile.model_dump_json()
        return hashlib.blake2b(payload.encode(), digest_size=8).hexdigest()

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(
            ls_provider="sim",
            ls_model_name=kwargs.get("model", self.model),
            ls_model_type="chat",
            ls_temperature=kwargs.get("temperature", self.temperature),
        )
        if max_tokens := kwargs.get("max_tokens", self.max_tokens):
            params["ls_max_tokens"] = max_tokens
        if stop := stop or self.stop:
            params["ls_stop"] = stop
        return params

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools in the OpenAI format; ``tool_choice`` may name a tool or be ``"any"``."""
        formatted = [convert_to_openai_tool(tool) for tool in tools]
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        return super().bind(tools=formatted, **kwargs)

    # --- generation -------------------------------------------------------------------

    def _reply(
        self,
        messages: list[BaseMessage],
        metadata: dict[str, Any],
        kwargs: dict[str, Any],
    ) -> tuple[AIMessage, float]:
        profile = get_profile(kwargs.get("model", self.model))
        temperature = float(kwargs.get("temperature", self.temperature))
        max_tokens = kwargs.get("max_tokens", self.max_tokens)
        tools: list[dict[str, Any]] = kwargs.get("tools") or []
        human = next((m for m in reversed(messages) if isinstance(m, HumanMessage)), None)
        human_text = _text(human) if human is not None else ""
        system = "\n".join(_text(m) for m in messages if isinstance(m, SystemMessage))
        tool_result = next(
            (_text(m) for m in reversed(messages) if isinstance(m, ToolMessage)), None
        )
        prompt = read_prompt(human_text, tool_result)
        calculator, contract, schema = self._pick_tools(tools, kwargs.get("tool_choice"))
        reply = respond(
            profile,
            prompt,
            prompt_key=content_key(prompt, system),
            sample_key=self._sample_key(metadata) if temperature > 0 else "",
            temperature=temperature,
            calculator=calculator if tool_result is None else None,
        )
        transcript = "\n".join(_text(m) for m in messages)
        args = fill_schema(schema, reply.fields) if schema is not None else reply.fields
        message = self._message(profile, reply, contract, transcript, max_tokens, args)
        return message, message.response_metadata["simulated_latency_s"]

    def _sample_key(self, metadata: dict[str, Any]) -> str:
        """Which draw a sampled call is: rolegraph's sample id, else seed, agent and round."""
        sample = metadata.get("rolegraph_sample")
        if sample is not None:
            return f"{self.seed}|{sample}"
        agent = metadata.get("rolegraph_agent") or metadata.get("langgraph_node", "")
        return (
            f"{self.seed}|{metadata.get('rolegraph_seed', 0)}|{agent}"
            f"|{metadata.get('rolegraph_round', 1)}"
        )

    @staticmethod
    def _pick_tools(
        tools: list[dict[str, Any]], tool_choice: Any
    ) -> tuple[str | None, str | None, dict[str, Any] | None]:
        """The calculator, the contract tool, and a user schema's parameters to fill."""
        calculator = contract = None
        schema: dict[str, Any] | None = None
        forced = (
            tool_choice.get("function", {}).get("name")
            if isinstance(tool_choice, dict)
            else tool_choice
        )
        for tool in tools:
            function = tool.get("function", {})
            name = function.get("name", "")
            parameters = function.get("parameters", {})
            if set(parameters.get("properties", {})) & _CONTRACT_FIELDS:
                contract = name
            elif "calc" in name.lower() and forced in (None, "auto", name):
                calculator = name
            elif name == forced or (forced in ("any", "required") and len(tools) == 1):
                # with_structured_output(AnySchema) forces its one tool
                contract, schema = name, parameters
        return calculator, contract, schema

    def _message(
        self,
        profile: SimProfile,
        reply: Reply,
        contract: str | None,
        transcript: str,
        max_tokens: int | None,
        args: dict[str, Any],
    ) -> AIMessage:
        tool_calls: list[dict[str, Any]] = []
        if reply.style == "missing":
            main = next((k for k in ("answer", "steps", "verdict", "choice") if k in args), None)
            args = {k: v for k, v in args.items() if k != main}
        if reply.tool_call is not None:
            content = ""
            call = reply.tool_call
            tool_calls.append({"name": call["name"], "args": call["args"], "id": _call_id(call)})
        elif reply.style == "garbled":
            content = "Hmm, I keep losing track of the quantities here. Let me start over..."
        elif reply.style == "prose":
            content = _prose(reply.fields)
        elif reply.style == "wrapped":
            content = f"Sure! Here is my answer:\n```json\n{json.dumps(args)}\n```\nHope it helps."
        elif contract is not None:
            content = ""
            call = {"name": contract, "args": args}
            tool_calls.append({"name": contract, "args": args, "id": _call_id(call)})
        else:
            content = json.dumps(args)
        reasoning = reply.reasoning_tokens
        finish = "tool_calls" if tool_calls else "stop"
        visible_text = content + "".join(json.dumps(c["args"]) for c in tool_calls)
        visible = max(1, math.ceil(len(visible_text) / 4))
        if max_tokens is not None and reasoning + visible > max(1, int(max_tokens)):
            # The cap cuts the hidden reasoning first, then the reply: what is left is the
            # start of the text, and a structured reply loses its tool call (as real APIs do).
            budget = max(1, int(max_tokens))
            reasoning = min(reasoning, budget)
            content = visible_text[: 4 * (budget - reasoning)]
            tool_calls = []
            visible = math.ceil(len(content) / 4)
            finish = "length"
        input_tokens = max(1, math.ceil(len(transcript) / 4))
        output_tokens = max(1, visible + reasoning)
        latency = profile.latency_s + profile.seconds_per_token * output_tokens
        return AIMessage(
            content=content,
            tool_calls=tool_calls,
            usage_metadata={
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
                "total_tokens": input_tokens + output_tokens,
                "output_token_details": {"reasoning": reasoning},
            },
            response_metadata={
                "model_name": f"sim:{profile.name}",
                "model_provider": "sim",
                "finish_reason": finish,
                "simulated_latency_s": round(latency, 4),
            },
        )

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        metadata = run_manager.metadata if run_manager is not None else {}
        message, latency = self._reply(messages, metadata, kwargs)
        if self.latency_scale > 0:
            time.sleep(latency * self.latency_scale)
        return ChatResult(generations=[ChatGeneration(message=message)])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        metadata = run_manager.metadata if run_manager is not None else {}
        message, latency = self._reply(messages, metadata, kwargs)
        if self.latency_scale > 0:
            await asyncio.sleep(latency * self.latency_scale)
        return ChatResult(generations=[ChatGeneration(message=message)])


def _call_id(call: dict[str, Any]) -> str:
    payload = json.dumps(call, sort_keys=True, default=str)
    return "call_" + hashlib.blake2b(payload.encode(), digest_size=6).hexdigest()
