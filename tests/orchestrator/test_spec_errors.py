"""Every malformed spec gets one named error, before any model is called."""

import json

import pytest
import yaml

from orchestrator import END, START, Agent, Loop, Workflow, WorkflowSpec
from orchestrator.errors import (
    InvalidEdgeError,
    NoExitError,
    RolegraphError,
    SpecError,
    SpecFormatError,
    UnboundedLoopError,
)
from orchestrator.spec import MAX_LOOP_ROUNDS

M = "sim:atlas-mini"


def solver(name="s"):
    return Agent(name=name, role="solver", model=M)


def refine_data(**loop):
    return {
        "agents": [
            {"name": "s", "role": "solver", "model": M},
            {"name": "v", "role": "verifier", "model": M},
            {"name": "r", "role": "rectifier", "model": M},
        ],
        "edges": [["s", "v"], ["v", "r"]],
        "loops": [{"source": "r", "target": "v", **loop}],
    }


# --- edges touching __start__ / __end__ the wrong way round (KeyError on main) -----------


@pytest.mark.parametrize(
    ("edge", "advice"),
    [
        ([END, "s"], r"write the edge as \('s', '__end__'\)"),
        (["s", START], r"write the edge as \('__start__', 's'\)"),
        ([START, END], "skips every agent"),
        ([END, END], "no edge can leave it"),
    ],
)
def test_edges_the_wrong_way_round_are_named(edge, advice):
    with pytest.raises(InvalidEdgeError, match=advice) as err:
        WorkflowSpec(agents=[solver()], edges=[edge])
    assert err.value.edge == tuple(edge)
    text = json.dumps({"agents": [{"name": "s", "role": "solver", "model": M}], "edges": [edge]})
    with pytest.raises(InvalidEdgeError):
        WorkflowSpec.from_json(text)


def test_builder_refuses_an_edge_out_of_end():
    wf = Workflow().add_agent("s", role="solver", model=M)
    with pytest.raises(InvalidEdgeError, match="__end__ ends the workflow"):
        wf.add_edge(END, "s")
    with pytest.raises(InvalidEdgeError, match="__start__ begins the workflow"):
        wf.add_edge("s", START)
    with pytest.raises(InvalidEdgeError, match="skips every agent"):
        wf.add_edge(START, END)


def test_builder_refuses_a_second_exit():
    wf = Workflow().add_agent("a", role="solver", model=M).add_agent("b", role="solver", model=M)
    with pytest.raises(NoExitError, match="two exits: 'a' and 'b'"):
        wf.add_edge(["a", "b"], END)


# --- agents ------------------------------------------------------------------------------


def test_an_agent_without_a_role_is_a_named_spec_error():
    with pytest.raises(SpecFormatError, match=r"agent 's' needs a role.*solver") as err:
        Workflow().add_agent("s", model=M)
    assert err.value.agent == "s" and err.value.field == "role"


@pytest.mark.parametrize(
    "name", ['x"""; import os', "a b", "", "9lives", "a\n", "é", "x" * 65, START]
)
def test_agent_names_are_restricted(name):
    with pytest.raises(SpecError, match=r"agent|reserved"):
        WorkflowSpec(agents=[{"name": name, "role": "solver", "model": M}])


@pytest.mark.parametrize(
    "name", ['x"""; open("PWNED", "w")', "a\nb", "tab\there", " lead", "trail ", "x" * 101]
)
def test_workflow_names_are_restricted(name):
    with pytest.raises(SpecFormatError, match="workflow names use") as err:
        Workflow(name).add_agent("s", role="solver", model=M).build()
    assert err.value.field == "name"


@pytest.mark.parametrize("name", ["self-refine", "My workflow 2", "v1.2_final", "_x"])
def test_ordinary_workflow_names_are_fine(name):
    assert Workflow(name).add_agent("s", role="solver", model=M).build().name == name


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"temperature": True}, "temperature"),
        ({"temperature": 3}, "temperature"),
        ({"max_tokens": True}, "max_tokens"),
        ({"max_tokens": 10**18}, "max_tokens"),
        ({"max_tokens": 1.5}, "max_tokens"),
        ({"options": {"x": float("nan")}}, "options"),
        ({"options": {1: "x"}}, "options"),
        ({"options": {"x": object()}}, "options"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_nonsense_agent_settings_name_the_field(settings, field):
    with pytest.raises(SpecFormatError, match=rf"agent 's'.*'{field}'|agent 's'.*{field}") as e:
        Agent(name="s", role="solver", model=M, **settings)
    assert e.value.agent == "s"


def test_options_that_expand_too_far_are_refused():
    # Shared references: tiny in memory, a billion values once hashed or dumped.
    bomb = ["x"] * 10
    for _ in range(8):
        bomb = [bomb] * 10
    with pytest.raises(SpecFormatError, match="options holds more than"):
        Agent(name="s", role="solver", model=M, options={"x": bomb})


# --- loop bounds ---------------------------------------------------------------------------


@pytest.mark.parametrize("bound", [True, False, 2.0, "2", [2]])
def test_loop_bounds_must_be_whole_numbers(bound):
    with pytest.raises(SpecFormatError, match="max_rounds must be a whole number") as err:
        WorkflowSpec.model_validate(refine_data(max_rounds=bound))
    assert err.value.field == "max_rounds" and err.value.edge == ("r", "v")


@pytest.mark.parametrize("bound", [10**18, MAX_LOOP_ROUNDS + 1])
def test_loop_bounds_have_a_sane_cap(bound):
    with pytest.raises(UnboundedLoopError, match=f"more than the {MAX_LOOP_ROUNDS} rounds"):
        WorkflowSpec.model_validate(refine_data(max_rounds=bound))
    with pytest.raises(UnboundedLoopError):
        Workflow().add_agent("s", role="solver", model=M).add_agent(
            "v", role="verifier", model=M
        ).add_agent("r", role="rectifier", model=M).add_edge("s", "v").add_edge("v", "r").add_loop(
            "r", "v", max_rounds=bound
        ).build()


def test_the_largest_loop_bound_is_accepted():
    spec = WorkflowSpec.model_validate(refine_data(max_rounds=MAX_LOOP_ROUNDS))
    assert spec.loops[0].max_rounds == MAX_LOOP_ROUNDS


def test_a_loop_record_refuses_a_boolean_bound():
    with pytest.raises(SpecFormatError, match="loop r -> v"):
        Loop(source="r", target="v", max_rounds=True)


# --- JSON -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]", "holds a list, not a workflow spec"),
        ('"agents"', "holds a str, not a workflow spec"),
        ("null", "holds nothing"),
        ("{bad", "invalid data in <string> at line 1, column 2"),
        ('{"agents": [], "agents": []}', "duplicate key 'agents'"),
        (
            '{"agents": [{"name": "s", "role": "solver", "model": "sim:x"}], "colour": 1}',
            "'colour'",
        ),
        ('{"agents": 5}', "field 'agents': Input should be a list"),
        ('{"name": "x", "agents": [{"name": "s", "role": "solver", "foo": 1}]}', "'foo'"),
        ("[" * 100_000, "nested more than"),
        ('{"agents": [], "metadata": {"x": NaN}}', "NaN is not a JSON number"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_malformed_json_gets_a_spec_format_error(text, message):
    with pytest.raises(SpecFormatError, match=message):
        WorkflowSpec.from_json(text)


def test_unknown_fields_are_named_with_the_known_ones():
    data = refine_data(max_rounds=2)
    data["agents"][0]["tempreature"] = 0.5
    with pytest.raises(SpecFormatError, match=r"agent 's': unknown field 'tempreature'.*known"):
        WorkflowSpec.model_validate(data)
    with pytest.raises(SpecFormatError, match="workflow spec: unknown field 'edge'"):
        WorkflowSpec.model_validate({**refine_data(max_rounds=2), "edge": []})


# --- YAML (raw yaml.*Error and RecursionError on main) --------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("agents: [\n", "line 2, column 1"),
        ("agents:\n\t- x", "line 2, column 1"),
        ("a: *nowhere", "found undefined alias"),
        ("agents: !!python/object:os.system x", "could not determine a constructor"),
        ("agents: !!binary aGk=", "is not supported"),
        ("- a\n---\n- b", "another document"),
        ("[" * 50_000, "nested more than 64 levels"),
        ("agents: " + "[" * 300 + "]" * 300, "nested more than 64 levels"),
        ("x: " + "9" * 5000, "more than 4,300 digits"),
    ],
)
def test_invalid_yaml_gets_a_spec_format_error(text, message):
    with pytest.raises(SpecFormatError, match=message):
        WorkflowSpec.from_yaml(text)


def test_duplicate_yaml_keys_are_refused_not_silently_overwritten():
    text = "agents:\n  - name: s\n    role: solver\n    model: sim:atlas-mini\n    model: x\n"
    with pytest.raises(SpecFormatError, match=r"line 5, column 5: found duplicate key 'model'"):
        WorkflowSpec.from_yaml(text)


def test_a_yaml_alias_bomb_in_options_is_refused_before_it_expands():
    levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i, name in enumerate("bcdefgh"):
        prev = "abcdefgh"[i]
        levels.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * 10)}]")
    text = (
        "agents:\n  - name: s\n    role: solver\n    model: sim:atlas-mini\n    options:\n"
        + "".join(f"      {line}\n" for line in levels)
    )
    with pytest.raises(SpecFormatError, match="expands to more than 100,000 values"):
        WorkflowSpec.from_yaml(text)


def test_yaml_anchors_within_the_limit_still_work():
    text = (
        "agents:\n"
        "  - &base {name: a, role: solver, model: sim:atlas-mini, temperature: 0.7}\n"
        "  - {<<: *base, name: b}\n"
        "  - {name: vote, role: vote}\n"
        "edges: [[a, vote], [b, vote]]\n"
    )
    spec = WorkflowSpec.from_yaml(text)
    assert spec.agent("b").temperature == 0.7


def test_load_names_the_file(tmp_path):
    path = tmp_path / "wf.yaml"
    path.write_text("agents: [\n")
    with pytest.raises(SpecFormatError, match=r"wf\.yaml at line 2"):
        WorkflowSpec.load(path)
    with pytest.raises(FileNotFoundError):
        WorkflowSpec.load(tmp_path / "missing.yaml")


def test_yaml_written_by_the_standard_dumper_round_trips():
    spec = (
        Workflow("ok")
        .add_agent("s", role="solver", model=M, options={"when": "2024-05-01", "n": [1, 2]})
        .build()
    )
    again = WorkflowSpec.from_yaml(yaml.safe_dump(spec.model_dump(mode="json")))
    assert again == spec and again.hash == spec.hash


def test_every_spec_error_is_a_rolegraph_error():
    assert issubclass(SpecFormatError, RolegraphError)
    assert issubclass(InvalidEdgeError, SpecError)
