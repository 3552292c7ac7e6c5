"""Hard budgets: a ledger that holds every model call's worst case before it starts.

How the guarantee works, and where its edge is:

1. **Holds.** Before a model call, its worst case is held: the input tokens of
   its messages (:func:`estimate_input_tokens`) plus the output cap the model is
   called with (:func:`output_cap`, bound on the model by the runtime). A hold
   is granted only while what is spent plus what is held fits every limit.
2. **Settling.** After the call its real cost (from ``usage_metadata``)
   replaces the hold; a cached call costs nothing. A call whose outcome is
   unknown (a timeout, a cancellation) is charged its whole hold: the provider
   may have billed it.
3. **Waiting.** A hold that does not fit waits while other holds are
   outstanding (they may free budget), and is refused only when nothing else
   is outstanding, so a busy ledger never stops early.
4. **Groups.** An evaluation reserves its estimated worst case as a group
   (:meth:`BudgetLedger.admit`); its calls are held inside the group, so
   admitted evaluations never starve each other, and no more evaluations
   start than the remaining budget can hold.
5. **Overruns.** A reply that reports more than its hold (a model that
   ignores its output cap) is charged in full and recorded as an overrun;
   from then on that model's holds are scaled up by the largest overrun ratio
   seen. With models that honour their caps the limit is never passed. With
   models that ignore them, the overshoot is at most the overruns of the calls
   already in flight when the first overrun was seen.

A ledger keeps its totals in a :class:`BudgetPool`: in memory by default; the
search keeps a search's pool in its store, so reruns and several processes
share one budget.

Example:
    >>> ledger = BudgetLedger(Budget(dollars=0.50, calls=200))
    >>> hold = ledger.reserve(tokens=1500, dollars=0.001)
    >>> ledger.settle(hold, usage=Usage(total_tokens=900), dollars=0.0006, cached=False)
    >>> ledger.spent.dollars, ledger.remaining.calls
    (0.0006, 199)
"""

from __future__ import annotations

import abc
import asyncio
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator

from orchestrator.errors import BudgetExhaustedError, RolegraphError
from orchestrator.trace import Usage

__all__ = [
    "Budget",
    "Spend",
    "Amount",
    "BudgetPool",
    "MemoryPool",
    "BudgetLedger",
    "Group",
    "Hold",
    "CHARS_PER_TOKEN",
    "MESSAGE_OVERHEAD_TOKENS",
    "DEFAULT_OUTPUT_CAP",
    "DEFAULT_TOOL_ROUNDS",
    "estimate_input_tokens",
    "output_cap",
    "get_ledger",
    "split_budget",
    "BudgetError",
]

CHARS_PER_TOKEN = 3
"""Characters counted as one input token when holding a call (real tokenizers give ~4)."""
MESSAGE_OVERHEAD_TOKENS = 16
"""Tokens added per call for message framing."""
DEFAULT_OUTPUT_CAP = 1024
"""Output tokens a call may use when neither the agent nor its model sets a cap."""
DEFAULT_TOOL_ROUNDS = 4
"""Tool-calling rounds an agent may take before it must answer."""

_POLL_S = 0.01
_RESOURCES = ("dollars", "tokens", "calls", "evaluations")
DOLLAR_NOISE = 1e-12
"""Dollars below this are float residue from adding and taking back holds: zero."""


def estimate_input_tokens(chars: int) -> int:
    """Input tokens held for a prompt of ``chars`` characters."""
    return math.ceil(chars / CHARS_PER_TOKEN) + MESSAGE_OVERHEAD_TOKENS


def output_cap(agent_cap: int | None, model: Any = None) -> int:
    """The output cap a call is made (and held) with: the agent's, the model's, or the default."""
    model_cap = None
    for name in ("max_tokens", "max_output_tokens", "num_predict", "max_new_tokens"):
        value = getattr(model, name, None)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            model_cap = value
            break
    return int(agent_cap or model_cap or DEFAULT_OUTPUT_CAP)


class Budget(BaseModel):
    """Limits on what may be spent; ``None`` means unlimited. Only cache misses count."""

    model_config = ConfigDict(frozen=True)

    dollars: float | None = Field(default=None, ge=0, description="Dollars (cache misses).")
    tokens: int | None = Field(default=None, ge=0, description="Tokens (cache misses).")
    calls: int | None = Field(default=None, ge=0, description="Model calls (cache misses).")
    evaluations: int | None = Field(
        default=None, ge=0, description="Workflow x task evaluations run (store misses)."
    )

    @field_validator("dollars", "tokens", "calls", "evaluations", mode="before")
    @classmethod
    def _plain_number(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("a limit is a number, not a bool")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("a limit must be finite; leave it out for no limit")
        return value

    @property
    def limited(self) -> bool:
        """Whether any limit is set."""
        return any(getattr(self, name) is not None for name in _RESOURCES)


class Spend(BaseModel):
    """What a ledger has spent. Only cache misses cost anything."""

    model_config = ConfigDict(frozen=True)

    dollars: float = Field(default=0.0, description="Dollars of calls that missed the cache.")
    tokens: int = Field(default=0, description="Tokens of those calls.")
    calls: int = Field(default=0, description="Model calls that missed the cache.")
    evaluations: int = Field(default=0, description="Evaluations started (not from the store).")
    cached_calls: int = Field(default=0, description="Model calls answered by the LLM cache.")
    overrun: float = Field(
        default=0.0, description="Dollars that replies cost beyond what their calls held."
    )

    def __add__(self, other: Spend) -> Spend:
        # Validated construction: pydantic-core's validator is faster than model_construct.
        return Spend(**{k: getattr(self, k) + getattr(other, k) for k in _SPEND_FIELDS})


_SPEND_FIELDS = tuple(Spend.model_fields)


class Amount(NamedTuple):
    """Quantities of each limited resource."""

    dollars: float = 0.0
    tokens: int = 0
    calls: int = 0
    evaluations: int = 0

    def __add__(self, other: object) -> Amount:
        assert isinstance(other, Amount)
        return Amount(
            self.dollars + other.dollars,
            self.tokens + other.tokens,
            self.calls + other.calls,
            self.evaluations + other.evaluations,
        )

    def __sub__(self, other: Amount) -> Amount:
        return Amount(
            self.dollars - other.dollars,
            self.tokens - other.tokens,
            self.calls - other.calls,
            self.evaluations - other.evaluations,
        )

    def floor(self) -> Amount:
        """Negative parts, and dollars of float residue, as zero.

        A group's held dollars are added and taken back in any order, which can leave
        1e-19 behind: counted as a call still running, it would make a lone evaluation
        wait for itself for ever.
        """
        return Amount(
            self.dollars if self.dollars > DOLLAR_NOISE else 0.0,
            max(0, self.tokens),
            max(0, self.calls),
            max(0, self.evaluations),
        )

    def fits(self, budget: Budget) -> bool:
        """Whether every limited resource is within ``budget`` (with a rounding tolerance)."""
        for name, value in zip(_RESOURCES, self, strict=True):
            limit = getattr(budget, name)
            if limit is not None and value > limit + (DOLLAR_NOISE if name == "dollars" else 0):
                return False
        return True

    def over(self, budget: Budget) -> str | None:
        """The first resource over its limit, if any."""
        for name, value in zip(_RESOURCES, self, strict=True):
            limit = getattr(budget, name)
            if limit is not None and value > limit + (DOLLAR_NOISE if name == "dollars" else 0):
                return name
        return None

    @classmethod
    def of(cls, spend: Spend) -> Amount:
        """The limited quantities of a :class:`Spend`."""
        return cls(spend.dollars, spend.tokens, spend.calls, spend.evaluations)


class BudgetPool(abc.ABC):
    """Where a budget's totals live: what is spent and what is reserved, by everyone.

    Every method is atomic. The in-memory pool serves one process; the store's
    pool (:class:`search.store.StorePool`) is shared by reruns and processes.
    """

    @abc.abstractmethod
    def take(self, amount: Amount, budget: Budget) -> bool:
        """Reserve ``amount`` if what is spent plus reserved plus it fits ``budget``."""

    @abc.abstractmethod
    def give_back(self, amount: Amount) -> None:
        """Return a reservation unused."""

    @abc.abstractmethod
    def settle(self, reserved: Amount, spent: Spend) -> None:
        """Turn a reservation into what was really spent (it may be more: an overrun)."""

    @abc.abstractmethod
    def totals(self) -> tuple[Spend, Amount]:
        """What is spent, and what is reserved, by every user of the pool."""

    def reserved_by_others(self) -> bool:
        """Whether someone outside this process holds a reservation (they may free it)."""
        return False


class MemoryPool(BudgetPool):
    """A pool in this process's memory (thread-safe)."""

    def __init__(self) -> None:
        """Start empty."""
        self._lock = threading.Lock()
        self._spent = Spend()
        self._reserved = Amount()

    def take(self, amount: Amount, budget: Budget) -> bool:
        """Reserve if it fits."""
        with self._lock:
            if not (Amount.of(self._spent) + self._reserved + amount).fits(budget):
                return False
            self._reserved = self._reserved + amount
            return True

    def give_back(self, amount: Amount) -> None:
        """Return a reservation."""
        with self._lock:
            self._reserved = _dustless(self._reserved - amount)

    def settle(self, reserved: Amount, spent: Spend) -> None:
        """Reservation out, spending in."""
        with self._lock:
            self._reserved = _dustless(self._reserved - reserved)
            self._spent = self._spent + spent

    def totals(self) -> tuple[Spend, Amount]:
        """Spent and reserved."""
        with self._lock:
            return self._spent, self._reserved


@dataclass(eq=False)
class Group:
    """An admitted evaluation: the worst case it reserved, and what its calls used of it."""

    size: Amount
    """What the group reserved from the pool (its estimate, grown when a call needed more)."""
    held: Amount = field(default_factory=Amount)
    """Held by its calls now running."""
    spent: Spend = field(default_factory=Spend)
    """What its settled calls spent."""
    closed: bool = False

    def room(self) -> Amount:
        """What is left for new calls."""
        return (self.size - self.held - Amount.of(self.spent)).floor()

    def totals(self) -> tuple[float, int, int]:
        """Dollars, tokens and calls its calls have spent so far."""
        return self.spent.dollars, self.spent.tokens, self.spent.calls


@dataclass(eq=False)
class Hold:
    """One call's reservation."""

    amount: Amount
    model: str | None
    group: Group | None = None
    thread: int = 0
    scale: float = 1.0
    """The overrun scale its amount was held with."""


class BudgetLedger:
    """A hard budget, shared by every evaluation and call that spends from it (thread-safe).

    It implements :class:`orchestrator.runtime.CallLedger`, so it can be passed
    to :func:`orchestrator.deploy` directly. See the module docstring for the
    guarantee and its edge.

    Args:
        budget: The limits; keyword limits override its fields.
        pool: Where totals live; default in memory.
        dollars: Dollar limit.
        tokens: Token limit.
        calls: Model-call limit.
        evaluations: Evaluation limit.
    """

    def __init__(
        self,
        budget: Budget | None = None,
        *,
        pool: BudgetPool | None = None,
        dollars: float | None = None,
        tokens: int | None = None,
        calls: int | None = None,
        evaluations: int | None = None,
    ) -> None:
        """Start from the pool's totals (nothing spent for a new pool)."""
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
        base = budget or Budget()
        self.budget = Budget.model_validate({**base.model_dump(), **overrides})
        self.pool = pool or MemoryPool()
        self._lock = threading.Condition()
        self._groups: set[Group] = set()
        self._blocked: set[Group] = set()  # evaluations whose call waits for budget
        self._loose = Amount()  # held by calls outside any group
        self._loose_threads: dict[int, int] = {}  # thread -> loose holds it has open
        self._scale: dict[str, float] = {}
        self._stop_reason: str | None = None

    # --- reading -----------------------------------------------------------------------

    @property
    def spent(self) -> Spend:
        """What has been spent: the pool's totals plus what open groups spent so far."""
        spent, _ = self.pool.totals()
        with self._lock:
            for group in self._groups:
                spent = spent + group.spent
        return spent

    @property
    def remaining(self) -> Budget:
        """What is left of each limit (``None`` for unlimited ones)."""
        used = Amount.of(self.spent)
        values = {}
        for name, value in zip(_RESOURCES, used, strict=True):
            limit = getattr(self.budget, name)
            values[name] = None if limit is None else max(type(limit)(0), limit - value)
        return Budget(**values)

    @property
    def stop_reason(self) -> str | None:
        """Why the ledger refused something with nothing else outstanding, if it has."""
        return self._stop_reason

    @property
    def exhausted(self) -> bool:
        """Whether it refused something with nothing outstanding, or a limit is used up."""
        remaining = self.remaining
        used_up = any(
            getattr(remaining, name) is not None and getattr(remaining, name) <= 0
            for name in _RESOURCES
        )
        return used_up or self._stop_reason is not None

    @property
    def running(self) -> int:
        """Admitted evaluations that have not finished."""
        with self._lock:
            return len(self._groups)

    def scale(self, model: str | None) -> float:
        """How much a model's holds are scaled up after it overran them (1 when it never did)."""
        return self._scale.get(model or "", 1.0)

    def __repr__(self) -> str:
        return f"BudgetLedger(budget={self.budget!r}, spent={self.spent!r})"

    # --- calls (CallLedger) ------------------------------------------------------------

    def _may_free(self, mine: Group | None, *, waiting_thread: int | None = None) -> bool:
        """Whether anything else could free budget.

        A call running, or an evaluation that is not itself waiting for budget (it
        will finish, or ask) may; evaluations that all wait for each other cannot.
        """
        others = {t for t, n in self._loose_threads.items() if n and t != waiting_thread}
        if others or (any(self._loose) and waiting_thread is None):
            return True
        for group in self._groups:
            if any(group.held) or (group is not mine and group not in self._blocked):
                return True
        return self.pool.reserved_by_others()

    def _refuse(self, resource: str, message: str) -> BudgetExhaustedError:
        self._stop_reason = f"budget: {message}"
        return BudgetExhaustedError(message, resource=resource)

    def _try_hold(
        self, amount: Amount, model: str | None, group: Group | None, *, sync: bool = False
    ) -> Hold | None:
        """A hold if it fits now; ``None`` if it may fit later; raise if it never can.

        A synchronous caller does not wait for holds its own thread has open: nothing
        would free them.
        """
        thread = threading.get_ident()
        with self._lock:
            if group is not None:
                room = group.room()
                extra = (amount - room).floor()
                if not any(extra) or self.pool.take(extra, self.budget):
                    group.size = group.size + extra
                    group.held = group.held + amount
                    self._blocked.discard(group)
                    return Hold(amount, model, group, scale=self.scale(model))
            elif self.pool.take(amount, self.budget):
                self._loose = self._loose + amount
                self._loose_threads[thread] = self._loose_threads.get(thread, 0) + 1
                return Hold(amount, model, None, thread, scale=self.scale(model))
            if self._may_free(group, waiting_thread=thread if sync else None):
                if group is not None:
                    self._blocked.add(group)
                return None
            if group is not None and len(self._groups) > 1:
                # Every evaluation waits for budget another holds: refuse this call, so its
                # evaluation ends and frees its share; the budget itself is not used up.
                raise BudgetExhaustedError(
                    "evaluations running at once need more budget than is left; this one "
                    "gives way to the others",
                    resource="dollars",
                    final=False,
                )
            spent, reserved = self.pool.totals()
            resource = (Amount.of(spent) + reserved + amount).over(self.budget) or "dollars"
            limit = getattr(self.budget, resource)
            raise self._refuse(
                resource,
                f"a call needing up to {_fmt(resource, getattr(amount, resource))} would pass "
                f"the {_fmt(resource, limit)} limit ({_fmt(resource, getattr(spent, resource))} "
                "spent) and nothing else is running to free budget",
            )

    def _amount(self, tokens: int, dollars: float, model: str | None) -> Amount:
        factor = self.scale(model)
        return Amount(dollars * factor, math.ceil(tokens * factor), 1, 0)

    def reserve(
        self, *, tokens: int, dollars: float, model: str | None = None, group: Group | None = None
    ) -> Hold:
        """Hold a call's worst case, waiting while other holds may free budget.

        Raises:
            BudgetExhaustedError: It cannot fit and nothing else is outstanding.
        """
        amount = self._amount(tokens, dollars, model)
        while True:
            hold = self._try_hold(amount, model, group, sync=True)
            if hold is not None:
                return hold
            with self._lock:
                self._lock.wait(_POLL_S * 5)

    async def areserve(
        self, *, tokens: int, dollars: float, model: str | None = None, group: Group | None = None
    ) -> Hold:
        """Async :meth:`reserve`: waits without blocking the event loop."""
        amount = self._amount(tokens, dollars, model)
        while True:
            hold = self._try_hold(amount, model, group)
            if hold is not None:
                return hold
            await asyncio.sleep(_POLL_S)

    def _close_hold(self, hold: Hold, spent: Spend) -> None:
        """Replace a hold with what it spent (called under the lock)."""
        if hold.group is not None:
            hold.group.held = (hold.group.held - hold.amount).floor()
            hold.group.spent = hold.group.spent + spent
        else:
            self._loose = (self._loose - hold.amount).floor()
            left = self._loose_threads.get(hold.thread, 1) - 1
            if left > 0:
                self._loose_threads[hold.thread] = left
            else:
                self._loose_threads.pop(hold.thread, None)
            self.pool.settle(hold.amount, spent)
        self._lock.notify_all()

    def settle(self, hold: Hold, *, usage: Usage, dollars: float, cached: bool) -> None:
        """Replace a hold with what the call really used; cached calls cost nothing.

        A reply that cost more than its hold is charged in full and recorded as
        an overrun; the model's later holds are scaled up to match.
        """
        if cached:
            self._finish_call(hold, Spend(cached_calls=1))
            return
        overrun = max(0.0, dollars - hold.amount.dollars)
        if overrun > DOLLAR_NOISE and hold.model is not None and hold.amount.dollars > 0:
            ratio = dollars / (hold.amount.dollars / hold.scale)  # over the unscaled hold
            self._scale[hold.model] = max(self.scale(hold.model), ratio)
        self._finish_call(
            hold,
            Spend(dollars=dollars, tokens=usage.total_tokens, calls=1, overrun=overrun),
        )

    def charge(self, hold: Hold) -> None:
        """Count a call whose outcome is unknown (timed out, cancelled) as its whole hold."""
        amount = hold.amount
        self._finish_call(hold, Spend(dollars=amount.dollars, tokens=amount.tokens, calls=1))

    def release(self, hold: Hold) -> None:
        """Drop the hold of a call that failed without being answered (nothing billed)."""
        self._finish_call(hold, Spend())

    def _finish_call(self, hold: Hold, spent: Spend) -> None:
        with self._lock:
            self._close_hold(hold, spent)

    # --- evaluations -------------------------------------------------------------------

    def admit(self, estimate: Amount) -> Group | None:
        """Start an evaluation whose worst case is ``estimate``, if it fits.

        Returns:
            A group to run its calls in (:meth:`scoped`) and to :meth:`finish`; or
            ``None`` when it does not fit now but may once running work finishes.

        Raises:
            BudgetExhaustedError: It cannot fit and nothing else is outstanding.
        """
        amount = estimate._replace(evaluations=1)
        with self._lock:
            if self.pool.take(amount, self.budget):
                return self._open_group(amount)
            if self._may_free(None):
                return None
            # Nothing else runs: rather than stop with budget left, start it within what
            # is left. Its calls still hold their worst case inside that; the first that
            # cannot fit ends it, so at most one call's worst case is left unspent.
            tail = self._left(amount)
            if tail is not None and self.pool.take(tail, self.budget):
                return self._open_group(tail)
            spent, reserved = self.pool.totals()
            resource = (Amount.of(spent) + reserved + amount).over(self.budget) or "dollars"
            limit = getattr(self.budget, resource)
            used = getattr(Amount.of(spent), resource)
            if resource == "evaluations":
                raise self._refuse(resource, f"the limit of {limit} evaluations is reached")
            raise self._refuse(
                resource,
                f"the next evaluation could use up to {_fmt(resource, getattr(amount, resource))}"
                f" but only {_fmt(resource, max(0, limit - used))} of the "
                f"{_fmt(resource, limit)} budget is left",
            )

    def _open_group(self, amount: Amount) -> Group:
        group = Group(size=amount)
        self._groups.add(group)
        return group

    def _left(self, amount: Amount) -> Amount | None:
        """``amount`` cut to what is left of each limit; ``None`` if nothing is left."""
        spent, reserved = self.pool.totals()
        used = Amount.of(spent) + reserved
        parts: list[Any] = []
        for name, want, have in zip(_RESOURCES, amount, used, strict=True):
            limit = getattr(self.budget, name)
            if limit is None:
                parts.append(want)
                continue
            room = limit - have
            noise = DOLLAR_NOISE if name == "dollars" else 0
            if room <= noise or (name == "evaluations" and room < 1):
                return None
            parts.append(min(want, room))
        return Amount(*parts)

    def finish(self, group: Group) -> None:
        """An admitted evaluation is over: settle what it spent, return what it did not."""
        with self._lock:
            if group.closed:
                return
            group.closed = True
            self._groups.discard(group)
            self._blocked.discard(group)
            spent = group.spent.model_copy(update={"evaluations": 1})
            self.pool.settle(group.size, spent)
            self._lock.notify_all()

    def add_spent(self, group: Group, spent: Spend) -> None:
        """Count in ``group`` what its calls spent elsewhere.

        Used for a remote worker, whose calls ran under a ledger of its own whose
        limit was this group's reservation.
        """
        with self._lock:
            group.spent = group.spent + spent
            self._lock.notify_all()

    def scoped(self, group: Group) -> _GroupLedger:
        """A call ledger whose holds come out of ``group``."""
        return _GroupLedger(self, group)


class _GroupLedger:
    """The call ledger of one admitted evaluation."""

    def __init__(self, ledger: BudgetLedger, group: Group) -> None:
        self.ledger = ledger
        self.group = group

    def reserve(self, *, tokens: int, dollars: float, model: str | None = None) -> Hold:
        return self.ledger.reserve(tokens=tokens, dollars=dollars, model=model, group=self.group)

    async def areserve(self, *, tokens: int, dollars: float, model: str | None = None) -> Hold:
        return await self.ledger.areserve(
            tokens=tokens, dollars=dollars, model=model, group=self.group
        )

    def settle(self, hold: Hold, *, usage: Usage, dollars: float, cached: bool) -> None:
        self.ledger.settle(hold, usage=usage, dollars=dollars, cached=cached)

    def charge(self, hold: Hold) -> None:
        self.ledger.charge(hold)

    def release(self, hold: Hold) -> None:
        self.ledger.release(hold)


def _dustless(amount: Amount) -> Amount:
    """Negative parts and float rounding dust (under a nano-dollar) as zero."""
    floored = amount.floor()
    return floored._replace(dollars=0.0) if floored.dollars < 1e-9 else floored


def _fmt(resource: str, value: float) -> str:
    return f"${value:.6g}" if resource == "dollars" else f"{value:.6g} {resource}"


def get_ledger(budget: Budget | BudgetLedger | Mapping[str, Any] | None) -> BudgetLedger | None:
    """Accept a ledger (shared as is), a :class:`Budget`, a mapping of limits, or ``None``.

    Raises:
        BudgetError: A limit is not a non-negative number.
    """
    if budget is None or isinstance(budget, BudgetLedger):
        return budget
    if isinstance(budget, Budget):
        return BudgetLedger(budget)
    if isinstance(budget, Mapping):
        try:
            return BudgetLedger(Budget.model_validate(dict(budget)))
        except ValueError as exc:
            raise BudgetError(f"bad budget {dict(budget)!r}: {exc}") from None
    raise BudgetError(f"expected a Budget or BudgetLedger, got {type(budget).__name__}")


class BudgetError(RolegraphError, ValueError):
    """A budget is malformed (a negative, infinite or non-numeric limit)."""


def split_budget(budget: Budget | None, share: float) -> tuple[Budget | None, Budget | None]:
    """Divide each limit into a search part and a held-out-test part (``share`` of it)."""
    if budget is None:
        return None, None
    search: dict[str, float | int] = {}
    test: dict[str, float | int] = {}
    for name, limit in budget.model_dump().items():
        if limit is None:
            continue
        reserved = limit * share
        if isinstance(limit, int):
            reserved = int(reserved)
        search[name] = limit - reserved
        test[name] = reserved
    return Budget.model_validate(search), Budget.model_validate(test)
