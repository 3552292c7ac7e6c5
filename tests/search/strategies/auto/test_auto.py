"""``strategy="auto"``: finds the best candidate, stops with a stated reason, spends less."""

from search import Budget, Objective, SearchSpace
from search.runner import create_search
from search.strategies import AutoStrategy, get_strategy
from tests.search.strategies.helpers import POOL, run

SPACE = SearchSpace(
    topologies=["single", "self_refine", "vote_ensemble"],
    pool=POOL,
    fixed={
        "single": {"temperature": 0.0},
        "self_refine": {"rounds": 1, "plan": False},
        "vote_ensemble": {"n": 3, "weighted": False},
    },
)


def test_auto_is_the_default_strategy(tmp_path) -> None:
    search = create_search(space=SPACE, dataset="bundled:arithmetic", store=tmp_path / "a.db")
    assert search.strategy.name == "auto"


def test_finds_the_best_and_says_why_it_stopped(tmp_path) -> None:
    auto = run(tmp_path, AutoStrategy(), space=SPACE, store=tmp_path / "auto.db")
    grid = run(tmp_path, get_strategy("grid"), space=SPACE, store=tmp_path / "grid.db")
    assert auto.best is not None and grid.best is not None
    leader = auto.certificate.standing(auto.certificate.leader)
    assert "runner-ace" in leader.label  # the near-perfect model leads
    assert auto.stop_reason.startswith("strategy finished: every other candidate is out")
    assert "below the leader" in auto.stop_reason
    # It led with the winner after a fraction of the exhaustive table's evaluations ...
    found = next(step.evaluations for step in auto.history if step.best == leader.workflow)
    assert found < 0.25 * grid.evaluations
    # ... and never spent more than the table to be sure (ties are run to the end).
    assert auto.evaluations <= grid.evaluations


def test_never_completes_a_candidate_over_the_ceiling(tmp_path) -> None:
    ceiling = 0.0004  # under the premium model's price: the ace is out, cheap teams are in
    result = run(
        tmp_path,
        AutoStrategy(),
        space=SPACE,
        objective=Objective(max_cost_per_task=ceiling),
    )
    assert result.best_stats is not None and result.best_stats.cost_per_task <= ceiling
    # The single-agent baselines run on every task whatever they cost (search.baselines).
    over = [c for c in result.candidates if c.cost_per_task > 2 * ceiling and not c.baseline]
    assert over, "the space should hold candidates over the ceiling"
    tasks = max(c.n_tasks for c in result.candidates)
    assert all(c.n_tasks < tasks for c in over), "a candidate over the ceiling was run to the end"


def test_a_budget_stops_it_with_the_budget_as_reason(tmp_path) -> None:
    result = run(tmp_path, AutoStrategy(), space=SPACE, budget=Budget(evaluations=40))
    assert result.spend.evaluations <= 40
    assert "budget" in result.stop_reason


def test_the_search_prices_reach_its_worst_cases_so_a_priced_model_never_warns(tmp_path) -> None:
    import warnings

    from orchestrator import Price, PriceTable, SimChatModel
    from orchestrator.models import register_model

    # A model no built-in table prices, priced by the search: nothing may say it is unpriced.
    ref = register_model(SimChatModel(model="atlas-mini"), name="acme-auto:mini")
    space = SearchSpace(topologies=["single"], pool=[ref], fixed={"single": {"temperature": 0}})
    prices = PriceTable({ref: Price(input=0.15, output=0.6)}, on_missing="warn")
    search = create_search(
        space=space,
        dataset="bundled:arithmetic",
        store=tmp_path / "priced.db",
        prices=prices,
        budget=Budget(dollars=1.0),
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = search.run()
    assert result.best is not None
    assert [str(w.message) for w in caught if "no price" in str(w.message)] == []


def test_a_candidate_that_ties_the_leader_is_not_called_below_it() -> None:
    from types import SimpleNamespace

    from search.strategies.auto.strategy import _Arm

    auto = AutoStrategy()
    auto.context = SimpleNamespace(objective=Objective())  # only what _rule_out reads
    auto._tasks = ["t1", "t2"]
    same = {"t1": 1.0, "t2": 0.0}
    price = {"t1": 0.001, "t2": 0.001}
    leader, twin, worse = (
        _Arm(candidate=None, order=i, key=k, scores=dict(s), costs=dict(price))
        for i, (k, s) in enumerate([("a", same), ("b", same), ("c", {"t1": 0.0, "t2": 0.0})])
    )
    auto._arms = {arm.key: arm for arm in (leader, twin, worse)}
    auto._rule_out(leader)
    assert twin.out == "run on every task; tied with the leader, which wins the tie by its id"
    assert worse.out == "run on every task; below the leader"
