"""The ``Role`` extension point and the records a role reads and writes."""

from __future__ import annotations

import functools
import hashlib
import json
import re
import sys
import threading
from pathlib import Path
from typing import Any, Literal, cast, get_args

import yaml
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langchain_core.utils import mustache
from pydantic import BaseModel, ConfigDict, Field

from orchestrator.errors import UnknownRoleError
from orchestrator.parsing import ReplyFormat

__all__ = [
    "TaskKind",
    "TASK_KINDS",
    "PromptVariant",
    "CandidateAnswer",
    "RoleInputs",
    "AgentOutput",
    "Role",
    "register_role",
    "get_role",
    "list_roles",
    "role_origin",
]

TaskKind = Literal["short_answer", "multiple_choice", "code"]
"""What kind of task a run works on; roles render the prompt variant for it.

``short_answer`` (the default) is a question with a short reference answer;
``multiple_choice`` a question whose choices are lettered in its text, answered
with a letter; ``code`` a programming problem, answered with a complete function.
"""

TASK_KINDS: tuple[str, ...] = get_args(TaskKind)
"""Every :data:`TaskKind`, default first."""

# A plain ``{{name}}`` tag; sections, partials, comments and raw tags are left alone.
_PLAIN_TAG = re.compile(r"\{\{\s*([A-Za-z_][\w.]*)\s*\}\}")


def _verbatim(template: str) -> str:
    """Make plain mustache variables unescaped: prompts are not HTML."""
    return _PLAIN_TAG.sub(r"{{&\1}}", template)


@functools.lru_cache(maxsize=256)
def _tokens(template: str) -> tuple[tuple[str, str], ...]:
    """Tokenise a template once; rendering then skips the parser."""
    return tuple(mustache.tokenize(_verbatim(template)))


_FENCED = re.compile(r"^\s*```[\w+-]*[ \t]*\n(.*?)\n?```\s*$", re.DOTALL)


def _unfence(text: str) -> str:
    """The code inside an answer that is one fenced Markdown block; other text as it is."""
    match = _FENCED.match(text)
    return match.group(1) if match else text


@functools.lru_cache(maxsize=256)
def _reply_format(system: str, user: str) -> ReplyFormat:
    return ReplyFormat.from_template(f"{system}\n{user}")


def _render(template: str, variables: dict[str, Any]) -> str:
    tokens = _tokens(template)
    if all(kind == "literal" for kind, _ in tokens):  # most system prompts: nothing to fill
        return "".join(text for _, text in tokens)
    return mustache.render(list(tokens), variables)


class CandidateAnswer(BaseModel):
    """A candidate answer offered to an agent by one of its predecessors."""

    model_config = ConfigDict(frozen=True)

    index: int = Field(description="1-based position in the prompt's candidate list.")
    agent: str = Field(description="Name of the agent that produced it.")
    answer: str = Field(description="The answer text.")
    confidence: float | None = Field(default=None, description="Stated confidence in [0, 1].")


class RoleInputs(BaseModel):
    """Everything an agent is given, gathered from the question and its predecessors."""

    model_config = ConfigDict(frozen=True)

    question: str = Field(description="The workflow's input question.")
    plan: tuple[str, ...] = Field(default=(), description="Steps from a planner predecessor.")
    candidate: CandidateAnswer | None = Field(
        default=None, description="The most recent answer among the predecessors."
    )
    critique: str | None = Field(default=None, description="A verifier predecessor's critique.")
    verdict: Literal["accept", "reject", "no_verdict"] | None = Field(
        default=None,
        description="A verifier predecessor's verdict; ``no_verdict`` when its reply could "
        "not be read.",
    )
    candidates: tuple[CandidateAnswer, ...] = Field(
        default=(), description="The latest answer of every answer-producing predecessor."
    )
    focus: str | None = Field(default=None, description="The agent's assigned sub-task, if any.")
    round: int = Field(default=1, description="How many times this agent has run, this one too.")
    kind: TaskKind = Field(
        default="short_answer", description="The task's kind; selects the prompt variant."
    )

    def template_vars(self) -> dict[str, Any]:
        """The variables a role template can use.

        For code tasks, answers are shown without the Markdown fence a model may
        have put around them, since the templates put them in one.
        """
        show = _unfence if self.kind == "code" else str
        return {
            "question": self.question,
            "plan": "\n".join(f"{i}. {step}" for i, step in enumerate(self.plan, 1)),
            "candidate": show(self.candidate.answer) if self.candidate else "",
            "critique": self.critique or "",
            "verdict": self.verdict or "",
            "candidates": [
                {
                    "index": c.index,
                    "agent": c.agent,
                    "answer": show(c.answer),
                    "confidence": "" if c.confidence is None else f"{c.confidence:.2f}",
                }
                for c in self.candidates
            ],
            "has_candidates": bool(self.candidates),
            "focus": self.focus or "",
            "round": self.round,
        }


class PromptVariant(BaseModel):
    """A role's prompt templates for one task kind other than short answers."""

    model_config = ConfigDict(frozen=True)

    system: str = Field(default="", description="System prompt template for this kind.")
    user: str = Field(description="User prompt template for this kind.")

    @classmethod
    def from_yaml(cls, path: str | Path) -> PromptVariant:
        """Load ``system`` and ``user`` from a YAML file."""
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        return cls(system=data.get("system", ""), user=data["user"])


class AgentOutput(BaseModel):
    """What one agent run hands to the agents after it."""

    model_config = ConfigDict(frozen=True)

    answer: str | None = Field(default=None, description="The current answer after this agent.")
    confidence: float | None = Field(default=None, description="Confidence in ``answer``.")
    rejected: bool = Field(
        default=False, description="Whether this run flagged a problem; loops key on it."
    )
    data: dict[str, Any] = Field(default_factory=dict, description="The parsed role output.")


class Role(BaseModel):
    r"""A kind of agent: its prompt templates, output contract and behaviour.

    Templates are mustache; every variable of :meth:`RoleInputs.template_vars`
    is available and inserted verbatim. ``system`` and ``user`` serve short
    answers; ``variants`` holds the templates for other task kinds (see
    :data:`TaskKind`), and a kind without a variant uses the default ones.
    Subclass to change how parsed output becomes an :class:`AgentOutput`; a
    plain instance already works for any contract with an ``answer`` (and
    optionally ``confidence``) field.

    Example:
        >>> from pydantic import BaseModel
        >>> class Critic(BaseModel):
        ...     answer: str
        >>> critic = Role(name="critic", system="You are blunt.",
        ...               user="Task: solve.\\n{{question}}", output=Critic)
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: str = Field(description="Unique role name, used in specs.")
    description: str = Field(default="", description="One line for humans.")
    system: str = Field(default="", description="System prompt template.")
    user: str = Field(default="", description="User prompt template.")
    output: type[BaseModel] | None = Field(
        default=None, description="Output contract; None for roles that call no model."
    )
    uses_model: bool = Field(default=True, description="Whether the role calls a model.")
    produces_answer: bool = Field(
        default=True, description="Whether its output carries an answer downstream."
    )
    min_candidates: int = Field(
        default=0, description="Fewest answer-producing predecessors it needs."
    )
    needs_critique: bool = Field(
        default=False, description="Whether a verifier must feed it a critique."
    )
    variants: dict[TaskKind, PromptVariant] = Field(
        default_factory=dict,
        description="Prompt templates per task kind; kinds not listed use system and user.",
    )

    @classmethod
    def from_yaml(cls, path: str | Path, **overrides: Any) -> Role:
        """Load ``name``, ``description``, ``system`` and ``user`` from a YAML file."""
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        return cls(**{**data, **overrides})

    @property
    def fingerprint(self) -> str:
        """A digest of everything that changes what the role asks a model."""
        schema = self.output.model_json_schema() if self.output is not None else None
        parts: list[Any] = [self.name, self.system, self.user, schema]
        if self.variants:  # only then, so roles without variants keep their fingerprint
            parts.append({kind: v.model_dump() for kind, v in sorted(self.variants.items())})
        payload = json.dumps(parts, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def templates(self, kind: str = "short_answer") -> tuple[str, str]:
        """The ``(system, user)`` templates used for tasks of ``kind``."""
        variant = self.variants.get(cast(TaskKind, kind))
        if variant is None:
            return self.system, self.user
        return variant.system, variant.user

    def reply_format(self, kind: str = "short_answer") -> ReplyFormat:
        """The reply format the prompt for ``kind`` shows: the parser refuses it echoed back."""
        return _reply_format(*self.templates(kind))

    def render(self, inputs: RoleInputs, *, system: str | None = None) -> list[BaseMessage]:
        """Build the messages sent to the model, in the variant for the task's kind.

        Args:
            inputs: What the agent was given.
            system: A system prompt that replaces the role's (the agent's own prompt).
        """
        variables = inputs.template_vars()
        system_template, user_template = self.templates(inputs.kind)
        system_text = _render(system or system_template, variables).strip()
        user_text = _render(user_template, variables).strip()
        user_text = re.sub(r"\n{3,}", "\n\n", user_text)
        messages: list[BaseMessage] = []
        if system_text:
            messages.append(SystemMessage(system_text))
        messages.append(HumanMessage(user_text))
        return messages

    def skip(self, inputs: RoleInputs, options: dict[str, Any]) -> AgentOutput | None:
        """Return an output to use instead of calling the model, or ``None`` to call it."""
        return None

    def decide(self, inputs: RoleInputs, options: dict[str, Any]) -> AgentOutput:
        """Produce the output of a role that calls no model."""
        raise NotImplementedError(f"role {self.name!r} calls a model; it has no decide()")

    def interpret(
        self, parsed: BaseModel, inputs: RoleInputs, options: dict[str, Any]
    ) -> AgentOutput:
        """Turn the parsed contract into the output handed downstream."""
        data = parsed.model_dump()
        answer = data.get("answer")
        confidence = data.get("confidence")
        return AgentOutput(
            answer=None if answer is None else str(answer),
            confidence=confidence if isinstance(confidence, float) else None,
            rejected=data.get("verdict") == "reject",
            data=data,
        )

    def fallback(self, inputs: RoleInputs, options: dict[str, Any]) -> AgentOutput:
        """Output to hand downstream when the model's reply could not be parsed.

        Its ``data["fallback"]`` says what was handed on instead; the node's trace
        records it, so a fallback is never mistaken for the model's decision.
        """
        return AgentOutput(data={"fallback": "no output: the reply could not be read"})


_REGISTRY: dict[str, Role] = {}
_ORIGINS: dict[str, str] = {}  # role name -> the module that registered it
_LOCK = threading.Lock()


def register_role(role: Role, *, replace: bool = False) -> Role:
    """Make ``role`` usable by name in specs.

    The module that registers it is remembered (:func:`role_origin`), so an exported
    workflow that uses the role can import that module itself.

    Args:
        role: The role to register.
        replace: Allow replacing a role already registered under that name.

    Raises:
        ValueError: The name is taken and ``replace`` is false, or the role calls a
            model without an output contract.
    """
    origin = sys._getframe(1).f_globals.get("__name__", "")
    with _LOCK:
        if role.name in _REGISTRY and not replace and _REGISTRY[role.name] is not role:
            raise ValueError(f"role {role.name!r} is already registered; pass replace=True")
        if role.uses_model and role.output is None:
            raise ValueError(
                f"role {role.name!r} calls a model but has no output contract: give it "
                "output=... (a pydantic model, e.g. orchestrator.roles.contracts.SolverOutput), "
                "or uses_model=False"
            )
        _REGISTRY[role.name] = role
        _ORIGINS[role.name] = origin
    return role


def role_origin(name: str) -> str | None:
    """The module that registered the role ``name`` (None if unknown)."""
    return _ORIGINS.get(name)


def get_role(name: str) -> Role:
    """Look a role up by name.

    Raises:
        UnknownRoleError: No role has that name.
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise UnknownRoleError(
            f"unknown role {name!r}; known roles: {known}. Register custom roles with "
            "orchestrator.register_role(Role(...))"
        ) from None


def list_roles() -> list[str]:
    """Names of every registered role."""
    return sorted(_REGISTRY)
