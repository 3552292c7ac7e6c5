"""Roles: prompt templates, typed output contracts and behaviour of each kind of agent."""

from orchestrator.roles.base import (
    TASK_KINDS,
    AgentOutput,
    CandidateAnswer,
    PromptVariant,
    Role,
    RoleInputs,
    TaskKind,
    get_role,
    list_roles,
    register_role,
)
from orchestrator.roles.builtin import (
    BUILTIN_ROLES,
    AggregatorRole,
    JudgeRole,
    PlannerRole,
    RectifierRole,
    SolverRole,
    VerifierRole,
    VoteRole,
)
from orchestrator.roles.contracts import (
    AggregatorOutput,
    JudgeOutput,
    PlannerOutput,
    RectifierOutput,
    SolverOutput,
    VerifierOutput,
)

__all__ = [
    "Role",
    "RoleInputs",
    "TaskKind",
    "TASK_KINDS",
    "PromptVariant",
    "AgentOutput",
    "CandidateAnswer",
    "register_role",
    "get_role",
    "list_roles",
    "BUILTIN_ROLES",
    "SolverRole",
    "PlannerRole",
    "VerifierRole",
    "RectifierRole",
    "JudgeRole",
    "AggregatorRole",
    "VoteRole",
    "SolverOutput",
    "PlannerOutput",
    "VerifierOutput",
    "RectifierOutput",
    "JudgeOutput",
    "AggregatorOutput",
]
