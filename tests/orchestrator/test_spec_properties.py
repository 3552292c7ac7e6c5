"""Property tests: any spec input is accepted and round-trips, or gets a RolegraphError.

Whatever the builder, ``from_json`` or ``from_yaml`` is given, the result is
either a spec whose JSON and YAML forms load back to an equal spec with the
same hash, or a :class:`RolegraphError`: never a raw exception, a hang or a
model call.
"""

import copy
import json

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator import END, START, Workflow, WorkflowSpec, register_model
from orchestrator.errors import RolegraphError
from orchestrator.testing import CountingSimChatModel

# One counting model among the references: no example may ever call it.
COUNTER = CountingSimChatModel(model="atlas-mini")
COUNTED = register_model(COUNTER, name="sim-counted:atlas-mini")

PROPERTY = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

NAMES = st.one_of(
    st.sampled_from(["a", "b", "c", "s", "v", "r", "judge", START, END]),
    st.text(max_size=6),
)
ROLES = st.one_of(
    st.sampled_from(["solver", "verifier", "rectifier", "judge", "vote", "planner", "oracle"]),
    st.none(),
)
MODELS = st.sampled_from(["sim:atlas-mini", "sim:atlas-pro", COUNTED, "sim:nope", None])
NUMBERS = st.one_of(
    st.booleans(),
    st.integers(min_value=-5, max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20))
JSON_DATA = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
FREE_TEXT = st.text(max_size=40)
SPEC_NAMES = st.one_of(st.sampled_from(["wf", "self-refine", "My flow 2"]), FREE_TEXT)
TEMPERATURES = st.one_of(st.floats(min_value=0, max_value=2), NUMBERS)


def assert_round_trips(spec: WorkflowSpec) -> None:
    from_json = WorkflowSpec.from_json(spec.to_json())
    from_yaml = WorkflowSpec.from_yaml(spec.to_yaml())
    assert from_json == spec and from_json.hash == spec.hash
    assert from_yaml == spec and from_yaml.hash == spec.hash


def accepted_or_named(make) -> None:
    try:
        spec = make()
    except RolegraphError:
        return
    assert isinstance(spec, WorkflowSpec)
    assert_round_trips(spec)


@st.composite
def builder_programs(draw):
    """A workflow built step by step: a chain of solvers plus random operations."""
    chain = draw(st.integers(min_value=1, max_value=3))
    ops = [("agent", f"s{i}", "solver", "sim:atlas-mini", 0.0, {}) for i in range(chain)]
    ops += [("edge", f"s{i}", f"s{i + 1}") for i in range(chain - 1)]
    for _ in range(draw(st.integers(min_value=0, max_value=5))):
        kind = draw(st.sampled_from(["agent", "edge", "loop"]))
        if kind == "agent":
            options = draw(st.dictionaries(st.text(max_size=5), JSON_DATA, max_size=2))
            temperature = draw(TEMPERATURES)
            ops.append(("agent", draw(NAMES), draw(ROLES), draw(MODELS), temperature, options))
        elif kind == "edge":
            ops.append(("edge", draw(NAMES), draw(NAMES)))
        else:
            ops.append(("loop", draw(NAMES), draw(NAMES), draw(NUMBERS)))
    return draw(SPEC_NAMES), draw(FREE_TEXT), ops


def run_program(name, description, ops) -> WorkflowSpec:
    wf = Workflow(name, description=description)
    for op in ops:
        if op[0] == "agent":
            _, agent, role, model, temperature, options = op
            wf.add_agent(agent, role=role, model=model, temperature=temperature, options=options)
        elif op[0] == "edge":
            wf.add_edge(op[1], op[2])
        else:
            wf.add_loop(op[1], op[2], max_rounds=op[3])
    return wf.build()


@PROPERTY
@given(builder_programs())
def test_builder_accepts_and_round_trips_or_names_the_error(program):
    accepted_or_named(lambda: run_program(*program))
    assert COUNTER.calls == 0


def valid_data() -> dict:
    return {
        "name": "refine",
        "description": "solve, check, fix",
        "agents": [
            {"name": "s", "role": "solver", "model": COUNTED, "temperature": 0.3},
            {"name": "v", "role": "verifier", "model": "sim:atlas-pro"},
            {"name": "r", "role": "rectifier", "model": "sim:atlas-mini", "options": {"k": 1}},
        ],
        "edges": [["s", "v"], ["v", "r"]],
        "loops": [{"source": "r", "target": "v", "max_rounds": 2}],
        "metadata": {"topology": "self_refine"},
    }


PATHS = st.sampled_from(
    [
        (),
        ("name",),
        ("description",),
        ("agents",),
        ("agents", 0),
        ("agents", 0, "name"),
        ("agents", 1, "role"),
        ("agents", 2, "model"),
        ("agents", 0, "temperature"),
        ("agents", 0, "max_tokens"),
        ("agents", 2, "options"),
        ("agents", 2, "prompt"),
        ("agents", 1, "tools"),
        ("edges",),
        ("edges", 0),
        ("edges", 1, 0),
        ("loops", 0, "max_rounds"),
        ("loops", 0, "when"),
        ("entry",),
        ("exit",),
        ("metadata",),
        ("unknown",),
    ]
)


@st.composite
def mutated_specs(draw):
    """A valid spec's data with up to three parts replaced, deleted or added."""
    data = valid_data()
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        path = draw(PATHS)
        value = draw(st.one_of(JSON_DATA, NUMBERS, FREE_TEXT, st.just(START), st.just(END)))
        if not path:
            data = value
            continue
        parent = data
        try:
            for key in path[:-1]:
                parent = parent[key]
            if draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    return data


@PROPERTY
@given(mutated_specs())
def test_from_json_accepts_and_round_trips_or_names_the_error(data):
    text = json.dumps(data)  # NaN and Infinity included, as JSON tools write them
    accepted_or_named(lambda: WorkflowSpec.from_json(text))
    accepted_or_named(lambda: WorkflowSpec.model_validate(copy.deepcopy(data)))
    assert COUNTER.calls == 0


@PROPERTY
@given(mutated_specs())
def test_from_yaml_accepts_and_round_trips_or_names_the_error(data):
    text = yaml.safe_dump(data, allow_unicode=True)
    accepted_or_named(lambda: WorkflowSpec.from_yaml(text))
    assert COUNTER.calls == 0


YAMLISH = st.text(
    alphabet=st.sampled_from(list("agents:-[]{}&*!|>'\"#%@`,?\n\t x0.9")), max_size=80
)


@PROPERTY
@given(st.one_of(st.text(max_size=80), YAMLISH, st.binary(max_size=40)))
def test_arbitrary_text_is_a_spec_or_a_named_error(text):
    accepted_or_named(lambda: WorkflowSpec.from_yaml(text))
    accepted_or_named(lambda: WorkflowSpec.from_json(text))
    assert COUNTER.calls == 0
