"""rolegraph's core: role agents, workflow specs, compilation to LangGraph, deployment.

Example:
    >>> from orchestrator import Workflow, deploy
    >>> spec = (
    ...     Workflow("ensemble")
    ...     .add_agent("a", role="solver", model="sim:atlas-nano", temperature=0.7)
    ...     .add_agent("b", role="solver", model="sim:lynx-small", temperature=0.7)
    ...     .add_agent("c", role="solver", model="sim:orca-small", temperature=0.7)
    ...     .add_agent("vote", role="vote")
    ...     .add_edge(["a", "b", "c"], "vote")
    ...     .build()
    ... )
    >>> deploy(spec)("What is 6 * 7?")
    '42'
"""

import importlib
import warnings
from typing import Any

from orchestrator.builder import Workflow
from orchestrator.compile import compile_workflow
from orchestrator.deploy import DeployedWorkflow, deploy
from orchestrator.errors import BudgetExhaustedError, SpecError
from orchestrator.models import register_model, resolve_model
from orchestrator.pricing import Price, PriceTable
from orchestrator.render import spec_mermaid
from orchestrator.roles import Role, get_role, register_role
from orchestrator.sim import SimChatModel
from orchestrator.spec import END, START, Agent, Edge, Loop, WorkflowSpec
from orchestrator.tools import register_tool
from orchestrator.trace import NodeTrace, RunResult, Usage

__all__ = [
    "Agent",
    "Edge",
    "Loop",
    "START",
    "END",
    "Workflow",
    "WorkflowSpec",
    "compile_workflow",
    "spec_mermaid",
    "deploy",
    "DeployedWorkflow",
    "RunResult",
    "NodeTrace",
    "Usage",
    "Role",
    "register_role",
    "get_role",
    "register_model",
    "resolve_model",
    "register_tool",
    "Price",
    "PriceTable",
    "SimChatModel",
    "SpecError",
    "BudgetExhaustedError",
]

__version__ = "0.2.0"

_MOVED = {"Store", "EvalKey", "EvalRecord", "LLMCallCache"}


def __getattr__(name: str) -> Any:
    # Deprecated names that moved to search.store; resolved on first use only, so importing
    # orchestrator never imports the search package.
    if name in _MOVED:
        warnings.warn(
            f"orchestrator.{name} is deprecated and will be removed in the next release; "
            f"import it from search.store instead",
            DeprecationWarning,
            stacklevel=2,
        )
        module = importlib.import_module("search.store")
        return getattr(module, name)
    raise AttributeError(f"module 'orchestrator' has no attribute {name!r}")
