"""A custom role and tool registered by a user's module, for the export and CLI tests."""

from orchestrator import Role, register_role
from orchestrator.roles.contracts import SolverOutput
from orchestrator.tools import register_tool

register_role(
    Role(
        name="skeptic",
        description="A solver that doubts the obvious reading first.",
        system="You are a careful, skeptical solver.",
        user="## Question\n{{question}}\n"
        'Reply with JSON: {"answer": "<final answer>", "confidence": <0 to 1>}',
        output=SolverOutput,
    ),
    replace=True,
)


def double(x: int) -> int:
    """Twice x."""
    return 2 * x


register_tool(double, replace=True)
