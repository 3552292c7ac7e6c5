"""create_search names the record a misplaced keyword belongs to, with the call to write."""

import pytest

from search import EvalSettings, SearchError, SearchSettings, SearchSpace, create_search

SPACE = SearchSpace(topologies=["single"], pool=["sim:atlas-nano", "sim:atlas-pro"])


def _search(**keywords):
    return create_search(space=SPACE, dataset="bundled:arithmetic", store=":memory:", **keywords)


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        (
            {"strategy": "random", "parallel": 2},
            "'parallel' is a field of SearchSettings, not an option of strategy 'random': "
            "create_search(..., settings=SearchSettings(parallel=2))",
        ),
        (
            {"strategy": "random", "call_timeout": 0.3},
            "'call_timeout' is a field of EvalSettings, not an option of strategy 'random': "
            "create_search(..., evaluation=EvalSettings(call_timeout=0.3))",
        ),
        (
            {"strategy": "tpe", "max_retries": 5, "finalists": 1},
            "'max_retries' is a field of RetrySettings, not an option of strategy 'tpe'; "
            "'finalists' is a field of SearchSettings, not an option of strategy 'tpe': "
            "create_search(..., settings=SearchSettings(finalists=1), "
            "evaluation=EvalSettings(retry=RetrySettings(max_retries=5)))",
        ),
        (
            {"strategy": "tpe+grid", "repetitions": 3},
            "'repetitions' is a field of EvalSettings, not an option of strategy 'tpe+grid': "
            "create_search(..., evaluation=EvalSettings(repetitions=3))",
        ),
        (
            {"strategy": "random", "evaluation": EvalSettings(seed=1), "call_timeout": 2.0},
            "create_search(..., evaluation=evaluation.replace(call_timeout=2.0))",
        ),
        (
            {"strategy": "random", "max_concurency": 4},
            "create_search takes no 'max_concurency' (did you mean 'max_concurrency'?): "
            "create_search(..., max_concurrency=4)",
        ),
        (
            {"strategy": "random", "call_timout": 0.3},
            "strategy 'random' takes no 'call_timout' (did you mean 'call_timeout', of "
            "EvalSettings?): create_search(..., evaluation=EvalSettings(call_timeout=0.3))",
        ),
    ],
)
def test_a_misplaced_keyword_names_its_record_and_the_corrected_call(keywords, message):
    with pytest.raises(SearchError) as info:
        _search(**keywords)
    assert message in str(info.value)
    assert "does not take" not in str(info.value)


def test_the_corrected_calls_work():
    search = _search(
        strategy="random",
        settings=SearchSettings(parallel=2),
        evaluation=EvalSettings(call_timeout=0.3),
    )
    assert search.settings.parallel == 2 and search.evaluator.call_timeout == 0.3


def test_a_strategy_s_own_error_is_kept_when_it_refuses_something_else():
    with pytest.raises(SearchError, match="strategy 'random' does not take 'n_trials'"):
        _search(strategy="random", n_trials=3, parallel=2)
    assert _search(strategy="tpe", n_trials=3).strategy.options.n_trials == 3
