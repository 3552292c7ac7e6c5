"""The worst case one run of a workflow may cost, from the same numbers every call holds.

A run's worst case is the sum, over its model-calling agents, of each call's
hold (:func:`orchestrator.budget.estimate_input_tokens` of its prompt plus its
output cap, :func:`orchestrator.budget.output_cap`), counted as often as its
loops and tool rounds allow. The prompt is the role's templates and the
question, plus each predecessor's reply at its own cap. The evaluator admits an
evaluation on this estimate; the runtime then holds each call's worst case out
of it, so the two never disagree about caps, tool rounds or prices.

Example:
    >>> from topologies import self_refine
    >>> worst_case_run(self_refine(rounds=2), question="What is 6 * 7?").calls
    5
"""

from __future__ import annotations

from collections.abc import Mapping

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, ConfigDict, Field

from orchestrator.budget import (
    DEFAULT_TOOL_ROUNDS,
    Amount,
    estimate_input_tokens,
    output_cap,
)
from orchestrator.models import resolve_model
from orchestrator.pricing import PriceTable, default_prices
from orchestrator.roles import get_role
from orchestrator.spec import WorkflowSpec
from orchestrator.trace import Usage

__all__ = [
    "worst_case_run",
    "Estimate",
    "estimate_evaluation",
    "REPLY_CHARS_PER_TOKEN",
    "TOOL_RESULT_CHARS",
    "REASK_CHARS",
]

REPLY_CHARS_PER_TOKEN = 4
"""Characters a reply of one token takes when quoted in a later prompt."""
TOOL_RESULT_CHARS = 2000
"""Characters one tool result may add to the prompt."""
REASK_CHARS = 1500
"""Characters a re-ask adds besides the prompt and the bad reply: the error and the format."""


def worst_case_run(
    spec: WorkflowSpec,
    *,
    question: str = "",
    models: Mapping[str, BaseChatModel] | None = None,
    prices: PriceTable | None = None,
) -> Amount:
    """What one run of ``spec`` on ``question`` may use at most, if models honour their caps.

    Args:
        spec: The workflow.
        question: The (longest) question it will answer.
        models: Instances used for model references, as in :func:`compile_workflow`.
        prices: Price table; defaults to :func:`default_prices`.
    """
    prices = prices or default_prices()
    structure = spec.structure
    loops = {loop.id: loop for loop in spec.loops}
    overrides = dict(models or {})
    caps: dict[str, int] = {}
    for agent in spec.agents:
        if agent.model is None or not get_role(agent.role).uses_model:
            continue
        model = overrides.get(agent.model) or resolve_model(agent.model)
        caps[agent.name] = output_cap(agent.max_tokens, model)
    dollars, tokens, calls = 0.0, 0, 0
    for agent in spec.agents:
        if agent.name not in caps:
            continue
        role = get_role(agent.role)
        runs = 1
        for loop_id, body in structure.loop_bodies.items():
            if agent.name in body:
                runs *= 1 + int(loops[loop_id].max_rounds or 0)
        quoted = sum(
            caps.get(feeder, 0) * REPLY_CHARS_PER_TOKEN for feeder in structure.feeders[agent.name]
        )
        templates = [
            (role.system, role.user),
            *((v.system, v.user) for v in role.variants.values()),
        ]
        base = max(len(agent.prompt or system) + len(user) for system, user in templates)
        base += len(question) + quoted
        rounds = 1 + (DEFAULT_TOOL_ROUNDS if agent.tools else 0)
        cap = caps[agent.name]
        for turn in range(rounds):
            # Each tool round quotes the last reply and the tool's result back.
            chars = base + turn * (cap * REPLY_CHARS_PER_TOKEN + TOOL_RESULT_CHARS)
            inp = estimate_input_tokens(chars)
            usage = Usage(input_tokens=inp, output_tokens=cap, total_tokens=inp + cap)
            dollars += runs * prices.cost(agent.model, usage)
            tokens += runs * usage.total_tokens
            calls += runs
        if role.output is not None and agent.options.get("reask", True):
            # A reply that does not parse is asked for once more (orchestrator.runtime): the
            # prompt, the bad reply and the expected format.
            chars = base + cap * REPLY_CHARS_PER_TOKEN + REASK_CHARS
            inp = estimate_input_tokens(chars)
            usage = Usage(input_tokens=inp, output_tokens=cap, total_tokens=inp + cap)
            dollars += runs * prices.cost(agent.model, usage)
            tokens += runs * usage.total_tokens
            calls += runs
    return Amount(dollars=dollars, tokens=tokens, calls=calls)


class Estimate(BaseModel):
    """The worst case one evaluation may use, if every model honours its output cap."""

    model_config = ConfigDict(frozen=True)

    dollars: float = Field(default=0.0, ge=0, description="Worst-case dollars.")
    tokens: int = Field(default=0, ge=0, description="Worst-case tokens.")
    calls: int = Field(default=0, ge=0, description="Worst-case model calls.")

    @property
    def amount(self) -> Amount:
        """As a ledger amount."""
        return Amount(self.dollars, self.tokens, self.calls, 0)


def estimate_evaluation(
    spec: WorkflowSpec,
    *,
    question: str = "",
    prices: PriceTable | None = None,
    models: Mapping[str, BaseChatModel] | None = None,
) -> Estimate:
    """The worst case one evaluation of ``spec`` on ``question`` may use.

    Every model-calling agent, run as often as its loops and tool rounds allow,
    with its prompt templates, the question and its predecessors' replies at
    their caps as input, and its output cap as output: the numbers its calls
    hold at run time.
    """
    amount = worst_case_run(spec, question=question, models=models, prices=prices)
    return Estimate(dollars=amount.dollars, tokens=amount.tokens, calls=amount.calls)
