"""Optuna-driven search: TPE by default, NSGA-II or GP for accuracy vs cost, with pruning."""

from __future__ import annotations

import datetime
import importlib.util
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import optuna
from optuna.pruners import BasePruner
from optuna.samplers import BaseSampler
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState
from pydantic import Field

from orchestrator import WorkflowSpec
from orchestrator.errors import MissingIntegrationError
from search.ranking import ranked
from search.space import Candidate, Space
from search.store import EvalRecord
from search.strategies.base import (
    Handover,
    Outcome,
    Proposal,
    SearchContext,
    SearchStrategy,
    StrategyOptions,
)
from search.strategies.optuna.pruners import PairedWilcoxonPruner
from search.strategies.plan import PlanRequest, StagePlan

__all__ = ["OptunaStrategy", "OptunaOptions"]

_SAMPLERS = ("tpe", "nsga2", "gp", "random")
_PRUNERS = ("auto", "wilcoxon", "halving", "median", "none")


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


class OptunaOptions(StrategyOptions):
    """:class:`OptunaStrategy`'s settings (see its arguments)."""

    sampler: str | BaseSampler = Field(default="tpe", description="Sampler name or object.")
    pruner: str | BasePruner | None = Field(default="auto", description="Pruner name or object.")
    n_trials: int = Field(default=30, description="Trials in the study.")
    multi_objective: bool = Field(default=False, description="Accuracy vs cost.")
    storage: str | BaseStorage | None = Field(
        default=None,
        exclude=True,
        description="Optuna storage (not recorded: it may hold credentials).",
    )
    study_name: str | None = Field(default=None, description="Default: the search's name.")
    # Any: candidates, specs or dicts, kept as given (checked when the search starts).
    seeds: tuple[Any, ...] = Field(
        default=(), exclude=True, description="Hand-designed candidates to try first."
    )
    n_startup_trials: int = Field(default=8, description="Random trials before TPE models.")
    seed: int | None = Field(default=None, description="Sampler seed; default the search's.")
    stale_after: float = Field(default=3600.0, description="Seconds before a trial is lost.")
    max_repeats: int = Field(default=20, description="Repeats in a row before exhaustion.")


class OptunaStrategy(SearchStrategy):
    """Ask/tell over an Optuna study whose parameters are the search space's.

    Single-objective by default: maximise the objective's value with TPE and
    stop weak candidates early with a pruner fed one result per task, in the
    shared task order. With ``multi_objective=True`` it maximises accuracy and
    minimises cost per task (NSGA-II by default, or GP); the Pareto front then
    comes from ``study.best_trials``. A cost ceiling in the objective becomes an
    Optuna constraint. The study lives in the store's SQLite database unless
    ``storage`` names another (for example a PostgreSQL URL shared by several
    workers); a search of the same name continues the same study.

    Args:
        sampler: ``"tpe"``, ``"nsga2"``, ``"gp"`` (needs torch), ``"random"``, or a sampler.
        pruner: ``"auto"`` (Wilcoxon with one objective, none with two),
            ``"wilcoxon"`` (:class:`~search.strategies.optuna.pruners.PairedWilcoxonPruner`),
            ``"halving"``, ``"median"``, ``"none"``, or any Optuna pruner.
        n_trials: Trials in the study (previous runs of the same search count).
        multi_objective: Accuracy vs cost instead of one value.
        storage: Optuna storage URL or object; default: the store's database.
        study_name: Default: the search's name.
        seeds: Hand-designed candidates to try first: candidates, specs that are
            in the space's ``extra``, or ``{"topology": ..., **params}`` dicts.
        n_startup_trials: Random trials before TPE models the space.
        seed: Sampler seed; default: the search's seed.
        stale_after: Seconds after which a trial still marked running is
            treated as lost (its worker died) and failed.
        max_repeats: Already-evaluated candidates sampled in a row before the
            space counts as exhausted.
    """

    name = "tpe"

    def __init__(
        self,
        *,
        sampler: str | BaseSampler = "tpe",
        pruner: str | BasePruner | None = "auto",
        n_trials: int = 30,
        multi_objective: bool = False,
        storage: str | BaseStorage | None = None,
        study_name: str | None = None,
        seeds: Sequence[Candidate | WorkflowSpec | Mapping[str, Any]] = (),
        n_startup_trials: int = 8,
        seed: int | None = None,
        stale_after: float = 3600.0,
        max_repeats: int = 20,
    ) -> None:
        """Configure the study; it is created when the search starts."""
        if isinstance(sampler, str) and sampler not in _SAMPLERS:
            raise ValueError(f"unknown sampler {sampler!r}; choose from {_SAMPLERS}")
        if isinstance(pruner, str) and pruner not in _PRUNERS:
            raise ValueError(f"unknown pruner {pruner!r}; choose from {_PRUNERS}")
        if multi_objective and pruner not in (None, "none", "auto"):
            raise ValueError("Optuna cannot prune multi-objective studies; use pruner='none'")
        if n_trials < 1:
            raise ValueError("n_trials must be at least 1")
        if sampler == "gp" and not (_has("torch") and _has("scipy")):
            raise MissingIntegrationError(
                "the GP sampler needs torch and scipy: pip install torch scipy"
            )
        self.options: OptunaOptions = OptunaOptions(
            sampler=sampler,
            pruner=pruner,
            n_trials=n_trials,
            multi_objective=multi_objective,
            storage=storage,
            study_name=study_name,
            seeds=tuple(seeds),
            n_startup_trials=n_startup_trials,
            seed=seed,
            stale_after=stale_after,
            max_repeats=max_repeats,
        )
        if isinstance(sampler, str):
            self.name = {"tpe": "tpe", "nsga2": "nsga2", "gp": "gp", "random": "optuna-random"}[
                sampler
            ]
        self._candidates: dict[int, Candidate] = {}
        self._trials: dict[int, optuna.trial.Trial] = {}
        self._scores: dict[int, list[float]] = {}

    # --- setup ------------------------------------------------------------------------

    def _sampler(self, seed: int) -> BaseSampler:
        if not isinstance(self.options.sampler, str):
            return self.options.sampler
        sampler = self.options.sampler
        if sampler == "random":
            return optuna.samplers.RandomSampler(seed=seed)
        if sampler == "nsga2":
            return optuna.samplers.NSGAIISampler(
                seed=seed,
                population_size=max(8, min(50, self.options.n_trials // 3)),
            )
        if sampler == "gp":
            return optuna.samplers.GPSampler(
                seed=seed, n_startup_trials=self.options.n_startup_trials
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.TPESampler(
                seed=seed,
                n_startup_trials=self.options.n_startup_trials,
                multivariate=True,
                group=True,
                constant_liar=True,
            )

    def _pruner(self) -> BasePruner:
        spec = self.options.pruner
        if isinstance(spec, BasePruner):
            return spec
        if self.options.multi_objective or spec in (None, "none"):
            return optuna.pruners.NopPruner()
        if spec in ("auto", "wilcoxon"):
            n_tasks = len(self.context.tasks)
            return PairedWilcoxonPruner(p_threshold=0.1, n_startup_steps=max(5, n_tasks // 10))
        if spec == "median":
            return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=5)
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=5, reduction_factor=3)

    def setup(self, context: SearchContext) -> None:
        """Create or load the study, fail lost trials, and enqueue the seeds."""
        super().setup(context)
        seed = self.options.seed if self.options.seed is not None else context.rng.randrange(2**31)
        self.pruner = self._pruner()
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        directions: list[Literal["maximize", "minimize"]] = (
            ["maximize", "minimize"] if self.options.multi_objective else ["maximize"]
        )
        storage = self.options.storage
        if storage is None and context.store is not None:
            storage = context.store.optuna_url()
        try:
            self.study = optuna.create_study(
                storage=storage,
                sampler=self._sampler(seed),
                pruner=self.pruner,
                study_name=self.options.study_name or f"{context.search_name}:{self.name}",
                directions=directions,
                load_if_exists=True,
            )
        except ImportError as exc:
            raise MissingIntegrationError(
                f"the study storage {storage!r} needs a database driver: for PostgreSQL, "
                "pip install 'rolegraph[postgres]'"
            ) from exc
        self._fail_lost_trials()
        for item in self.options.seeds:
            candidate = self._seed_candidate(context.space, item)
            self.study.enqueue_trial(context.space.trial_params(candidate), skip_if_exists=True)
        self._wilcoxon = isinstance(
            self.pruner, PairedWilcoxonPruner | optuna.pruners.WilcoxonPruner
        )
        self._combinations = context.space.combinations()
        self._step = {task.id: i for i, task in enumerate(context.tasks)}

    def _fail_lost_trials(self) -> None:
        now = datetime.datetime.now()
        for trial in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            started = trial.datetime_start or now
            if (now - started).total_seconds() > self.options.stale_after:
                self.study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)

    @staticmethod
    def _seed_candidate(
        space: Space, item: Candidate | WorkflowSpec | Mapping[str, Any]
    ) -> Candidate:
        if isinstance(item, Candidate):
            return item
        if isinstance(item, WorkflowSpec):
            return Candidate(spec=item, origin="seed")
        values = dict(item)
        topology = values.pop("topology", None)
        if topology is None:
            raise ValueError("a seed dict needs a 'topology' key")
        return space.candidate(topology, values, origin="seed")

    # --- ask / tell -------------------------------------------------------------------

    def _evaluated(self) -> int:
        """Trials that evaluated a new candidate (repeats of known ones do not count)."""
        states = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL, TrialState.RUNNING)
        return sum(
            1
            for t in self.study.get_trials(deepcopy=False, states=states)
            if not t.user_attrs.get("repeat")
        )

    def _known(self) -> dict[str, FrozenTrial]:
        """The finished, non-repeat trial of each candidate hash."""
        known: dict[str, FrozenTrial] = {}
        for trial in self.study.get_trials(
            deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)
        ):
            if "hash" in trial.user_attrs and not trial.user_attrs.get("repeat"):
                known.setdefault(trial.user_attrs["hash"], trial)
        return known

    def ask(self) -> Proposal | None:
        """A new trial's candidate on every search task, in the shared order.

        A candidate the study has already finished is not evaluated again: the
        trial is told the known result at once and the sampler asked again, so
        ``n_trials`` counts distinct candidates. After ``max_repeats`` repeats in
        a row the space is taken to be exhausted.
        """
        if self._evaluated() >= self.options.n_trials:
            self._finished = f"{self.options.n_trials} trials done (n_trials)"
            return None
        known = self._known()
        if len(known) >= self._combinations:
            self._finished = "every candidate of the space has been tried"
            return None
        running = {c.hash for c in (self._candidates[n] for n in self._trials)}
        for _ in range(self.options.max_repeats):
            trial = self.study.ask()
            candidate = self.context.space.suggest(trial, origin=self.name)
            trial.set_user_attr("hash", candidate.hash)
            trial.set_user_attr("label", candidate.label)
            previous = known.get(candidate.hash)
            if previous is not None or candidate.hash in running:
                trial.set_user_attr("repeat", True)
                if previous is not None and previous.state == TrialState.COMPLETE:
                    self.study.tell(trial, previous.values)
                else:
                    self.study.tell(trial, state=TrialState.PRUNED)
                continue
            if candidate.spec is not None:
                trial.set_user_attr("spec", candidate.spec.to_json(indent=None))
            self._candidates[trial.number] = candidate
            self._trials[trial.number] = trial
            return Proposal(candidate=candidate, ordered=True, key=trial.number)
        if not running:
            self._finished = (
                f"the sampler proposed {self.options.max_repeats} tried candidates in a row "
                f"({len(known)} of {self._combinations} tried); raise max_repeats to go on"
            )
        return None

    def finished(self) -> str | None:
        """Why the study stopped proposing: its trials are done, or the sampler repeats."""
        return getattr(self, "_finished", None)

    def report(self, proposal: Proposal, record: EvalRecord, step: int) -> bool:
        """Report each task's score; ask the pruner whether to stop."""
        if self.options.multi_objective:
            return False
        trial = self._trials[proposal.key]
        if self._wilcoxon:
            # Wilcoxon pairs trials by instance, so the step is the task's position.
            trial.report(record.score, step=self._step.get(record.task_id, step))
        else:
            scores = self._scores.setdefault(proposal.key, [])
            scores.append(record.score)
            trial.report(sum(scores) / len(scores), step=len(scores))
        return trial.should_prune()

    def tell(self, outcome: Outcome) -> None:
        """Finish the trial: its values, or pruned, or failed when the budget cut it short."""
        number = outcome.proposal.key
        trial = self._trials.pop(number)
        self._scores.pop(number, None)
        stats = outcome.stats
        trial.set_user_attr("cost_per_task", stats.cost_per_task)
        trial.set_user_attr("n_tasks", stats.n_tasks)
        ceiling = self.context.objective.max_cost_per_task
        if ceiling is not None:
            # Optuna's samplers read constraints off the trial (<= 0 is feasible).
            trial.set_constraint("cost_per_task", stats.cost_per_task - ceiling)
        if outcome.pruned:
            self.study.tell(trial, state=TrialState.PRUNED)
        elif not stats.complete:
            self.study.tell(trial, state=TrialState.FAIL)
        elif self.options.multi_objective:
            self.study.tell(trial, [stats.mean, stats.cost_per_task])
        else:
            value = self.context.objective.value(stats.mean, stats.cost_per_task)
            self.study.tell(trial, stats.mean if math.isinf(value) else value)

    # --- results ----------------------------------------------------------------------

    def _candidate(self, trial: FrozenTrial) -> Candidate | None:
        found = self._candidates.get(trial.number)
        if found is not None:
            return found
        spec = trial.user_attrs.get("spec")
        if spec is None:  # a candidate the space rebuilds from the trial's parameters
            try:
                fixed = optuna.trial.FixedTrial(trial.params)
                return self.context.space.suggest(fixed, origin=self.name)
            except (ValueError, KeyError):
                return None
        return Candidate(spec=WorkflowSpec.from_json(spec), origin=self.name)

    def front(self) -> list[str] | None:
        """Hashes of the study's Pareto front (``study.best_trials``) when multi-objective."""
        if not self.options.multi_objective:
            return None
        try:
            best = self.study.best_trials
        except ValueError:
            return None
        return [t.user_attrs["hash"] for t in best if "hash" in t.user_attrs]

    def handover(self, k: int = 5) -> Handover:
        """The ``k`` best complete trials' candidates."""
        complete = self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        order = ranked(
            complete, key=lambda t: (t.values[0],), tiebreak=lambda t: t.user_attrs.get("hash", "")
        )
        unique: dict[str, Candidate] = {}
        for trial in order:
            candidate = self._candidate(trial)
            if candidate is not None:
                unique.setdefault(candidate.hash, candidate)
        return Handover(candidates=list(unique.values())[:k])

    def plan(self, request: PlanRequest) -> list[StagePlan]:
        """``n_trials`` distinct candidates on every task at most; pruned ones on a few tasks."""
        options = self.options
        tasks = request.tasks
        n = min(options.n_trials, request.size)
        pruner = options.pruner
        pruning = not options.multi_objective and pruner not in (None, "none")
        if isinstance(pruner, str) or pruner is None:
            if pruner == "median":
                full, steps, how = 5, 5, "median pruning after 5 tasks (5 trials first)"
            elif pruner == "halving":
                full, steps, how = 1, 5, "successive-halving pruning from 5 tasks"
            else:
                full, steps = 1, max(5, tasks // 10)
                how = f"Wilcoxon pruning after {steps} tasks"
        else:
            full, steps, how = 1, 1, f"pruner {type(pruner).__name__}"
        # It may propose candidates it has tried already (served free by the store).
        distinct = max(1, min(n, options.n_startup_trials))
        if pruning:
            low = [tasks] * min(full, distinct) + [min(steps, tasks)] * max(0, distinct - full)
        else:
            low = [tasks] * distinct
            how = "no pruning"
        first = (
            f"generations of {max(8, min(50, options.n_trials // 3))}"
            if options.sampler == "nsga2"
            else f"{options.n_startup_trials} random first"
        )
        summary = f"{options.n_trials} trials ({first}), at most {n} distinct candidates; {how}"
        return [
            StagePlan(
                name=self.name,
                summary=summary,
                high_slots=(tasks,) * n,
                low_slots=tuple(low),
                proposals=options.n_trials,
            )
        ]
