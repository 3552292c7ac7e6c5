"""Model references resolve like langchain's; missing packages say what to install."""

import pytest

from orchestrator import SimChatModel, register_model, resolve_model
from orchestrator.errors import MissingIntegrationError, UnknownModelError
from orchestrator.models import PROVIDERS, Provider, split_model_ref


def test_provider_prefix_and_inference():
    assert split_model_ref("openai:gpt-4o-mini") == ("openai", "gpt-4o-mini")
    assert split_model_ref("ollama:llama3.2:3b") == ("ollama", "llama3.2:3b")
    assert split_model_ref("gpt-4o") == ("openai", "gpt-4o")
    assert split_model_ref("claude-3-5-haiku-latest")[0] == "anthropic"
    with pytest.raises(UnknownModelError, match="write it as 'provider:model'"):
        split_model_ref("my-model")


def test_sim_strings_resolve_with_agent_settings():
    model = resolve_model("sim:atlas-pro", temperature=0.4, max_tokens=99)
    assert isinstance(model, SimChatModel)
    assert (model.model, model.temperature, model.max_tokens) == ("atlas-pro", 0.4, 99)
    assert resolve_model("sim:atlas-pro", temperature=0.4, max_tokens=99) is model


def test_missing_integration_package_says_what_to_install(monkeypatch):
    monkeypatch.setitem(
        PROVIDERS, "acme", Provider("acme_langchain_missing", "ChatAcme", "langchain-acme")
    )
    with pytest.raises(MissingIntegrationError, match="pip install langchain-acme"):
        resolve_model("acme:rocket-1")


def test_unregistered_instance_reference_is_explained():
    with pytest.raises(UnknownModelError, match="not registered in this process"):
        resolve_model("openai:gpt-4o@deadbeef")


def test_registered_factory_receives_settings():
    seen = {}

    def factory(**settings):
        seen.update(settings)
        return SimChatModel(model="atlas-nano", **settings)

    ref = register_model(factory, name="factory:nano")
    model = resolve_model(ref, temperature=0.9)
    assert seen == {"temperature": 0.9} and model.temperature == 0.9


def test_instances_get_the_agent_temperature_without_being_mutated():
    base = SimChatModel(model="atlas-nano")
    hot = resolve_model(base, temperature=1.1)
    assert hot.temperature == 1.1 and base.temperature == 0.0
