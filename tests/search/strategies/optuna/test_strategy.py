"""The Optuna strategy through ask/tell: trials, repeats, pruning, fronts and constraints."""

import os

import optuna
import pytest
from optuna.trial import TrialState

from search.objective import Objective
from search.runner import create_search
from search.space import SearchSpace
from search.strategies import OptunaStrategy
from topologies import single

from ..helpers import DATA, POOL, TASKS, context, outcome, run, single_space

BEST = single(model=POOL[3]).hash
ACCURACY = {"sim:atlas-nano": 0.3, "sim:orca-small": 0.4, "sim:atlas-mini": 0.7}


def drive(strategy: OptunaStrategy, accuracy=None, *, cost=0.001) -> list:
    """Ask until done, telling each trial the model's (0/1) accuracy on every task."""
    asked = []
    while (proposal := strategy.ask()) is not None:
        rate = (accuracy or ACCURACY).get(proposal.candidate.params["model"], 1.0)
        scores = [1.0 if i < rate * len(TASKS) else 0.0 for i in range(len(TASKS))]
        strategy.tell(outcome(proposal, scores, cost=cost))
        asked.append(proposal)
    return asked


def test_each_trial_proposes_a_new_candidate_on_every_task_in_order():
    strategy = OptunaStrategy(n_trials=10, n_startup_trials=2, seed=0)
    strategy.setup(context(single_space()))
    asked = drive(strategy)
    assert len({p.candidate.hash for p in asked}) == len(asked) == 4  # repeats are not re-run
    assert all(p.ordered and p.tasks is None for p in asked)
    trials = strategy.study.get_trials(states=(TrialState.COMPLETE,))
    fresh = [t for t in trials if not t.user_attrs.get("repeat")]
    assert {t.user_attrs["hash"] for t in fresh} == {p.candidate.hash for p in asked}
    best = strategy.study.best_trial
    assert best.user_attrs["hash"] == BEST and best.value == 1.0


def test_the_wilcoxon_pruner_stops_a_clearly_worse_trial():
    strategy = OptunaStrategy(n_trials=4, seed=0, seeds=[{"topology": "single", "model": POOL[3]}])
    strategy.setup(context(single_space()))
    first = strategy.ask()
    done = outcome(first, [1.0] * len(TASKS))
    assert not any(strategy.report(first, r, i) for i, r in enumerate(done.records))
    strategy.tell(done)
    second = strategy.ask()
    verdicts = [
        strategy.report(second, record, step)
        for step, record in enumerate(outcome(second, [0.0] * len(TASKS)).records)
    ]
    assert any(verdicts) and not verdicts[0]  # only after its startup steps
    strategy.tell(outcome(second, [0.0] * (verdicts.index(True) + 1), pruned=True))
    assert strategy.study.trials[-1].state == TrialState.PRUNED


def test_multi_objective_front_comes_from_the_study():
    strategy = OptunaStrategy(n_trials=4, multi_objective=True, sampler="nsga2", seed=0)
    strategy.setup(context(single_space()))
    costs = {"sim:atlas-nano": 0.001, "sim:orca-small": 0.0005, "sim:atlas-mini": 0.002}
    while (proposal := strategy.ask()) is not None:
        model = proposal.candidate.params["model"]
        rate = ACCURACY.get(model, 1.0)
        scores = [1.0 if i < rate * len(TASKS) else 0.0 for i in range(len(TASKS))]
        strategy.tell(outcome(proposal, scores, cost=costs.get(model, 0.01)))
    front = set(strategy.front())
    assert BEST in front  # most accurate
    assert single(model="sim:orca-small").hash in front  # cheapest
    assert single(model="sim:atlas-nano").hash not in front  # dominated by orca


def test_a_cost_ceiling_is_an_optuna_constraint():
    strategy = OptunaStrategy(n_trials=4, seed=0)
    strategy.setup(context(single_space(), objective=Objective(max_cost_per_task=0.002)))
    drive(strategy, cost=0.003)
    constraints = [t.system_attrs.get("constraints") for t in strategy.study.trials]
    assert constraints and all(c == [pytest.approx(0.001)] for c in constraints if c)


def test_unknown_sampler_or_pruner_is_rejected():
    with pytest.raises(ValueError, match="unknown sampler"):
        OptunaStrategy(sampler="cma")
    with pytest.raises(ValueError, match="cannot prune multi-objective"):
        OptunaStrategy(multi_objective=True, pruner="wilcoxon")


def test_the_optuna_study_lives_in_the_store(tmp_path):
    run(tmp_path, "tpe", name="study", n_trials=5, n_startup_trials=2)
    study = optuna.load_study(study_name="study", storage=f"sqlite:///{tmp_path / 'rg.db'}")
    evaluated = [t for t in study.trials if not t.user_attrs.get("repeat")]
    labels = [t.user_attrs["label"] for t in evaluated]
    assert len(labels) == len(set(labels)) <= 5  # repeats are not re-evaluated
    spec = study.trials[0].user_attrs["spec"]
    assert "sim:" in spec and study.trials[0].user_attrs["label"].startswith("single(")


def test_seeds_are_tried_first(tmp_path):
    strategy = OptunaStrategy(n_trials=3, seeds=[{"topology": "single", "model": POOL[3]}])
    run(tmp_path, strategy, name="seeded")
    study = optuna.load_study(study_name="seeded", storage=f"sqlite:///{tmp_path / 'rg.db'}")
    assert study.trials[0].user_attrs["hash"] == BEST


def test_the_pruner_prunes_weak_candidates(tmp_path):
    strategy = OptunaStrategy(n_trials=12, n_startup_trials=4, pruner="halving")
    space = SearchSpace(
        topologies=["single", "plan_solve"], pool=POOL, fixed={"single": {"temperature": 0.0}}
    )
    result = create_search(
        space=space,
        dataset=DATA,
        strategy=strategy,
        seed=3,
        store=tmp_path / "rg.db",
        test_size=0.3,
    ).run()
    pruned = [c for c in result.candidates if c.pruned]
    assert pruned, "nothing was pruned"
    # Stopped before the end (those pruned late may finish the window that was running).
    assert any(not c.complete for c in pruned)
    # The strategy's own stage (the baselines every search runs come on top).
    assert result.stages["tpe"].evaluations < 12 * result.n_search_tasks


@pytest.mark.skipif(
    not os.environ.get("ROLEGRAPH_TEST_POSTGRES_URL"),
    reason="set ROLEGRAPH_TEST_POSTGRES_URL=postgresql://user:pw@host/db to run",
)
def test_workers_share_one_study_in_postgresql(tmp_path):
    url = os.environ["ROLEGRAPH_TEST_POSTGRES_URL"]
    name = f"pg-{tmp_path.name}"
    try:
        for worker, trials in enumerate((2, 4)):
            strategy = OptunaStrategy(n_trials=trials, storage=url, study_name=name)
            run(tmp_path, strategy, name=name, seed=worker)
        study = optuna.load_study(study_name=name, storage=url)
        assert sum(1 for t in study.trials if not t.user_attrs.get("repeat")) == 4
    finally:
        optuna.delete_study(study_name=name, storage=url)
