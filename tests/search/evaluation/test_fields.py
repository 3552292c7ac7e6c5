"""Field mapping for JSONL, JSON, CSV and records; generated ids; multiple-choice fields."""

import hashlib
import json

import pytest

from search.evaluation import DatasetError, Task, load_dataset
from search.evaluation.fields import FieldMap, generated_id, render_choices

ROWS = [
    {"uid": "p1", "problem": "What is 2 + 3?", "solution": "5", "level": 1},
    {"uid": "p2", "problem": "What is 6 * 7?", "solution": 42, "level": 2},
]


def write(path, rows):
    if path.suffix == ".jsonl":
        path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    elif path.suffix == ".json":
        path.write_text(json.dumps(rows))
    else:
        header = list(rows[0])
        lines = [",".join(header)] + [",".join(str(r.get(h, "")) for h in header) for r in rows]
        path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".csv"])
def test_fields_are_mapped_in_every_file_format(tmp_path, suffix):
    path = write(tmp_path / f"math{suffix}", ROWS)
    data = load_dataset(path, question="problem", answer="solution", id="uid")
    assert data.name == "math" and data.ids() == ["p1", "p2"]
    assert data[1].question == "What is 6 * 7?" and data[1].answer == "42"
    level = data[0].metadata["level"]
    assert data[0].metadata == {"level": level} and str(level) == "1"  # mapped fields consumed


def test_fields_are_mapped_in_records_and_dotted_paths_reach_nested_fields():
    rows = [{"input": {"text": "Capital of France?"}, "target": ["Paris", "paris"], "k": 3}]
    data = load_dataset(rows, question="input.text", answer="target.0", id=None)
    task = data[0]
    assert (task.question, task.answer) == ("Capital of France?", "Paris")
    assert task.metadata == {
        "input": {"text": "Capital of France?"},
        "target": ["Paris", "paris"],
        "k": 3,
    }


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".csv"])
def test_a_missing_mapped_field_names_the_file_line_field_and_what_to_do(tmp_path, suffix):
    rows = [dict(ROWS[0]), {"uid": "p2", "question": "oops", "solution": "1", "level": 3}]
    path = write(tmp_path / f"math{suffix}", rows)
    unit = "record" if suffix == ".json" else "line"
    location = 3 if suffix == ".csv" else 2  # CSV lines count the header
    with pytest.raises(DatasetError) as info:
        load_dataset(path, question="problem", answer="solution", id="uid")
    message = str(info.value)
    assert (
        f"math{suffix} {unit} {location}: missing field 'problem' (mapped to question)" in message
    )
    assert "load_dataset(..., question='<field>')" in message
    assert info.value.location == location and info.value.source.endswith(f"math{suffix}")


def test_a_csv_header_without_a_mapped_column_is_refused_at_line_one(tmp_path):
    path = write(tmp_path / "qa.csv", ROWS)
    with pytest.raises(DatasetError, match=r"qa\.csv line 1: the header has no 'query' column"):
        load_dataset(path, question="query", answer="solution", id="uid")
    with pytest.raises(DatasetError, match=r"qa\.csv line 1: the header has no 'key' column"):
        load_dataset(path, question="problem", answer="solution", id="key")


def test_an_explicitly_mapped_id_must_be_in_every_record():
    rows = [{"problem": "q1", "solution": "1"}]
    with pytest.raises(DatasetError, match=r"record 1: missing field 'uid' \(mapped to id\)\."):
        load_dataset(rows, question="problem", answer="solution", id="uid")


def test_ids_are_generated_from_the_content_when_the_source_has_none(tmp_path):
    rows = [
        {"question": "What is 2 + 3?", "answer": "5"},
        {"question": "What is 6 * 7?", "answer": "42"},
        {"question": "What is 2 + 3?", "answer": "5"},  # an exact repeat
    ]
    data = load_dataset(rows)
    digest = hashlib.sha256(b"What is 2 + 3?\x005").hexdigest()[:12]
    assert data.ids() == [digest, generated_id("What is 6 * 7?", "42"), f"{digest}-2"]
    # Stable under reordering, in every format.
    path = write(tmp_path / "q.csv", list(reversed(rows[:2])))
    assert load_dataset(path).ids() == list(reversed(data.ids()[:2]))
    assert load_dataset(rows[:2], id=None).ids() == data.ids()[:2]


def test_id_none_ignores_ids_the_source_has():
    data = load_dataset([{"id": "x", "question": "q", "answer": "a"}], id=None)
    assert data.ids() == [generated_id("q", "a")] and data[0].metadata == {"id": "x"}


def test_multiple_choice_from_a_list_field_with_an_index_answer():
    rows = [{"q": "Which is prime?", "options": ["4", "6", "7", "9"], "label": 2, "subject": "m"}]
    data = load_dataset(rows, question="q", answer="label", choices="options")
    task = data[0]
    assert task.kind == "multiple_choice" and task.answer == "C"
    assert task.question == "Which is prime?\n\nA. 4\nB. 6\nC. 7\nD. 9"
    assert task.metadata == {"subject": "m", "choices": ["4", "6", "7", "9"]}


def test_multiple_choice_from_one_csv_column_per_choice(tmp_path):
    path = tmp_path / "mc.csv"
    path.write_text(
        "question,A,B,C,answer\n"
        "Largest planet?,Mars,Jupiter,Venus,B\n"
        "Smallest planet?,Mercury,Jupiter,Venus,Mercury\n"
        'JSON list?,"[""x"", ""y""]",b,c,(a)\n'
    )
    data = load_dataset(path, choices=["A", "B", "C"])
    assert [t.answer for t in data] == ["B", "A", "A"]
    assert data[0].question.endswith("A. Mars\nB. Jupiter\nC. Venus")
    path.write_text("question,A,B,answer\nLargest?,Mars,Jupiter,Pluto\n")
    with pytest.raises(DatasetError, match=r"mc\.csv line 2: answer 'Pluto' is not a choice"):
        load_dataset(path, choices=["A", "B"])


def test_choices_in_a_csv_cell_may_be_a_json_list(tmp_path):
    path = tmp_path / "mc.csv"
    path.write_text('question,choices,answer\nPick,"[""x"", ""y""]",y\nPick2,x|y,x\n')
    with pytest.raises(DatasetError, match=r"line 3: field 'choices' \(choices\) must be a list"):
        load_dataset(path, choices="choices")


def test_kind_is_set_for_every_task_and_enters_the_digest():
    rows = [{"id": "a", "question": "def f():", "answer": "pass"}]
    code = load_dataset(rows, kind="code")
    plain = load_dataset(rows)
    assert code[0].kind == "code" and plain[0].kind == "short_answer"
    assert code[0].digest != plain[0].digest
    # Short answers keep the digest they always had, so stored evaluations stay valid.
    expected = hashlib.sha256(json.dumps(["def f():", "pass"]).encode()).hexdigest()[:16]
    assert plain[0].digest == expected == Task(id="a", question="def f():", answer="pass").digest


def test_records_must_be_dicts_and_kinds_must_be_known():
    with pytest.raises(DatasetError, match="record 2: expected a dict, got str"):
        load_dataset([{"id": "a", "question": "q", "answer": "1"}, "oops"])
    with pytest.raises(DatasetError, match="unknown task kind 'essay'; use one of short_answer"):
        load_dataset([{"id": "a", "question": "q", "answer": "1"}], kind="essay")


def test_render_choices_and_field_map_defaults():
    assert render_choices("Q?", ["x", "y"]) == "Q?\n\nA. x\nB. y"
    assert FieldMap.build(choices=["A", "B"]).kind == "multiple_choice"
    assert FieldMap.build().required() == ["question", "answer"]
    assert FieldMap.build(id="uid").required() == ["uid", "question", "answer"]
