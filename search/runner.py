"""Running a search: drive a strategy through the shared evaluator, budget and store."""

from __future__ import annotations

import asyncio
import difflib
import hashlib
import inspect
import json
import math
import os
import random
import socket
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel

from orchestrator.budget import Budget, BudgetLedger, Spend, split_budget
from orchestrator.parsing import parse_failure_rates
from orchestrator.pricing import PriceTable
from search import ranking
from search.account import account, log_to_optuna
from search.baselines import (
    PROBE_TASKS,
    SAMPLES,
    SELF_CONSISTENCY,
    SINGLE,
    self_consistency_baseline,
    single_baselines,
)
from search.certificate import Certificate, certify, hint_for, judge_evidence, no_winner
from search.economics import economic_stop
from search.errors import SearchError
from search.evaluation.datasets import Dataset, Task, load_dataset
from search.evaluation.evaluator import Evaluator
from search.evaluation.metrics import Metric
from search.evaluation.settings import EvalSettings, RetrySettings
from search.evaluation.stats import ScoreSummary
from search.graphs.candidate import GraphTarget
from search.graphs.config import GraphConfig
from search.objective import Objective
from search.preflight import check_before_search
from search.results import CandidateStats, SearchResult, Step, TestReport, pareto_front
from search.settings import SearchSettings
from search.space import Candidate, ComponentPool, SearchSpace, Space
from search.stops import Stop, StopReason
from search.store import EvalRecord, Store, StorePool, get_store
from search.strategies.base import Outcome, Proposal, SearchContext, SearchStrategy

__all__ = ["Search", "create_search", "SearchError"]


class Search:
    """A topology search over a :class:`Space` on a dataset, under a budget.

    Build one with :func:`create_search`. :meth:`run` (or :meth:`arun`) asks the
    strategy for proposals, evaluates them through one :class:`Evaluator`
    (cached in the store, charged to one budget), then evaluates the best
    candidate on the held-out test split and returns a :class:`SearchResult`.

    The budget belongs to the search: its spend is kept in the store, so running
    the search again continues the same spend (several processes on one search
    share it too), and raising it is an explicit act. Running a search again
    with the same name replays it from the start, with the same seed, serving
    every evaluation it already has from the store at no cost, so a search
    killed half-way and run again reaches the same winner as one that was not.
    """

    def __init__(
        self,
        *,
        space: Space,
        dataset: Dataset,
        metric: Metric | str | Callable[..., Any],
        strategy: SearchStrategy,
        store: Store,
        budget: Budget | None,
        name: str,
        objective: Objective,
        seed: int,
        settings: SearchSettings,
        evaluation: EvalSettings,
        models: Mapping[str, BaseChatModel] | None = None,
        prices: PriceTable | None = None,
        callbacks: Sequence[Callable[[Search, Outcome], None]] = (),
    ) -> None:
        """Prefer :func:`create_search`, which checks the arguments."""
        self.space = space
        self.dataset = dataset
        self.strategy = strategy
        self.store = store
        self.name = name
        self.objective = objective
        self.seed = seed
        self.settings = settings
        self.parallel = settings.parallel
        self.max_evaluations = settings.max_evaluations
        self.finalists = settings.finalists
        self.isolated = settings.isolated
        self.callbacks = list(callbacks)
        split_seed = seed if settings.split_seed is None else settings.split_seed
        test = settings.test_size
        splits = dataset.split(train=1.0 - test, validation=0.0, test=test, seed=split_seed)
        self.search_tasks: tuple[Task, ...] = splits.train.tasks
        self.test_tasks: tuple[Task, ...] = splits.test.tasks
        self.budget, self.budget_note = self._resolve_budget(budget)
        search_budget, test_budget = split_budget(self.budget, settings.test_share)
        self.owner = f"search:{name}"
        """What this search's evaluations are stored under as their payer."""
        self.ledger = BudgetLedger(search_budget, pool=StorePool(store, self.owner))
        self.test_ledger = BudgetLedger(test_budget, pool=StorePool(store, f"search:{name}:test"))
        common: dict[str, Any] = {
            "store": store,
            "settings": evaluation,
            "models": models,
            "prices": prices,
            "owner": self.owner,
        }
        self.evaluator = Evaluator(
            splits.train,
            metric,
            budget=self.ledger,
            concurrency=_pool_concurrency(space),
            **common,
        )
        self.test_evaluator = Evaluator(
            splits.test,
            metric,
            budget=self.test_ledger,
            allow_test=True,
            executor=self.evaluator.executor,  # one pool of Ray workers, not two
            concurrency=self.evaluator.concurrency,  # one limit per model, not two
            **common,
        )
        check_before_search(  # before any model call: a metric or pool that cannot work
            metric=self.evaluator.metric,
            tasks=(*self.search_tasks, *self.test_tasks),
            models=space.pool.models,
        )
        self.evaluations = 0
        # Totals in whole picodollars: candidates of a round finish in any order, and an
        # integer sum, unlike a float one, does not depend on it.
        self._work_pico = 0  # list price of every evaluation asked for, stored ones too
        # What the evaluations the search used cost when they ran (cache misses), each once:
        # its real spend, and the same on a rerun that replays them from the store.
        self._paid_pico = 0
        self._counted: set[Any] = set()
        self._held_evaluations = 0
        self._seen: dict[str, Candidate] = {}
        self._asked: dict[str, set[str]] = {}  # tasks each workflow was run on in this run
        self._pruned: set[str] = set()
        self._looks: dict[str, int] = {}  # rounds of results per candidate, for the certificate
        self._baseline_of: dict[str, str] = {}  # hash -> baseline kind (search.baselines)
        self._baseline_note: str | None = None
        self._stats: dict[str, CandidateStats | None] = {}
        self._stage_of: dict[str, str] = {}
        self._stages: dict[str, Spend] = {}
        self._reused = Spend()
        self._history: list[Step] = []
        self.search_id: int | None = None

    def _resolve_budget(self, given: Budget | None) -> tuple[Budget | None, str | None]:
        """This run's budget: the one given, else the one the search was last run with."""
        record = self.store.get_search(self.name)
        stored = (record.config.get("budget") if record is not None else None) or None
        before = Budget.model_validate(stored) if stored else None
        if given is None or before is None or given == before:
            chosen = given or before
            return chosen, None
        changes = []
        for field in ("dollars", "tokens", "calls", "evaluations"):
            old, new = getattr(before, field), getattr(given, field)
            if old != new:
                verb = "raised" if old is not None and (new is None or new > old) else "lowered"
                changes.append(f"{field} {verb} from {_limit(field, old)} to {_limit(field, new)}")
        return given, "budget " + "; ".join(changes) if changes else None

    # --- statistics -------------------------------------------------------------------

    def stats(self, candidate: Candidate) -> CandidateStats | None:
        """The candidate's statistics over the search tasks it has results for.

        By default (``isolated``) only the tasks this run asked for count, so a
        resumed run judges exactly as the first did; with ``isolated=False``
        every stored result on the search tasks counts.
        """
        if candidate.hash in self._stats:
            return self._stats[candidate.hash]
        tasks = list(self.search_tasks)
        if self.isolated:
            asked = self._asked.get(candidate.hash, set())
            tasks = [task for task in tasks if task.id in asked]
        found = None
        if tasks:
            summary = self.evaluator.stats(candidate.target, tasks=tasks)
            if summary.n_tasks:
                found = CandidateStats(
                    **_identity(candidate),
                    score=summary,
                    complete=summary.n_tasks >= len(self.search_tasks),
                    pruned=candidate.hash in self._pruned,
                    value=self.objective.value(summary.mean, summary.cost_per_task),
                    baseline=self._baseline_of.get(candidate.hash),
                )
        self._stats[candidate.hash] = found
        return found

    def leader(self) -> CandidateStats | None:
        """The best candidate so far among those evaluated on every search task."""
        stats = [s for s in (self.stats(c) for c in self._seen.values()) if s and s.complete]
        feasible = [s for s in stats if self.objective.feasible(s.cost_per_task)]
        return ranking.best(feasible, key=self.objective.key)

    # --- evaluating one proposal --------------------------------------------------------

    async def _evaluate(
        self, proposal: Proposal, *, strategy: bool = True, stage: str = "finalists"
    ) -> Outcome:
        candidate = proposal.candidate
        self._seen.setdefault(candidate.hash, candidate)
        trial = None
        if self.search_id is not None:
            trial = self.store.add_trial(
                self.search_id,
                workflow=candidate.hash,
                params={"topology": candidate.topology, **candidate.params},
                user_attrs={"label": candidate.label, "origin": candidate.origin},
            )
        asked: list[Task | str] = (
            list(proposal.tasks) if proposal.tasks is not None else list(self.search_tasks)
        )
        tasks, held, capped = self._hold_evaluations(candidate, asked)
        records = []
        pruned = False
        stream = self.evaluator.astream(candidate.target, tasks=tasks, ordered=proposal.ordered)
        try:
            async with stream:
                async for record in stream:
                    records.append(record)
                    if pruned or not strategy:
                        continue
                    if self.strategy.report(proposal, record, len(records) - 1):
                        # Let the evaluations already running finish: they are paid for.
                        pruned = True
                        stream.stop("pruned")
        finally:
            self._held_evaluations -= held
            self.evaluations += len(records)
            self._work_pico += sum(_pico(r.cost) for r in records)
        self._asked.setdefault(candidate.hash, set()).update(r.task_id for r in records)
        if records:
            self._looks[candidate.hash] = self._looks.get(candidate.hash, 0) + 1
        self._stats.pop(candidate.hash, None)
        if pruned:
            self._pruned.add(candidate.hash)
        stop = Stop(reason=StopReason.PRUNED) if pruned else Stop.from_text(stream.stop_reason)
        if capped and stop.reason is StopReason.COMPLETED:
            stop = self._cap_reason()
        stats = self.stats(candidate) or _empty_stats(candidate)
        stage = self.strategy.stage_of(proposal) if strategy else stage
        self._stage_of.setdefault(candidate.hash, stage)
        fresh = [r for r in records if r.key not in self._counted]
        self._counted.update(r.key for r in fresh)
        # Results another search in the store paid for are free here: not this stage's spend.
        elsewhere = {r.key for r in fresh if r.cached and r.owner not in ("", self.owner)}
        self._reused += _spend_of([r for r in fresh if r.key in elsewhere])
        fresh = [r for r in fresh if r.key not in elsewhere]
        self._paid_pico += sum(_pico(r.charged) for r in fresh)
        self._stages[stage] = self._stages.get(stage, Spend()) + _spend_of(fresh)
        if trial is not None and self.search_id is not None:
            self.store.update_trial_if_present(
                self.search_id,
                trial.number,
                values=[stats.mean, stats.cost_per_task],
                state=_trial_state(stop),
                user_attrs={
                    "n_tasks": stats.n_tasks,
                    "stop": str(stop),
                    "evaluated": len(records),
                    "stage": stage,
                },
            )
        return Outcome(
            proposal=proposal,
            records=tuple(records),
            stats=stats,
            pruned=pruned,
            stop=stop,
        )

    def _cap_reason(self) -> Stop:
        return Stop(reason=StopReason.MAX_EVALUATIONS, detail=f"{self.max_evaluations} reached")

    def _budget_reason(self) -> Stop:
        return Stop.from_text(self.ledger.stop_reason or "budget: exhausted")

    def _out_of_evaluations(self) -> bool:
        if self.max_evaluations is None:
            return False
        return self.evaluations + self._held_evaluations >= self.max_evaluations

    def _hold_evaluations(
        self, candidate: Candidate, tasks: list[Task | str]
    ) -> tuple[list[Task | str], int, bool]:
        """Cut ``tasks`` to what ``max_evaluations`` still allows, and hold that many.

        Returns the tasks to run, the evaluations held for them, and whether
        the cap cut the proposal short.
        """
        seeds = len(self.evaluator.seeds_for(candidate.target))
        if self.max_evaluations is None:
            return tasks, 0, False
        left = self.max_evaluations - self.evaluations - self._held_evaluations
        allowed = max(0, left) // seeds
        kept = tasks[:allowed]
        held = len(kept) * seeds
        self._held_evaluations += held
        return kept, held, len(kept) < len(tasks)

    # --- the loop ---------------------------------------------------------------------

    @property
    def work_dollars(self) -> float:
        """List price of every evaluation asked for, stored ones too."""
        return self._work_pico / _PICO

    @property
    def paid_dollars(self) -> float:
        """What the evaluations used cost when they ran, each once."""
        return self._paid_pico / _PICO

    def _hard_stop(self) -> Stop | None:
        if self.ledger.exhausted:
            return self._budget_reason()
        if self._out_of_evaluations():
            return self._cap_reason()
        return None

    def _stop_before_asking(self) -> Stop | None:
        hard = self._hard_stop()
        if hard is not None:
            return hard
        if self.objective.expected_queries is not None:
            seen = [s for s in (self.stats(c) for c in self._seen.values()) if s is not None]
            economic = economic_stop(
                leader=self.leader(),
                candidates=seen,
                objective=self.objective,
                n_tasks=len(self.search_tasks),
            )
            return Stop.from_text(economic) if economic is not None else None
        return None

    def _told(self, outcome: Outcome) -> Stop | None:
        """Tell the strategy; record the step; return a stop reason the outcome carries."""
        self.strategy.tell(outcome)
        stats = outcome.stats
        leader = self.leader()
        self._history.append(
            Step(
                evaluations=self.evaluations,
                dollars=self.work_dollars,
                spent=self.paid_dollars,
                candidate=stats.workflow,
                stage=self._stage_of.get(stats.workflow, self.strategy.name),
                n_tasks=stats.n_tasks,
                mean=stats.mean,
                pruned=outcome.pruned,
                best=leader.workflow if leader else None,
                best_mean=leader.mean if leader else None,
            )
        )
        for callback in self.callbacks:
            callback(self, outcome)
        return outcome.stop if outcome.stop.ends_search else None

    async def _rounds(self) -> Stop:
        """Deterministic scheduling: ask a round, evaluate it, tell it in the order asked.

        Between tells the strategy's state does not change, so what it reports
        and decides depends on the results, not on which evaluation finished first.
        """
        while True:
            batch: list[Proposal] = []
            stop_reason = None
            while len(batch) < self.parallel:
                stop_reason = self._stop_before_asking()
                if stop_reason is not None:
                    break
                proposal = self.strategy.ask()
                if proposal is None:
                    break
                batch.append(proposal)
            if not batch:
                return stop_reason or self._finished()
            outcomes = await asyncio.gather(*(self._evaluate(p) for p in batch))
            for outcome in outcomes:
                stop_reason = self._told(outcome) or stop_reason
            if stop_reason is not None:
                return stop_reason

    async def _eager(self) -> Stop:
        """Eager scheduling: keep ``parallel`` proposals running, tell each as it finishes."""
        inflight: dict[asyncio.Task[Outcome], Proposal] = {}
        stop_reason: Stop | None = None
        while True:
            while stop_reason is None and len(inflight) < self.parallel:
                stop_reason = self._stop_before_asking()
                if stop_reason is not None:
                    break
                proposal = self.strategy.ask()
                if proposal is None:
                    break
                inflight[asyncio.ensure_future(self._evaluate(proposal))] = proposal
            if not inflight:
                return stop_reason or self._finished()
            done, _ = await asyncio.wait(inflight, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                del inflight[task]
                stop_reason = stop_reason or self._told(task.result())

    def _finished(self) -> Stop:
        return Stop(reason=StopReason.STRATEGY_FINISHED, detail=self.strategy.finished() or "")

    async def _finalise(self) -> Stop | None:
        """Complete the most promising partly-evaluated candidates, budget permitting.

        Returns why completing them stopped early (the budget, the evaluation cap), if it did.
        """
        stats = [s for s in (self.stats(c) for c in self._seen.values()) if s is not None]
        best_value = max((s.value for s in stats if s.complete), default=float("-inf"))
        contenders = ranking.ranked(
            (
                s
                for s in stats
                if not s.complete and self.objective.value(s.ci_high, s.cost_per_task) > best_value
            ),
            key=self.objective.key,
        )[: self.finalists]
        for contender in contenders:
            stop = self._stop_before_asking()
            if stop is not None:
                return stop
            candidate = self._seen[contender.workflow]
            outcome = await self._evaluate(Proposal(candidate=candidate), strategy=False)
            if outcome.stop.ends_search:
                return outcome.stop
        return None

    async def _probe_models(self) -> None:
        """Ask each real pool model, alone, a few search tasks before the search spends more.

        A pool that cannot answer at all (wrong credentials, an unreachable server, replies
        no role can read) would fail every candidate at full price. The probes are the
        single-agent baselines' first tasks: cached and reused when the baselines run.

        Raises:
            SearchError: Every probe of every model failed; the errors are named.
        """
        if not isinstance(self.space, SearchSpace):
            return
        real = [m for m in self.space.pool.models if not m.startswith("sim:")]
        if len(real) < len(self.space.pool.models):
            return  # a simulated model answers: its reading of the tasks was checked (preflight)
        probes = [c for c in single_baselines(self.space.pool.models) if c.models[0] in real]
        tasks = tuple(t.id for t in self.search_tasks[:PROBE_TASKS])
        errors: dict[str, str] = {}
        kinds: dict[str, int] = {}
        for candidate in probes:
            self._baseline_of.setdefault(candidate.hash, SINGLE)
            outcome = await self._evaluate(
                Proposal(candidate=candidate, tasks=tasks), strategy=False, stage="baselines"
            )
            if outcome.stop.ends_search:
                return  # the budget's own stop says why
            failed = [r for r in outcome.records if r.failed]
            if not failed or len(failed) < len(outcome.records):
                return  # one model answers: the search can go on
            first = failed[0]
            kind = first.error_type or "error"
            errors[candidate.models[0]] = f"{kind}: {(first.error or '')[:160]}"
            kinds[kind] = kinds.get(kind, 0) + 1
        if errors:
            raise SearchError(
                f"none of the pool's models answered any of the first {len(tasks)} search "
                "tasks alone: "
                + "; ".join(f"{model}: {text}" for model, text in errors.items())
                + f". Hint: {hint_for(kinds, [])} The search stopped before trying the "
                "space's candidates."
            )

    async def _run_baselines(self) -> None:
        """Run the single-agent baselines on every search task (search.baselines)."""
        if not isinstance(self.space, SearchSpace):
            return  # a user's graph has no single-agent form to compare with
        models = self.space.pool.models
        singles = single_baselines(models)
        for candidate in singles:
            self._baseline_of[candidate.hash] = SINGLE
        self._stats.clear()  # the stats carry the baseline marks
        if not await self._complete_all(singles):
            return
        done = [s for s in (self.stats(c) for c in singles) if s is not None and s.complete]
        if done:
            best = max(done, key=lambda s: (s.mean, -s.cost_per_task))
            model = next(c.models[0] for c in singles if c.hash == best.workflow)
            if not self.objective.feasible(best.cost_per_task * SAMPLES):
                self._baseline_note = "self-consistency not run: its cost is over the ceiling"
                return
            consistent = self_consistency_baseline(model, models)
            self._baseline_of.setdefault(consistent.hash, SELF_CONSISTENCY)
            self._stats.pop(consistent.hash, None)
            await self._complete_all([consistent])

    async def _complete_all(self, candidates: Sequence[Candidate]) -> bool:
        """Evaluate each on every search task; False (and a note) when the budget stops it."""
        for candidate in candidates:
            stats = self.stats(candidate) if candidate.hash in self._seen else None
            if stats is not None and stats.complete:
                continue
            stop = self._hard_stop()
            if stop is None:
                outcome = await self._evaluate(
                    Proposal(candidate=candidate), strategy=False, stage="baselines"
                )
                stop = outcome.stop if outcome.stop.reason is not StopReason.COMPLETED else None
            if stop is not None:
                self._baseline_note = f"baselines not all run: {stop}"
                return False
        return True

    def _certify(self, ranked: list[CandidateStats]) -> Certificate:
        """What the search can claim, from the per-task results of the finalists."""
        dollars = self.ledger.spent.dollars
        confidence = self.evaluator.confidence
        finalists = [s for s in ranked if s.complete and self.objective.feasible(s.cost_per_task)]
        problem = judge_evidence(ranked, finalists)
        if problem is not None:
            errors, examples = self._errors()
            return no_winner(
                reason=problem,
                errors=errors,
                examples=examples,
                hint=hint_for(errors, examples),
                confidence=confidence,
                search_dollars=dollars,
            )
        scores = {
            s.workflow: self.evaluator.scores(
                self._seen[s.workflow].target, tasks=list(self.search_tasks)
            )
            for s in finalists
        }
        certificate = certify(
            finalists=finalists,
            scores=scores,
            agents={s.workflow: len(self._seen[s.workflow].models) for s in finalists},
            baselines=self._baseline_of,
            objective=self.objective,
            confidence=confidence,
            search_dollars=dollars,
            others={
                s.workflow: self.evaluator.scores(
                    self._seen[s.workflow].target, tasks=list(self.search_tasks)
                )
                for s in ranked
                if s.workflow not in scores
            },
            looks=max(self._looks.get(s.workflow, 1) for s in finalists),
            parsing={s.workflow: self._parsing(s.workflow) for s in finalists},
            seed=self.seed,
        )
        if self._baseline_note:
            lines = (*certificate.lines, f"Note: {self._baseline_note}.")
            certificate = certificate.model_copy(update={"lines": lines})
        return certificate

    def _parsing(self, workflow: str) -> tuple[float, float]:
        """Its parse-failure and fallback rates on the search tasks, from the stored traces."""
        target = self._seen[workflow].target
        records = self.store.evaluations(
            workflow=workflow,
            dataset=self.dataset.name,
            config=self.evaluator.config_digest(target),
            with_trace=True,
        )
        wanted = {t.id for t in self.search_tasks}
        nodes = [n for r in records if r.task_id in wanted for n in r.trace]
        stats = parse_failure_rates(nodes).values()
        replies, runs = sum(s.replies for s in stats), sum(s.runs for s in stats)
        failures, fallbacks = sum(s.failures for s in stats), sum(s.fallbacks for s in stats)
        return (failures / replies if replies else 0.0, fallbacks / runs if runs else 0.0)

    def _errors(self) -> tuple[dict[str, int], list[str]]:
        """Error kinds over every evaluated candidate, with a few messages (or scored answers)."""
        errors: dict[str, int] = {}
        examples: list[str] = []
        answers: list[str] = []
        for candidate in self._seen.values():
            target = candidate.target
            for record in self.store.evaluations(
                workflow=candidate.hash,
                dataset=self.dataset.name,
                config=self.evaluator.config_digest(target),
            ):
                if record.failed:
                    kind = record.error_type or "error"
                    errors[kind] = errors.get(kind, 0) + 1
                    if record.error and len(examples) < 3 and record.error not in examples:
                        examples.append(record.error[:200])
                elif len(answers) < 3:
                    answers.append(
                        f"answer {str(record.answer)[:80]!r} for reference {record.expected!r}"
                    )
        return errors, examples or answers

    # --- running ----------------------------------------------------------------------

    def _start_over(self, search_id: int) -> None:
        """Forget what an earlier run left but its evaluations: the replay rebuilds it."""
        self.store.delete_trials(search_id)
        self.store.delete_state(self.name)
        url = self.store.optuna_url()
        if url is None:
            return
        import optuna

        for study in optuna.get_all_study_names(storage=url):
            if study == self.name or study.startswith(f"{self.name}:"):
                optuna.delete_study(study_name=study, storage=url)

    async def arun(self) -> SearchResult:
        """Run the search (again: a replay paying only for what is new) and return its result."""
        started = time.perf_counter()
        spent_before = self.ledger.spent + self.test_ledger.spent
        config = {
            "strategy": self.strategy.describe(),
            "objective": self.objective.model_dump(),
            "space": {"topologies": list(self.space.topologies), "pool": self.space.pool.models},
            "dataset": self.dataset.name,
            "budget": self.budget.model_dump() if self.budget else None,
            "seed": self.seed,
        }
        config["runner"] = {"host": socket.gethostname(), "pid": os.getpid()}
        record = self.store.get_search(self.name)
        if record is None:
            record = self.store.create_search(  # or load the one a process beside us made
                self.name, strategy=self.strategy.name, config=config, load_if_exists=True
            )
        elif not _running_elsewhere(record.status, record.config.get("runner")):
            self._start_over(record.id)  # else another process runs it now: share its log
        self.search_id = record.id
        self.store.update_search(record.id, status="running", config=config)
        context = SearchContext(
            space=self.space,
            tasks=self.search_tasks,
            objective=self.objective,
            rng=random.Random(self.seed),
            ledger=self.ledger,
            stats=self.stats,
            search_name=self.name,
            store=self.store,
            prices=self.evaluator.prices,
            models=self.evaluator.models,
        )
        try:
            self.strategy.setup(context)
            await self._probe_models()
            loop = self._rounds if self.settings.deterministic else self._eager
            stop = await loop()
            cut = await self._finalise()
            await self._run_baselines()
            if cut is not None and not stop.ends_search:
                stop = stop.model_copy(update={"finalists": cut})
        except BaseException:
            self.store.update_search(record.id, status="failed")
            raise
        result = await self._result(stop, time.perf_counter() - started, spent_before)
        self.store.update_search(
            record.id,
            status="complete",
            stop_reason=str(stop),
            spend=result.spend.model_dump(),
            result=json.loads(result.to_json(indent=None)),
        )
        return result

    def run(self) -> SearchResult:
        """Synchronous :meth:`arun` (not inside a running event loop)."""
        return asyncio.run(self.arun())

    def _front(self, complete: list[CandidateStats]) -> list[CandidateStats]:
        """The strategy's own Pareto front if it keeps one (Optuna's best_trials), else ours."""
        hashes = self.strategy.front()
        if hashes:
            chosen = [s for s in complete if s.workflow in set(hashes)]
            return sorted(chosen, key=lambda s: (s.cost_per_task, -s.mean))
        return pareto_front(complete)

    async def _result(self, stop: Stop, wall_s: float, before: Spend) -> SearchResult:
        stats = [s for s in (self.stats(c) for c in self._seen.values()) if s is not None]
        ranked = ranking.ranked(stats, key=self.objective.key)
        complete = [s for s in ranked if s.complete]
        certificate = self._certify(ranked)
        best_stats = next((s for s in ranked if s.workflow == certificate.shipped), None)
        winner = self._seen[best_stats.workflow] if best_stats else None
        best = winner.spec if winner else None
        test = None
        if winner is not None and self.test_tasks:
            summary = await self.test_evaluator.aevaluate(winner.target)
            test = TestReport(
                workflow=winner.hash,
                score=summary.score,
                spent=summary.charged,
                stop_reason=summary.stop_reason,
            )
        url = self.store.optuna_url()
        if url is not None and ranked:
            log_to_optuna(
                url,
                self.name,
                ranked,
                specs={h: c.target.to_json(indent=None) for h, c in self._seen.items()},
                stages=self._stage_of,
                topologies=self.space.topologies,
            )
        models = {m for c in self._seen.values() for m in c.models}
        spend = self.ledger.spent + self.test_ledger.spent
        return SearchResult(
            search_id=self.search_id,
            name=self.name,
            strategy=self.strategy.name,
            dataset=self.dataset.name,
            metric=self.evaluator.metric.name,
            objective=self.objective.describe(),
            simulated=any(m.startswith("sim:") for m in models | set(self.space.pool.models)),
            best=best,
            best_graph=_graph_config(winner),
            best_stats=best_stats,
            certificate=certificate,
            test=test,
            front=tuple(self._front(complete)),
            candidates=tuple(ranked),
            n_search_tasks=len(self.search_tasks),
            n_test_tasks=len(self.test_tasks),
            search_task_ids=tuple(t.id for t in self.search_tasks),
            test_task_ids=tuple(t.id for t in self.test_tasks),
            evaluations=self.evaluations,
            spend=spend,
            spend_this_run=_minus(spend, before),
            budget=self.budget,
            stages=dict(self._stages),
            history=tuple(self._history),
            account=account(
                history=self._history,
                stages=self._stages,
                candidates=ranked,
                best=best_stats,
                objective=self.objective,
                budget_note=self.budget_note,
                test=self.test_ledger.spent,
                reused=self._reused,
                # Paid for runs a refused call or a cancel left without a result, in every
                # run of this search: what the ledger charged beyond the stages' results.
                unfinished=_minus(self.ledger.spent, sum(self._stages.values(), Spend())),
            ),
            stop_reason=str(stop),
            wall_s=wall_s,
        )


def _spend_of(records: Sequence[EvalRecord]) -> Spend:
    """What ``records`` cost when they ran: their charged dollars, paid calls and tokens."""
    return Spend(
        dollars=math.fsum(r.charged for r in records),
        tokens=sum(r.usage.total_tokens for r in records),
        calls=sum(r.calls - r.cached_calls for r in records),
        evaluations=len(records),
        cached_calls=sum(r.cached_calls for r in records),
    )


_PICO = 10**12


def _pico(dollars: float) -> int:
    return round(dollars * _PICO)


def _running_elsewhere(status: str, runner: Any) -> bool:
    """Whether another live process on this machine is running the search now."""
    if status != "running" or not isinstance(runner, dict):
        return False
    pid = runner.get("pid")
    if runner.get("host") != socket.gethostname() or not isinstance(pid, int):
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _trial_state(stop: Stop) -> str:
    if stop.reason is StopReason.PRUNED:
        return "pruned"
    return "complete" if stop.reason is StopReason.COMPLETED else "fail"


def _minus(a: Spend, b: Spend) -> Spend:
    return Spend(**{k: max(0, getattr(a, k) - getattr(b, k)) for k in Spend.model_fields})


def _limit(field: str, value: float | None) -> str:
    if value is None:
        return "unlimited"
    return f"${value:g}" if field == "dollars" else f"{value:g}"


def _identity(candidate: Candidate) -> dict[str, Any]:
    return {
        "workflow": candidate.hash,
        "label": candidate.label,
        "topology": candidate.topology,
        "params": candidate.params,
        "origin": candidate.origin,
    }


def _graph_config(candidate: Candidate | None) -> GraphConfig | None:
    """The settings of a graph candidate (``None`` for a workflow spec)."""
    graph = candidate.graph if candidate is not None else None
    return graph.config if isinstance(graph, GraphTarget) else None


def _empty_stats(candidate: Candidate) -> CandidateStats:
    return CandidateStats(
        **_identity(candidate),
        score=ScoreSummary(ci_low=0.0, ci_high=1.0, mean=0.0),
        complete=False,
        value=float("-inf"),
    )


def _digest(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def create_search(
    *,
    space: Space | Mapping[str, Any],
    dataset: Dataset | str | Path | Iterable[Mapping[str, Any]],
    metric: Metric | str | Callable[..., Any] = "numeric",
    strategy: SearchStrategy | str = "auto",
    budget: Budget | Mapping[str, Any] | None = None,
    objective: Objective | None = None,
    store: Store | str | Path | None = "rolegraph.db",
    name: str | None = None,
    load_if_exists: bool = True,
    seed: int = 0,
    settings: SearchSettings | None = None,
    evaluation: EvalSettings | None = None,
    max_evaluations: int | None = None,
    max_concurrency: int | None = None,
    executor: Literal["local", "ray"] | None = None,
    ray_address: str | None = None,
    test_size: float | None = None,
    models: Mapping[str, BaseChatModel] | None = None,
    prices: PriceTable | None = None,
    callbacks: Sequence[Callable[[Search, Outcome], None]] = (),
    **strategy_options: Any,
) -> Search:
    """Set up a topology search. Nothing is evaluated until :meth:`Search.run`.

    Args:
        space: A :class:`~search.space.SearchSpace` (or its fields as a mapping), or a
            :class:`~search.graphs.GraphSpace`.
        dataset: Tasks: a :class:`Dataset`, a file, ``"bundled:arithmetic"`` or records.
        metric: A metric name (``"numeric"``, ``"exact"``, ``"f1"``, or one given to
            :func:`~search.evaluation.metrics.register_metric`), a metric, or a callable
            returning [0, 1].
        strategy: A strategy object, or a name (``"tpe"``, ``"nsga2"``, ``"random"``,
            ``"grid"``, ``"bandit"``, ...); ``strategy_options`` configure it.
        budget: Hard limits on dollars, tokens, calls and evaluations (cache misses only).
        objective: What "best" means; default: highest accuracy, ties to the cheaper.
        store: Where evaluations, the LLM-call cache and the search live.
        name: Search name; the same name resumes the same search.
        load_if_exists: Resume a search of that name instead of failing.
        seed: Seed of the strategy's randomness (and of the split, by default).
        settings: How the search splits data and spends evaluations
            (:class:`~search.settings.SearchSettings`: test split, parallel proposals,
            finalists, isolation, ...).
        evaluation: How evaluations run (:class:`~search.evaluation.settings.EvalSettings`:
            concurrency, timeouts, retries, repetitions, ...).
        max_evaluations: Shortcut for ``settings.max_evaluations``.
        max_concurrency: Shortcut for ``evaluation.max_concurrency``.
        executor: Shortcut for ``evaluation.executor``: ``"ray"`` runs evaluations on Ray
            workers (``pip install 'rolegraph[ray]'``; see ``docs/scaling.md``).
        ray_address: Shortcut for ``evaluation.ray_address``, e.g. ``"ray://head:10001"``.
        test_size: Shortcut for ``settings.test_size``.
        models: Model instances for references in specs.
        prices: Price table for cost accounting.
        callbacks: Called with the search and each outcome, after the strategy sees it.
        **strategy_options: Passed to the named strategy. A settings field given here
            (``parallel=2``, ``call_timeout=0.3``) is refused with the corrected call.

    Raises:
        SearchError: A bad budget, dataset, name clash or strategy.
        SettingsError: A setting out of range.
        SpaceError: A bad search space.
    """
    from search.strategies import get_strategy

    search_settings = (settings or SearchSettings()).replace(
        **_given(max_evaluations=max_evaluations, test_size=test_size)
    )
    eval_settings = (evaluation or EvalSettings()).replace(
        **_given(max_concurrency=max_concurrency, executor=executor, ray_address=ray_address)
    )
    resolved_space = space if isinstance(space, Space) else SearchSpace(**space)
    data = load_dataset(dataset)
    if len(data) < 4:
        raise SearchError(
            f"dataset {data.name!r} has {len(data)} tasks; a search needs at least 4"
        )
    resolved_budget = Budget(**budget) if isinstance(budget, Mapping) else budget
    if resolved_budget is not None and all(
        v is None for v in resolved_budget.model_dump().values()
    ):
        resolved_budget = None
    if resolved_budget is not None and any(v == 0 for v in resolved_budget.model_dump().values()):
        raise SearchError(f"a budget limit of 0 allows nothing to run: {resolved_budget}")
    if strategy_options and not isinstance(strategy, str):
        raise _misplaced(
            strategy, strategy_options, settings=settings, evaluation=evaluation
        ) or SearchError("strategy options apply to a strategy given by name only")
    try:
        chosen = (
            get_strategy(strategy, **strategy_options) if isinstance(strategy, str) else strategy
        )
    except SearchError as exc:
        misplaced = _misplaced(
            strategy, strategy_options, settings=settings, evaluation=evaluation
        )
        raise misplaced or exc from None
    resolved_space.check_strategy(chosen)
    resolved_store = get_store(store)
    split_seed = search_settings.split_seed
    search_name = name or (
        f"{chosen.name}-{data.name}-"
        f"{_digest(resolved_space.model_dump(mode='json'), data.fingerprint, seed, split_seed)}"
    )
    if not load_if_exists and resolved_store.get_search(search_name) is not None:
        raise SearchError(
            f"a search named {search_name!r} exists; pass load_if_exists=True "
            "to resume it or choose another name"
        )
    return Search(
        space=resolved_space,
        dataset=data,
        metric=metric,
        strategy=chosen,
        store=resolved_store,
        budget=resolved_budget,
        name=search_name,
        objective=objective or Objective(),
        seed=seed,
        settings=search_settings,
        evaluation=eval_settings,
        models=models,
        prices=prices or resolved_space.pool.prices(),
        callbacks=callbacks,
    )


# The settings records a create_search keyword may belong to: field -> (keyword, record, inner).
_SETTINGS_HOMES: dict[str, tuple[str, str, str | None]] = {
    **{f: ("settings", "SearchSettings", None) for f in SearchSettings.model_fields},
    **{f: ("evaluation", "EvalSettings", None) for f in EvalSettings.model_fields},
    **{f: ("evaluation", "EvalSettings", "RetrySettings") for f in RetrySettings.model_fields},
}


def _misplaced(
    strategy: SearchStrategy | str,
    options: Mapping[str, Any],
    *,
    settings: SearchSettings | None,
    evaluation: EvalSettings | None,
) -> SearchError | None:
    """The corrected call when strategy options are settings fields or near misses of names.

    A keyword is blamed only when the strategy is content without it, so a strategy that
    takes, say, ``confidence`` itself keeps it.
    """
    from search.strategies import get_strategy

    own = [p for p in inspect.signature(create_search).parameters if p != "strategy_options"]
    fixes: dict[str, str] = {}  # keyword given -> the name it should have been
    for key in options:
        close = difflib.get_close_matches(key, [*own, *_SETTINGS_HOMES], n=1, cutoff=0.8)
        if key in _SETTINGS_HOMES or close:
            fixes[key] = key if key in _SETTINGS_HOMES else close[0]
    if not fixes:
        return None
    if isinstance(strategy, str):
        try:
            get_strategy(strategy, **{k: v for k, v in options.items() if k not in fixes})
        except SearchError:
            return None  # the strategy refuses something else too: its own error says what
    where = f"strategy {strategy!r}" if isinstance(strategy, str) else "the strategy"
    given = {"settings": settings, "evaluation": evaluation}
    records = {"settings": "SearchSettings", "evaluation": "EvalSettings"}
    fields: dict[str, list[str]] = {}
    inner: dict[str, list[str]] = {}
    sentences: list[str] = []
    direct: list[str] = []
    for key, name in fixes.items():
        value = f"{name}={options[key]!r}"
        if name in own:  # its own keyword, or a shortcut of a settings field
            sentences.append(f"create_search takes no {key!r} (did you mean {name!r}?)")
            direct.append(value)
            continue
        keyword, record, nested = _SETTINGS_HOMES[name]
        (inner if nested else fields).setdefault(keyword, []).append(value)
        owner = nested or record
        if key == name:
            sentences.append(f"{key!r} is a field of {owner}, not an option of {where}")
        else:
            sentences.append(f"{where} takes no {key!r} (did you mean {name!r}, of {owner}?)")
    for keyword, record in records.items():
        parts = list(fields.get(keyword, []))
        if keyword in inner:
            parts.append(f"retry=RetrySettings({', '.join(inner[keyword])})")
        if parts:
            made = (
                f"{record}({', '.join(parts)})"
                if given[keyword] is None
                else f"{keyword}.replace({', '.join(parts)})"
            )
            direct.append(f"{keyword}={made}")
    return SearchError(f"{'; '.join(sentences)}: create_search(..., {', '.join(direct)})")


def _given(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _pool_concurrency(space: Space) -> dict[str, int]:
    """The pool entries' own caps on calls at once, where the space has a pool."""
    pool = getattr(space, "pool", None)
    return pool.concurrency() if isinstance(pool, ComponentPool) else {}
