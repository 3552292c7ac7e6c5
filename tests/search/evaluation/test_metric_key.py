"""Scores are keyed by the metric's code: an edited metric re-scores, free of model calls."""

import importlib
import sys
import textwrap

from search.evaluation import Evaluator, load_dataset
from search.runner import create_search
from search.space import SearchSpace
from topologies import single

TASKS = load_dataset("bundled:arithmetic").tasks[:8]

METRIC = """
    def tolerant(prediction, answer):
        # any reply at all scores
        return {body}
"""


def load(tmp_path, monkeypatch, name, body):
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(METRIC.format(body=body)))
    importlib.invalidate_caches()
    sys.modules.pop(name, None)
    return importlib.import_module(name).tolerant


def test_an_edited_metric_body_is_scored_again_from_the_cached_replies(tmp_path, monkeypatch):
    store = tmp_path / "rg.db"
    spec = single(model="sim:atlas-nano")
    first = load(tmp_path, monkeypatch, "metric_v1", "0.0 if prediction != answer else 1.0")
    before = Evaluator("bundled:arithmetic", first, store=store).evaluate(spec, tasks=TASKS)
    assert before.calls > 0 and before.cached == 0
    # The same function name, its body changed: every answer now gets full marks.
    edited = load(tmp_path, monkeypatch, "metric_v2", "1.0")
    after = Evaluator("bundled:arithmetic", edited, store=store).evaluate(spec, tasks=TASKS)
    assert after.cached == 0 and after.evaluated == before.evaluated  # not served stale
    assert after.calls == 0 and after.cached_calls == before.calls  # the replies were reused
    assert after.score.mean == 1.0
    # A comment or formatting change is not a change: served from the store.
    reformatted = load(tmp_path, monkeypatch, "metric_v3", "1.0  # full marks, reformatted")
    again = Evaluator("bundled:arithmetic", reformatted, store=store).evaluate(spec, tasks=TASKS)
    assert again.cached == before.evaluated and again.evaluated == 0


def test_a_search_rerun_with_a_fixed_metric_rescores_without_model_calls(tmp_path, monkeypatch):
    space = SearchSpace(topologies=["single"], pool=["sim:atlas-nano", "sim:atlas-mini"])

    def run(metric):
        return create_search(
            space=space, dataset="bundled:arithmetic", metric=metric, strategy="grid",
            store=tmp_path / "rg.db", name="fixed",
        ).run()  # fmt: skip

    strict = load(tmp_path, monkeypatch, "search_v1", "float(prediction.strip() == answer)")
    first = run(strict)
    assert first.spend_this_run.calls > 0
    assert min(c.mean for c in first.candidates) < 1.0
    loose = load(tmp_path, monkeypatch, "search_v2", "1.0")
    second = run(loose)
    # The space's candidates are scored again from the cached replies: no model call. (With
    # every single now tied, self-consistency of a different model is a new baseline.)
    searched = [spend for stage, spend in second.stages.items() if stage != "baselines"]
    assert sum(s.evaluations for s in searched) >= 2 * second.n_search_tasks
    assert sum(s.calls for s in searched) == 0 and sum(s.dollars for s in searched) == 0
    before = {c.workflow: c.mean for c in first.candidates}
    rescored = [(before[c.workflow], c.mean) for c in second.candidates if c.workflow in before]
    assert all(new >= old for old, new in rescored)  # only failed runs lose points now
    assert any(new > old for old, new in rescored)


def test_graph_adapters_are_keyed_by_their_code_and_closures():
    from search.graphs.graph_space import _identify

    def make(prefix):
        def to_input(question):
            return {"messages": [prefix + question]}

        return to_input

    assert _identify(make("Q: ")) == _identify(make("Q: "))
    assert _identify(make("Q: ")) != _identify(make("Question: "))  # same name, other logic
