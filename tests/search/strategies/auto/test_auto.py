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
    # It led with a team of the near-perfect model after a fraction of the exhaustive table's
    # evaluations (its hedge races what it draws to the end, as random search does, so the
    # first may be a dearer team of it; the certificate ships the simplest within noise) ...
    labels = {c.workflow: c.label for c in auto.candidates}
    others = [m.removeprefix("sim:") for m in POOL if m != "sim:runner-ace"]
    found = next(
        step.evaluations
        for step in auto.history
        if step.best is not None and not any(m in labels[step.best] for m in others)
    )
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


# --- known-cost feasibility, the hedge, a proportionate stop ------------------------------

PREDICTED_OVER = "predicted over the cost ceiling"


def test_candidates_predicted_over_the_ceiling_are_never_run(tmp_path) -> None:
    ceiling = 0.0004
    objective = Objective(max_cost_per_task=ceiling)
    auto = AutoStrategy()
    result = run(tmp_path, auto, space=SPACE, objective=objective, store=tmp_path / "a.db")
    grid = run(tmp_path, get_strategy("grid"), space=SPACE, objective=objective)
    cost = {c.workflow: c.cost_per_task for c in grid.candidates}
    ruled = [a for a in auto._arms.values() if a.out.startswith(PREDICTED_OVER)]
    assert ruled, "worst case x scale should rule some candidates out unrun"
    assert all(a.n == 0 for a in ruled)  # not a single task paid for
    # Each is truly over the ceiling (the interval is wide enough for the scale's noise).
    assert all(cost[a.key] > ceiling for a in ruled)
    assert PREDICTED_OVER in result.stop_reason
    assert result.best_stats is not None and result.best_stats.cost_per_task <= ceiling


def test_a_third_of_proposals_hedge_among_those_predicted_feasible(tmp_path) -> None:
    ceiling = 0.0004
    auto = AutoStrategy()
    picks: list[tuple[str, bool]] = []
    choose = auto._hedge

    def recorded(waiting):
        chosen = choose(waiting)
        if chosen is not None:
            picks.append((chosen.key, auto._maybe_feasible(chosen)))
        return chosen

    auto._hedge = recorded
    result = run(tmp_path, auto, space=SPACE, objective=Objective(max_cost_per_task=ceiling))
    asked = sum(1 for step in result.history if step.stage == "auto")
    assert picks, "the hedge never chose"
    assert all(feasible for _, feasible in picks)  # never one predicted over the ceiling
    # Each draw is raced on, as random search runs what it draws: the same candidate again
    # until it is out, then a new one.
    drawn = [key for i, (key, _) in enumerate(picks) if i == 0 or picks[i - 1][0] != key]
    assert auto.hedged == len(drawn) == len(set(drawn)) < len(picks)
    assert 0.1 * asked <= len(picks) <= 0.5 * asked
    # And off means off.
    plain = AutoStrategy(hedge=0.0)
    run(tmp_path, plain, space=SPACE, objective=Objective(max_cost_per_task=ceiling))
    assert plain.hedged == 0


def test_the_hedge_draws_a_topology_first_as_random_search_does() -> None:
    import random
    from types import SimpleNamespace

    from search.strategies.auto.strategy import _Arm

    auto = AutoStrategy(hedge=0.99)
    auto.context = SimpleNamespace(rng=random.Random(0))  # only what _hedge reads
    auto._maybe_feasible = lambda arm: True
    auto.hedged = 0

    def draw(arms):
        auto._hedging = None  # each time a fresh draw, not the race of the last one
        return auto._hedge(arms)

    alone = _Arm(candidate=SimpleNamespace(topology="single"), order=0, key="alone")
    votes = [
        _Arm(candidate=SimpleNamespace(topology="vote_ensemble"), order=i, key=f"vote{i}")
        for i in range(1, 30)
    ]
    picks = [p for p in (draw([alone, *votes]) for _ in range(2000)) if p is not None]
    share = sum(p is alone for p in picks) / len(picks)
    # Half the draws go to the lone candidate's topology; uniformly it would get 1 in 30.
    assert 0.45 < share < 0.55
    assert {p.key for p in picks} == {"alone", *(v.key for v in votes)}


def test_a_near_tie_is_out_once_it_cannot_beat_the_leader_by_the_margin() -> None:
    from types import SimpleNamespace

    from search.strategies.auto.strategy import _Arm

    tasks = [f"t{i}" for i in range(80)]
    leader_scores = {t: float(i % 5 != 0) for i, t in enumerate(tasks)}  # 0.8
    # On 48 tasks, a challenger two tasks behind: not surely worse, but surely not better
    # by two points or more.
    near = {t: leader_scores[t] for t in tasks[:48]}
    near[tasks[1]] = near[tasks[2]] = 0.0
    price = dict.fromkeys(tasks, 0.001)
    verdicts = []
    for indifference in (0.0, 0.02):
        auto = AutoStrategy(indifference=indifference, futility=0.0)
        auto.context = SimpleNamespace(objective=Objective())
        auto._tasks = tasks
        leader = _Arm(candidate=None, order=0, key="a", scores=dict(leader_scores), costs=price)
        rival = _Arm(candidate=None, order=1, key="b", scores=dict(near), costs=dict(price))
        auto._arms = {"a": leader, "b": rival}
        auto._rule_out(leader)
        verdicts.append(rival.out)
    assert verdicts == ["", "cannot beat the leader by the indifference margin (paired)"]


def test_a_twin_of_the_leader_stops_once_the_tasks_left_cannot_set_it_clearly_above() -> None:
    from types import SimpleNamespace

    from search.strategies.auto.strategy import _Arm

    tasks = [f"t{i}" for i in range(80)]
    leader_scores = {t: float(i % 5 != 0) for i, t in enumerate(tasks)}
    price = dict.fromkeys(tasks, 0.001)

    def verdict(seen: int, futility: float, ahead: int = 0) -> str:
        auto = AutoStrategy(indifference=0.0, futility=futility)
        auto.context = SimpleNamespace(objective=Objective())
        auto._tasks = tasks
        twin = {t: leader_scores[t] for t in tasks[:seen]}
        for t in [t for t in tasks[:seen] if twin[t] == 0.0][:ahead]:
            twin[t] = 1.0  # right where the leader was wrong
        leader = _Arm(candidate=None, order=0, key="a", scores=dict(leader_scores), costs=price)
        rival = _Arm(candidate=None, order=1, key="b", scores=twin, costs=dict(price))
        auto._arms = {"a": leader, "b": rival}
        auto._rule_out(leader)
        return rival.out

    futile = "cannot come out clearly above the leader on the tasks left"
    # Equal on the probe: too few tasks to say; equal on 48 of 80: the 32 left cannot
    # set it clearly above. Switched off, only the paired bound (or the last task) decides.
    assert [verdict(6, 0.05), verdict(48, 0.05), verdict(48, 0.0)] == ["", futile, ""]
    # Ahead on the tasks so far, it races on.
    assert verdict(48, 0.05, ahead=4) == ""


def test_it_stops_sooner_once_the_leader_is_good_and_finds_the_same_one(tmp_path) -> None:
    proportionate = run(tmp_path, AutoStrategy(), space=SPACE, store=tmp_path / "p.db")
    exhaustive = run(
        tmp_path,
        AutoStrategy(indifference=0.0, futility=0.0),
        space=SPACE,
        store=tmp_path / "e.db",
    )
    assert proportionate.certificate.leader == exhaustive.certificate.leader
    assert proportionate.evaluations < exhaustive.evaluations


def test_of_two_that_may_beat_the_leader_the_cheaper_is_raced_first() -> None:
    import numpy as np

    gain = np.array([0.05, 0.05, 0.10, -0.01, -0.2])  # optimistic gain over the leader
    cost = np.array([0.004, 0.001, 0.004, 0.0001, np.nan])  # dollars a task (nan: unknown)
    ranked = AutoStrategy._per_dollar(gain, cost)
    order = [int(i) for i in np.argsort(-ranked)]
    assert order[:3] == [1, 2, 0]  # 0.05 at a quarter of the price beats 0.10 at full price
    assert order[3:] == [3, 4]  # one that may not beat the leader never jumps the queue
    assert (
        AutoStrategy().options.per_dollar and not AutoStrategy(per_dollar=False).options.per_dollar
    )
