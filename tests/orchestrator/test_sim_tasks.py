"""The simulator beyond one grammar: multiple choice, code, other wordings, bad questions."""

import pytest

from orchestrator.answers import normalize_answer
from orchestrator.sim import SimChatModel
from orchestrator.sim.behaviour import UnreadableTaskError
from orchestrator.sim.tasks import (
    arithmetic_tasks,
    choice_tasks,
    code_tasks,
    read_choices,
    read_problem,
    wrong_workings,
)
from search import Evaluator
from search.evaluation.datasets import load_dataset
from tests.orchestrator.test_sim import solve_prompt
from topologies import single


def test_choice_tasks_offer_the_right_count_and_the_tasks_own_wrong_workings():
    for task in choice_tasks(30, seed=2):
        _, choices = read_choices(task["question"])
        assert choices is not None and len(choices.values) == 4
        problem = read_problem(task["question"])
        assert choices.value(task["answer"]) == str(problem.answer)
        wrong = {str(w) for w in wrong_workings(problem) + wrong_workings(problem, slips=True)}
        others = set(choices.values) - {str(problem.answer)}
        assert len(others & wrong) >= 2, task["question"]


def test_code_tasks_canonical_solution_passes_and_a_misread_one_fails():
    task = code_tasks(5, seed=1)[3]
    space: dict = {}
    exec(task["answer"], space)  # the canonical solution is the simulator's own writing
    exec(task["metadata"]["test"], space)
    space["check"](space["solve"])
    wrong = (
        task["answer"].replace("+", "-", 1)
        if "+" in task["answer"]
        else "def solve(n):\n    return n"
    )
    exec(wrong, space)
    with pytest.raises(AssertionError):
        space["check"](space["solve"])


@pytest.mark.parametrize(
    ("tasks", "kind", "metric"),
    [
        (choice_tasks(150, seed=4), "multiple_choice", "choice"),
        (code_tasks(80, seed=4), "code", "pass@1"),
    ],
    ids=["multiple_choice", "code"],
)
def test_the_same_skill_model_answers_choices_and_code(tasks, kind, metric):
    dataset = load_dataset(tasks, kind=kind)
    scores = {
        model: Evaluator(dataset, metric, store=None, cache_calls=False)
        .evaluate(single(model=f"sim:{model}"))
        .score.mean
        for model in ("atlas-nano", "atlas-pro")
    }
    assert 0.6 < scores["atlas-nano"] < scores["atlas-pro"] <= 1.0, scores


def test_a_reply_is_a_letter_or_a_program_in_the_tasks_own_form():
    mc = choice_tasks(1, seed=5)[0]
    from orchestrator.roles import RoleInputs, get_role

    reply = SimChatModel(model="atlas-pro").invoke(
        get_role("solver").render(RoleInputs(question=mc["question"], kind="multiple_choice"))
    )
    assert '"answer": "' + mc["answer"] + '"' in reply.content
    code = code_tasks(1, seed=5)[0]
    reply = SimChatModel(model="atlas-pro").invoke(
        get_role("solver").render(RoleInputs(question=code["question"], kind="code"))
    )
    assert "def solve(n: int) -> int:" in reply.content


def test_the_grammar_reads_other_tenses_and_separators():
    task = arithmetic_tasks(1, seed=9)[0]
    past = task["question"].replace(" has ", " had ", 1)
    assert str(read_problem(past).answer) == task["answer"]
    assert read_problem("Ava has 1,200 coins. Ava loses 200 coins. How many?").answer == 1000


def test_a_question_the_simulator_cannot_read_is_an_error_not_a_guess():
    with pytest.raises(UnreadableTaskError, match="cannot read this question: 'Who wrote"):
        SimChatModel(model="atlas-mini").invoke(solve_prompt("Who wrote Hamlet?"))


def test_programs_that_differ_only_in_an_operator_are_different_answers():
    plus = "def solve(n):\n    n = n + 5\n    return n"
    assert normalize_answer(plus) != normalize_answer(plus.replace("+", "-"))
    assert normalize_answer(plus + "   \n\n") == normalize_answer(plus)
    assert normalize_answer("42.0") == "42"
