"""Budgets as hard limits: a thread-safe ledger of dollars, tokens, calls and evaluations.

The ledger works at two levels. Every model call reserves its worst case
before it starts (:class:`~orchestrator.runtime.CallLedger`), so spending can
never pass a limit; cache hits settle at $0. Before an evaluation starts, the
evaluator asks for its estimated worst case (:meth:`BudgetLedger.admit`), so
nothing new starts that could run out of budget half-way. One ledger can be
shared by any number of evaluations: a whole search spends from one.

Example:
    >>> ledger = BudgetLedger(Budget(dollars=0.50, evaluations=200))
    >>> ledger.remaining.dollars
    0.5
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.errors import BudgetExhaustedError
from orchestrator.pricing import PriceTable, default_prices
from orchestrator.roles import get_role
from orchestrator.spec import WorkflowSpec
from orchestrator.trace import Usage
from search.store import CostProfile

__all__ = [
    "Budget",
    "Spend",
    "Estimate",
    "BudgetLedger",
    "EvaluationHold",
    "get_ledger",
    "estimate_evaluation",
]

_MAX_OUTPUT = 1024  # the runtime's default cap on output tokens
_TOOL_ROUNDS = 4  # the runtime's default tool rounds per agent run
_CONTEXT_TOKENS = 600  # allowance per predecessor output quoted in a prompt


class Budget(BaseModel):
    """Limits on what may be spent; ``None`` means unlimited."""

    model_config = ConfigDict(frozen=True)

    dollars: float | None = Field(default=None, ge=0, description="Dollars (cache misses).")
    tokens: int | None = Field(default=None, ge=0, description="Tokens (cache misses).")
    calls: int | None = Field(default=None, ge=0, description="Model calls (cache misses).")
    evaluations: int | None = Field(
        default=None, ge=0, description="Workflow x task evaluations run (store misses)."
    )


class Spend(BaseModel):
    """What a ledger has spent. Only cache misses cost anything."""

    model_config = ConfigDict(frozen=True)

    dollars: float = Field(default=0.0, description="Dollars of calls that missed the cache.")
    tokens: int = Field(default=0, description="Tokens of those calls.")
    calls: int = Field(default=0, description="Model calls that missed the cache.")
    evaluations: int = Field(default=0, description="Evaluations started (not from the store).")
    cached_calls: int = Field(default=0, description="Model calls answered by the LLM cache.")


class Estimate(BaseModel):
    """The worst case one evaluation may use."""

    model_config = ConfigDict(frozen=True)

    dollars: float = Field(default=0.0, ge=0, description="Worst-case dollars.")
    tokens: int = Field(default=0, ge=0, description="Worst-case tokens.")
    calls: int = Field(default=0, ge=0, description="Worst-case model calls.")
    source: str = Field(default="spec", description="'observed' or 'spec': how it was made.")


@dataclass
class _Hold:
    tokens: int
    dollars: float
    evaluation: EvaluationHold | None = None


@dataclass
class EvaluationHold:
    """An admitted evaluation: its estimate, and what its calls have spent so far."""

    estimate: Estimate
    dollars: float = 0.0
    tokens: int = 0
    calls: int = 0
    closed: bool = False

    def spent(self) -> tuple[float, int, int]:
        """Dollars, tokens and calls its calls have spent so far."""
        return self.dollars, self.tokens, self.calls

    def outstanding(self) -> tuple[float, int, int]:
        """The part of the estimate not yet spent (never negative)."""
        return (
            max(0.0, self.estimate.dollars - self.dollars),
            max(0, self.estimate.tokens - self.tokens),
            max(0, self.estimate.calls - self.calls),
        )


class _ScopedLedger:
    """The ledger one evaluation's calls go through, so its spend is attributed to it."""

    def __init__(self, ledger: BudgetLedger, hold: EvaluationHold) -> None:
        self.ledger = ledger
        self.hold = hold

    def reserve(self, *, tokens: int, dollars: float) -> _Hold:
        return self.ledger._reserve(tokens=tokens, dollars=dollars, evaluation=self.hold)

    def settle(self, reservation: _Hold, *, usage: Usage, dollars: float, cached: bool) -> None:
        self.ledger.settle(reservation, usage=usage, dollars=dollars, cached=cached)

    def release(self, reservation: _Hold) -> None:
        self.ledger.release(reservation)


class BudgetLedger:
    """A hard budget, shared by every evaluation that spends from it (thread-safe).

    Implements :class:`orchestrator.runtime.CallLedger`, so it can be passed to
    :func:`orchestrator.deploy` directly. A call is refused, with
    :class:`~orchestrator.errors.BudgetExhaustedError`, when what is spent plus
    what other calls hold plus this call's worst case would pass a limit.
    An evaluation is refused when its estimate would not fit beside the
    unspent estimates of the evaluations already running.

    Args:
        budget: The limits; keyword limits override its fields.
        dollars: Dollar limit.
        tokens: Token limit.
        calls: Model-call limit.
        evaluations: Evaluation limit.
    """

    def __init__(
        self,
        budget: Budget | None = None,
        *,
        dollars: float | None = None,
        tokens: int | None = None,
        calls: int | None = None,
        evaluations: int | None = None,
    ) -> None:
        """Start with nothing spent."""
        base = budget or Budget()
        overrides = {
            k: v
            for k, v in {
                "dollars": dollars,
                "tokens": tokens,
                "calls": calls,
                "evaluations": evaluations,
            }.items()
            if v is not None
        }
        self.budget = base.model_copy(update=overrides) if overrides else base
        Budget.model_validate(self.budget.model_dump())
        self._lock = threading.Lock()
        # Plain counters: this is on every model call's path, so no model copies here.
        self._dollars = 0.0
        self._tokens = 0
        self._calls = 0
        self._evaluations = 0
        self._cached_calls = 0
        self._held_dollars = 0.0
        self._held_tokens = 0
        self._held_calls = 0
        self._holds: dict[int, EvaluationHold] = {}
        self._stop_reason: str | None = None

    # --- reading -----------------------------------------------------------------------

    @property
    def spent(self) -> Spend:
        """What has been spent so far."""
        with self._lock:
            return self._snapshot()

    def _snapshot(self) -> Spend:
        return Spend(
            dollars=self._dollars,
            tokens=self._tokens,
            calls=self._calls,
            evaluations=self._evaluations,
            cached_calls=self._cached_calls,
        )

    @property
    def remaining(self) -> Budget:
        """What is left of each limit (``None`` for unlimited ones)."""
        with self._lock:
            spent, limit = self._snapshot(), self.budget
            return Budget(
                dollars=None if limit.dollars is None else max(0.0, limit.dollars - spent.dollars),
                tokens=None if limit.tokens is None else max(0, limit.tokens - spent.tokens),
                calls=None if limit.calls is None else max(0, limit.calls - spent.calls),
                evaluations=None
                if limit.evaluations is None
                else max(0, limit.evaluations - spent.evaluations),
            )

    @property
    def stop_reason(self) -> str | None:
        """Why the ledger last refused something, or ``None`` if it never has."""
        with self._lock:
            return self._stop_reason

    @property
    def exhausted(self) -> bool:
        """Whether the ledger has refused something or a limit is used up."""
        remaining = self.remaining
        used_up = any(
            value is not None and value <= 0
            for value in (
                remaining.dollars,
                remaining.tokens,
                remaining.calls,
                remaining.evaluations,
            )
        )
        return used_up or self.stop_reason is not None

    def __repr__(self) -> str:
        return f"BudgetLedger(budget={self.budget!r}, spent={self.spent!r})"

    # --- call level (CallLedger) --------------------------------------------------------

    def _refuse(self, resource: str, message: str) -> BudgetExhaustedError:
        self._stop_reason = f"budget: {message}"
        return BudgetExhaustedError(message, resource=resource)

    def _reserve(self, *, tokens: int, dollars: float, evaluation: EvaluationHold | None) -> _Hold:
        limit = self.budget
        with self._lock:
            spent = self._snapshot()
            if limit.calls is not None and spent.calls + self._held_calls + 1 > limit.calls:
                raise self._refuse(
                    "calls", f"the call limit of {limit.calls} model calls is reached"
                )
            held_tokens = spent.tokens + self._held_tokens
            if limit.tokens is not None and held_tokens + tokens > limit.tokens:
                raise self._refuse(
                    "tokens",
                    f"a call needing up to {tokens} tokens would pass the limit of "
                    f"{limit.tokens} ({spent.tokens} spent, {self._held_tokens} held)",
                )
            if (
                limit.dollars is not None
                and spent.dollars + self._held_dollars + dollars > limit.dollars
            ):
                raise self._refuse(
                    "dollars",
                    f"a call costing up to ${dollars:.6f} would pass the ${limit.dollars:g} "
                    f"limit (${spent.dollars:.6f} spent, ${self._held_dollars:.6f} held)",
                )
            self._held_tokens += tokens
            self._held_dollars += dollars
            self._held_calls += 1
        return _Hold(tokens=tokens, dollars=dollars, evaluation=evaluation)

    def reserve(self, *, tokens: int, dollars: float) -> _Hold:
        """Hold a call's worst case, or raise ``BudgetExhaustedError``."""
        return self._reserve(tokens=tokens, dollars=dollars, evaluation=None)

    def _drop(self, hold: _Hold) -> None:
        self._held_tokens -= hold.tokens
        self._held_dollars -= hold.dollars
        self._held_calls -= 1

    def settle(self, reservation: _Hold, *, usage: Usage, dollars: float, cached: bool) -> None:
        """Replace a hold with what the call used; cached calls cost nothing."""
        with self._lock:
            self._drop(reservation)
            if cached:
                self._cached_calls += 1
                return
            self._dollars += dollars
            self._tokens += usage.total_tokens
            self._calls += 1
            evaluation = reservation.evaluation
            if evaluation is not None:
                evaluation.dollars += dollars
                evaluation.tokens += usage.total_tokens
                evaluation.calls += 1

    def release(self, reservation: _Hold) -> None:
        """Drop the hold of a call that failed."""
        with self._lock:
            self._drop(reservation)

    # --- evaluation level ----------------------------------------------------------------

    def admit(self, estimate: Estimate) -> EvaluationHold | None:
        """Start an evaluation whose worst case is ``estimate``, if it fits.

        Returns:
            A hold to pass to :meth:`scoped` and :meth:`finish`; or ``None`` when
            it does not fit now but may once running evaluations finish.

        Raises:
            BudgetExhaustedError: It cannot fit even with nothing else running:
                the evaluation limit is reached, or spent plus the estimate
                would pass a limit. :attr:`stop_reason` says which.
        """
        limit = self.budget
        capped = limit.dollars is not None or limit.tokens is not None or limit.calls is not None
        with self._lock:
            spent = self._snapshot()
            if limit.evaluations is not None and spent.evaluations + 1 > limit.evaluations:
                raise self._refuse(
                    "evaluations", f"the limit of {limit.evaluations} evaluations is reached"
                )
            dollars = tokens = calls = 0.0
            for hold in self._holds.values() if capped else ():
                d, t, c = hold.outstanding()
                dollars, tokens, calls = dollars + d, tokens + t, calls + c
            checks = (
                ("dollars", limit.dollars, spent.dollars, dollars, estimate.dollars),
                ("tokens", limit.tokens, spent.tokens, tokens, estimate.tokens),
                ("calls", limit.calls, spent.calls, calls, estimate.calls),
            )
            for resource, cap, used, running, need in checks:
                if cap is None:
                    continue
                if used + need > cap:
                    raise self._refuse(
                        resource,
                        f"the next evaluation could use up to {_amount(resource, need)} "
                        f"({estimate.source} estimate), but only "
                        f"{_amount(resource, max(0, cap - used))} of the "
                        f"{_amount(resource, cap)} budget is left",
                    )
                if used + running + need > cap:
                    return None
            self._evaluations += 1
            hold = EvaluationHold(estimate=estimate)
            self._holds[id(hold)] = hold
        return hold

    @property
    def running(self) -> int:
        """Admitted evaluations that have not finished."""
        with self._lock:
            return len(self._holds)

    def scoped(self, hold: EvaluationHold) -> _ScopedLedger:
        """A call ledger whose spending counts against ``hold``'s estimate."""
        return _ScopedLedger(self, hold)

    def finish(self, hold: EvaluationHold) -> None:
        """An admitted evaluation is over: drop what is left of its estimate."""
        with self._lock:
            hold.closed = True
            self._holds.pop(id(hold), None)


def _amount(resource: str, value: float) -> str:
    return f"${value:.6g}" if resource == "dollars" else f"{value:.6g} {resource}"


def get_ledger(
    budget: Budget | BudgetLedger | dict[str, float] | None,
) -> BudgetLedger | None:
    """Accept a ledger (shared as is), a :class:`Budget`, a dict of limits, or ``None``."""
    if budget is None or isinstance(budget, BudgetLedger):
        return budget
    if isinstance(budget, Budget):
        return BudgetLedger(budget)
    if isinstance(budget, dict):
        return BudgetLedger(Budget.model_validate(budget))
    raise TypeError(f"expected a Budget or BudgetLedger, got {type(budget).__name__}")


def estimate_evaluation(
    spec: WorkflowSpec,
    *,
    question: str = "",
    prices: PriceTable | None = None,
    observed: CostProfile | None = None,
    min_observations: int = 3,
    margin: float = 1.5,
) -> Estimate:
    """A conservative estimate of what one evaluation of ``spec`` may use.

    With at least ``min_observations`` completed evaluations of the workflow in
    the store, dollars and tokens are ``margin`` times the largest observed.
    Otherwise they come from the spec: every model-calling agent, run as often
    as its loops allow (tool rounds included), with an input of its prompt
    templates, the question and its predecessors' outputs, and an output of
    its ``max_tokens`` (1024 when unset). Calls always come from the spec,
    which bounds them exactly.
    """
    prices = prices or default_prices()
    structure = spec.structure
    loops = {loop.id: loop for loop in spec.loops}
    calls = 0
    tokens = 0
    dollars = 0.0
    for agent in spec.agents:
        role = get_role(agent.role)
        if not role.uses_model or agent.model is None:
            continue
        runs = 1
        for loop_id, body in structure.loop_bodies.items():
            if agent.name in body:
                runs *= 1 + int(loops[loop_id].max_rounds or 0)
        rounds = 1 + (_TOOL_ROUNDS if agent.tools else 0)
        chars = len(role.system) + len(role.user) + len(agent.prompt or "") + len(question)
        feeders = len(structure.feeders.get(agent.name, ()))
        usage = Usage(
            input_tokens=math.ceil(chars / 3) + 16 + _CONTEXT_TOKENS * (feeders + rounds - 1),
            output_tokens=agent.max_tokens or _MAX_OUTPUT,
        )
        usage = usage.model_copy(update={"total_tokens": usage.input_tokens + usage.output_tokens})
        calls += runs * rounds
        tokens += runs * rounds * usage.total_tokens
        dollars += runs * rounds * prices.cost(agent.model, usage)
    if observed is not None and observed.n >= min_observations:
        return Estimate(
            dollars=observed.max_cost * margin,
            tokens=math.ceil(observed.max_tokens * margin),
            calls=calls,
            source="observed",
        )
    return Estimate(dollars=dollars, tokens=tokens, calls=calls, source="spec")
