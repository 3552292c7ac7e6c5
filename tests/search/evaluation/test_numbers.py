"""Reading the number a model states: sentences, GSM8K markers and JSON replies."""

import pytest

from search.evaluation import NumericMatch, Task
from search.evaluation.benchmark_metrics import FinalNumberMatch
from search.evaluation.numbers import read_number

# Phrasings real models answer "What is 17 + 25?" (and GSM8K-style questions) with.
REAL_PHRASINGS = [
    ("17 + 25 = 42", 42.0),
    ("The answer is 42.", 42.0),
    ("**Answer:** 42", 42.0),
    ("Answer: 42\nConfidence: 0.9", 42.0),
    ("42 (confidence: 0.9)", 42.0),
    ('{"answer": "42", "confidence": 0.9}', 42.0),
    ('{"answer": 42}', 42.0),
    ('```json\n{"answer": "42", "confidence": 0.95}\n```', 42.0),
    ("\\boxed{42}", 42.0),
    ("Janet sells 16 - 3 - 4 = 9 eggs, so she makes 9 * $2 = $18.\n#### 18", 18.0),
    ("First, 3 + 4 = 7. Then 7 * 6 = 42. So the final answer is 42.", 42.0),
    ("Therefore, 42.", 42.0),
    ("I am 95% sure the answer is 42", 42.0),
    ("The total is $1,200.", 1200.0),
    ("x = -5", -5.0),
    ("She has 42 apples.", 42.0),
]


@pytest.mark.parametrize(("text", "number"), REAL_PHRASINGS)
def test_reads_the_stated_result(text, number):
    assert read_number(text) == number


@pytest.mark.parametrize("text", ["about 3 or 4", "no idea", "", '{"reason": "3 and 4"}', None])
def test_states_nothing_when_the_text_hedges_or_has_no_number(text):
    assert read_number(text) is None


@pytest.mark.parametrize(("text", "number"), REAL_PHRASINGS)
def test_numeric_metric_gives_full_marks_to_each_phrasing(text, number):
    task = Task(id="t", question="?", answer=f"{number:g}")
    assert NumericMatch()(text, task) == 1.0
    assert NumericMatch()(text, Task(id="t", question="?", answer=f"{number + 1:g}")) == 0.0


def test_final_number_reads_a_json_reply_by_its_answer_field():
    task = Task(id="t", question="?", answer="42")
    assert FinalNumberMatch()('{"answer": "42", "confidence": 0.9}', task) == 1.0
