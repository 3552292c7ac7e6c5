"""Datasets: loading with clear errors, seeded splits and the bundled task suite."""

import csv
import io
import json
import os
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search.evaluation import Dataset, DatasetError, Task, bundled_dataset, load_dataset

RECORDS = [
    {"id": "q1", "question": "What is 2 + 3?", "answer": "5"},
    {"id": 2, "question": "What is 6 * 7?", "answer": 42, "topic": "times"},
    {"id": "q3", "question": "Name it.", "answer": "Paris", "metadata": {"level": "easy"}},
]


def write_jsonl(path, rows):
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_records_become_tasks_with_metadata():
    data = load_dataset(RECORDS, name="toy")
    assert data.name == "toy" and len(data) == 3
    assert data[1] == Task(
        id="2", question="What is 6 * 7?", answer="42", metadata={"topic": "times"}
    )
    assert data.get("q3").metadata == {"level": "easy"}
    assert data.ids() == ["q1", "2", "q3"]
    with pytest.raises(KeyError, match="no task 'q9'"):
        data.get("q9")


def test_jsonl_loads_and_skips_blank_lines(tmp_path):
    path = write_jsonl(tmp_path / "gsm.jsonl", [RECORDS[0], "", RECORDS[1]])
    data = load_dataset(path)
    assert data.name == "gsm" and data.ids() == ["q1", "2"]


@pytest.mark.parametrize(
    ("rows", "message", "location"),
    [
        (
            [RECORDS[0], {"id": "x", "question": "?"}],
            r"gsm\.jsonl line 2: missing field 'answer'",
            2,
        ),
        (
            [RECORDS[0], {"question": "?", "answer": "1"}],
            r"line 2: missing field 'id'; line 1 has one\. Give every task an id, or none",
            2,
        ),
        (
            [{"question": "?", "answer": "1"}, RECORDS[0]],
            r"line 2: has an id \('id'\) but line 1 has none",
            2,
        ),
        ([RECORDS[0], "", RECORDS[0]], r"line 3: duplicate id 'q1' \(first used on line 1\)", 3),
        ([RECORDS[0], "{not json"], r"line 2: invalid JSON", 2),
        ([RECORDS[0], "[1, 2]"], r"line 2: expected a JSON object, got list", 2),
        ([{"id": "a", "question": {"x": 1}, "answer": "1"}], r"'question' must be text", 1),
    ],
)
def test_bad_jsonl_names_the_line(tmp_path, rows, message, location):
    path = write_jsonl(tmp_path / "gsm.jsonl", rows)
    with pytest.raises(DatasetError, match=message) as info:
        load_dataset(path)
    assert info.value.location == location


def test_an_empty_file_is_an_empty_dataset_error(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n\n")
    with pytest.raises(DatasetError, match=r"empty dataset: .*empty\.jsonl has no tasks"):
        load_dataset(path)


def test_records_errors_name_the_record():
    with pytest.raises(DatasetError, match=r"records record 2: missing field 'question' or"):
        load_dataset([RECORDS[0], {"id": "b"}])
    with pytest.raises(DatasetError, match="empty dataset"):
        load_dataset([])
    with pytest.raises(DatasetError, match=r"record 2: duplicate id 'q1'"):
        Dataset.from_records([RECORDS[0], RECORDS[0]])


def test_csv_loads_extra_columns_as_metadata(tmp_path):
    path = tmp_path / "qa.csv"
    path.write_text('id,question,answer,level\na,What is 1+1?,2,easy\nb,"Multi, comma",x,hard\n')
    data = load_dataset(path)
    assert data.ids() == ["a", "b"] and data[1].question == "Multi, comma"
    assert data[0].metadata == {"level": "easy"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id,question\na,b\n", r"qa\.csv line 1: the header has no 'answer' column"),
        ("id,question,answer\na,q,1\nb,,2\n", r"qa\.csv line 3: missing field 'question'"),
        ("id,question,answer\na,q,1\nc,q,2\na,q,3\n", r"line 4: duplicate id 'a' \(first used"),
        ("id,question,answer\n", r"empty dataset"),
        ("", r"empty dataset"),
    ],
)
def test_bad_csv_names_the_line(tmp_path, text, message):
    path = tmp_path / "qa.csv"
    path.write_text(text)
    with pytest.raises(DatasetError, match=message):
        load_dataset(path)


def test_json_arrays_and_unsupported_files(tmp_path):
    path = tmp_path / "arr.json"
    path.write_text(json.dumps(RECORDS))
    assert len(load_dataset(path)) == 3
    path.write_text(json.dumps({"id": 1}))
    with pytest.raises(DatasetError, match="expected a JSON array"):
        load_dataset(path)
    (tmp_path / "x.parquet").write_text("")
    with pytest.raises(ValueError, match=r"use \.jsonl, \.json or \.csv"):
        load_dataset(tmp_path / "x.parquet")
    with pytest.raises(FileNotFoundError):
        load_dataset(tmp_path / "missing.jsonl")


def test_task_digest_changes_with_its_content():
    task = Task(id="a", question="q", answer="1")
    assert task.digest == Task(id="b", question="q", answer="1").digest
    assert task.digest != Task(id="a", question="q", answer="2").digest
    data = load_dataset(RECORDS)
    edited = load_dataset([*RECORDS[:2], {**RECORDS[2], "answer": "Lyon"}])
    assert data.fingerprint != edited.fingerprint


def test_splits_are_seeded_disjoint_and_cover_the_data():
    data = bundled_dataset(n=50, seed=3)
    splits = data.split(train=0.6, validation=0.2, test=0.2, seed=7)
    parts = [splits.train, splits.validation, splits.test]
    assert [len(p) for p in parts] == [30, 10, 10]
    ids = [set(p.ids()) for p in parts]
    assert set().union(*ids) == set(data.ids()) and sum(len(i) for i in ids) == 50
    assert all(p.name == data.name for p in parts)
    assert [p.partition for p in parts] == ["train", "validation", "test"]
    again = data.split(train=0.6, validation=0.2, test=0.2, seed=7)
    assert again == splits
    assert data.split(seed=8).test.ids() != splits.test.ids()


def test_splits_do_not_depend_on_file_order():
    data = bundled_dataset(n=30)
    shuffled = Dataset(name=data.name, tasks=tuple(reversed(data.tasks)))
    assert set(data.split(seed=1).test.ids()) == set(shuffled.split(seed=1).test.ids())


def test_stratified_splits_keep_each_level_in_proportion():
    data = bundled_dataset(n=60, seed=2)
    test = data.split(train=0.5, validation=0.25, test=0.25, seed=0, stratify="level").test
    levels = [task.metadata["level"] for task in test]
    assert {level: levels.count(level) for level in set(levels)} == {
        "easy": 5,
        "medium": 5,
        "hard": 5,
    }


def test_split_shares_must_sum_to_one():
    with pytest.raises(ValueError, match="sum to 1"):
        bundled_dataset(n=10).split(train=0.5, validation=0.2, test=0.2)


def test_the_bundled_suite_is_the_simulator_task_generator():
    data = bundled_dataset("arithmetic", n=9, seed=4, levels=("hard",))
    assert len(data) == 9 and data.name == "arithmetic-s4-hard"
    assert {t.metadata["level"] for t in data} == {"hard"}
    assert data.ids()[0] == "arith-4-0000"
    assert bundled_dataset(n=20, seed=4, levels=("hard",)).tasks[:9] == data.tasks
    assert load_dataset("bundled:arithmetic").name == "arithmetic-s0-easy-medium-hard"
    with pytest.raises(ValueError, match="unknown bundled dataset"):
        bundled_dataset("gsm8k")
    with pytest.raises(DatasetError, match="empty dataset"):
        bundled_dataset(n=0)


# --- properties: any input is accepted and stable, or rejected with a DatasetError -------

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KEYS = st.sampled_from(["id", "question", "answer", "q", "a", "uid", "topic", "choices", ""])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
RECORDS_ = st.lists(st.dictionaries(KEYS, VALUES, max_size=5), max_size=6)
MAPPINGS = st.sampled_from(
    [
        {},
        {"question": "q", "answer": "a"},
        {"question": "q", "answer": "a", "id": "uid"},
        {"id": None},
        {"choices": "choices"},
        {"kind": "code"},
    ]
)


def _load_or_reject(source, **mapping):
    """Load; a rejection must be the named DatasetError, nothing else."""
    try:
        return load_dataset(source, **mapping)
    except DatasetError:
        return None


def _check_stable(data, again):
    assert data is not None and again is not None
    ids = data.ids()
    assert len(set(ids)) == len(ids) and all(ids)
    # The same tasks, ids and metadata (compared as JSON: NaN never equals itself).
    assert again.model_dump_json() == data.model_dump_json()
    assert again.fingerprint == data.fingerprint


@PROPERTY
@given(records=RECORDS_, mapping=MAPPINGS)
def test_any_records_load_stably_or_fail_with_a_dataset_error(records, mapping):
    data = _load_or_reject(records, **mapping)
    if data is not None:
        _check_stable(data, load_dataset(records, **mapping))


@PROPERTY
@given(
    records=st.lists(
        st.fixed_dictionaries({"question": st.text(max_size=12), "answer": st.text(max_size=6)}),
        min_size=1,
        max_size=6,
    ),
    seed=st.randoms(),
)
def test_generated_ids_do_not_depend_on_the_order(records, seed):
    data = _load_or_reject(records)
    shuffled = list(records)
    seed.shuffle(shuffled)
    other = _load_or_reject(shuffled)
    assert (data is None) == (other is None)
    if data is not None:
        key = sorted((t.id, t.question, t.answer) for t in data)
        assert key == sorted((t.id, t.question, t.answer) for t in other)


def _file(suffix, content):
    handle, path = tempfile.mkstemp(suffix=suffix)
    with os.fdopen(handle, "wb") as out:
        out.write(content)
    return path


LINES = st.one_of(
    st.text(max_size=40),
    RECORDS_.map(lambda rs: json.dumps(rs[0]) if rs else "{}"),
    st.just('{"question": "What is 2 + 3?", "answer": 5}'),
    st.just("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["),
    st.just('{"question": "q", "answer": ' + "9" * 5000 + "}"),
)


@PROPERTY
@given(lines=st.lists(LINES, max_size=6), junk=st.binary(max_size=8), mapping=MAPPINGS)
def test_any_jsonl_text_loads_stably_or_fails_with_a_dataset_error(lines, junk, mapping):
    path = _file(".jsonl", "\n".join(lines).encode() + junk)
    try:
        data = _load_or_reject(path, **mapping)
        if data is not None:
            _check_stable(data, load_dataset(path, **mapping))
    finally:
        os.unlink(path)


@PROPERTY
@given(records=RECORDS_, junk=st.binary(max_size=8), mapping=MAPPINGS)
def test_any_json_array_loads_stably_or_fails_with_a_dataset_error(records, junk, mapping):
    path = _file(".json", json.dumps(records, allow_nan=True).encode() + junk)
    try:
        data = _load_or_reject(path, **mapping)
        if data is not None:
            _check_stable(data, load_dataset(path, **mapping))
    finally:
        os.unlink(path)


CELLS = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)


@PROPERTY
@given(
    header=st.lists(KEYS, max_size=5),
    rows=st.lists(st.lists(CELLS, max_size=6), max_size=6),
    junk=st.binary(max_size=6),
    mapping=MAPPINGS,
)
def test_any_csv_text_loads_stably_or_fails_with_a_dataset_error(header, rows, junk, mapping):
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(rows)
    path = _file(".csv", text.getvalue().encode() + junk)
    try:
        data = _load_or_reject(path, **mapping)
        if data is not None:
            _check_stable(data, load_dataset(path, **mapping))
    finally:
        os.unlink(path)
