"""A reply that does not parse is re-asked once, through the normal (budgeted, cached) call."""

from langchain_core.caches import InMemoryCache

from orchestrator import Agent, WorkflowSpec, deploy
from orchestrator.budget import Budget, BudgetLedger
from orchestrator.testing import ScriptedChatModel

QUESTION = "Ava has 12 apples. Ava buys 5 more apples. How many apples does Ava have now?"
ECHO = '{"answer": "<final answer>", "confidence": <number from 0 to 1>}'


def _answers_when_reasked(prompts):
    def reply(text):
        prompts.append(text)
        return '{"answer": "17", "confidence": 0.8}' if "could not be read" in text else ECHO

    return reply


def _solo(model, **options) -> WorkflowSpec:
    return WorkflowSpec(agents=[Agent(name="a", role="solver", model=model, options=options)])


def test_an_unparseable_reply_is_re_asked_once_with_the_error_and_the_format():
    prompts: list[str] = []
    model = ScriptedChatModel(replies=_answers_when_reasked(prompts))
    result = deploy(_solo(model)).invoke(QUESTION)
    node = result.nodes[0]
    assert result.answer == "17" and node.parse_error is None
    assert node.calls == 2 and model.calls == 2 and node.parse_failures == 1
    assert node.fallback is None and result.parse_errors == 0
    reask = prompts[1]
    assert "copies the prompt's placeholder for answer" in reask
    assert '{"answer": "<final answer>", "confidence": <number from 0 to 1>}' in reask


def test_a_second_failure_is_not_re_asked_again_and_the_fallback_is_visible():
    model = ScriptedChatModel(replies=["I refuse."])
    result = deploy(_solo(model)).invoke(QUESTION)
    node = result.nodes[0]
    assert model.calls == 2 and node.calls == 2 and node.parse_failures == 2
    assert node.parse_error and node.fallback == "no output: the reply could not be read"
    assert result.answer is None


def test_the_re_ask_can_be_turned_off_per_agent():
    model = ScriptedChatModel(replies=["I refuse."])
    result = deploy(_solo(model, reask=False)).invoke(QUESTION)
    assert model.calls == 1 and result.nodes[0].parse_failures == 1


def test_a_parsed_reply_is_not_re_asked():
    model = ScriptedChatModel()
    result = deploy(_solo(model)).invoke(QUESTION)
    assert model.calls == 1 and result.nodes[0].parse_failures == 0


def test_the_re_ask_is_cached_like_any_call():
    cache = InMemoryCache()
    first_model = ScriptedChatModel(replies=_answers_when_reasked([]))
    first = deploy(_solo(first_model), cache=cache).invoke(QUESTION)
    second = deploy(_solo(first_model), cache=cache).invoke(QUESTION)
    assert first.nodes[0].cached_calls == 0 and first_model.calls == 2
    assert second.nodes[0].cached_calls == 2 and second.answer == "17"
    assert second.charged == 0.0


def test_the_re_ask_is_budgeted_like_any_call():
    ledger = BudgetLedger(Budget(calls=10))
    model = ScriptedChatModel(replies=_answers_when_reasked([]))
    deploy(_solo(model), ledger=ledger).invoke(QUESTION)
    assert ledger.spent.calls == 2


async def test_the_async_path_re_asks_too():
    prompts: list[str] = []
    model = ScriptedChatModel(replies=_answers_when_reasked(prompts))
    result = await deploy(_solo(model)).ainvoke(QUESTION)
    assert result.answer == "17" and result.nodes[0].parse_failures == 1 and model.calls == 2
