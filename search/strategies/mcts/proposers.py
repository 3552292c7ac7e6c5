"""Who picks the next edit during MCTS expansion: a rule, or any chat model.

A :class:`Proposer` sees an :class:`EditRequest` (the workflow, its score
and cost, the edits that may still be tried from it and what earlier edits from
it did) and returns an :class:`EditChoice` naming one of those edits.
:class:`RuleProposer` picks at random (seeded) or in operator order.
:class:`CreditProposer` learns which edits pay: it ranks the edits on offer
by the gain the same edit gave wherever else in the tree it was tried (UCB).
:class:`LLMProposer` asks a chat model, AFlow style, and falls back to the rule
when the reply is unusable, recording why; it can never choose an edit outside
the offered set.

Example:
    >>> from orchestrator.testing import ScriptedChatModel
    >>> model = ScriptedChatModel(replies=['{"edit": "add_verifier", "reason": "check"}'])
    >>> strategy = MCTSStrategy(proposer=LLMProposer(model))  # doctest: +SKIP
"""

from __future__ import annotations

import abc
import math
import random
import re
from collections import Counter
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, ConfigDict, Field, field_validator

from orchestrator.errors import BudgetExhaustedError
from orchestrator.metering import metered, worst_case
from orchestrator.models import model_ref, resolve_model
from orchestrator.parsing import OutputParseError, message_text, parse_text
from orchestrator.pricing import default_prices
from orchestrator.render import spec_mermaid
from orchestrator.trace import Usage
from search.space import Candidate
from search.strategies.mcts.edits import Edit, Experience

if TYPE_CHECKING:
    from orchestrator.budget import BudgetLedger
    from search.strategies.base import SearchContext

__all__ = [
    "EditRequest",
    "EditChoice",
    "Proposer",
    "RuleProposer",
    "CreditProposer",
    "LLMProposer",
]


class EditRequest(BaseModel):
    """What a proposer is shown: one workflow, the edits still open, and its experience."""

    model_config = ConfigDict(frozen=True)

    candidate: Candidate = Field(description="The workflow to edit.")
    score: float | None = Field(default=None, description="Its objective value.")
    mean: float | None = Field(default=None, description="Its mean score on the search tasks.")
    cost_per_task: float | None = Field(default=None, description="Its dollars per task.")
    n_tasks: int = Field(default=0, description="Search tasks it was evaluated on.")
    edits: tuple[Edit, ...] = Field(description="The edits that may be tried; choose one.")
    experience: tuple[Experience, ...] = Field(
        default=(), description="Edits already tried from this workflow, and their outcomes."
    )
    operators: dict[str, str] = Field(
        default_factory=dict, description="Operator name -> what it does."
    )
    history: tuple[Experience, ...] = Field(
        default=(), description="Every evaluated edit anywhere in the tree, and its outcome."
    )

    @property
    def keys(self) -> list[str]:
        """The keys of the edits on offer."""
        return [edit.key for edit in self.edits]

    @property
    def workflow(self) -> str:
        """The workflow's label, e.g. ``single(model=atlas-mini, temperature=0.0)``."""
        return self.candidate.label


class EditChoice(BaseModel):
    """A proposer's pick: one offered edit, who chose it and why."""

    model_config = ConfigDict(frozen=True)

    edit: str = Field(description="Key of the chosen edit; always one of the request's.")
    proposer: str = Field(description="Who chose it, e.g. 'random', 'ordered' or 'llm'.")
    reason: str = Field(default="", description="The stated reason, or why it fell back.")
    fallback: bool = Field(
        default=False, description="Whether a fallback rule chose because the proposer could not."
    )


class Proposer(abc.ABC):
    """Chooses which untried edit MCTS expands next.

    Implement :meth:`choose`; it must return the key of one of
    ``request.edits``. :meth:`setup` receives the search context first.

    Example:
        >>> class Cheapest(Proposer):
        ...     name = "cheapest"
        ...     def choose(self, request, rng):
        ...         edit = min(request.edits, key=lambda e: len(e.candidate.spec.agents))
        ...         return EditChoice(edit=edit.key, proposer=self.name)
    """

    name: str = "proposer"

    def setup(self, context: SearchContext) -> None:
        """Receive the search context before the first :meth:`choose`."""
        self.context = context

    @abc.abstractmethod
    def choose(self, request: EditRequest, rng: random.Random) -> EditChoice:
        """Pick one of ``request.edits`` (there is at least one)."""

    def describe(self) -> dict[str, Any]:
        """Settings to record with the search."""
        return {"proposer": self.name}


class RuleProposer(Proposer):
    """Rule-based expansion: a seeded random untried edit, or the first in operator order.

    Args:
        order: ``"random"`` or ``"ordered"`` (operators in their listed order).
    """

    def __init__(self, order: Literal["random", "ordered"] = "random") -> None:
        """Pick the rule."""
        if order not in ("random", "ordered"):
            raise ValueError(f"order must be 'random' or 'ordered', got {order!r}")
        self.order = order
        self.name = order

    def choose(self, request: EditRequest, rng: random.Random) -> EditChoice:
        """An untried edit by the rule."""
        edit = request.edits[0] if self.order == "ordered" else rng.choice(request.edits)
        return EditChoice(edit=edit.key, proposer=self.name)


class CreditProposer(Proposer):
    """Picks the edit on offer with the best record elsewhere in the tree (UCB1 on gains).

    An edit's key names what it does (``swap_model(models:sim:a->sim:b)``,
    ``replace_aggregator(weighted=True)``), so the same edit recurs across the
    tree. Its gain each time is the child's objective value minus the parent's,
    clipped to ``[-clip, clip]`` so one infeasible child does not condemn an
    edit; an edit never tried anywhere counts as one try with gain 0. Ties go
    to a seeded random pick.

    Args:
        exploration: UCB1 constant on the gain scale.
        clip: Largest gain or loss one try can record.
    """

    name = "credit"

    def __init__(self, *, exploration: float = 0.02, clip: float = 0.1) -> None:
        """Set the exploration and clipping."""
        if exploration < 0 or clip <= 0:
            raise ValueError("need exploration >= 0 and clip > 0")
        self.exploration = exploration
        self.clip = clip

    def gains(self, history: tuple[Experience, ...]) -> dict[str, list[float]]:
        """Clipped gains of every evaluated edit key."""
        gains: dict[str, list[float]] = {}
        for item in history:
            if item.before is None or item.after is None or item.outcome == "pending":
                continue
            gain = max(-self.clip, min(self.clip, item.after - item.before))
            gains.setdefault(item.edit, []).append(gain)
        return gains

    def choose(self, request: EditRequest, rng: random.Random) -> EditChoice:
        """The untried edit with the highest upper confidence bound on its gain."""
        gains = self.gains(request.history)
        total = sum(len(v) for v in gains.values()) + 1

        def bound(edit: Edit) -> float:
            seen = gains.get(edit.key, [])
            n = len(seen) or 1
            return sum(seen) / n + self.exploration * math.sqrt(math.log(total + 1) / n)

        scored = [(bound(edit), rng.random(), edit) for edit in request.edits]
        best, _, edit = max(scored, key=lambda item: (item[0], item[1]))
        tries = len(gains.get(edit.key, []))
        return EditChoice(
            edit=edit.key, proposer=self.name, reason=f"bound {best:+.4f} over {tries} tries"
        )

    def describe(self) -> dict[str, Any]:
        """Settings."""
        return {"proposer": self.name, "exploration": self.exploration, "clip": self.clip}


class _Reply(BaseModel):
    edit: str = Field(description="The chosen edit's key or number.")
    reason: str = Field(default="", description="Why.")

    @field_validator("edit", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value


_SYSTEM = (
    "You improve multi-agent LLM workflows. Each step applies exactly one edit to a "
    "workflow; the result is evaluated on tasks and scored by an objective (higher is "
    "better: accuracy, minus cost when cost matters). Choose the edit most likely to "
    "raise the score. Reply with JSON only."
)


def _number(value: float | None, digits: int) -> str:
    return "unknown" if value is None else f"{value:.{digits}f}"


class LLMProposer(Proposer):
    """Ask a chat model to choose the edit, in the manner of AFlow's optimiser prompt.

    The model sees the workflow (label and Mermaid diagram), its score and
    cost, the operators, every edit it may choose by key, and what earlier
    edits from this workflow did; failed ones are listed as prohibited. The
    reply is parsed leniently: a JSON ``{"edit": ..., "reason": ...}``, a
    ``edit: ...`` line, a number from the list, or an operator name (with a
    model it mentions, for swaps). Anything else, a model error, or a call the
    budget cannot cover falls back to ``fallback`` and the reason is kept in
    the choice (and so in the tree's experience). Its calls are charged to the
    search's budget. The call is synchronous: evaluations already running
    wait for it.

    Args:
        model: A chat model instance or a ``"provider:model"`` reference.
        fallback: The rule used when the reply is unusable; default random.
        max_options: Most edits listed in the prompt (a seeded sample beyond that).
        max_output_tokens: Output tokens reserved against the budget per call.
        diagram: Show the workflow's Mermaid diagram.
    """

    name = "llm"

    def __init__(
        self,
        model: BaseChatModel | str,
        *,
        fallback: Proposer | None = None,
        max_options: int = 60,
        max_output_tokens: int = 400,
        diagram: bool = True,
    ) -> None:
        """Configure the proposer; the model is resolved now."""
        if max_options < 1:
            raise ValueError("max_options must be at least 1")
        self.model = resolve_model(model) if isinstance(model, str) else model
        self.model_name = model if isinstance(model, str) else model_ref(model)
        self.fallback = fallback or RuleProposer()
        self.max_options = max_options
        self.max_output_tokens = max_output_tokens
        self.diagram = diagram
        self.calls = 0
        self.usage = Usage()
        self.cost = 0.0
        self.fallbacks: list[str] = []
        self._ledger: BudgetLedger | None = None
        self._prices = default_prices()

    def setup(self, context: SearchContext) -> None:
        """Charge calls to the search's budget, priced by its pool's table."""
        super().setup(context)
        self._ledger = context.ledger
        self._prices = context.space.pool.prices()
        self.fallback.setup(context)

    # --- the prompt -------------------------------------------------------------------

    def messages(self, request: EditRequest, edits: tuple[Edit, ...]) -> list[BaseMessage]:
        """The system and user messages for ``request``, listing ``edits``."""
        lines = [
            f"Workflow: {request.workflow}",
            f"Objective value: {_number(request.score, 4)}; mean score "
            f"{_number(request.mean, 3)} on {request.n_tasks} tasks; "
            f"${_number(request.cost_per_task, 6)} per task.",
        ]
        if self.diagram:
            lines += ["", "Diagram (Mermaid):", spec_mermaid(request.candidate.workflow)]
        used = {edit.operator for edit in edits}
        lines += ["", "Operators:"]
        lines += [f"- {name}: {text}" for name, text in request.operators.items() if name in used]
        lines += ["", "Edits you may choose (reply with one key exactly as written):"]
        lines += [f"{i}. {edit.key} -> {edit.candidate.label}" for i, edit in enumerate(edits, 1)]
        if request.experience:
            lines += ["", "Edits already tried from this workflow:"]
            for item in request.experience:
                before, after = _number(item.before, 4), _number(item.after, 4)
                lines.append(f"- {item.edit}: {before} -> {after} ({item.outcome})")
            prohibited = [item.edit for item in request.experience if item.failed]
            if prohibited:
                lines.append(f"Absolutely prohibit: {', '.join(prohibited)}")
        lines += [
            "",
            'Reply with JSON: {"edit": "<one key from the list>", "reason": "<one sentence>"}',
        ]
        return [SystemMessage(_SYSTEM), HumanMessage("\n".join(lines))]

    # --- choosing ---------------------------------------------------------------------

    def choose(self, request: EditRequest, rng: random.Random) -> EditChoice:
        """The model's pick, or the fallback's with the reason it was needed."""
        edits = request.edits
        if len(edits) > self.max_options:
            edits = tuple(rng.sample(list(edits), self.max_options))
        messages = self.messages(request, edits)
        try:
            reply = self._invoke(messages)
        except BudgetExhaustedError as exc:
            return self._fall_back(request, rng, f"budget: {exc}")
        except Exception as exc:  # any provider failure: the search goes on without it
            return self._fall_back(request, rng, f"model error: {type(exc).__name__}: {exc}")
        text = message_text(reply)
        picked, reason = match_edit(text, edits, rng, parent=request.candidate)
        if picked is None:
            return self._fall_back(request, rng, reason)
        return EditChoice(edit=picked, proposer=self.name, reason=reason)

    def _invoke(self, messages: list[BaseMessage]) -> AIMessage:
        done = metered(
            partial(self.model.invoke, messages),
            ledger=self._ledger,
            prices=self._prices,
            model=self.model_name,
            worst=worst_case(messages, self.max_output_tokens),
        )
        self.calls += 1
        self.usage = self.usage + done.usage
        self.cost += done.cost
        return done.reply

    def _fall_back(self, request: EditRequest, rng: random.Random, why: str) -> EditChoice:
        self.fallbacks.append(why)
        choice = self.fallback.choose(request, rng)
        return choice.model_copy(update={"reason": f"fallback ({why})", "fallback": True})

    def describe(self) -> dict[str, Any]:
        """Settings."""
        return {
            "proposer": self.name,
            "model": self.model_name,
            "fallback": self.fallback.describe(),
            "max_options": self.max_options,
        }


def _clean(text: str) -> str:
    return text.strip().strip("\"'`*").strip().rstrip(".").strip()


def _added_models(edit: Edit, parent: Candidate | None) -> set[str]:
    """Models the edit brings in (full references and short names)."""
    after = Counter(a.model for a in edit.candidate.workflow.agents if a.model)
    if parent is not None:
        after -= Counter(a.model for a in parent.workflow.agents if a.model)
    refs = {str(m).lower() for m in after}
    return refs | {ref.split(":", 1)[1] for ref in refs if ":" in ref}


def match_edit(
    text: str,
    edits: tuple[Edit, ...] | list[Edit],
    rng: random.Random,
    *,
    parent: Candidate | None = None,
) -> tuple[str | None, str]:
    """Read a reply as one of ``edits``: ``(key, reason)``, or ``(None, why not)``.

    Accepts an exact key, a list number, a key inside the text, or an operator
    name, narrowed to the edits that bring in a model the reply mentions
    (``parent`` tells what is new). Never returns a key that is not in ``edits``.
    """
    if not edits:
        return None, "no edit to choose from"
    by_key = {edit.key.lower(): edit.key for edit in edits}
    reason = ""
    choice = ""
    try:
        parsed = parse_text(text, _Reply)
        choice, reason = _clean(parsed.edit), parsed.reason.strip()
    except OutputParseError:
        pass
    if choice:
        if choice.lower() in by_key:
            return by_key[choice.lower()], reason
        number = re.fullmatch(r"#?\s*(\d+)", choice)
        if number:
            index = int(number.group(1)) - 1
            if 0 <= index < len(edits):
                return edits[index].key, reason
            return None, f"the reply chose number {index + 1}, outside 1..{len(edits)}"
    haystack = (choice or text).lower()
    inside = [key for key in by_key if key in haystack]
    if inside:
        return by_key[max(inside, key=len)], reason
    if "(" in choice:  # a whole key that is not on offer: tried before, or invented
        return None, f"the reply chose {choice!r}, which is not an offered edit"
    operators = {edit.operator for edit in edits}
    named = [op for op in operators if re.search(rf"\b{re.escape(op)}\b", haystack)]
    if len(named) == 1:
        group = [edit for edit in edits if edit.operator == named[0]]
        lowered = text.lower()
        narrowed = [
            edit
            for edit in group
            if any(
                re.search(rf"(?<![\w-]){re.escape(m)}(?![\w-])", lowered)
                for m in _added_models(edit, parent)
            )
        ] or group
        picked = rng.choice(narrowed)
        return picked.key, reason or f"named operator {named[0]}; took {picked.key}"
    if choice:
        return None, f"the reply chose {choice!r}, which is not an offered edit"
    snippet = text.strip().replace("\n", " ")[:80]
    return None, f"no edit could be read from the reply {snippet!r}"
