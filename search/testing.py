"""A conformance suite every search strategy can run: built-in ones do, and so can yours.

Like optuna's ``BasicSamplerTestCase``: subclass :class:`StrategyTestCase` in a
pytest module and say how to make your strategy; the suite checks the ask/tell
contract, that a budget stops it, that resuming a finished search costs
nothing and picks the same winner, that a seed makes it deterministic, and
that it describes itself: its options are a frozen record that ``describe()``
records, its plan bounds what it proposes (so ``estimate_search`` bounds its
cost), and its capabilities decide whether a graph space refuses it. It runs
on the simulated ``sim:`` models, offline, in a few seconds.

Example:
    .. code-block:: python

        from search.testing import StrategyTestCase

        class TestMyStrategy(StrategyTestCase):
            def create_strategy(self):
                return MyStrategy()
"""

from __future__ import annotations

import abc
import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from search.estimate import estimate_search
from search.evaluation import Budget, Dataset, bundled_dataset
from search.graphs.errors import GraphSpaceError
from search.graphs.graph_space import GraphSpace
from search.objective import Objective
from search.results import SearchResult
from search.runner import Search, create_search
from search.settings import SearchSettings
from search.space import SearchSpace
from search.store import EvalRecord
from search.strategies.base import (
    Capabilities,
    Handover,
    Outcome,
    Proposal,
    SearchContext,
    SearchStrategy,
    StrategyOptions,
)
from search.strategies.plan import PlanRequest, StagePlan

__all__ = ["StrategyTestCase"]


class _Recorder(SearchStrategy):
    """Wraps a strategy and checks every call it makes and receives."""

    def __init__(self, inner: SearchStrategy) -> None:
        self.inner = inner
        self.name = inner.name
        self.options = inner.options
        self.asked: list[Proposal] = []
        self.told: list[Outcome] = []
        self.open: set[int] = set()

    def setup(self, context: SearchContext) -> None:
        super().setup(context)
        self.inner.setup(context)

    def ask(self) -> Proposal | None:
        proposal = self.inner.ask()
        if proposal is not None:
            assert isinstance(proposal, Proposal), f"ask() returned {type(proposal).__name__}"
            ids = set(self.context.task_ids)
            if proposal.tasks is not None:
                stray = sorted(set(proposal.tasks) - ids)
                assert not stray, f"ask() proposed tasks outside the search split: {stray[:3]}"
                assert proposal.tasks, "ask() proposed an empty task list"
            topology = proposal.candidate.topology
            assert topology is None or topology in self.context.space.topologies, (
                f"ask() proposed a topology outside the space: {topology}"
            )
            self.asked.append(proposal)
            self.open.add(id(proposal))
        return proposal

    def report(self, proposal: Proposal, record: EvalRecord, step: int) -> bool:
        assert id(proposal) in self.open, "report() for a proposal that is not running"
        verdict = self.inner.report(proposal, record, step)
        assert isinstance(verdict, bool), "report() must return a bool"
        return verdict

    def tell(self, outcome: Outcome) -> None:
        assert id(outcome.proposal) in self.open, "tell() for a proposal told before"
        self.open.discard(id(outcome.proposal))
        self.told.append(outcome)
        self.inner.tell(outcome)

    def handover(self, k: int = 5) -> Handover:
        return self.inner.handover(k)

    def front(self) -> list[str] | None:
        return self.inner.front()

    def finished(self) -> str | None:
        return self.inner.finished()

    def describe(self) -> dict[str, object]:
        return self.inner.describe()

    @property
    def capabilities(self) -> Capabilities:
        return self.inner.capabilities

    def plan(self, request: PlanRequest) -> list[StagePlan]:
        return self.inner.plan(request)


def _never_built(models: Any, **params: Any) -> Any:
    raise AssertionError("the conformance suite never builds this graph")


class StrategyTestCase(abc.ABC):
    """Conformance tests for a :class:`~search.strategies.SearchStrategy`.

    Override :meth:`create_strategy`; override :meth:`space`, :meth:`dataset`
    or :attr:`max_evaluations` to test on your own problem.
    """

    max_evaluations: int = 120
    """Evaluations each test search may ask for."""

    @abc.abstractmethod
    def create_strategy(self) -> SearchStrategy:
        """A fresh strategy (a new object on every call)."""

    def space(self) -> SearchSpace:
        """The search space the tests use: 18 candidates over two simulated models."""
        return SearchSpace.model_validate(
            {
                "topologies": ["single", "self_refine", "vote_ensemble"],
                "pool": ["sim:atlas-nano", "sim:lynx-small"],
                "fixed": {
                    "single": {"temperature": 0.0},
                    "self_refine": {"rounds": 1, "plan": False},
                    "vote_ensemble": {"n": 3, "weighted": False},
                },
            }
        )

    def dataset(self) -> Dataset:
        """The tasks: 24 bundled arithmetic problems."""
        return bundled_dataset("arithmetic", n=24, seed=3)

    # --- helpers --------------------------------------------------------------------------

    def _search(
        self,
        strategy: SearchStrategy,
        *,
        store: str | Path = ":memory:",
        name: str = "conformance",
        budget: Budget | None = None,
        seed: int = 0,
    ) -> Search:
        return create_search(
            space=self.space(),
            dataset=self.dataset(),
            strategy=strategy,
            budget=budget,
            objective=Objective(),
            store=store,
            name=name,
            seed=seed,
            settings=SearchSettings(
                max_evaluations=self.max_evaluations, parallel=1, test_size=0.25
            ),
            max_concurrency=1,
        )

    def _run(self, strategy: SearchStrategy, **kwargs: object) -> tuple[SearchResult, _Recorder]:
        recorder = _Recorder(strategy)
        result = self._search(recorder, **kwargs).run()  # type: ignore[arg-type]
        return result, recorder

    # --- the contract ---------------------------------------------------------------------

    def test_ask_tell_contract(self) -> None:
        """Every proposal is valid and told exactly once; a winner is found."""
        result, recorder = self._run(self.create_strategy())
        assert recorder.asked, "the strategy proposed nothing"
        assert not recorder.open, "some proposals were never told"
        assert len(recorder.told) == len(recorder.asked)
        assert result.evaluations <= self.max_evaluations
        assert result.best is not None, f"no winner (stopped: {result.stop_reason})"

    def test_budget_stops_it(self) -> None:
        """A budget ends the search with a stated reason and is never exceeded."""
        limit = 12
        result, _ = self._run(self.create_strategy(), budget=Budget(evaluations=limit))
        assert result.spend.evaluations <= limit
        assert "budget" in result.stop_reason or result.spend.evaluations < limit, (
            f"spent {result.spend.evaluations} evaluations, stopped: {result.stop_reason}"
        )

    def test_resume_costs_nothing(self, tmp_path: Path) -> None:
        """Running a finished search again makes no model call and keeps its winner."""
        store = tmp_path / "conformance.db"
        first, _ = self._run(self.create_strategy(), store=store)
        again, _ = self._run(self.create_strategy(), store=store)
        assert again.spend_this_run.calls == 0, (
            f"the rerun made {again.spend_this_run.calls} model calls"
        )
        assert (again.best.hash if again.best else None) == (
            first.best.hash if first.best else None
        )

    def test_deterministic_under_a_seed(self) -> None:
        """The same seed proposes the same candidates, in the same order."""
        runs = [self._run(self.create_strategy(), seed=7) for _ in range(2)]
        sequences = [[(p.candidate.hash, p.tasks) for p in rec.asked] for _, rec in runs]
        assert sequences[0] == sequences[1]
        assert runs[0][0].best == runs[1][0].best

    # --- describing itself ----------------------------------------------------------------

    def test_options_are_a_frozen_record_it_describes(self) -> None:
        """``options`` is a frozen record; ``describe()`` is JSON and records every option."""
        strategy = self.create_strategy()
        options = strategy.options
        assert isinstance(options, StrategyOptions), (
            f"options is a {type(options).__name__}, not a StrategyOptions record"
        )
        for name in type(options).model_fields:
            try:
                setattr(options, name, getattr(options, name))
            except ValidationError:
                pass
            else:
                raise AssertionError(f"options.{name} could be changed: the record is not frozen")
            break
        described = strategy.describe()
        assert described.get("strategy") == strategy.name, described
        json.dumps(described)  # raises TypeError if it is not plain data
        for name, value in options.recorded().items():
            assert described.get(name) == value, f"describe() does not record {name!r}"

    def test_plan_bounds_what_it_proposes(self) -> None:
        """The plan is well-formed and bounds the run: candidates, proposals, evaluations."""
        recorder = _Recorder(self.create_strategy())
        assert isinstance(recorder.capabilities, Capabilities)
        search = self._search(recorder)
        tasks = len(search.search_tasks)
        estimate = estimate_search(search)
        request = PlanRequest(space=search.space, size=estimate.space_size, tasks=tasks)
        plans = recorder.plan(request)
        assert plans and all(isinstance(plan, StagePlan) for plan in plans), plans
        for plan in plans:
            slots = [*(plan.high_slots or ()), *plan.low_slots]
            assert all(0 < slot <= tasks for slot in slots), f"{plan.name}: slots {slots}"
            if plan.high_slots is not None:
                assert len(plan.low_slots) <= len(plan.high_slots), plan
        result = search.run()
        if all(plan.high_slots is not None for plan in plans):
            planned = sum(len(plan.high_slots or ()) for plan in plans)
            distinct = {proposal.candidate.hash for proposal in recorder.asked}
            assert len(distinct) <= planned, (
                f"proposed {len(distinct)} candidates; the plan says at most {planned}"
            )
        counted = [plan.proposals for plan in plans]
        if all(n is not None for n in counted):
            most = sum(n or 0 for n in counted)
            assert len(recorder.asked) <= most, (
                f"made {len(recorder.asked)} proposals; the plan says at most {most}"
            )
        high, ran = estimate.evaluations.high, result.spend.evaluations
        assert high is None or ran <= high, (
            f"ran {ran} evaluations (test included); the estimate's high end is {high}"
        )

    def test_capabilities_decide_if_a_graph_space_takes_it(self) -> None:
        """A strategy that edits topologies is refused by a graph space, by name, up front."""
        strategy = self.create_strategy()
        space = GraphSpace.model_validate(
            {
                "build": _never_built,
                "slots": ["solver"],
                "pool": ["sim:atlas-nano", "sim:lynx-small"],
                "name": "conformance-graph",
                "version": "1",
            }
        )
        if not strategy.capabilities.edits_topologies:
            space.check_strategy(strategy)
            return
        refusal = None
        try:
            create_search(space=space, dataset=self.dataset(), strategy=strategy, store=None)
        except GraphSpaceError as exc:
            refusal = str(exc)
        assert refusal is not None, "a graph space took a strategy that edits topologies"
        assert strategy.name in refusal and "edits rolegraph workflow topologies" in refusal
