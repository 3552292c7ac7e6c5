"""Bandit racing, driven directly through ask/tell with known scores."""

import pytest

from search.objective import Objective
from search.runner import create_search
from search.strategies import BanditStrategy
from topologies import single

from .helpers import DATA, POOL, TASKS, context, outcome, single_space

BEST = single(model=POOL[3]).hash

NANO, ORCA, MINI, PRO = single_space().pool.models
ACCURACY = {NANO: 0.2, ORCA: 0.4, MINI: 0.7, PRO: 1.0}


def scores(model: str, n: int) -> list[float]:
    """Deterministic 0/1 scores with the model's accuracy (every k-th task wrong)."""
    rate = ACCURACY[model]
    return [1.0 if (i * rate) % 1.0 + rate >= 1.0 else 0.0 for i in range(n)]


def race(strategy: BanditStrategy, *, cost: dict[str, float] | None = None) -> list:
    asked = []
    while (proposal := strategy.ask()) is not None:
        model = proposal.candidate.params["model"]
        done = strategy.arms[proposal.candidate.hash].n
        batch = scores(model, done + len(proposal.tasks))[done:]
        strategy.tell(outcome(proposal, batch, cost=(cost or {}).get(model, 0.001)))
        asked.append(proposal)
    return asked


def test_batches_follow_the_shared_task_order_and_end_when_the_leader_saw_every_task():
    bandit = BanditStrategy(min_tasks=4, batch=2)
    bandit.setup(context(single_space()))
    asked = race(bandit)
    ids = [t.id for t in TASKS]
    for proposal in asked:
        assert (
            proposal.ordered
            and list(proposal.tasks) == ids[ids.index(proposal.tasks[0]) :][: len(proposal.tasks)]
        )
    best = max(bandit.arms.values(), key=lambda arm: arm.mean)
    assert best.candidate.params["model"] == PRO and best.n == len(TASKS)
    assert sum(arm.n for arm in bandit.arms.values()) < 4 * len(TASKS)


def test_an_arm_whose_interval_falls_below_the_best_is_put_out():
    bandit = BanditStrategy(min_tasks=10, batch=10, eta=2)
    bandit.setup(context(single_space()))
    race(bandit)
    out = {arm.candidate.params["model"]: arm for arm in bandit.arms.values() if not arm.alive}
    assert NANO in out and "interval below" in out[NANO].out_reason
    assert all(arm.alive for arm in bandit.arms.values() if arm.candidate.params["model"] == PRO)


def test_an_arm_over_the_cost_ceiling_is_put_out_at_once():
    bandit = BanditStrategy(min_tasks=4, batch=4)
    bandit.setup(context(single_space(), objective=Objective(max_cost_per_task=0.01)))
    race(bandit, cost={PRO: 0.05})
    pro = next(arm for arm in bandit.arms.values() if arm.candidate.params["model"] == PRO)
    assert not pro.alive and pro.n == 4 and "over the ceiling" in pro.out_reason


def test_thompson_draws_are_seeded():
    picks = []
    for _ in range(2):
        bandit = BanditStrategy(policy="thompson", min_tasks=4, batch=2)
        bandit.setup(context(single_space()))
        picks.append([p.candidate.hash for p in race(bandit)])
    assert picks[0] == picks[1]


@pytest.mark.parametrize("bad", [{"arms": 1}, {"batch": 0}, {"eta": 1}, {"policy": "greedy"}])
def test_bad_settings_are_rejected(bad):
    with pytest.raises(ValueError):
        BanditStrategy(**bad)


def test_racing_drops_clearly_worse_candidates_and_keeps_the_best(tmp_path):
    bandit = BanditStrategy(min_tasks=6, batch=3)
    search = create_search(
        space=single_space(), dataset=DATA, strategy=bandit, store=tmp_path / "rg.db"
    )
    result = search.run()
    arms = {arm.candidate.hash: arm for arm in bandit.arms.values()}
    assert arms[BEST].alive and arms[BEST].n == result.n_search_tasks
    out = [arm for arm in arms.values() if not arm.alive]
    assert out and all(arm.n < result.n_search_tasks for arm in out)
    # The race's own evaluations; the baselines then complete every single (search.baselines).
    raced = sum(
        spend.evaluations for stage, spend in result.stages.items() if stage != "baselines"
    )
    assert raced < len(arms) * result.n_search_tasks
