"""The YAML and JSON loaders read untrusted text within limits, with named errors."""

import pytest

from orchestrator.errors import InputFormatError
from orchestrator.yamlio import MAX_NODES, load_data_file, load_json, load_yaml


def bomb(levels: int, width: int = 10) -> str:
    lines = [f"l0: &l0 [{', '.join(['x'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
    return "\n".join(lines)


def test_plain_data_loads():
    assert load_yaml("a: [1, 2.5, true, null, text]") == {"a": [1, 2.5, True, None, "text"]}
    assert load_yaml("") is None
    assert load_json('{"a": [1, 2.5, true, null, "text"]}') == {"a": [1, 2.5, True, None, "text"]}


def test_an_alias_bomb_is_refused_without_expanding_it():
    with pytest.raises(InputFormatError, match="expands to more than") as err:
        load_yaml(bomb(9))  # 10**9 values once expanded
    assert err.value.line == 5 and err.value.source == "<string>"  # l4: 10**5 values


def test_aliases_within_the_limit_are_fine():
    data = load_yaml(bomb(3))  # 10 + 100 + 1,000 values
    assert len(data["l2"]) == 10 and data["l2"][0] is data["l1"]
    with pytest.raises(InputFormatError):
        load_yaml(bomb(3), max_nodes=1_000)


def test_a_self_referencing_alias_is_refused():
    with pytest.raises(InputFormatError, match="refers to itself"):
        load_yaml("a: &a [1, *a]")


@pytest.mark.parametrize(
    "text", ["[" * 100 + "]" * 100, "a:\n" + "".join("  " * i + "- \n" for i in range(80))]
)
def test_deep_nesting_is_refused(text):
    with pytest.raises(InputFormatError, match="nested more than 64 levels"):
        load_yaml(text)


def test_duplicate_keys_are_refused_with_their_place():
    with pytest.raises(InputFormatError, match="duplicate key 'b'") as err:
        load_yaml("a: 1\nb: 2\nb: 3\n", source="conf.yaml")
    assert (err.value.line, err.value.column, err.value.source) == (3, 1, "conf.yaml")
    with pytest.raises(InputFormatError, match="duplicate key 'b'"):
        load_json('{"b": 1, "b": 2}')


def test_merge_keys_may_override_what_they_merge():
    assert load_yaml("base: &b {x: 1, y: 2}\nd: {<<: *b, x: 3}")["d"] == {"x": 3, "y": 2}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("!!python/object/apply:os.system [echo hi]", "could not determine a constructor"),
        ("!!binary aGk=", "is not supported"),
        ("!!set {a, b}", "is not supported"),
        ("!!omap [a: 1]", "is not supported"),
        ("\x1f", r"U\+001F"),
        ("a: 1\n---\nb: 2", "another document"),
    ],
)
def test_anything_but_plain_data_is_refused(text, message):
    with pytest.raises(InputFormatError, match=message):
        load_yaml(text)


def test_timestamps_stay_strings():
    assert load_yaml("when: 2024-05-01 10:00:00") == {"when": "2024-05-01 10:00:00"}


def test_long_text_and_long_numbers_are_refused():
    with pytest.raises(InputFormatError, match="the limit is 10"):
        load_yaml("a: 12345678901", max_chars=10)
    with pytest.raises(InputFormatError, match="more than 4,300 digits"):
        load_yaml("a: " + "7" * 5000)
    with pytest.raises(InputFormatError, match="more than 4,300 digits"):
        load_json("7" * 5000)


@pytest.mark.parametrize("text", ["[NaN]", "[Infinity]", "[1e999]"])
def test_json_numbers_must_be_finite(text):
    with pytest.raises(InputFormatError, match="not a JSON number"):
        load_json(text)


def test_json_errors_carry_their_place():
    with pytest.raises(InputFormatError, match="line 2, column 3") as err:
        load_json('{"a": 1,\n  oops}', source="spec.json")
    assert err.value.line == 2 and err.value.source == "spec.json"
    with pytest.raises(InputFormatError, match="nested more than"):
        load_json("[" * 200_000)
    with pytest.raises(InputFormatError, match=f"more than {MAX_NODES:,} values"):
        load_json("[" + ",".join(["0"] * (MAX_NODES + 1)) + "]")


def test_files_load_by_suffix(tmp_path):
    (tmp_path / "a.yaml").write_text("a: 1")
    (tmp_path / "a.json").write_text('{"a": 1}')
    (tmp_path / "bad.yml").write_bytes(b"a: \xff")
    assert load_data_file(tmp_path / "a.yaml") == load_data_file(tmp_path / "a.json") == {"a": 1}
    with pytest.raises(InputFormatError, match=r"bad\.yml is not UTF-8"):
        load_data_file(tmp_path / "bad.yml")
    with pytest.raises(FileNotFoundError):
        load_data_file(tmp_path / "missing.yaml")
