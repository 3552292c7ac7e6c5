"""Proposers: rules pick seeded edits; a chat model's pick is parsed leniently or replaced."""

import json
import random
import re

import pytest

from orchestrator.budget import BudgetLedger
from orchestrator.testing import ScriptedChatModel
from search.evaluation.datasets import bundled_dataset
from search.objective import Objective
from search.space import SearchSpace
from search.strategies.base import SearchContext
from search.strategies.mcts.edits import Experience, neighbours
from search.strategies.mcts.proposers import (
    CreditProposer,
    EditRequest,
    LLMProposer,
    RuleProposer,
    match_edit,
)

NANO, MINI, PRO = "sim:atlas-nano", "sim:atlas-mini", "sim:atlas-pro"
SPACE = SearchSpace(
    topologies=["single", "plan_solve", "self_refine"],
    pool=[NANO, MINI, PRO],
    fixed={"single": {"temperature": 0.0}, "self_refine": {"rounds": 1}},
)
START = SPACE.candidate("single", {"model": MINI})
EDITS = tuple(neighbours(START, SPACE))
KEYS = [edit.key for edit in EDITS]


def request(**kw) -> EditRequest:
    return EditRequest(
        candidate=START,
        score=0.9,
        mean=0.9,
        cost_per_task=0.0002,
        n_tasks=28,
        edits=kw.pop("edits", EDITS),
        operators={"add_verifier": "Check the answer.", "swap_model": "Another model."},
        **kw,
    )


def proposer(replies, **kw) -> tuple[LLMProposer, ScriptedChatModel]:
    model = ScriptedChatModel(replies=replies)
    return LLMProposer(model, **kw), model


def test_rule_proposers_pick_seeded_or_ordered_edits():
    ordered = RuleProposer("ordered").choose(request(), random.Random(0))
    assert ordered.edit == KEYS[0] and ordered.proposer == "ordered"
    picks = {RuleProposer().choose(request(), random.Random(seed)).edit for seed in range(20)}
    assert picks <= set(KEYS) and len(picks) > 1
    assert RuleProposer().choose(request(), random.Random(4)) == RuleProposer().choose(
        request(), random.Random(4)
    )
    with pytest.raises(ValueError, match="order"):
        RuleProposer("greedy")


def tried(key: str, before: float, after: float) -> Experience:
    outcome = "improved" if after > before else "failed"
    return Experience(edit=key, operator=key.split("(")[0], before=before, after=after,
                      outcome=outcome)  # fmt: skip


def test_the_credit_proposer_prefers_edits_that_paid_elsewhere_in_the_tree():
    good, bad = KEYS[0], KEYS[1]
    history = (tried(good, 0.80, 0.86), tried(good, 0.70, 0.74), tried(bad, 0.9, 0.8))
    credit = CreditProposer(exploration=0.0)
    assert credit.gains(history) == {good: [pytest.approx(0.06), pytest.approx(0.04)],
                                     bad: [pytest.approx(-0.1)]}  # fmt: skip
    assert credit.choose(request(history=history), random.Random(0)).edit == good
    # An infeasible child (reward -1) counts as a clipped loss, not as -1.9.
    clipped = CreditProposer(clip=0.05).gains((tried(bad, 0.9, -1.0),))
    assert clipped == {bad: [pytest.approx(-0.05)]}


def test_the_credit_proposer_explores_untried_edits_over_ones_that_lost():
    history = tuple(tried(key, 0.9, 0.85) for key in KEYS[:-1])  # all lost but the last
    pick = CreditProposer(exploration=0.02).choose(request(history=history), random.Random(0))
    assert pick.edit == KEYS[-1] and pick.proposer == "credit"
    # Without history it is a seeded random pick among equals.
    picks = {CreditProposer().choose(request(), random.Random(s)).edit for s in range(20)}
    assert len(picks) > 1


def test_a_valid_json_reply_chooses_that_edit_and_is_prompted_with_the_workflow():
    key = f"add_verifier(self_refine verifier={PRO})"
    prompts = []

    def reply(prompt):
        prompts.append(prompt)
        return f'Sure.\n```json\n{{"edit": "{key}", "reason": "a strong verifier"}}\n```'

    llm, model = proposer(reply)
    choice = llm.choose(request(), random.Random(0))
    assert (choice.edit, choice.proposer, choice.reason, choice.fallback) == (
        key,
        "llm",
        "a strong verifier",
        False,
    )
    prompt = prompts[0]
    assert START.label in prompt and "flowchart" in prompt  # label and Mermaid diagram
    assert all(k in prompt for k in KEYS)
    assert "add_verifier: Check the answer." in prompt
    assert model.calls == llm.calls == 1 and llm.usage.total_tokens > 0 and llm.cost > 0


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ('{"edit": 2, "reason": "second"}', KEYS[1]),
        ("edit: 3", KEYS[2]),
        (f"I would apply {KEYS[-1]} because it is cheap.", KEYS[-1]),
        ('{"edit": "swap_model", "reason": "use atlas-pro instead"}', f"swap_model(model={PRO})"),
        (f'{{"edit": "{KEYS[0].upper()}"}}', KEYS[0]),
    ],
)
def test_replies_are_parsed_leniently(reply, expected):
    llm, _ = proposer([reply])
    choice = llm.choose(request(), random.Random(0))
    assert choice.edit == expected and not choice.fallback


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        ("I cannot help with that.", "no edit could be read"),
        ('{"edit": "teleport(workflow=moon)"}', "not an offered edit"),
        ('{"edit": 99}', "outside 1.."),
        ("", "no edit could be read"),
    ],
)
def test_an_unusable_reply_falls_back_and_says_why(reply, why):
    llm, _ = proposer([reply])
    choice = llm.choose(request(), random.Random(0))
    assert choice.fallback and choice.edit in KEYS
    assert why in choice.reason and why in llm.fallbacks[-1]
    assert choice.proposer == "random"


def test_an_edit_outside_the_applicable_set_is_never_chosen():
    tried = f"add_verifier(self_refine verifier={NANO})"
    open_edits = tuple(e for e in EDITS if e.key != tried)
    experience = (
        Experience(
            edit=tried,
            operator="add_verifier",
            before=0.9,
            after=0.7,
            outcome="failed",
        ),
    )
    prompts = []

    def reply(prompt):
        prompts.append(prompt)
        return json.dumps({"edit": tried, "reason": "try again"})

    llm, _ = proposer(reply)
    for seed in range(5):
        choice = llm.choose(request(edits=open_edits, experience=experience), random.Random(seed))
        assert choice.edit != tried and choice.edit in {e.key for e in open_edits}
        assert choice.fallback
    assert f"Absolutely prohibit: {tried}" in prompts[0]
    assert tried not in prompts[0].split("Edits you may choose")[1].split("Edits already")[0]


def test_model_errors_and_the_budget_fall_back():
    def broken(prompt):
        raise RuntimeError("provider down")

    llm, _ = proposer(broken)
    choice = llm.choose(request(), random.Random(0))
    assert choice.fallback and "model error: RuntimeError: provider down" in choice.reason

    ledger = BudgetLedger(calls=1)
    llm, model = proposer(['{"edit": 1}'])
    data = bundled_dataset("arithmetic", n=6, seed=0)
    llm.setup(
        SearchContext(
            space=SPACE,
            tasks=data.tasks,
            objective=Objective(),
            rng=random.Random(0),
            ledger=ledger,
            stats=lambda c: None,
        )
    )
    first = llm.choose(request(), random.Random(0))
    second = llm.choose(request(), random.Random(0))
    assert not first.fallback and ledger.spent.calls == 1 and ledger.spent.dollars > 0
    assert second.fallback and second.reason.startswith("fallback (budget")
    assert model.calls == 1


def test_many_edits_are_sampled_down_for_the_prompt():
    prompts = []

    def reply(prompt):
        prompts.append(prompt)
        return '{"edit": 1}'

    llm, _ = proposer(reply, max_options=3, diagram=False)
    choice = llm.choose(request(), random.Random(0))
    listed = re.findall(r"^\d+\. (.+?) ->", prompts[0], re.MULTILINE)
    assert len(listed) == 3 and set(listed) <= set(KEYS)
    assert choice.edit == listed[0]
    assert "flowchart" not in prompts[0]


def test_match_edit_narrows_an_operator_by_the_model_it_brings_in():
    key, _ = match_edit("add_verifier with atlas-nano", EDITS, random.Random(0), parent=START)
    assert key == f"add_verifier(self_refine verifier={NANO})"
    assert match_edit("nothing", (), random.Random(0)) == (None, "no edit to choose from")


def test_a_proposer_call_that_times_out_is_charged_its_hold_like_an_agents():
    # One budget rule for every model call (orchestrator.metering): a call cut off after it
    # was sent may be billed, so its whole hold is charged, not released.
    def slow(prompt):
        raise TimeoutError("no reply in time")

    ledger = BudgetLedger(dollars=1.0)
    llm, _ = proposer(slow)
    data = bundled_dataset("arithmetic", n=6, seed=0)
    llm.setup(
        SearchContext(
            space=SPACE,
            tasks=data.tasks,
            objective=Objective(),
            rng=random.Random(0),
            ledger=ledger,
            stats=lambda c: None,
        )
    )
    choice = llm.choose(request(), random.Random(0))
    assert choice.fallback and "TimeoutError" in choice.reason
    assert ledger.spent.calls == 1 and ledger.spent.dollars > 0
    assert ledger.spent.tokens >= llm.max_output_tokens
