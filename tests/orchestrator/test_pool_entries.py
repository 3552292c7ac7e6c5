"""Two pool entries of one model really differ: settings, cache keys, draws, the warning."""

import itertools
import threading
import warnings
from typing import Any

import pytest
from langchain_core.caches import InMemoryCache
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from orchestrator import Agent, WorkflowSpec, deploy, register_model
from orchestrator.compile import _sample_indexes
from orchestrator.models import call_temperature, indistinct_models, resolve_model
from search.space import ComponentPool

QUESTION = "What is 2 + 3?"
_NUMBERS = itertools.count()
_LOCK = threading.Lock()
SEEN: dict[str, list[float]] = {}


class LocalModel(BaseChatModel):
    """A model like a local transformers wrapper: settings it does not report in its
    llm string, and a new answer on every real call."""

    label: str = "local"
    temperature: float = 0.0
    max_tokens: int | None = None

    @property
    def seen(self) -> list[float]:
        """Temperatures its calls ran at."""
        return SEEN.setdefault(self.label, [])

    @property
    def _llm_type(self) -> str:
        return "local-test"

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        with _LOCK:
            number = next(_NUMBERS)
            self.seen.append(self.temperature)
        text = f'{{"answer": "{number}", "confidence": 0.5}}'
        usage = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}
        message = AIMessage(content=text, usage_metadata=usage)
        return ChatResult(generations=[ChatGeneration(message=message)])


def _solo(model: Any, temperature: float) -> WorkflowSpec:
    return WorkflowSpec(
        agents=[Agent(name="s", role="solver", model=model, temperature=temperature)]
    )


def test_an_instance_pinned_temperature_wins_over_the_agents():
    cold = LocalModel(temperature=0.0, label="m1")
    hot = LocalModel(temperature=0.7, label="m2")
    deploy(_solo(cold, 0.7)).invoke(QUESTION)
    deploy(_solo(hot, 0.0)).invoke(QUESTION)
    assert cold.seen == [0.0] and hot.seen == [0.7]
    # An instance that left its temperature unset takes the agent's.
    loose = LocalModel(label="m3")
    assert resolve_model(loose, temperature=0.9).temperature == 0.9
    assert call_temperature(register_model(loose), 0.9) == 0.9
    assert call_temperature(register_model(hot), 0.0) == 0.7


def test_two_entries_of_one_model_never_share_a_cached_draw():
    cache = InMemoryCache()
    entries = [LocalModel(temperature=t, label=f"m{t}") for t in (0.0, 0.7, 1.0)]
    # The topology sets one temperature for all; each entry's own one holds, and the
    # model's llm string names none of them.
    results = [deploy(_solo(entry, 0.7), cache=cache).invoke(QUESTION) for entry in entries]
    assert [r.cached_calls for r in results] == [0, 0, 0]
    assert len({r.answer for r in results}) == 3
    # Within one entry the rerun is still free.
    again = deploy(_solo(entries[2], 0.7), cache=cache).invoke(QUESTION)
    assert again.cached_calls == 1 and again.charged == 0 and again.answer == results[2].answer


def test_a_pinned_sampling_entry_is_numbered_by_the_temperature_it_really_uses():
    hot = register_model(LocalModel(temperature=0.7, label="m6"))
    spec = WorkflowSpec(
        agents=[
            Agent(name="a", role="solver", model=hot, temperature=0.0),
            Agent(name="b", role="solver", model=hot, temperature=0.7),
            Agent(name="v", role="vote"),
        ],
        edges=[("a", "v"), ("b", "v")],
    )
    # Both agents draw at 0.7, so they are two different draws, not two first draws.
    indexes = _sample_indexes(spec)
    assert indexes["a"] != indexes["b"]
    result = deploy(spec, cache=InMemoryCache()).invoke(QUESTION)
    answers = {n.answer for n in result.nodes if n.agent in ("a", "b")}
    assert len(answers) == 2 and result.cached_calls == 0
    # It samples even where every agent says 0, so each repetition seed is a new result.
    from search.evaluation.target import as_target

    assert as_target(_solo(hot, 0.0)).sampled
    assert not as_target(_solo(register_model(LocalModel(label="m11")), 0.0)).sampled


def test_entries_that_cannot_differ_warn_naming_both():
    capped = register_model(LocalModel(max_tokens=100, label="m7"))
    longer = register_model(LocalModel(max_tokens=200, label="m7"))
    assert capped != longer
    assert indistinct_models([capped, longer]) == [(capped, longer)]
    with pytest.warns(UserWarning, match="cannot differ") as caught:
        ComponentPool.of([capped, longer])
    assert capped in str(caught[0].message) and longer in str(caught[0].message)


def test_entries_that_differ_do_not_warn():
    cold = register_model(LocalModel(temperature=0.0, label="m9"))
    hot = register_model(LocalModel(temperature=0.7, label="m10"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ComponentPool.of([cold, hot, "sim:atlas-nano", "sim:atlas-pro"])
