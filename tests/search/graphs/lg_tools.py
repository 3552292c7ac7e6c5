"""Tools of the version tests, in a module of their own (as a user's tools often are)."""

from langchain_core.tools import tool


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    # the sum, exactly
    return a + b
