"""Edit operators: each named change does what it says and never leaves the space."""

import random

import pytest

from orchestrator import Workflow, WorkflowSpec
from search.space import Candidate, SearchSpace
from search.strategies.mcts.edits import (
    DEFAULT_OPERATORS,
    EditOperator,
    get_operator,
    list_operators,
    median_model,
    neighbours,
    shape_of,
)
from topologies import Integer, ModelSlot, SpaceError, Structure, topology

NANO, MINI, PRO = "sim:atlas-nano", "sim:atlas-mini", "sim:atlas-pro"
POOL = [NANO, MINI, PRO]
ALL = [
    "single",
    "plan_solve",
    "self_refine",
    "vote_ensemble",
    "best_of_n",
    "debate",
    "supervisor",
    "tree",
    "plan_execute_judge",
]


def space(topologies=ALL, pool=POOL, **fixed) -> SearchSpace:
    return SearchSpace(
        topologies=topologies, pool=pool, fixed={"single": {"temperature": 0.0}, **fixed}
    )


def apply(name, candidate, s):
    return {e.key: e.candidate for e in get_operator(name).apply(candidate, s)}


def test_add_and_remove_verifier_move_between_single_and_self_refine():
    s = space()
    start = s.candidate("single", {"model": MINI})
    added = apply("add_verifier", start, s)
    assert list(added) == [f"add_verifier(self_refine verifier={m})" for m in POOL]
    refined = added[f"add_verifier(self_refine verifier={PRO})"]
    assert refined.topology == "self_refine"
    assert refined.params["solver"] == MINI
    assert refined.params["verifier"] == refined.params["rectifier"] == PRO
    assert refined.params["plan"] is False and refined.params["rounds"] == 1
    assert [c.hash for c in apply("remove_verifier", refined, s).values()] == [start.hash]


def test_add_verifier_to_plan_solve_keeps_the_planner():
    s = space()
    planned = s.candidate("plan_solve", {"planner": PRO, "solver": NANO})
    added = apply("add_verifier", planned, s)
    refined = added[f"add_verifier(self_refine verifier={MINI})"]
    assert refined.params["plan"] is True and refined.params["planner"] == PRO
    judged = added[f"add_verifier(plan_execute_judge judge={MINI})"]
    assert judged.topology == "plan_execute_judge" and judged.params["judge"] == MINI
    assert [c.hash for c in apply("remove_verifier", refined, s).values()] == [planned.hash]
    assert planned.hash in {c.hash for c in apply("remove_verifier", judged, s).values()}


def test_loop_bound_edits_change_rounds_within_bounds():
    s = space()
    refined = s.candidate(
        "self_refine", {"solver": MINI, "verifier": PRO, "rectifier": PRO, "rounds": 2}
    )
    raised = apply("raise_loop_bound", refined, s)
    lowered = apply("lower_loop_bound", refined, s)
    assert [c.params["rounds"] for c in raised.values()] == [3]
    assert [c.params["rounds"] for c in lowered.values()] == [1]
    top = raised["raise_loop_bound(rounds=3)"]
    assert apply("raise_loop_bound", top, s) == {}  # 3 is the largest bound


def test_widen_and_narrow_ensemble_add_and_remove_one_member():
    s = space()
    team = s.candidate("vote_ensemble", {"n": 3, "models": [NANO, NANO, PRO]})
    wider = apply("widen_ensemble", team, s)
    assert {k: sorted(c.params["models"]) for k, c in wider.items()} == {
        f"widen_ensemble(models+{m})": sorted([NANO, NANO, PRO, m]) for m in POOL
    }
    assert all(c.params["n"] == 4 for c in wider.values())
    # At its smallest (n=3) a vote ensemble narrows to a single solver of one member.
    narrower = apply("narrow_ensemble", team, s)
    assert {c.label for c in narrower.values()} == {
        "single(model=atlas-nano, temperature=0.0)",
        "single(model=atlas-pro, temperature=0.0)",
    }
    four = wider[f"widen_ensemble(models+{MINI})"]
    back = apply("narrow_ensemble", four, s)
    assert team.hash in {c.hash for c in back.values()}


def test_widen_a_single_solver_into_an_ensemble_of_copies():
    s = space()
    start = s.candidate("single", {"model": NANO})
    wider = apply("widen_ensemble", start, s)
    vote = wider["widen_ensemble(vote_ensemble n=3)"]
    assert vote.params["models"] == [NANO] * 3
    best = wider["widen_ensemble(best_of_n n=2)"]
    assert best.params["models"] == [NANO] * 2 and best.params["judge"] == NANO


def test_swap_model_changes_exactly_one_slot_or_member():
    s = space()
    refined = s.candidate("self_refine", {"solver": MINI, "verifier": MINI, "rectifier": MINI})
    swaps = apply("swap_model", refined, s)
    assert len(swaps) == 3 * 2  # three slots, two other models each
    for child in swaps.values():
        changed = [k for k in ("solver", "verifier", "rectifier") if child.params[k] != MINI]
        assert len(changed) == 1
    team = s.candidate("vote_ensemble", {"n": 3, "models": [NANO, NANO, PRO]})
    members = apply("swap_model", team, s)
    assert sorted(members[f"swap_model(models:{NANO}->{MINI})"].params["models"]) == sorted(
        [NANO, MINI, PRO]
    )
    assert len(members) == 4  # nano -> mini/pro, pro -> nano/mini


def test_debate_rounds_and_the_vote_ensemble_bridge():
    s = space()
    vote = s.candidate("vote_ensemble", {"n": 3, "models": [NANO, MINI, PRO]})
    (debate,) = apply("add_debate_round", vote, s).values()
    assert debate.topology == "debate"
    assert debate.params["rounds"] == 1 and debate.params["aggregate"] == "vote"
    assert sorted(debate.params["models"]) == sorted(vote.params["models"])
    (deeper,) = apply("add_debate_round", debate, s).values()
    assert deeper.params["rounds"] == 2
    assert [c.hash for c in apply("remove_debate_round", deeper, s).values()] == [debate.hash]
    assert [c.hash for c in apply("remove_debate_round", debate, s).values()] == [vote.hash]


def test_add_and_remove_planner():
    s = space()
    start = s.candidate("single", {"model": MINI})
    planned = apply("add_planner", start, s)
    assert {c.params["planner"] for c in planned.values()} == set(POOL)
    assert all(c.params["solver"] == MINI for c in planned.values())
    one = planned[f"add_planner(plan_solve planner={PRO})"]
    assert [c.hash for c in apply("remove_planner", one, s).values()] == [start.hash]
    refined = s.candidate("self_refine", {"solver": MINI, "verifier": MINI, "rectifier": MINI})
    with_plan = apply("add_planner", refined, s)[f"add_planner(self_refine planner={NANO})"]
    assert with_plan.params["plan"] is True and with_plan.params["planner"] == NANO
    assert [c.hash for c in apply("remove_planner", with_plan, s).values()] == [refined.hash]
    tree = s.candidate("tree", {"depth": 1, "breadth": 2, "planner": MINI})
    assert [c.params["depth"] for c in apply("add_planner", tree, s).values()] == [2]


def test_replace_aggregator_swaps_vote_and_judge():
    s = space()
    vote = s.candidate("vote_ensemble", {"n": 3, "models": [NANO, NANO, MINI]})
    replaced = apply("replace_aggregator", vote, s)
    judged = replaced[f"replace_aggregator(best_of_n judge={PRO})"]
    assert judged.topology == "best_of_n" and judged.params["judge"] == PRO
    assert replaced["replace_aggregator(weighted=True)"].params["weighted"] is True
    assert [c.hash for c in apply("replace_aggregator", judged, s).values()] == [vote.hash]
    debate = s.candidate("debate", {"n": 2, "models": [NANO, MINI], "rounds": 1})
    by_judge = apply("replace_aggregator", debate, s)[f"replace_aggregator(debate judge={MINI})"]
    assert by_judge.params["aggregate"] == "judge" and by_judge.params["judge"] == MINI


def test_tune_setting_reaches_the_remaining_knobs():
    s = SearchSpace(topologies=["single"], pool=POOL)
    start = s.candidate("single", {"model": MINI, "temperature": 0.5})
    tuned = apply("tune_setting", start, s)
    assert sorted(c.params["temperature"] for c in tuned.values()) == [0.0, 1.0]


def test_edits_never_leave_the_space_and_reach_all_of_it():
    s = space(
        topologies=["single", "plan_solve", "self_refine", "vote_ensemble"],
        self_refine={"rounds": 1, "plan": False},
        vote_ensemble={"n": 3, "weighted": False},
    )
    grid = {c.hash for c in s.grid()}
    start = s.candidate("single", {"model": MINI})
    seen, frontier = {start.hash}, [start]
    while frontier:
        for edit in neighbours(frontier.pop(), s):
            assert edit.candidate.hash in grid, edit.key
            if edit.candidate.hash not in seen:
                seen.add(edit.candidate.hash)
                frontier.append(edit.candidate)
    assert seen == grid


def test_edits_respect_fixed_parameters_and_missing_topologies():
    s = space(topologies=["single", "self_refine"], self_refine={"rounds": 1})
    refined = s.candidate("self_refine", {"solver": MINI, "verifier": MINI, "rectifier": MINI})
    assert apply("raise_loop_bound", refined, s) == {}  # rounds is fixed
    assert apply("widen_ensemble", s.candidate("single", {"model": MINI}), s) == {}
    assert apply("add_planner", s.candidate("single", {"model": MINI}), s) == {}


def test_random_candidates_of_the_full_space_only_lead_inside_it():
    s = space()
    rng = random.Random(3)
    for _ in range(12):
        candidate = s.sample(rng)
        for edit in neighbours(candidate, s):
            assert edit.candidate.topology in s.topologies
            rebuilt = s.candidate(edit.candidate.topology, edit.candidate.params)
            assert rebuilt.hash == edit.candidate.hash  # a point of the space, as built
            assert edit.candidate.hash != candidate.hash


def test_neighbours_keep_one_edit_per_result_named_operators_first():
    s = space()
    refined = s.candidate(
        "self_refine", {"solver": MINI, "verifier": PRO, "rectifier": PRO, "rounds": 2}
    )
    edits = neighbours(refined, s)
    hashes = [e.candidate.hash for e in edits]
    assert len(hashes) == len(set(hashes))
    by_hash = {e.candidate.hash: e.operator for e in edits}
    lowered = next(iter(apply("lower_loop_bound", refined, s).values()))
    assert by_hash[lowered.hash] == "lower_loop_bound"  # not tune_setting's copy


def test_hand_designed_specs_get_graph_edits():
    spec = (
        Workflow("mine")
        .add_agent("solver", role="solver", model=NANO)
        .add_agent("check", role="verifier", model=NANO)
        .add_agent("fix", role="rectifier", model=NANO)
        .add_edge("solver", "check")
        .add_edge("check", "fix")
        .add_loop("fix", "check", max_rounds=2)
        .build()
    )
    s = SearchSpace(topologies=["single"], pool=[NANO, PRO], extra=[spec])
    start = Candidate(spec=spec)
    swaps = apply("swap_model", start, s)
    assert sorted(swaps) == [
        f"swap_model(check={PRO})",
        f"swap_model(fix={PRO})",
        f"swap_model(solver={PRO})",
    ]
    assert swaps[f"swap_model(fix={PRO})"].spec.agent("fix").model == PRO
    raised = apply("raise_loop_bound", start, s)
    assert [c.spec.loops[0].max_rounds for c in raised.values()] == [3]
    assert all(c.topology is None for c in [*swaps.values(), *raised.values()])


def test_a_custom_operator_and_the_registry():
    class Hotter(EditOperator):
        name = "hotter"
        description = "Raise a single solver's temperature."

        def apply(self, candidate, space):
            if candidate.topology != "single":
                return []
            params = {**candidate.params, "temperature": 1.0}
            edit = self.move(space, candidate, "single", params, "temperature=1.0")
            return [edit] if edit else []

    s = SearchSpace(topologies=["single"], pool=POOL)
    start = s.candidate("single", {"model": MINI, "temperature": 0.0})
    (edit,) = Hotter().apply(start, s)
    assert edit.key == "hotter(temperature=1.0)" and edit.candidate.params["temperature"] == 1.0
    assert Hotter().applicable(start, s)
    assert list_operators() == [op.name for op in DEFAULT_OPERATORS]
    with pytest.raises(KeyError, match="unknown edit operator"):
        get_operator("teleport")


def test_median_model_is_by_price():
    assert median_model(space()) == MINI
    assert median_model(space(pool=[PRO, NANO])) == NANO


def test_a_topology_a_user_registers_gets_structural_edits():
    """Edits read the declared structure, so a new topology joins in without edits code."""

    @topology(
        "critic_loop",
        space=[
            ModelSlot(name="writer"),
            ModelSlot(name="critic"),
            Integer(name="passes", low=1, high=3),
        ],
        structure=Structure(solver="writer", checker="critic", fixer="critic", loop="passes"),
        replace=True,
    )
    def critic_loop(*, writer: str = NANO, critic: str = PRO, passes: int = 1) -> WorkflowSpec:
        wf = Workflow("critic_loop")
        wf.add_agent("writer", role="solver", model=writer)
        wf.add_agent("critic", role="verifier", model=critic)
        wf.add_agent("fix", role="rectifier", model=critic)
        wf.add_edge("writer", "critic").add_edge("critic", "fix")
        wf.add_loop("fix", "critic", max_rounds=passes)
        return wf.build()

    s = space(["single", "critic_loop", "vote_ensemble"])
    start = s.candidate("single", {"model": MINI})
    added = apply("add_verifier", start, s)
    assert set(added) == {f"add_verifier(critic_loop critic={m})" for m in POOL}
    looped = added[f"add_verifier(critic_loop critic={PRO})"]
    assert looped.params == {"writer": MINI, "critic": PRO, "passes": 1}
    assert [c.hash for c in apply("remove_verifier", looped, s).values()] == [start.hash]
    assert [c.params["passes"] for c in apply("raise_loop_bound", looped, s).values()] == [2]
    assert shape_of(looped, s) == {"solver", "check"}
    # No team version of it is in the space: widening the loop offers nothing.
    assert apply("widen_ensemble", looped, s) == {}


def test_a_structure_that_names_no_parameter_is_rejected():
    with pytest.raises(SpaceError, match="not a parameter"):

        @topology("broken_shape", space=[ModelSlot(name="model")], structure={"solver": "m"})
        def broken(*, model: str = NANO) -> WorkflowSpec:
            return Workflow("b").add_agent("s", role="solver", model=model).build()

    with pytest.raises(SpaceError, match="must be a ModelSlot"):

        @topology(
            "typed_shape",
            space=[Integer(name="k", low=1, high=2)],
            structure={"solver": "k"},
        )
        def typed(*, k: int = 1) -> WorkflowSpec:
            return Workflow("t").add_agent("s", role="solver", model=NANO).build()
