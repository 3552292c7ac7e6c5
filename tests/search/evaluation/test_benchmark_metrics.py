"""The benchmarks' metrics: final number, choice letter and pass@1, each explaining a zero."""

import asyncio

import pytest

from search.evaluation import DatasetError, Task, get_metric, load_dataset
from search.evaluation.benchmark_metrics import (
    ChoiceMatch,
    FinalNumberMatch,
    PassAt1,
    build_program,
    extract_code,
    final_number,
    read_choice,
)
from search.evaluation.sandbox import SandboxLimits
from search.evaluation.scoring import MetricScore, ascore, score_of

GSM = Task(
    id="g",
    question="Natalia sold clips to 48 friends in April, half as many in May. How many?",
    answer="In May she sold 48/2 = <<48/2=24>>24 clips.\n"
    "Altogether 48+24 = <<48+24=72>>72.\n#### 72",
)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("#### 72", 72.0),
        ("48 + 24 = 72\n#### 72", 72.0),
        ("So 3 + 4 = 7 and then #### 1,200", 1200.0),
        ("The answer is $18.", 18.0),
        ("18.00", 18.0),
        ("She ends with -3 apples", -3.0),
        ("first 5, then 7, finally 12 dollars", 12.0),
        ("no number here", None),
        ("", None),
    ],
)
def test_final_number(text, number):
    assert final_number(text) == number


def test_final_number_match_handles_the_marker_on_both_sides():
    metric = FinalNumberMatch()
    assert metric("Step by step: 48 + 24 = 72\n#### 72", GSM) == 1.0
    assert metric("72", GSM) == 1.0
    assert metric("I think 71, no wait, 72", GSM) == 1.0
    assert metric("#### 70\nthough 72 is tempting", GSM) == 0.0  # the marker wins
    assert metric.explain("70", GSM) == MetricScore(
        score=0.0, reason="final number 70, expected 72", outcome="wrong"
    )
    unreadable = metric.explain("I don't know", GSM)
    assert unreadable.outcome == "unreadable" and unreadable.reason == "no number in the answer"
    assert metric.name == "final_number(abs_tol=1e-06)"


@pytest.mark.parametrize(
    ("text", "letter"),
    [
        ("B", "B"),
        ("b", "B"),
        ("(B)", "B"),
        ("B.", "B"),
        ("**C**", "C"),
        ("D) 42", "D"),
        ("(A) Paris", "A"),
        ("The answer is B", "B"),
        ("The answer is (C).", "C"),
        ("Answer: D", "D"),
        ("A good argument rules out A; the correct option is C", "C"),
        ("I would pick B here", "B"),
        ("7", "C"),  # the text of one choice
        ("A or B", None),
        ("none of these", None),
        ("", None),
    ],
)
def test_read_choice(text, letter):
    assert read_choice(text, "ABCD", ["4", "6", "7", "9"]) == letter


def test_choice_match_scores_the_letter_and_explains_a_zero():
    data = load_dataset(
        [{"id": "m", "question": "Which is prime?", "choices": ["4", "6", "7", "9"], "answer": 2}],
        choices="choices",
    )
    task = data[0]
    metric = ChoiceMatch()
    assert metric("(C)", task) == 1.0 and metric("The answer is C.", task) == 1.0
    assert metric.explain("B", task) == MetricScore(
        score=0.0, reason="chose B, expected C", outcome="wrong"
    )
    unreadable = metric.explain("prime numbers are odd", task)
    assert unreadable.score == 0.0 and unreadable.outcome == "unreadable"
    assert "no single choice letter (A-D)" in unreadable.reason
    # Without metadata the letters come from the question's lettered lines.
    bare = Task(id="x", question="Q?\n\nA. yes\nB. no\nC. maybe", answer="C")
    assert metric("C", bare) == 1.0 and metric.explain("D", bare).outcome == "unreadable"


CODE_TASK = Task(
    id="add",
    question='def add(a: int, b: int) -> int:\n    """Return a + b."""\n',
    answer="",
    metadata={
        "entry_point": "add",
        "test": "def check(candidate):\n"
        "    assert candidate(2, 3) == 5\n"
        "    assert candidate(-1, 1) == 0\n",
    },
    kind="code",
)


def test_extract_code_prefers_the_block_that_defines_the_function():
    text = "Here:\n```python\nimport os\n```\nand\n```py\ndef add(a, b):\n    return a + b\n```"
    assert extract_code(text, "add") == "def add(a, b):\n    return a + b"
    assert extract_code("```\nx = 1\n```") == "x = 1"
    assert extract_code("def add(a, b): return a + b") == "def add(a, b): return a + b"


def test_build_program_accepts_a_complete_function_or_a_body():
    full = build_program("def add(a, b):\n    return a + b", CODE_TASK)
    assert full.startswith(CODE_TASK.question.rstrip()) and full.endswith("check(add)\n")
    body = build_program("    return a + b", CODE_TASK)
    assert '"""Return a + b."""\n    return a + b\n' in body
    unindented = build_program("return a + b", CODE_TASK)
    assert '"""Return a + b."""\n    return a + b\n' in unindented


@pytest.fixture(scope="module")
def pass_at_1():
    return PassAt1(limits=SandboxLimits(timeout_s=3), max_parallel=2)


def test_pass_at_1_runs_the_tests(pass_at_1):
    assert pass_at_1("```python\ndef add(a, b):\n    return a + b\n```", CODE_TASK) == 1.0
    assert pass_at_1("    return a + b", CODE_TASK) == 1.0
    wrong = pass_at_1.explain("def add(a, b):\n    return a - b", CODE_TASK)
    assert wrong.score == 0.0 and wrong.outcome == "failed"
    assert wrong.reason.startswith("failed: AssertionError")
    looping = pass_at_1.explain("def add(a, b):\n    while True:\n        pass", CODE_TASK)
    assert looping.score == 0.0 and looping.outcome == "timeout"
    assert pass_at_1.explain("", CODE_TASK).outcome == "unreadable"
    assert pass_at_1.name == f"pass@1({SandboxLimits(timeout_s=3).label})"


async def test_pass_at_1_is_awaited_off_the_event_loop(pass_at_1):
    scores = await asyncio.gather(
        ascore(pass_at_1, "def add(a, b):\n    return a + b", CODE_TASK),
        ascore(pass_at_1, "def add(a, b):\n    return 0", CODE_TASK),
    )
    assert [s.score for s in scores] == [1.0, 0.0]


def test_pass_at_1_refuses_tasks_without_tests():
    data = load_dataset([{"id": "t", "question": "Write f.", "answer": "def f(): pass"}])
    with pytest.raises(DatasetError, match=r"task 't' \(record 1\) has no tests"):
        PassAt1().check_dataset(data)


def test_metric_names_include_the_benchmark_metrics():
    assert isinstance(get_metric("gsm8k"), FinalNumberMatch)
    assert isinstance(get_metric("mmlu"), ChoiceMatch)
    assert isinstance(get_metric("pass@1"), PassAt1)
    with pytest.raises(ValueError, match="pass@1"):
        get_metric("bleu")


def test_plain_metrics_score_without_a_reason():
    task = Task(id="t", question="q", answer="42")
    assert score_of(get_metric("numeric"), "42", task) == MetricScore(score=1.0)
    assert asyncio.run(ascore(get_metric(lambda p, a: p == a), "41", task)) == MetricScore(
        score=0.0
    )
