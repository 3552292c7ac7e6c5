"""Tools by name; the built-in calculator evaluates arithmetic safely and within limits."""

import operator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from orchestrator import Workflow, deploy, register_tool
from orchestrator.tools import (
    MAX_EXPRESSION_CHARS,
    MAX_INTEGER_DIGITS,
    MAX_TOOL_CALLS_PER_REPLY,
    MAX_TOOL_CALLS_PER_RUN,
    ToolCallCap,
    calculate,
    calculator,
    get_tool,
)

PROPERTY = settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("(2 + 3) * 4", "20"),
        ("7 // 2", "3"),
        ("1 / 4", "0.25"),
        ("-3 ** 2", "-9"),
        ("2 ** 1000", str(2**1000)),
        ("10 ** 15 / 1", "1000000000000000"),
        ("1e20", "1e+20"),
        ("2 ** 0.5", "1.4142135623730951"),
        (" 6 * 7 \n", "42"),
    ],
)
def test_calculator(expression, value):
    assert calculator.invoke({"expression": expression}) == value


@pytest.mark.parametrize(
    "expression", ["__import__('os')", "x + 1", "1 / 0", "7 % 0", "'a' * 3", "[1]", "True + 1"]
)
def test_calculator_refuses_anything_else(expression):
    assert calculator.invoke({"expression": expression}).startswith("error:")


def balanced(levels: int) -> str:
    return "1" if levels == 0 else f"({balanced(levels - 1)}+{balanced(levels - 1)})"


# Each of these raised, or burned seconds of CPU, before the calculator had limits.
@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("(((9**64)**64)**64)**64", "digits"),  # seconds of CPU, then a raw ValueError
        ("((9**64)**64)**64", "digits"),  # ValueError: Exceeds the limit (4300 digits)
        ("(10.0**64)**64", "overflow"),  # OverflowError
        ("1" * 100_000, "characters long"),  # MemoryError in the parser
        ("9 ** 9 ** 9", "digits"),
        ("(10 ** 999) * (10 ** 999)", "digits"),
        ("(10 ** 900) ** -1", "overflow"),
        ("1e308 * 10", "overflow"),
        ("1e999", "overflow"),
        ("(-8) ** 0.5", "complex"),
        ("-(" * 100 + "1" + ")" * 100, "nested more than"),
        ("-" * 900 + "1", "nested more than"),
        ("+".join(["1"] * 300), "nested more than"),
        (balanced(7), "more than 200 parts"),
        ("(" * 400 + "1" + ")" * 400, "not an arithmetic expression"),
    ],
)
def test_hostile_arithmetic_gets_an_error_reply_not_an_exception(expression, reason):
    reply = calculator.invoke({"expression": expression})
    assert reply.startswith("error:") and reason in reply


def test_integers_up_to_the_digit_limit_are_fine():
    largest = "9" * MAX_INTEGER_DIGITS
    assert calculate(largest) == largest
    assert calculate(f"{largest} + 1").startswith("error:")
    assert calculate("1" * (MAX_EXPRESSION_CHARS + 1)).startswith("error:")


def test_bad_tool_arguments_get_an_error_reply():
    assert calculator.invoke({"expression": 5}).startswith("error: call calculator")
    assert calculator.invoke({}).startswith("error: call calculator")


def test_register_a_function_as_a_tool():
    def shout(text: str) -> str:
        """Upper-case the text."""
        return text.upper()

    name = register_tool(shout, replace=True)
    assert get_tool(name).invoke({"text": "hi"}) == "HI"
    with pytest.raises(KeyError, match="unknown tool 'nope'"):
        get_tool("nope")


# --- properties ------------------------------------------------------------------------


@PROPERTY
@given(st.one_of(st.text(max_size=200), st.text(alphabet="0123456789.e+-*/%() ", max_size=60)))
def test_any_text_gets_a_reply_never_an_exception(text):
    reply = calculate(text)
    assert isinstance(reply, str) and reply
    if not reply.startswith("error:"):
        float(reply)  # a number


OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul}


@st.composite
def small_arithmetic(draw, depth=0):
    """An expression of small integers with + - * and its exact value."""
    if depth > 3 or draw(st.booleans()):
        n = draw(st.integers(min_value=-1000, max_value=1000))
        return f"({n})", n
    op = draw(st.sampled_from(sorted(OPS)))
    left, lv = draw(small_arithmetic(depth=depth + 1))
    right, rv = draw(small_arithmetic(depth=depth + 1))
    return f"({left} {op} {right})", OPS[op](lv, rv)


@PROPERTY
@given(small_arithmetic())
def test_small_arithmetic_is_exact(case):
    expression, value = case
    assert calculate(expression) == str(value)


@PROPERTY
@given(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from(["+", "-", "*", "/", "//", "%", "**"]),
    st.one_of(st.integers(min_value=-(10**30), max_value=10**30), st.floats(allow_nan=False)),
)
def test_every_binary_operation_is_bounded(left, op, right):
    reply = calculate(f"({left}) {op} ({right!r})")
    assert reply.startswith("error:") or len(reply) <= MAX_INTEGER_DIGITS + 30


class ToolHungryModel(BaseChatModel):
    """Asks for thousands of tool calls in every reply."""

    per_reply: int = 5_000
    seen: list = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "tool-hungry"

    def bind_tools(self, tools, **kwargs):
        return self

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        self.seen.append(list(messages))
        turn = len(self.seen)
        calls = [
            {"name": "tally", "args": {"n": 1}, "id": f"r{turn}c{i}"}
            for i in range(self.per_reply)
        ]
        return ChatResult(generations=[ChatGeneration(message=AIMessage("", tool_calls=calls))])


@pytest.mark.filterwarnings("ignore:no price for model")
def test_tool_calls_are_capped_per_reply_and_per_run():
    ran = []

    def tally(n: int) -> str:
        """Count one call."""
        ran.append(n)
        return "counted"

    register_tool(tally, replace=True)
    model = ToolHungryModel()
    workflow = deploy(
        Workflow("greedy").add_agent("a", role="solver", model=model, tools=["tally"]).build()
    )
    workflow.invoke("What is 6 * 7?")
    assert len(ran) == MAX_TOOL_CALLS_PER_RUN  # not 5 replies x 5,000
    second = model.seen[1]
    replies = [m for m in second if isinstance(m, ToolMessage)]
    assert len(replies) == 5_000  # every call is answered, run or refused
    assert sum(m.content == "counted" for m in replies) == MAX_TOOL_CALLS_PER_REPLY
    refused = [m for m in replies if m.content.startswith("error: tool call refused")]
    assert len(refused) == 5_000 - MAX_TOOL_CALLS_PER_REPLY
    assert len(model.seen) == 5  # the rounds stay bounded too


def test_a_tool_call_cap_counts_across_replies():
    cap = ToolCallCap(per_reply=3, per_run=5)
    assert cap.admit(["a", "b", "c", "d"]) == (["a", "b", "c"], ["d"])
    assert cap.admit(["e", "f", "g"]) == (["e", "f"], ["g"])
    assert cap.admit(["h"]) == ([], ["h"])
    assert "at most 3 tool calls per reply and 5 per run" in cap.refusal
