"""Resolving ``"provider:model"`` strings and model instances to chat models.

Strings resolve the way langchain's ``init_chat_model`` does: the provider
prefix picks the integration package, which is imported lazily. A chat model
*instance* can be used too; it is registered under a stable reference such as
``"openai:gpt-4o-mini@3f2a9c1b"`` so that the spec stays plain, hashable data.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel

from orchestrator.errors import MissingIntegrationError, UnknownModelError

__all__ = [
    "Provider",
    "PROVIDERS",
    "register_model",
    "registered_models",
    "split_model_ref",
    "check_model_ref",
    "resolve_model",
    "model_ref",
    "model_fingerprint",
    "with_settings",
    "with_agent_settings",
    "pinned_settings",
    "call_temperature",
    "indistinct_models",
    "bind_output_cap",
]


@dataclass(frozen=True)
class Provider:
    """Where a provider's chat model class lives and which package installs it."""

    module: str
    class_name: str
    package: str


PROVIDERS: dict[str, Provider] = {
    "sim": Provider("orchestrator.sim", "SimChatModel", "rolegraph"),
    "openai": Provider("langchain_openai", "ChatOpenAI", "langchain-openai"),
    "azure_openai": Provider("langchain_openai", "AzureChatOpenAI", "langchain-openai"),
    "anthropic": Provider("langchain_anthropic", "ChatAnthropic", "langchain-anthropic"),
    "ollama": Provider("langchain_ollama", "ChatOllama", "langchain-ollama"),
    "google_genai": Provider(
        "langchain_google_genai", "ChatGoogleGenerativeAI", "langchain-google-genai"
    ),
    "google_vertexai": Provider(
        "langchain_google_vertexai", "ChatVertexAI", "langchain-google-vertexai"
    ),
    "bedrock_converse": Provider("langchain_aws", "ChatBedrockConverse", "langchain-aws"),
    "mistralai": Provider("langchain_mistralai", "ChatMistralAI", "langchain-mistralai"),
    "groq": Provider("langchain_groq", "ChatGroq", "langchain-groq"),
    "fireworks": Provider("langchain_fireworks", "ChatFireworks", "langchain-fireworks"),
    "together": Provider("langchain_together", "ChatTogether", "langchain-together"),
    "deepseek": Provider("langchain_deepseek", "ChatDeepSeek", "langchain-deepseek"),
    "xai": Provider("langchain_xai", "ChatXAI", "langchain-xai"),
    "huggingface": Provider("langchain_huggingface", "ChatHuggingFace", "langchain-huggingface"),
}
"""Known providers. Add one with ``PROVIDERS["name"] = Provider(...)``."""

# Model-name prefixes that imply a provider, as ``init_chat_model`` infers them.
_INFERRED = (
    ("gpt-", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("chatgpt", "openai"),
    ("claude", "anthropic"),
    ("gemini", "google_genai"),
    ("mistral", "mistralai"),
    ("deepseek", "deepseek"),
    ("grok", "xai"),
)

_INSTANCES: dict[str, BaseChatModel | Callable[..., BaseChatModel]] = {}
_RESOLVED: dict[tuple[str, float | None, int | None], BaseChatModel] = {}
_LOCK = threading.Lock()


_NOT_SETTINGS = {"cache", "callbacks", "callback_manager", "rate_limiter", "metadata", "tags"}


def _plain(value: Any) -> Any:
    """Settings as JSON data that is the same in every process (no object addresses)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        items = [_plain(item) for item in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, BaseModel):
        return _plain(value.model_dump(mode="json"))
    return f"<{type(value).__module__}.{type(value).__qualname__}>"


def _instance_digest(model: BaseChatModel) -> str:
    params: dict[str, Any] = {"class": f"{type(model).__module__}.{type(model).__qualname__}"}
    for name, info in type(model).model_fields.items():
        value = getattr(model, name, None)
        if name in _NOT_SETTINGS or info.exclude or value is None:
            continue
        params[name] = _plain(value)
    payload = json.dumps(params, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:8]


def model_ref(model: BaseChatModel) -> str:
    """A reference for a model instance: ``"provider:name@digest"`` of its class and settings.

    It depends only on what the instance is (its class and settings), never on
    the process or on what was registered before, so a spec holding an
    instance hashes the same everywhere. Instances with equal settings get
    equal references and are interchangeable; registering one replaces the other.
    """
    ls = model._get_ls_params()
    provider = ls.get("ls_provider") or type(model).__name__.lower()
    name = ls.get("ls_model_name") or "model"
    return f"{provider}:{name}@{_instance_digest(model)}"


def register_model(
    model: BaseChatModel | Callable[..., BaseChatModel], name: str | None = None
) -> str:
    """Make a model instance (or a factory) usable from specs.

    Args:
        model: A chat model, or a callable returning one (it receives the
            agent's ``temperature`` and ``max_tokens`` as keyword arguments).
        name: The reference to register it under. Defaults to
            :func:`model_ref` for instances; factories need a name.

    Returns:
        The reference to put in ``Agent(model=...)``.
    """
    if name is None:
        if not isinstance(model, BaseChatModel):
            raise ValueError("register_model needs a name for a model factory")
        name = model_ref(model)
    with _LOCK:
        _INSTANCES[name] = model
        for key in [key for key in _RESOLVED if key[0] == name]:
            del _RESOLVED[key]
    return name


def registered_models() -> list[str]:
    """References of every registered instance or factory."""
    return sorted(_INSTANCES)


def split_model_ref(ref: str) -> tuple[str, str]:
    """Split ``"provider:model"``, inferring the provider for bare names like ``gpt-4o``.

    Raises:
        UnknownModelError: The provider is unknown or cannot be inferred.
    """
    if ":" in ref:
        provider, _, name = ref.partition(":")
        provider = provider.strip().lower().replace("-", "_")
        if provider not in PROVIDERS:
            known = ", ".join(sorted(PROVIDERS))
            raise UnknownModelError(
                f"unknown model provider {provider!r} in {ref!r}; known providers: {known}"
            )
        if not name.strip():
            raise UnknownModelError(f"model string {ref!r} has no model name after the ':'")
        return provider, name.strip()
    for prefix, provider in _INFERRED:
        if ref.lower().startswith(prefix):
            return provider, ref
    raise UnknownModelError(
        f"cannot tell the provider of model {ref!r}; write it as 'provider:model', "
        f"for example 'openai:gpt-4o-mini', 'ollama:llama3.2' or 'sim:atlas-mini'"
    )


_GIVEN: ContextVar[frozenset[str]] = ContextVar("rolegraph_given_models", default=frozenset())


@contextlib.contextmanager
def given_models(refs: Iterable[str]) -> Iterator[None]:
    """Inside the block, ``refs`` name models: the caller supplies their instances.

    ``deploy(path, models={ref: instance})`` loads a spec whose references exist
    only in that mapping; they are checked against it, not the registry.
    """
    token = _GIVEN.set(_GIVEN.get() | frozenset(refs))
    try:
        yield
    finally:
        _GIVEN.reset(token)


def check_model_ref(ref: str) -> None:
    """Raise :class:`UnknownModelError` if ``ref`` cannot name a model; import nothing."""
    if ref in _INSTANCES or ref in _GIVEN.get():
        return
    if "@" in ref:
        raise UnknownModelError(
            f"model {ref!r} refers to a model instance that is not registered in this "
            "process; pass the instance to register_model() or to compile(models=...)"
        )
    provider, name = split_model_ref(ref)
    if provider == "sim":
        from orchestrator.sim.profiles import get_profile

        get_profile(name)


def _construct(ref: str, temperature: float | None, max_tokens: int | None) -> BaseChatModel:
    settings: dict[str, Any] = {}
    if temperature is not None:
        settings["temperature"] = temperature
    if max_tokens is not None:
        settings["max_tokens"] = max_tokens
    registered = _INSTANCES.get(ref)
    if isinstance(registered, BaseChatModel):
        return with_agent_settings(registered, **settings)
    if registered is not None:
        return registered(**settings)
    check_model_ref(ref)
    provider_name, name = split_model_ref(ref)
    provider = PROVIDERS[provider_name]
    try:
        module = importlib.import_module(provider.module)
    except ImportError as exc:
        raise MissingIntegrationError(
            f"model {ref!r} needs the {provider.package} package: pip install {provider.package}"
        ) from exc
    cls = getattr(module, provider.class_name)
    return cls(model=name, **settings)


def resolve_model(
    model: str | BaseChatModel,
    *,
    temperature: float | None = None,
    max_tokens: int | None = None,
) -> BaseChatModel:
    """Return a chat model for a reference or instance, with the agent's settings applied.

    Precedence: a setting given when a model *instance* was constructed (it is
    in pydantic's ``model_fields_set``, as ``temperature`` is in
    ``ChatOpenAI(model=..., temperature=0.7)``) wins over the agent's; the
    agent's ``temperature`` and ``max_tokens`` fill only what the instance
    left unset (:func:`with_agent_settings`). A string reference and a factory
    always take the agent's settings. The output cap a call is held with is
    applied afterwards by :func:`bind_output_cap` and always holds.

    Resolved string references are memoised per settings, so compiling many
    workflows does not construct many clients.

    Raises:
        UnknownModelError: The reference names no known provider or profile.
        MissingIntegrationError: The provider's package is not installed.
    """
    if isinstance(model, BaseChatModel):
        return with_agent_settings(model, temperature=temperature, max_tokens=max_tokens)
    key = (model, temperature, max_tokens)
    with _LOCK:
        cached = _RESOLVED.get(key)
    if cached is not None:
        return cached
    built = _construct(model, temperature, max_tokens)
    with _LOCK:
        _RESOLVED[key] = built
    return built


def with_settings(model: BaseChatModel, **settings: Any) -> BaseChatModel:
    """A copy of ``model`` with the given fields set, skipping ``None`` and unknown fields."""
    fields = type(model).model_fields
    update = {k: v for k, v in settings.items() if v is not None and k in fields}
    if not update or all(getattr(model, k) == v for k, v in update.items()):
        return model
    return model.model_copy(update=update)


def pinned_settings(model: str | BaseChatModel | None) -> dict[str, Any]:
    """The settings a model instance was constructed with, which an agent does not override.

    Empty for string references and factories: they take the agent's settings.
    """
    instance = _INSTANCES.get(model) if isinstance(model, str) else model
    if not isinstance(instance, BaseChatModel):
        return {}
    return {name: getattr(instance, name) for name in instance.model_fields_set}


def with_agent_settings(model: BaseChatModel, **settings: Any) -> BaseChatModel:
    """:func:`with_settings` for an agent's settings: what the instance pinned is kept."""
    pinned = model.model_fields_set
    return with_settings(model, **{k: v for k, v in settings.items() if k not in pinned})


def call_temperature(model: str | BaseChatModel | None, temperature: float) -> float:
    """The temperature an agent's calls run at: the instance's if pinned, else the agent's."""
    pinned = pinned_settings(model).get("temperature")
    if isinstance(pinned, int | float) and not isinstance(pinned, bool):
        return float(pinned)
    return temperature


def _behaviour(ref: str) -> str | None:
    """What decides a registered instance's calls once an agent's settings are applied.

    The output cap is always the agent's, and an unpinned temperature too, so
    neither can tell two entries apart. ``None`` for what is not a registered instance.
    """
    instance = _INSTANCES.get(ref)
    if not isinstance(instance, BaseChatModel):
        return None
    ignored = {*_NOT_SETTINGS, *_CAP_FIELDS}
    if "temperature" not in instance.model_fields_set:
        ignored.add("temperature")
    cls = type(instance)
    params: dict[str, Any] = {"class": f"{cls.__module__}.{cls.__qualname__}"}
    for name, info in type(instance).model_fields.items():
        value = getattr(instance, name, None)
        if name in ignored or info.exclude or value is None:
            continue
        params[name] = _plain(value)
    return json.dumps(params, sort_keys=True)


def indistinct_models(refs: Iterable[str]) -> list[tuple[str, str]]:
    """Pairs of registered model instances whose calls cannot differ under any agent.

    Two entries differ only in what every agent overrides (an unpinned
    temperature, the output cap) make the same calls: a pool holding both
    offers one model twice.
    """
    seen: dict[str, str] = {}
    pairs: list[tuple[str, str]] = []
    for ref in refs:
        behaviour = _behaviour(ref)
        if behaviour is None:
            continue
        if behaviour in seen:
            pairs.append((seen[behaviour], ref))
        else:
            seen[behaviour] = ref
    return pairs


def model_fingerprint(model: str | BaseChatModel) -> str:
    """What identifies a model's behaviour, for keys that must change when it changes.

    LangChain's own llm string (class and identifying parameters), plus the
    provider's ``fingerprint()`` when the model class defines one, as the
    simulated models do with their profile's parameters.

    Raises:
        UnknownModelError: A reference names no known provider or profile.
        MissingIntegrationError: The provider's package is not installed.
    """
    instance = resolve_model(model) if isinstance(model, str) else model
    parts = [instance._get_llm_string()]
    fingerprint = getattr(instance, "fingerprint", None)
    if callable(fingerprint):
        parts.append(str(fingerprint()))
    return "|".join(parts)


_CAP_FIELDS = ("max_tokens", "max_output_tokens", "num_predict", "max_new_tokens")


def bind_output_cap(model: BaseChatModel, tokens: int) -> tuple[BaseChatModel, bool]:
    """A copy of ``model`` that may produce at most ``tokens`` output tokens.

    The cap goes into the model's own setting (``max_tokens``, Ollama's
    ``num_predict``, ...). Returns the model and whether a cap field was found;
    a model without one cannot be capped, and its overruns are charged.
    """
    fields = type(model).model_fields
    for name in _CAP_FIELDS:
        if name in fields:
            if getattr(model, name, None) == tokens:
                return model, True
            return model.model_copy(update={name: tokens}), True
    return model, False
