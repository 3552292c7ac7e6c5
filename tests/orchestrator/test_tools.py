"""Tools by name; the built-in calculator evaluates arithmetic safely."""

import pytest

from orchestrator import register_tool
from orchestrator.tools import calculator, get_tool


@pytest.mark.parametrize(
    ("expression", "value"),
    [("(2 + 3) * 4", "20"), ("7 // 2", "3"), ("1 / 4", "0.25"), ("-3 ** 2", "-9")],
)
def test_calculator(expression, value):
    assert calculator.invoke({"expression": expression}) == value


@pytest.mark.parametrize("expression", ["__import__('os')", "x + 1", "2 ** 1000", "1 / 0"])
def test_calculator_refuses_anything_else(expression):
    assert calculator.invoke({"expression": expression}).startswith("error:")


def test_register_a_function_as_a_tool():
    def shout(text: str) -> str:
        """Upper-case the text."""
        return text.upper()

    name = register_tool(shout, replace=True)
    assert get_tool(name).invoke({"text": "hi"}) == "HI"
    with pytest.raises(KeyError, match="unknown tool 'nope'"):
        get_tool("nope")
