"""Knapsack composition: test each component in a sandbox, keep those worth their cost."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.pricing import PriceTable
from search.ranking import best
from search.space import Candidate, Space
from search.strategies.base import (
    Capabilities,
    Handover,
    Outcome,
    Proposal,
    SearchContext,
    SearchStrategy,
    StrategyOptions,
)
from search.strategies.knapsack.solver import (
    Item,
    Label,
    label_record,
    solve_knapsack,
    zcl_admits,
    zcl_bounds,
    zcl_threshold,
)
from search.strategies.plan import PlanRequest, StagePlan
from topologies import SpaceError, get_topology

__all__ = ["KnapsackStrategy", "KnapsackOptions", "ComponentReport"]

Status = Literal["admitted", "rejected", "broken", "too_dear", "untested"]


class ComponentReport(BaseModel):
    """What the composer found out about one component and what it decided."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="The component (a model reference).")
    status: Status = Field(
        description="admitted; rejected (below the threshold or over the budget); broken "
        "(never tested again); too_dear (not tested: its estimated cost cannot fit); "
        "untested (nothing left to cover, or the search budget ran out)."
    )
    cost: float | None = Field(
        default=None, description="Measured list-price dollars per task on its sandbox tests."
    )
    value: float = Field(
        default=0.0, description="Probe tasks it solved that no admitted component had solved."
    )
    labels: dict[str, Label] = Field(
        default_factory=dict, description="Sandbox verdict per probe task it was tested on."
    )
    z: float | None = Field(default=None, description="Budget share spent when it was judged.")
    threshold: float | None = Field(
        default=None, description="The ZCL threshold on value per dollar it had to clear."
    )
    reason: str = Field(default="", description="The decision, in words.")


class KnapsackOptions(StrategyOptions):
    """:class:`KnapsackStrategy`'s settings (see its arguments)."""

    budget_per_task: float | None = Field(default=None, description="Dollars per query.")
    probe_tasks: int = Field(default=10, description="Search tasks in each sandbox.")
    mode: Literal["online", "offline"] = Field(default="online", description="The composer.")
    order: Literal["price", "pool"] = Field(default="price", description="Testing order.")
    success: float = Field(default=0.5, description="Score at which a task is solved.")
    max_broken: float = Field(default=0.2, description="Broken share that breaks a component.")
    skip_margin: float | None = Field(default=1.5, description="Skip dearer components.")
    bounds: tuple[float, float] | None = Field(default=None, description="(L, U), if fixed.")
    prices: PriceTable | None = Field(
        default=None, exclude=True, description="Price table for the estimates."
    )


class KnapsackStrategy(SearchStrategy):
    """Choose the component set worth its cost, then hand a narrowed pool to the next stage.

    The online composer of "Automated Composition of Agents: a knapsack
    approach" (2025) over the search space's pool of models:

    - **Sandbox tests.** Each component is tested as ``single(model=m)`` (the
      space's own ``single`` candidate when it has one) on the first
      ``probe_tasks`` search tasks that no admitted component has solved
      yet. Every test is an ordinary proposal, so the store, cache and budget
      apply.
    - **Labels.** Per task: *broken* (the run failed, did not parse or gave
      no answer), *helpful* (score >= ``success``) or *not*. A component with
      more than ``max_broken`` of its tests broken is broken and never tested
      again; a stray broken test (a sim model's occasional format slip)
      counts as *not*.
    - **Value and cost.** Value is the marginal value only: probe tasks it
      solves that no admitted component solves (each task weighs 1). Cost
      is its measured list-price dollars per task.
    - **Admission.** ``value / cost >= Psi(z)``
      (:func:`~search.strategies.knapsack.solver.zcl_threshold`) with ``z = spent / budget``
      and the cost still fitting the budget.
      ``L = 1 / max cost`` and ``U = probe_tasks / min cost`` are fixed at the
      first decision, from the pool's prices and the tokens per task measured
      by then.
    - **Budget.** ``budget_per_task`` is what one query may spend on the
      team's components together, in dollars: the sum of the admitted
      components' costs never exceeds it. By default it is the objective's
      ``max_cost_per_task``, which also keeps the final workflow within it.
    - **Order.** Cheapest list price first (``order="price"``), or the pool's
      order (``"pool"``, for a pool ranked by preference). A component whose
      estimated cost (its price times the tokens measured so far) is over
      ``skip_margin`` times the budget left is not tested at all.
    - **Stop.** When the budget is full, every probe task is covered, or no
      component is left.

    ``mode="offline"`` tests every component on all probe tasks (in
    parallel), takes each one's solved-task count as its utility, and picks
    the set exactly with :func:`~search.strategies.knapsack.solver.solve_knapsack`; it ignores
    overlap between components, which the online composer's marginal value
    accounts for.

    :meth:`handover` narrows the space's pool to the admitted models (at least
    one: if none was admitted, the best tested one that fits), so that
    ``"knapsack+tpe"`` or ``"knapsack+bandit"`` search topologies over them.

    Args:
        budget_per_task: Dollars per query for the team's components together.
        probe_tasks: Search tasks in each component's sandbox (the first of the
            shared task order).
        mode: ``"online"`` (ZCL composer) or ``"offline"`` (exact knapsack).
        order: ``"price"`` (cheapest first) or ``"pool"`` (as listed).
        success: Score at which a task counts as solved.
        max_broken: Share of broken tests above which a component is broken.
        skip_margin: Skip testing a component whose estimated cost exceeds this
            multiple of the budget left; ``None`` tests every component.
        bounds: ``(L, U)`` to use instead of the ones derived from the costs.
        prices: Price table for the estimates; default: the pool's prices.
    """

    name = "knapsack"

    def __init__(
        self,
        *,
        budget_per_task: float | None = None,
        probe_tasks: int = 10,
        mode: Literal["online", "offline"] = "online",
        order: Literal["price", "pool"] = "price",
        success: float = 0.5,
        max_broken: float = 0.2,
        skip_margin: float | None = 1.5,
        bounds: tuple[float, float] | None = None,
        prices: PriceTable | None = None,
    ) -> None:
        """Configure the composer."""
        if budget_per_task is not None and not budget_per_task > 0:
            raise ValueError(f"budget_per_task must be > 0, got {budget_per_task}")
        if probe_tasks < 1:
            raise ValueError("probe_tasks must be at least 1")
        if mode not in ("online", "offline"):
            raise ValueError(f"mode must be 'online' or 'offline', got {mode!r}")
        if order not in ("price", "pool"):
            raise ValueError(f"order must be 'price' or 'pool', got {order!r}")
        if not 0.0 <= max_broken < 1.0:
            raise ValueError("max_broken must be in [0, 1)")
        if skip_margin is not None and skip_margin < 1.0:
            raise ValueError("skip_margin must be at least 1 (or None)")
        if bounds is not None and not 0 < bounds[0] <= bounds[1]:
            raise ValueError("bounds must be (L, U) with 0 < L <= U")
        self.options: KnapsackOptions = KnapsackOptions(
            budget_per_task=budget_per_task,
            probe_tasks=probe_tasks,
            mode=mode,
            order=order,
            success=success,
            max_broken=max_broken,
            skip_margin=skip_margin,
            bounds=bounds,
            prices=prices,
        )

    # --- setup ------------------------------------------------------------------------

    def setup(self, context: SearchContext) -> None:
        """Fix the budget, the probe tasks and the order of the components."""
        super().setup(context)
        budget = self.options.budget_per_task or context.objective.max_cost_per_task
        if budget is None:
            raise ValueError(
                "the knapsack composer needs a cost budget per task: pass budget_per_task "
                "(knapsack__budget_per_task=... in a pipeline) or an "
                "Objective(max_cost_per_task=...)"
            )
        self.budget: float = budget
        self._table = self.options.prices or context.space.pool.prices()
        self.probe_ids: tuple[str, ...] = tuple(context.task_ids[: self.options.probe_tasks])
        pool = context.space.pool.models
        if self.options.order == "price":  # stable: equal prices keep the pool's order
            pool = sorted(pool, key=self._list_price)
        self._queue: list[str] = list(pool)
        self.reports: dict[str, ComponentReport] = {}
        self.admitted: list[str] = []
        self.broken: set[str] = set()
        self.covered: set[str] = set()
        self.spent = 0.0
        self._busy = 0
        self._measured: dict[str, float] = {}
        self._tokens: list[tuple[int, int]] = []
        self._bounds = self.options.bounds
        self._decided = False

    def _list_price(self, model: str) -> float:
        price = self._table.price(model)
        return price.input + price.output if price is not None else float("inf")

    def _estimate(self, model: str) -> float | None:
        """Dollars per task: the model's price times the tokens per task measured so far."""
        price = self._table.price(model)
        if price is None or not self._tokens:
            return None
        tokens_in = sum(t[0] for t in self._tokens) / len(self._tokens)
        tokens_out = sum(t[1] for t in self._tokens) / len(self._tokens)
        return (tokens_in * price.input + tokens_out * price.output) / 1_000_000

    def _probe(self, model: str) -> Candidate:
        """``single(model=model)``: the space's own candidate if it can build it."""
        space = self.context.space
        if "single" in space.topologies:
            try:
                return space.candidate("single", {"model": model}, origin=self.name)
            except SpaceError:
                pass
        spec = get_topology("single").build({"model": model})
        return Candidate(
            spec=spec, topology="single", params=spec.metadata["params"], origin=self.name
        )

    # --- ask / tell -------------------------------------------------------------------

    def _report(self, model: str, status: Status, reason: str, **fields: Any) -> None:
        self.reports[model] = ComponentReport(name=model, status=status, reason=reason, **fields)

    def ask(self) -> Proposal | None:
        """The next component's sandbox test, or None while one runs or when done."""
        if self.options.mode == "offline":
            if not self._queue:
                return None
            model = self._queue.pop(0)
            self._busy += 1
            return Proposal(candidate=self._probe(model), tasks=self.probe_ids, key=model)
        if self._busy:
            return None  # online: each decision depends on the previous one
        while self._queue:
            model = self._queue.pop(0)
            uncovered = tuple(t for t in self.probe_ids if t not in self.covered)
            if not uncovered:
                self._report(model, "untested", "every probe task is already covered")
                continue
            left = self.budget - self.spent
            estimate = self._estimate(model)
            if (
                self.options.skip_margin is not None
                and estimate is not None
                and estimate > left * self.options.skip_margin
            ):
                self._report(
                    model,
                    "too_dear",
                    f"estimated ${estimate:.3g} per task against ${left:.3g} of budget left",
                )
                continue
            self._busy += 1
            return Proposal(candidate=self._probe(model), tasks=uncovered, key=model)
        return None

    def tell(self, outcome: Outcome) -> None:
        """Label the sandbox tests, then admit or reject the component."""
        self._busy -= 1
        self._judge(outcome)
        if (
            self.options.mode == "offline"
            and not self._busy
            and not self._queue
            and not self._decided
        ):
            self._decided = True
            self._solve()

    def _judge(self, outcome: Outcome) -> None:
        model: str = outcome.proposal.key
        expected = set(outcome.proposal.tasks or ())
        records = [r for r in outcome.records if r.task_id in expected]
        if not records:
            self._report(model, "untested", f"no test finished ({outcome.stop_reason})")
            return
        labels: dict[str, Label] = {
            r.task_id: label_record(r, success=self.options.success) for r in records
        }
        cost = sum(r.cost for r in records) / len(records)
        self._tokens.extend((r.usage.input_tokens, r.usage.output_tokens) for r in records)
        n_broken = sum(1 for label in labels.values() if label == "broken")
        if n_broken > self.options.max_broken * len(labels):
            self.broken.add(model)
            self._report(
                model,
                "broken",
                f"{n_broken} of {len(labels)} tests broke; never tested again",
                cost=cost,
                labels=labels,
            )
            return
        if self.options.mode == "offline":
            self._measured[model] = cost
            self._report(
                model, "untested", "measured; waiting for the others", cost=cost, labels=labels
            )
            return
        self._admit(model, cost, labels)

    def _lu(self, model: str, cost: float) -> tuple[float, float] | None:
        """``(L, U)``, fixed at the first decision; None when every cost is zero."""
        if self._bounds is None:
            costs = {m: self._estimate(m) for m in self.context.space.pool.models}
            costs[model] = cost
            known = [c for m, c in costs.items() if c is not None and m not in self.broken]
            try:
                self._bounds = zcl_bounds(known, total_value=len(self.probe_ids))
            except ValueError:
                return None
        return self._bounds

    def _admit(self, model: str, cost: float, labels: dict[str, Label]) -> None:
        new = {t for t, label in labels.items() if label == "helpful" and t not in self.covered}
        value = float(len(new))
        z = min(1.0, self.spent / self.budget)
        bounds = self._lu(model, cost)
        threshold = zcl_threshold(z, *bounds) if bounds is not None else 0.0
        lower, upper = bounds or (1.0, 1.0)
        fields = {"cost": cost, "value": value, "labels": labels, "z": z, "threshold": threshold}
        if zcl_admits(value, cost, spent=self.spent, budget=self.budget, lower=lower, upper=upper):
            self.spent += cost
            self.covered |= new
            self.admitted.append(model)
            self._report(
                model,
                "admitted",
                f"solves {len(new)} uncovered probe tasks at ${cost:.3g} per task",
                **fields,
            )
        elif value <= 0:
            self._report(model, "rejected", "solves no probe task left uncovered", **fields)
        elif self.spent + cost > self.budget:
            self._report(
                model,
                "rejected",
                f"${cost:.3g} per task does not fit the ${self.budget - self.spent:.3g} left",
                **fields,
            )
        else:
            self._report(
                model,
                "rejected",
                f"{value / cost:.4g} solved tasks per dollar is below the threshold "
                f"{threshold:.4g} at z={z:.2f}",
                **fields,
            )

    def _solve(self) -> None:
        """Offline: the exact knapsack over every measured component."""
        items = [
            Item(
                name=model,
                value=sum(1 for v in self.reports[model].labels.values() if v == "helpful"),
                cost=cost,
            )
            for model, cost in self._measured.items()
        ]
        order = {m: i for i, m in enumerate(self.context.space.pool.models)}
        items.sort(key=lambda item: order[item.name])
        chosen = solve_knapsack(items, self.budget)
        self.admitted = chosen.names
        self.spent = chosen.cost
        for item in items:
            admitted = item.name in chosen.names
            self._report(
                item.name,
                "admitted" if admitted else "rejected",
                "in the best set under the budget" if admitted else "not in the best set",
                cost=item.cost,
                value=item.value,
                labels=self.reports[item.name].labels,
            )

    # --- results ----------------------------------------------------------------------

    def _fallback(self) -> list[str]:
        """When nothing was admitted: the tested component that solved most and fits."""
        tested = [
            r
            for r in self.reports.values()
            if r.cost is not None and r.status != "broken" and r.cost <= self.budget
        ]
        if tested:
            top = best(
                tested,
                key=lambda r: (
                    float(sum(1 for v in r.labels.values() if v == "helpful")),
                    -(r.cost or 0.0),
                ),
                tiebreak=lambda r: r.name,
            )
            assert top is not None
            return [top.name]
        return [m for m in self.context.space.pool.models if m not in self.broken]

    def selected(self) -> list[str]:
        """The models handed on, in pool order (:attr:`admitted` is in decision order)."""
        if self.options.mode == "offline" and not self._decided and self._measured:
            self._decided = True  # the search budget ended before every test came back
            self._solve()
        chosen = set(self.admitted or self._fallback())
        return [m for m in self.context.space.pool.models if m in chosen]

    def handover(self, k: int = 5) -> Handover:
        """The space narrowed to the admitted models."""
        models = self.selected()
        if not models:
            return Handover()
        try:
            space: Space = self.context.space.narrow(models)
        except SpaceError:
            return Handover()  # some topology needs more models than were admitted
        return Handover(space=space)

    @property
    def capabilities(self) -> Capabilities:
        """It composes teams of rolegraph agents: rolegraph workflows only."""
        return Capabilities(edits_topologies=True)

    def plan(self, request: PlanRequest) -> list[StagePlan]:
        """Each pool model on ``probe_tasks`` tasks (online: at least the first)."""
        options = self.options
        probe = min(options.probe_tasks, request.tasks)
        components = len(request.space.pool.models)
        everyone = options.mode == "offline"
        summary = (
            f"tests each of {components} pool models on {probe} tasks "
            f"({options.mode}), then hands over the admitted ones"
        )
        return [
            StagePlan(
                name=self.name,
                summary=summary,
                high_slots=(probe,) * components,
                low_slots=(probe,) * (components if everyone else 1),
                proposals=components,
            )
        ]

    def summary(self) -> list[ComponentReport]:
        """Every component's report, in the order decided."""
        return list(self.reports.values())
