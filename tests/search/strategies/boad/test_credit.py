"""Component credit: UCB1 arm selection, helpfulness from traces, and the BOAD strategy."""

import math

import pytest

from orchestrator import register_model
from orchestrator.answers import normalize_answer
from orchestrator.testing import FaultyChatModel
from orchestrator.trace import NodeTrace
from search.objective import Objective
from search.runner import create_search
from search.settings import SearchSettings
from search.space import SearchSpace
from search.store import EvalRecord
from search.strategies import BOADStrategy, KnapsackStrategy, get_strategy
from search.strategies.boad.credit import (
    CreditLedger,
    TaskCredit,
    credit_record,
    select_arms,
    ucb_scores,
)

DATA = "bundled:arithmetic"
POOL = ["sim:atlas-nano", "sim:lynx-small", "sim:orca-small", "sim:atlas-mini"]
BROKEN = register_model(
    FaultyChatModel(faults={"": ["garbage"]}, model_name="credit-broken"),
    name="test:credit-broken",
)


# --- UCB1 ---------------------------------------------------------------------------------


def test_untried_arms_come_first_in_pool_order():
    h = {"a": 9.0, "c": 9.0}
    n = {"a": 10, "b": 0, "c": 10, "d": 0}
    assert select_arms(["a", "b", "c", "d"], h, n, t=5, k=2) == ["b", "d"]
    assert select_arms(["a", "b", "c", "d"], h, n, t=5, k=3) == ["b", "d", "a"]  # tie: earlier


def test_then_the_highest_upper_confidence_bound():
    h = {"sure": 6.0, "hopeful": 1.0, "poor": 0.0}
    n = {"sure": 10, "hopeful": 2, "poor": 10}
    t = 6
    scores = ucb_scores(h, n, t)
    assert scores["sure"] == pytest.approx(0.6 + math.sqrt(2 * math.log(6) / 10))
    assert scores["hopeful"] == pytest.approx(0.5 + math.sqrt(2 * math.log(6) / 2))
    # The less-tried arm's bonus outweighs its lower mean; without exploration it does not.
    assert select_arms(list(h), h, n, t, k=1) == ["hopeful"]
    assert select_arms(list(h), h, n, t, k=1, exploration=0.0) == ["sure"]
    assert select_arms(list(h), h, n, t, k=3) == ["hopeful", "sure", "poor"]


def test_every_chosen_arm_counts_the_tasks_even_when_not_invoked():
    ledger = CreditLedger(["a", "b", "c"])
    credit = TaskCredit(
        task_id="t",
        team_score=1.0,
        answers={"a": "4"},
        pivotal={"a": 1.0},  # b was chosen but never ran: no credit, still counted
        share={"a": 1.0},
        importance={"a": 1.0},
    )
    ledger.update(["a", "b"], [credit, credit, credit])
    assert ledger.n == {"a": 3, "b": 3, "c": 0}
    assert ledger.h == {"a": 3.0, "b": 0.0, "c": 0.0}
    assert ledger.t == 1
    assert ledger.select(1) == ["c"]  # untried first
    assert [s.arm for s in ledger.ranking()] == ["a", "b", "c"]


# --- credit from traces -------------------------------------------------------------------


def node(agent, model, answer, *, role="solver", confidence=None, output=None):
    return NodeTrace(
        agent=agent,
        role=role,
        model=model,
        step=1,
        answer=answer,
        confidence=confidence,
        output=output or {},
    )


def vote_record(answers, final, *, expected="4", weighted=False, confidences=None):
    members = [
        node(f"solver{i + 1}", model, answer, confidence=(confidences or {}).get(model))
        for i, (model, answer) in enumerate(answers)
    ]
    vote = node("vote", None, final, role="vote", output={"weighted": weighted})
    return EvalRecord(
        workflow="w",
        dataset="d",
        task_id="t1",
        settings="s",
        score=1.0 if final == expected else 0.0,
        answer=final,
        expected=expected,
        trace=(*members, vote),
    )


def right(answer):
    return normalize_answer(answer) == "4"


def credit(record, arms=("a", "b", "c")):
    return credit_record(record, list(arms), is_right=right)


def test_two_right_of_three_share_the_credit_and_are_each_half_pivotal():
    c = credit(vote_record([("a", "4"), ("b", "4"), ("c", "5")], "4"))
    # Without a, b's 4 and c's 5 tie: the team would be right half the time.
    assert c.pivotal == {"a": 0.5, "b": 0.5, "c": 0.0}
    assert c.share == {"a": 0.5, "b": 0.5, "c": 0.0}
    assert c.importance == c.share


def test_a_lone_right_answer_that_carries_the_vote_is_fully_pivotal():
    c = credit(vote_record([("a", "4"), ("b", "5"), ("c", "6")], "4"))
    assert c.pivotal == {"a": 1.0, "b": 0.0, "c": 0.0}
    assert c.share["a"] == 1.0


def test_redundant_right_answers_are_not_pivotal():
    c = credit(vote_record([("a", "4"), ("b", "4"), ("c", "4.0")], "4"))
    assert c.pivotal == {"a": 0.0, "b": 0.0, "c": 0.0}
    assert c.share == pytest.approx({"a": 1 / 3, "b": 1 / 3, "c": 1 / 3})


def test_a_wrong_team_earns_nothing_but_dylan_importance_follows_its_answer():
    c = credit(vote_record([("a", "4"), ("b", "5"), ("c", "5")], "5"))
    assert c.team_score == 0.0
    assert c.pivotal == {"a": 0.0, "b": 0.0, "c": 0.0}
    assert c.share == {"a": 0.0, "b": 0.0, "c": 0.0}
    assert c.importance == {"a": 0.0, "b": 0.5, "c": 0.5}  # unsupervised: the team's answer


def test_confidence_weighted_votes_are_recounted_with_their_weights():
    record = vote_record(
        [("a", "4"), ("b", "4"), ("c", "5")],
        "4",
        weighted=True,
        confidences={"a": 0.9, "b": 0.2, "c": 0.5},
    )
    c = credit(record)
    assert c.pivotal == {"a": 1.0, "b": 0.0, "c": 0.0}  # without a, c's 0.5 beats b's 0.2
    assert c.share == pytest.approx({"a": 0.9 / 1.1, "b": 0.2 / 1.1, "c": 0.0})


def test_a_judge_that_turns_a_wrong_majority_right_credits_the_right_member_only():
    members = [node("candidate1", "a", "4"), node("candidate2", "b", "5")]
    members.append(node("candidate3", "c", "5"))
    judge = node("judge", "a", "4", role="judge")  # a also judges: that earns it nothing
    record = EvalRecord(
        workflow="w",
        dataset="d",
        task_id="t1",
        settings="s",
        score=1.0,
        answer="4",
        expected="4",
        trace=(*members, judge),
    )
    c = credit(record)
    assert c.pivotal == {"a": 1.0, "b": 0.0, "c": 0.0}


def test_an_arm_with_several_members_votes_as_one_and_is_removed_as_one():
    record = vote_record([("a", "4"), ("a", "4"), ("b", "5")], "4")
    c = credit(record, arms=("a", "b"))
    assert c.answers == {"a": "4", "b": "5"}
    assert c.pivotal == {"a": 1.0, "b": 0.0}
    assert c.share == {"a": 1.0, "b": 0.0}


def test_a_failed_run_credits_nobody():
    record = EvalRecord(
        workflow="w",
        dataset="d",
        task_id="t1",
        settings="s",
        score=0.0,
        failed=True,
        error="boom",
        trace=(node("solver1", "a", "4"),),
    )
    c = credit(record)
    assert c.team_score == 0.0 and not any(c.pivotal.values()) and not any(c.share.values())


# --- the strategy -------------------------------------------------------------------------


def boad_search(tmp_path, pool, **options):
    strategy = BOADStrategy(**options)
    search = create_search(
        space=SearchSpace(topologies=["vote_ensemble"], pool=pool),
        dataset=DATA,
        strategy=strategy,
        store=tmp_path / "rg.db",
        settings=SearchSettings(finalists=0),
        seed=2,
    )
    return strategy, search.run()


def test_boad_tries_every_arm_counts_every_chosen_task_and_keeps_the_broken_one_out(tmp_path):
    pool = [*POOL, BROKEN]
    strategy, result = boad_search(tmp_path, pool, iterations=6, batch=6)
    stats = {s.arm: s for s in strategy.arm_stats()}
    assert all(s.n > 0 for s in stats.values())
    assert sum(s.n for s in stats.values()) == 6 * 3 * 6  # iterations x k x batch
    assert sum(s.pulls for s in stats.values()) == 6 * 3
    assert stats[BROKEN].helpful == 0.0 and stats[BROKEN].n > 0  # chosen, never helpful
    top = strategy.top_arms()
    assert BROKEN not in top and len(top) == 3
    handed = strategy.handover()
    assert handed.space.pool.models == [m for m in pool if m in top]
    final = handed.candidates[0]
    assert final.topology == "vote_ensemble" and sorted(final.params["models"]) == sorted(top)
    # The final team is evaluated in full (what ships is the simplest within noise of it).
    assert next(c for c in result.candidates if c.workflow == final.hash).complete
    assert result.best is not None


def test_the_team_topology_follows_the_space(tmp_path):
    strategy, _ = boad_search(tmp_path, POOL, iterations=2, batch=3, final=False)
    assert strategy.topology == "vote_ensemble"
    space = SearchSpace(topologies=["single", "best_of_n"], pool=POOL)
    boad = BOADStrategy(iterations=2, batch=3, final=False)
    create_search(
        space=space,
        dataset=DATA,
        strategy=boad,
        store=tmp_path / "b.db",
        settings=SearchSettings(finalists=0),
    ).run()
    assert boad.topology == "best_of_n"
    team = boad.build_team(["sim:lynx-small", "sim:atlas-nano", "sim:orca-small"])
    assert team.params["judge"] == "sim:lynx-small"  # the top arm judges


def test_a_team_that_cannot_take_k_members_fails_before_spending(tmp_path):
    search = create_search(
        space=SearchSpace(topologies=["vote_ensemble"], pool=POOL),
        dataset=DATA,
        strategy=BOADStrategy(k=2),
        store=tmp_path / "rg.db",
    )
    with pytest.raises(ValueError, match="k=2"):
        search.run()
    assert search.evaluations == 0


def test_knapsack_then_boad_credits_only_admitted_components(tmp_path):
    strategy = get_strategy(
        "knapsack+boad", knapsack__order="pool", boad__iterations=3, boad__batch=4
    )
    result = create_search(
        space=SearchSpace(topologies=["vote_ensemble"], pool=[BROKEN, *POOL]),
        dataset=DATA,
        strategy=strategy,
        store=tmp_path / "rg.db",
        objective=Objective(max_cost_per_task=0.001),
        settings=SearchSettings(finalists=0),
        seed=1,
    ).run()
    knapsack, boad = strategy.stages
    assert isinstance(knapsack, KnapsackStrategy) and isinstance(boad, BOADStrategy)
    assert BROKEN in knapsack.broken
    assert boad.arms == knapsack.selected()
    assert result.best is not None
