"""code_fingerprint: comments and formatting do not count, a change of logic does."""

import importlib
import math
import sys
import textwrap

import pytest

from orchestrator.codehash import code_fingerprint, is_user_code


@pytest.fixture
def module(tmp_path, monkeypatch):
    """Write a module, import it; write it again (edited) and import it afresh."""
    monkeypatch.syspath_prepend(str(tmp_path))
    counter = iter(range(1000))

    def load(source: str):
        name = f"user_metric_{next(counter)}"
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        importlib.invalidate_caches()
        loaded = importlib.import_module(name)
        return loaded

    yield load
    for name in [n for n in sys.modules if n.startswith("user_metric_")]:
        del sys.modules[name]


BASE = """
    def score(prediction, answer):
        return float(prediction == answer)
"""


def fingerprint(module, source, attribute="score"):
    return code_fingerprint(getattr(module(source), attribute))


def test_comments_formatting_docstrings_and_the_name_do_not_count(module):
    base = fingerprint(module, BASE)
    same = """
        def score(prediction,   answer):
            '''Exact match.'''
            # compare the two
            return float(
                prediction == answer  # equal?
            )
    """
    assert fingerprint(module, same) == base
    renamed = BASE.replace("def score", "def exact")
    assert fingerprint(module, renamed, "exact") == base


@pytest.mark.parametrize(
    "edited",
    [
        BASE.replace("==", "!="),  # the body
        BASE.replace("float(prediction == answer)", "1.0"),
        "def score(prediction, answer, strict=True):\n    return float(prediction == answer)",
    ],
)
def test_a_change_of_logic_counts(module, edited):
    assert fingerprint(module, edited) != fingerprint(module, BASE)


def test_called_module_level_functions_and_constants_are_followed(module):
    source = """
        LIMIT = {limit}
        def normalise(text):
            return text.strip().{case}()
        def score(prediction, answer):
            return float(normalise(prediction)[:LIMIT] == normalise(answer))
    """
    base = fingerprint(module, source.format(limit=10, case="lower"))
    assert fingerprint(module, source.format(limit=10, case="lower")) == base
    assert fingerprint(module, source.format(limit=10, case="upper")) != base  # helper edited
    assert fingerprint(module, source.format(limit=12, case="lower")) != base  # constant edited


def test_closures_defaults_bound_methods_and_callable_objects(module):
    closure = """
        def make(tolerance):
            def score(prediction, answer):
                return float(abs(float(prediction) - float(answer)) <= tolerance)
            return score
    """
    made = module(closure)
    assert code_fingerprint(made.make(0.1)) != code_fingerprint(made.make(0.2))
    assert code_fingerprint(made.make(0.1)) == code_fingerprint(made.make(0.1))
    callable_class = """
        class Scorer:
            def __init__(self, threshold):
                self.threshold = threshold
            def __call__(self, prediction, answer):
                return float(len(prediction) >= self.threshold)
            def method(self, prediction, answer):
                return self(prediction, answer)
    """
    loaded = module(callable_class)
    one, two = loaded.Scorer(1), loaded.Scorer(2)
    assert code_fingerprint(one) != code_fingerprint(two)
    assert code_fingerprint(one.method) != code_fingerprint(two.method)
    edited = module(callable_class.replace(">=", ">"))
    assert code_fingerprint(edited.Scorer(1)) != code_fingerprint(one)


def test_library_code_counts_by_name_only():
    assert not is_user_code(math.sqrt) and not is_user_code(textwrap.dedent)
    assert code_fingerprint(math.sqrt) != code_fingerprint(math.floor)
    assert code_fingerprint(textwrap.dedent) == code_fingerprint(textwrap.dedent)


def test_lambdas_are_keyed_by_their_code():
    assert code_fingerprint(lambda p, a: p == a) == code_fingerprint(lambda p, a: p == a)
    assert code_fingerprint(lambda p, a: p == a) != code_fingerprint(lambda p, a: p != a)
