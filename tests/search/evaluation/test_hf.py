"""HuggingFace datasets as a task source: objects, DatasetDicts and "hf:" paths, offline."""

import json
import sys

import pytest

from orchestrator.errors import MissingIntegrationError
from search.evaluation import DatasetError, load_dataset

ROWS = {
    "uid": ["a", "b", "c"],
    "problem": ["What is 2 + 3?", "What is 6 * 7?", "Capital of France?"],
    "solution": ["5", "42", "Paris"],
    "level": [1, 2, 1],
}


@pytest.fixture
def datasets(tmp_path, monkeypatch):
    """The datasets package, kept offline and caching under tmp_path."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    module = pytest.importorskip("datasets")
    monkeypatch.setattr(module.config, "HF_DATASETS_OFFLINE", True, raising=False)
    monkeypatch.setattr(module.config, "HF_HUB_OFFLINE", True, raising=False)
    return module


def test_a_loaded_dataset_object_with_field_mapping(datasets):
    hf = datasets.Dataset.from_dict(ROWS)
    data = load_dataset(hf, question="problem", answer="solution", id="uid", name="toy")
    assert data.name == "toy" and data.ids() == ["a", "b", "c"]
    assert data[1].question == "What is 6 * 7?" and data[1].answer == "42"
    assert data[2].metadata == {"level": 1}


def test_a_dataset_dict_needs_a_known_split(datasets):
    hf = datasets.DatasetDict(
        {"train": datasets.Dataset.from_dict(ROWS), "test": datasets.Dataset.from_dict(ROWS)}
    )
    with pytest.raises(DatasetError, match="has splits 'train', 'test': pass split="):
        load_dataset(hf, question="problem", answer="solution", id="uid")
    with pytest.raises(DatasetError, match="no split 'dev'"):
        load_dataset(hf, split="dev", question="problem", answer="solution", id="uid")
    data = load_dataset(hf, split="test", question="problem", answer="solution", id="uid")
    assert len(data) == 3 and data.name == "hf-test"


def test_a_local_json_file_through_hf_json(datasets, tmp_path):
    path = tmp_path / "math.jsonl"
    path.write_text(
        "\n".join(json.dumps({k: v[i] for k, v in ROWS.items()}) for i in range(3)) + "\n"
    )
    data = load_dataset(
        "hf:json",
        split="train",
        question="problem",
        answer="solution",
        id="uid",
        hf_options={"data_files": str(path), "cache_dir": str(tmp_path / "cache")},
    )
    assert data.name == "math-train" and data.ids() == ["a", "b", "c"]
    assert [t.answer for t in data] == ["5", "42", "Paris"]
    assert data[0].metadata == {"level": 1}


def test_a_local_parquet_file_with_generated_ids(datasets, tmp_path):
    path = tmp_path / "mc.parquet"
    datasets.Dataset.from_dict(
        {
            "q": ["Which is prime?", "Which is even?"],
            "options": [["4", "7"], ["3", "8"]],
            "label": [1, 1],
        }
    ).to_parquet(str(path))
    data = load_dataset(
        "hf:parquet",
        split="train",
        question="q",
        answer="label",
        choices="options",
        hf_options={"data_files": str(path), "cache_dir": str(tmp_path / "cache")},
    )
    assert [t.answer for t in data] == ["B", "B"] and data[0].kind == "multiple_choice"
    assert data[0].question == "Which is prime?\n\nA. 4\nB. 7"
    assert len(data[0].id) == 12  # generated from the content


def test_loading_errors_name_the_source(datasets, tmp_path):
    hf = datasets.Dataset.from_dict({"problem": ["q"], "solution": ["1"]})
    with pytest.raises(DatasetError, match=r"HuggingFace dataset .* record 1: missing field 'q"):
        load_dataset(hf, question="q", answer="solution")
    with pytest.raises(DatasetError, match=r"hf:json: datasets\.load_dataset failed"):
        load_dataset(
            "hf:json",
            split="train",
            hf_options={
                "data_files": str(tmp_path / "missing.json"),
                "cache_dir": str(tmp_path / "cache"),
            },
        )


def test_without_the_package_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)  # makes `import datasets` fail
    with pytest.raises(MissingIntegrationError, match=r"pip install 'rolegraph\[hf\]'"):
        load_dataset("hf:openai/gsm8k", split="test")
