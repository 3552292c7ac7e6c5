"""Specs round-trip through JSON and YAML and hash the same everywhere."""

import os
import subprocess
import sys

import pytest

from orchestrator import END, START, Agent, Loop, Workflow, WorkflowSpec, spec_mermaid

M = "sim:atlas-mini"


def self_refine() -> WorkflowSpec:
    return (
        Workflow("self-refine", description="solve, check, fix")
        .add_agent("solver", role="solver", model=M, temperature=0.3)
        .add_agent("check", role="verifier", model="sim:atlas-pro")
        .add_agent("fix", role="rectifier", model=M, options={"style": "terse"})
        .add_edge("solver", "check")
        .add_edge("check", "fix")
        .add_loop("fix", "check", max_rounds=2)
        .build()
    )


def ensemble(order: list[int]) -> WorkflowSpec:
    agents = [Agent(name=f"s{i}", role="solver", model=M, temperature=0.7) for i in range(3)]
    edges = [(f"s{i}", "vote") for i in range(3)]
    return WorkflowSpec(
        name="ens",
        agents=[*(agents[i] for i in order), Agent(name="vote", role="vote")],
        edges=[edges[i] for i in order],
    )


def test_json_round_trip_is_equal_and_keeps_the_hash():
    spec = self_refine()
    again = WorkflowSpec.from_json(spec.to_json())
    assert again == spec
    assert again.hash == spec.hash
    assert again.loops[0].max_rounds == 2


def test_yaml_round_trip_is_equal_and_keeps_the_hash(tmp_path):
    spec = self_refine()
    path = spec.save(tmp_path / "wf.yaml")
    assert "role: rectifier" in path.read_text()
    again = WorkflowSpec.load(path)
    assert again == spec and again.hash == spec.hash


def test_save_and_load_json_file(tmp_path):
    spec = self_refine()
    assert WorkflowSpec.load(spec.save(tmp_path / "wf.json")) == spec


def test_order_of_agents_and_edges_does_not_change_the_hash():
    assert ensemble([0, 1, 2]).hash == ensemble([2, 0, 1]).hash


def test_name_description_and_metadata_are_not_hashed():
    spec = self_refine()
    renamed = spec.model_copy(update={"name": "other", "metadata": {"topology": "x"}})
    assert renamed.hash == spec.hash
    assert renamed != spec


def test_explicit_entry_and_exit_hash_like_inferred_ones():
    spec = self_refine()
    explicit = spec.model_copy(update={"entry": ("solver",), "exit": "fix"})
    assert explicit.hash == spec.hash


def test_start_and_end_edges_declare_entry_and_exit():
    spec = (
        Workflow()
        .add_agent("a", role="solver", model=M)
        .add_agent("b", role="solver", model=M)
        .add_edge(START, "a")
        .add_edge("a", "b")
        .add_edge("b", END)
        .build()
    )
    assert spec.structure.entries == ("a",) and spec.structure.exit == "b"


@pytest.mark.parametrize(
    "change",
    [
        {"temperature": 0.9},
        {"model": "sim:atlas-nano"},
        {"prompt": "Be brief."},
        {"options": {"style": "verbose"}},
    ],
)
def test_relevant_changes_change_the_hash(change):
    spec = self_refine()
    fix = spec.agent("fix").model_copy(update=change)
    changed = spec.model_copy(update={"agents": [*spec.agents[:2], fix]})
    assert changed.hash != spec.hash


def test_loop_bound_changes_the_hash():
    spec = self_refine()
    changed = spec.model_copy(update={"loops": [Loop(source="fix", target="check", max_rounds=3)]})
    assert changed.hash != spec.hash


def test_model_copy_revalidates():
    from orchestrator.errors import UnknownAgentError

    with pytest.raises(UnknownAgentError):
        self_refine().model_copy(update={"edges": [("solver", "ghost")]})


def test_with_metadata_is_a_revalidated_copy_without_the_cost():
    spec = self_refine()
    tagged = spec.with_metadata({"topology": "self_refine", "params": {"rounds": 2}})
    full = spec.model_copy(
        update={"metadata": {"topology": "self_refine", "params": {"rounds": 2}}}
    )
    assert tagged == full and tagged.hash == full.hash == spec.hash
    assert tagged.structure is spec.structure  # kept, not re-analysed
    assert tagged.structure.exit == full.structure.exit and tagged.metadata["params"] == {
        "rounds": 2
    }
    assert spec.metadata == {}  # the original is untouched
    with pytest.raises(ValueError, match="metadata keys must be strings"):
        spec.with_metadata({1: "x"})


def test_hash_is_stable_across_processes():
    script = (
        "from tests.orchestrator.test_spec import self_refine, ensemble;"
        "print(self_refine().hash, ensemble([1, 2, 0]).hash)"
    )
    results = []
    for seed in ("1", "2"):  # a different PYTHONHASHSEED must not matter
        done = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        results.append(done.stdout.split())
    assert results[0] == results[1] == [self_refine().hash, ensemble([0, 1, 2]).hash]


def test_spec_is_immutable():
    spec = self_refine()
    with pytest.raises(Exception, match="frozen"):
        spec.name = "changed"  # type: ignore[misc]


def test_json_schema_is_exported_for_editors():
    schema = WorkflowSpec.model_json_schema()
    assert "agents" in schema["properties"]


def test_model_instance_is_registered_as_a_stable_reference():
    from orchestrator import SimChatModel

    model = SimChatModel(model="atlas-nano", seed=3)
    agent = Agent(name="a", role="solver", model=model)
    assert agent.model.startswith("sim:atlas-nano@")
    assert Agent(name="b", role="solver", model=model).model == agent.model
    # An equal instance is the same model: the reference depends on class and settings only.
    twin = Agent(name="c", role="solver", model=SimChatModel(model="atlas-nano", seed=3))
    assert twin.model == agent.model
    other = Agent(name="d", role="solver", model=SimChatModel(model="atlas-nano", seed=4))
    assert other.model != agent.model
    spec = WorkflowSpec(agents=[agent])
    assert WorkflowSpec.from_json(spec.to_json()) == spec


def test_a_spec_with_an_instance_hashes_the_same_whatever_was_registered_before():
    code = (
        "from orchestrator import SimChatModel, Workflow\n"
        "from orchestrator.models import register_model\n"
        "for seed in {seeds}: register_model(SimChatModel(model='atlas-nano', seed=seed))\n"
        "m = SimChatModel(model='atlas-nano', seed=3)\n"
        "print(Workflow('w').add_agent('s', role='solver', model=m).build().hash)\n"
    )
    hashes = {
        subprocess.run(
            [sys.executable, "-c", code.format(seeds=seeds)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seeds in ([], [3, 3, 5], [5, 3])
    }
    assert len(hashes) == 1


def test_mermaid_shows_agents_roles_and_loops():
    text = spec_mermaid(self_refine())
    assert text.startswith("flowchart TD")
    assert "rectifier" in text and "max 2" in text and "fix --> __end__" in text
