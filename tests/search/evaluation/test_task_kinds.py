"""Evaluating multiple-choice and code tasks: the kind's prompts, the metric and its reasons."""

import json

import pytest

from orchestrator import Agent, Workflow, WorkflowSpec
from orchestrator.testing import ScriptedChatModel
from search.evaluation import DatasetError, Evaluator, load_dataset
from search.evaluation.benchmark_metrics import PassAt1
from search.evaluation.sandbox import SandboxLimits

ADD_TEST = (
    "def check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(0, 0) == 0\n"
)
ADD_PROMPT = 'def add(a: int, b: int) -> int:\n    """Return the sum of a and b."""\n'
GOOD = "def add(a: int, b: int) -> int:\n    return a + b"
BUGGY = "def add(a: int, b: int) -> int:\n    return a - b"


def code_tasks(*programs: tuple[str, str]) -> list[dict]:
    return [
        {
            "id": name,
            "question": f"{ADD_PROMPT}    # {name}\n",
            "answer": GOOD,
            "test": ADD_TEST,
            "entry_point": "add",
        }
        for name, _ in programs
    ]


def reply(answer: str, confidence: float = 0.8) -> str:
    return json.dumps({"answer": answer, "confidence": confidence})


def pass_at_1(timeout_s: float = 5.0) -> PassAt1:
    return PassAt1(limits=SandboxLimits(timeout_s=timeout_s), max_parallel=4)


def test_multiple_choice_prompts_parse_and_score():
    data = load_dataset(
        [
            {
                "id": "p",
                "question": "Which is prime?",
                "options": ["4", "6", "7", "9"],
                "answer": 2,
            },
            {
                "id": "e",
                "question": "Which is even?",
                "options": ["3", "8", "5", "9"],
                "answer": 1,
            },
        ],
        choices="options",
    )
    answers = {"prime": "(C)", "even": "The answer is A"}
    model = ScriptedChatModel(
        replies=lambda prompt: reply(next(v for k, v in answers.items() if k in prompt))
    )
    spec = WorkflowSpec(agents=[Agent(name="solver", role="solver", model=model)])
    summary = Evaluator(data, "mmlu", record_prompts=True).evaluate(spec)
    prime, even = summary.records
    assert (prime.score, even.score) == (1.0, 0.0)
    prompt = prime.trace[0].prompt[-1]["content"]
    assert prompt.startswith("Task: solve the multiple-choice question.")
    assert "Which is prime?\n\nA. 4\nB. 6\nC. 7\nD. 9" in prompt
    assert '"answer": "<the letter of the correct choice>"' in prompt
    assert not even.failed and even.error == "chose A, expected B" and even.error_type == "wrong"


def test_a_code_team_uses_the_code_prompts_of_every_role():
    prompts: dict[str, str] = {}

    def coder(prompt: str) -> str:
        task = prompt.splitlines()[0]
        prompts.setdefault(task, prompt)
        if task.startswith("Task: solve the programming problem"):
            return reply(f"```python\n{BUGGY}\n```")
        if task.startswith("Task: verify the candidate program."):
            verdict = "reject" if "a - b" in prompt else "accept"
            return json.dumps({"verdict": verdict, "critique": "add(2, 3) returns -1, not 5"})
        if task.startswith("Task: revise the candidate program."):
            return reply(GOOD)
        raise AssertionError(f"unexpected prompt: {task}")

    model = ScriptedChatModel(replies=coder)
    spec = (
        Workflow("refine-code")
        .add_agent("solver", role="solver", model=model)
        .add_agent("check", role="verifier", model=model)
        .add_agent("fix", role="rectifier", model=model)
        .add_edge("solver", "check")
        .add_edge("check", "fix")
        .add_loop("fix", "check", max_rounds=2)
        .build()
    )
    data = load_dataset(code_tasks(("t1", GOOD)), kind="code")
    summary = Evaluator(data, pass_at_1()).evaluate(spec)
    assert summary.mean == 1.0 and summary.records[0].answer == GOOD
    solve = prompts["Task: solve the programming problem by writing the complete function."]
    assert "## Problem\n" + ADD_PROMPT in solve
    assert "```python\n" + BUGGY + "\n```" in prompts["Task: verify the candidate program."]
    revise = prompts["Task: revise the candidate program."]
    assert "## Review\nadd(2, 3) returns -1, not 5" in revise


def test_a_judge_compares_programs():
    buggy = ScriptedChatModel(replies=[reply(BUGGY)], model_name="buggy")
    good = ScriptedChatModel(replies=[reply(GOOD)], model_name="good")
    seen: list[str] = []

    def judge_reply(prompt: str) -> str:
        seen.append(prompt)
        return json.dumps({"choice": 2, "reason": "program 1 subtracts"})

    judge = ScriptedChatModel(replies=judge_reply, model_name="judge")
    spec = WorkflowSpec(
        agents=[
            Agent(name="a", role="solver", model=buggy),
            Agent(name="b", role="solver", model=good),
            Agent(name="pick", role="judge", model=judge),
        ],
        edges=[("a", "pick"), ("b", "pick")],
    )
    data = load_dataset(code_tasks(("t1", GOOD)), kind="code")
    summary = Evaluator(data, pass_at_1()).evaluate(spec)
    assert summary.records[0].score == 1.0
    assert seen[0].startswith("Task: choose the best program.")
    assert "### Program 1\n```python\n" + BUGGY + "\n```" in seen[0]
    assert "### Program 2\n```python\n" + GOOD + "\n```" in seen[0]


@pytest.mark.parametrize(
    ("program", "outcome", "reason"),
    [
        ("def add(a, b):\n    while True:\n        pass", "timeout", "still running after 2 s"),
        ("import os\ndef add(a, b):\n    os.fork()", "forbidden", "starting processes"),
        (
            "def add(a, b):\n    return len(bytearray(8 * 1024 ** 3))",
            "memory_limit",
            "MemoryError",
        ),
        ("def add(a, b):\n    open('/etc/rolegraph-escape', 'w')", "forbidden", "write outside"),
    ],
)
def test_contained_programs_score_zero_with_the_reason_in_the_record(program, outcome, reason):
    model = ScriptedChatModel(replies=[reply(program)])
    spec = WorkflowSpec(agents=[Agent(name="solver", role="solver", model=model)])
    data = load_dataset(code_tasks(("t1", program)), kind="code")
    record = Evaluator(data, pass_at_1(timeout_s=2)).evaluate(spec).records[0]
    assert record.score == 0.0 and not record.failed and not record.transient
    assert record.error_type == outcome and reason in record.error


async def test_other_evaluations_finish_while_a_program_still_runs(tmp_path):
    release = tmp_path / "release"
    slow = (
        "import os, time\n"
        "def add(a, b):\n"
        f"    while not os.path.exists({str(release)!r}):\n"
        "        time.sleep(0.01)\n"
        "    return a + b"
    )
    model = ScriptedChatModel(replies=lambda p: reply(slow if "# slow" in p else GOOD))
    spec = WorkflowSpec(agents=[Agent(name="solver", role="solver", model=model)])
    data = load_dataset(code_tasks(("slow", slow), ("fast", GOOD)), kind="code")
    # A generous timeout: had the slow program blocked the event loop, it would time out
    # first and come out first; instead the fast evaluation completes meanwhile.
    # The audit-hook backend: the isolated one would not let the program see tmp_path.
    metric = PassAt1(limits=SandboxLimits(timeout_s=60), max_parallel=4, backend="audit-hook")
    evaluator = Evaluator(data, metric, max_concurrency=2)
    stream = evaluator.astream(spec)
    async with stream:
        first = await stream.__anext__()
        assert first.task_id == "fast" and first.score == 1.0
        release.write_text("go")
        second = await stream.__anext__()
    assert second.task_id == "slow" and second.score == 1.0


def test_code_tasks_without_tests_are_refused_before_any_model_call():
    model = ScriptedChatModel(replies=[reply(GOOD)])
    data = load_dataset([{"id": "t", "question": ADD_PROMPT, "answer": GOOD}], kind="code")
    with pytest.raises(DatasetError, match="has no tests"):
        Evaluator(data, "pass@1")
    assert model.calls == 0
