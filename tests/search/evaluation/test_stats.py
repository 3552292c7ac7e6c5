"""Statistics: Wilson and bootstrap intervals, and the paired bootstrap comparison."""

import math

import pytest

from search.evaluation import bootstrap_interval, mean_interval, paired_bootstrap, wilson_interval
from search.evaluation.stats import task_means


def test_wilson_interval_matches_the_textbook_values():
    low, high = wilson_interval(8, 10)
    assert (round(low, 3), round(high, 3)) == (0.49, 0.943)
    low, high = wilson_interval(10, 10)
    assert high == 1.0 and round(low, 3) == 0.722
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(1, 2, confidence=1.5)


def test_bootstrap_interval_is_seeded_and_brackets_the_mean():
    values = [0.1, 0.4, 0.35, 0.8, 0.9, 0.55, 0.6]
    first = bootstrap_interval(values, seed=3)
    assert first == bootstrap_interval(values, seed=3)
    assert first != bootstrap_interval(values, seed=4)
    assert first[0] < sum(values) / len(values) < first[1]
    assert bootstrap_interval([0.5, 0.5]) == (0.5, 0.5)
    assert all(math.isnan(v) for v in bootstrap_interval([]))


def test_mean_interval_picks_the_method():
    binary = mean_interval([1, 0, 1, 1, 0])
    assert binary.method == "wilson" and binary.mean == 0.6 and binary.n == 5
    graded = mean_interval([0.2, 0.9, 0.5])
    assert graded.method == "bootstrap" and graded.low <= graded.mean <= graded.high
    assert mean_interval([]).method == "none" and math.isnan(mean_interval([]).mean)
    narrow = mean_interval([1, 0] * 200)
    assert narrow.half_width < mean_interval([1, 0] * 5).half_width


def test_task_means_average_repetitions():
    assert task_means([("a", 1.0), ("b", 0.0), ("a", 0.0)]) == {"a": 0.5, "b": 0.0}


def test_paired_bootstrap_finds_a_real_difference():
    a = {f"t{i}": 1.0 for i in range(40)}
    b = {f"t{i}": float(i % 4 == 0) for i in range(40)}
    result = paired_bootstrap(a, b, seed=1)
    assert result.n == 40 and result.difference == pytest.approx(0.75)
    assert result.significant and result.low > 0.5 and result.p_value < 0.001
    assert paired_bootstrap(a, b, seed=1) == result


def test_paired_bootstrap_sees_no_difference_between_equals():
    a = {f"t{i}": float(i % 2) for i in range(30)}
    result = paired_bootstrap(a, dict(a))
    assert result.difference == 0 and result.p_value == 1.0 and not result.significant


def test_paired_bootstrap_uses_only_shared_tasks():
    a = {"t1": 1.0, "t2": 0.0, "only_a": 1.0}
    b = {"t1": 0.0, "t2": 0.0, "only_b": 1.0}
    result = paired_bootstrap(a, b)
    assert result.n == 2 and result.mean_a == 0.5 and result.mean_b == 0.0
    with pytest.raises(ValueError, match="share no scored task"):
        paired_bootstrap({"x": 1.0}, {"y": 1.0})
