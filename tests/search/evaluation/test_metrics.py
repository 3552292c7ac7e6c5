"""Metrics: numeric match with tolerance, normalised exact match, token F1, user functions."""

import pytest

from search.evaluation import ExactMatch, FunctionMetric, NumericMatch, Task, TokenF1, get_metric
from search.evaluation.metrics import MetricError


def task(answer: str) -> Task:
    return Task(id="t", question="?", answer=answer)


@pytest.mark.parametrize(
    ("prediction", "answer", "score"),
    [
        ("42", "42", 1.0),
        ("42.0", "42", 1.0),
        ("$1,200", "1200", 1.0),
        ("42 apples", "42", 1.0),
        ("41", "42", 0.0),
        ("about 3 or 4", "3", 0.0),
        ("no idea", "42", 0.0),
        (None, "42", 0.0),
        ("Paris", "paris", 1.0),  # a non-numeric reference falls back to exact match
    ],
)
def test_numeric_match(prediction, answer, score):
    assert NumericMatch()(prediction, task(answer)) == score


def test_numeric_tolerance_is_configurable_and_named():
    strict, loose = NumericMatch(), NumericMatch(abs_tol=0.01)
    assert strict("3.14", task("3.14159")) == 0.0
    assert loose("3.14", task("3.14159")) == 1.0
    assert NumericMatch(rel_tol=0.05)("104", task("100")) == 1.0
    assert strict.name != loose.name
    with pytest.raises(ValueError):
        NumericMatch(abs_tol=-1)


@pytest.mark.parametrize(
    ("prediction", "answer", "score"),
    [
        ("The Eiffel  Tower!", "eiffel tower", 1.0),
        ("an apple", "Apple.", 1.0),
        ("Eiffel", "eiffel tower", 0.0),
        (None, "x", 0.0),
    ],
)
def test_exact_match_normalises(prediction, answer, score):
    assert ExactMatch()(prediction, task(answer)) == score


def test_token_f1():
    f1 = TokenF1()
    assert f1("the eiffel tower", task("Eiffel Tower")) == 1.0
    assert f1("eiffel tower in paris", task("the eiffel tower")) == pytest.approx(2 / 3)
    assert f1("london", task("paris")) == 0.0
    assert f1("42.0 apples", task("42 apples")) == 1.0
    assert f1(None, task("x")) == 0.0


def test_user_functions_get_the_answer_or_the_task():
    two = get_metric(lambda prediction, answer: prediction == answer)
    three = get_metric(lambda prediction, answer, task: float(task.id == "t"))
    assert isinstance(two, FunctionMetric)
    assert two("5", task("5")) == 1.0 and two("4", task("5")) == 0.0
    assert three("x", task("y")) == 1.0


def test_user_functions_must_return_a_score_in_range():
    def overconfident(prediction, answer):
        return 1.5

    with pytest.raises(MetricError, match=r"'.*overconfident' returned 1.5 for task 't'"):
        get_metric(overconfident)("1", task("1"))
    with pytest.raises(MetricError, match="number or bool"):
        get_metric(lambda p, a: "yes")("1", task("1"))


def test_metrics_by_name():
    assert isinstance(get_metric("numeric"), NumericMatch)
    assert isinstance(get_metric("exact"), ExactMatch)
    assert isinstance(get_metric("f1"), TokenF1)
    metric = NumericMatch(abs_tol=0.5)
    assert get_metric(metric) is metric
    with pytest.raises(ValueError, match="unknown metric 'bleu'"):
        get_metric("bleu")
