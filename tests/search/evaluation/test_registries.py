"""A metric and a benchmark defined here, outside the package, registered and used by name.

This is the "where to add a metric / a benchmark" path of the architecture document:
``register_metric`` and ``register_benchmark``, then the names work in ``get_metric``,
``load_benchmark``, ``Evaluator``, ``create_search`` and a CLI config.
"""

import json

import pytest
import yaml
from typer.testing import CliRunner

from orchestrator.answers import parse_number
from search import (
    BenchmarkSpec,
    SearchSpace,
    create_search,
    get_metric,
    list_benchmarks,
    list_metrics,
    load_benchmark,
    register_benchmark,
    register_metric,
)
from search.cli import app, prepare
from search.evaluation import DatasetError, Evaluator, Task, bundled_dataset
from topologies import single


class WithinTenPercent:
    """1 when the answer's number is within 10% of the reference's; a metric of this file."""

    name = "within_10pct"

    def __call__(self, prediction, task):
        value, reference = parse_number(prediction or ""), parse_number(task.answer)
        if value is None or reference is None:
            return 0.0
        return float(abs(value - reference) <= 0.1 * abs(reference))


def _word_problems():
    """The tasks of this file's benchmark: the simulator's word problems, with a topic each."""
    tasks = bundled_dataset("arithmetic", n=16, seed=5).tasks
    return [
        Task(
            id=f"wp-{i:02d}",
            question=t.question,
            answer=t.answer,
            metadata={"topic": "Even Answers" if int(t.answer) % 2 == 0 else "odd-answers"},
        )
        for i, t in enumerate(tasks)
    ]


register_metric("within_10pct", WithinTenPercent)
WORD_PROBLEMS = register_benchmark(
    BenchmarkSpec(
        name="word_problems",
        tasks=_word_problems,
        metric="within_10pct",
        subject_field="topic",
        source="tests: the simulator's arithmetic word problems",
    )
)
SPACE = SearchSpace(
    topologies=["single"],
    pool=["sim:atlas-nano", "sim:atlas-pro"],
    fixed={"single": {"temperature": 0.0}},
)


def test_a_registered_metric_is_known_by_name():
    assert "within_10pct" in list_metrics()
    metric = get_metric("within_10pct")
    assert isinstance(metric, WithinTenPercent)
    task = Task(id="t", question="?", answer="100")
    assert metric("about 95", task) == 1.0 and metric("89", task) == 0.0
    with pytest.raises(
        ValueError, match=r"unknown metric 'within_10pc' \(did you mean 'within_10pct'"
    ):
        get_metric("within_10pc")
    with pytest.raises(ValueError, match="registered already"):
        register_metric("within_10pct", lambda: WithinTenPercent())
    with pytest.raises(TypeError, match="needs a factory"):
        register_metric("broken", WithinTenPercent())


def test_an_evaluator_scores_with_the_registered_metric_by_name():
    data = bundled_dataset("arithmetic", n=8, seed=1)
    summary = Evaluator(data, "within_10pct", store=":memory:").evaluate(
        single(model="sim:atlas-pro", temperature=0.0)
    )
    assert summary.metric == "within_10pct"
    assert {r.metric for r in summary.records} == {"within_10pct"}
    expected = [WithinTenPercent()(r.answer, data[i]) for i, r in enumerate(summary.records)]
    assert [r.score for r in summary.records] == expected


def test_a_registered_benchmark_loads_by_name_with_its_metric_and_subjects():
    assert list_benchmarks()[:3] == ["gsm8k", "mmlu", "humaneval"]
    assert "word_problems" in list_benchmarks()
    bench = load_benchmark("Word-Problems", n=6, seed=2)  # case and dashes are ignored
    assert bench.name == "word_problems" and bench.dataset.name == "word_problems"
    assert len(bench.dataset) == 6 and isinstance(bench.metric, WithinTenPercent)
    assert bench.source == "tests: the simulator's arithmetic word problems"
    assert bench.kind == "short_answer"
    # A larger sample with the same seed keeps the smaller one.
    assert set(bench.dataset.ids()) <= set(
        load_benchmark("word_problems", n=10, seed=2).dataset.ids()
    )
    even = load_benchmark("word_problems", subject="even answers").dataset
    assert len(even) > 0 and all(int(t.answer) % 2 == 0 for t in even)
    with pytest.raises(
        DatasetError, match="has no subject 'prime'; its subjects are even_answers"
    ):
        load_benchmark("word_problems", subject="prime")


def test_benchmark_names_and_metrics_are_checked():
    with pytest.raises(
        ValueError, match=r"unknown benchmark 'word_problem' \(did you mean 'word_problems'"
    ):
        load_benchmark("word_problem")
    with pytest.raises(ValueError, match="known: gsm8k, humaneval, mmlu"):
        load_benchmark("squad")
    with pytest.raises(
        ValueError, match=r"unknown metric 'bleu'.*register it first with register_metric"
    ):
        register_benchmark(BenchmarkSpec(name="other", tasks=_word_problems, metric="bleu"))
    with pytest.raises(ValueError, match="'word_problems' is registered already"):
        register_benchmark(BenchmarkSpec(name="WORD-problems", tasks=list, metric="exact"))
    assert register_benchmark(WORD_PROBLEMS) is WORD_PROBLEMS  # the same record again is fine
    with pytest.raises(
        ValueError, match="gsm8k has no subjects; subject= applies to mmlu, word_problems only"
    ):
        load_benchmark("gsm8k", subject="algebra")


def test_a_search_runs_on_the_registered_benchmark_and_metric():
    bench = load_benchmark("word_problems")
    result = create_search(
        space=SPACE,
        dataset=bench.dataset,
        metric="within_10pct",
        strategy="grid",
        store=":memory:",
        max_concurrency=4,
    ).run()
    assert result.metric == "within_10pct" and result.dataset == "word_problems"
    assert result.best is not None and result.evaluations > 0


def test_a_cli_config_names_the_registered_benchmark(tmp_path):
    config = {
        "dataset": {"benchmark": "word_problems", "n": 12, "seed": 1},
        "space": SPACE.model_dump(mode="json", exclude_defaults=True),
        "strategy": "grid",
        "budget": {"dollars": 1.0},
        "store": str(tmp_path / "prepared.db"),
    }
    prepared = prepare(config)
    assert prepared.search.evaluator.metric.name == "within_10pct"  # the benchmark's metric
    assert prepared.search.dataset.name == "word_problems"
    named = prepare({**config, "metric": "within_10pct", "dataset": "bundled:arithmetic"})
    assert named.search.evaluator.metric.name == "within_10pct"

    path = tmp_path / "search.yaml"
    path.write_text(yaml.safe_dump(config))
    out = tmp_path / "result.json"
    ran = CliRunner().invoke(
        app,
        ["search", "--config", str(path), "--store", str(tmp_path / "rg.db"), "--out", str(out)],
        env={"COLUMNS": "200"},
    )
    assert ran.exit_code == 0, ran.output
    saved = json.loads(out.read_text())
    assert saved["metric"] == "within_10pct" and saved["dataset"] == "word_problems"


def test_a_cli_config_with_a_misspelt_name_gets_the_nearest():
    from search.cli import ConfigError

    config = {
        "dataset": {"benchmark": "word_problem"},
        "space": SPACE.model_dump(mode="json", exclude_defaults=True),
        "strategy": "grid",
    }
    with pytest.raises(ConfigError, match=r"did you mean 'word_problems'") as info:
        prepare(config)
    assert info.value.key == "dataset"
    with pytest.raises(ConfigError, match=r"did you mean 'within_10pct'") as info:
        prepare({**config, "dataset": "bundled:arithmetic", "metric": "within_10pc"})
    assert info.value.key == "metric"
