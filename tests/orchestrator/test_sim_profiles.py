"""Simulated profiles and families as plain data (YAML or JSON), no code needed."""

import json

import pytest

from orchestrator import Agent, WorkflowSpec, deploy
from orchestrator.answers import normalize_answer
from orchestrator.errors import RolegraphError
from orchestrator.sim import (
    FAMILIES,
    PROFILES,
    SimFamily,
    SimProfile,
    SimProfileError,
    arithmetic_tasks,
    get_family,
    get_profile,
    list_profiles,
    load_profiles,
    register_profiles,
)

BUNDLED = {
    "atlas-nano",
    "atlas-mini",
    "atlas-pro",
    "lynx-small",
    "lynx-large",
    "orca-small",
    "orca-medium",
}


def accuracy(model: str, n: int = 60) -> float:
    tasks = arithmetic_tasks(n, seed=31, levels=["hard"])
    spec = WorkflowSpec(agents=[Agent(name="s", role="solver", model=model)])
    results = deploy(spec, record_prompts=False).batch([t["question"] for t in tasks])
    hits = [normalize_answer(r.answer) == t["answer"] for r, t in zip(results, tasks, strict=True)]
    return sum(hits) / len(hits)


def test_the_bundled_profiles_and_families_are_registered():
    assert {p.name for p in PROFILES} == BUNDLED
    assert set(list_profiles()) >= BUNDLED
    assert {f.name for f in FAMILIES} == {"atlas", "lynx", "orca"}
    for profile in PROFILES:
        assert profile.sampling_share > 0
        assert profile.family_settings == {
            "error_correlation": get_family(profile.family).error_correlation,
            "mistake_correlation": get_family(profile.family).mistake_correlation,
        }


def test_a_yaml_file_defines_families_and_profiles(tmp_path):
    path = tmp_path / "pool.yaml"
    path.write_text(
        """
families:
  - name: heron
    error_correlation: 0.3
    mistake_correlation: 0.5
profiles:
  - name: heron-small
    base: atlas-nano
    family: heron
    reasoning: 0.99
    arithmetic: 0.999
    format_error_rate: 0.0
    garble_rate: 0.0
    input_price: 0.08
    output_price: 0.32
""",
        encoding="utf-8",
    )
    [profile] = load_profiles(path, replace=True)
    assert profile.name == "heron-small" and get_profile("heron-small") == profile
    assert profile.family_settings == {"error_correlation": 0.3, "mistake_correlation": 0.5}
    # Fields not given come from the base profile.
    assert profile.verifier_tpr == get_profile("atlas-nano").verifier_tpr
    # It runs as sim:heron-small and is priced from its data.
    assert accuracy("sim:heron-small") > accuracy("sim:atlas-nano") + 0.1
    assert (
        deploy(WorkflowSpec(agents=[Agent(name="s", role="solver", model="sim:heron-small")]))
        .invoke("What is 2 + 3?")
        .cost
        > 0
    )


def test_a_json_file_with_a_name_keyed_mapping(tmp_path):
    path = tmp_path / "pool.json"
    path.write_text(
        json.dumps(
            {
                "families": {"kite": {"error_correlation": 0.1}},
                "profiles": {
                    "kite-one": {
                        "family": "kite",
                        "reasoning": 0.9,
                        "input_price": 1.0,
                        "output_price": 2.0,
                    }
                },
            }
        ),
        encoding="utf-8",
    )
    [profile] = load_profiles(path, replace=True)
    assert profile.family == "kite" and get_family("kite").error_correlation == 0.1
    assert profile.judge_accuracy == SimProfile.model_fields["judge_accuracy"].default


def test_family_settings_are_part_of_the_profile_fingerprint():
    register_profiles(
        [SimFamily(name="wren"), {"name": "wren-1", "base": "atlas-mini", "family": "wren"}],
        replace=True,
    )
    before = get_profile("wren-1").model_dump_json()
    register_profiles([SimFamily(name="wren", mistake_correlation=0.9)], replace=True)
    assert get_profile("wren-1").model_dump_json() != before
    # A dump reads back as the same profile.
    assert SimProfile.model_validate(get_profile("wren-1").model_dump()) == get_profile("wren-1")


def test_unregistered_families_get_defaults():
    assert get_family("nobody") == SimFamily(name="nobody")


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (
            {
                "name": "bad-1",
                "family": "x",
                "reasoning": 2.0,
                "input_price": 1,
                "output_price": 1,
            },
            r"bad-1.*reasoning",
        ),
        (
            {"name": "bad-2", "family": "x", "input_price": 1, "output_price": 1, "typo": 1},
            r"bad-2.*typo",
        ),
        ({"name": "bad-3", "base": "no-such-model"}, r"bad-3.*no-such-model"),
        ({"families": [{"name": "f", "error_correlation": -1}]}, r"family 'f'.*error_correlation"),
        (
            {
                "profiles": {
                    "bad-4": {
                        "family": "x",
                        "task_correlation": 0.9,
                        "model_correlation": 0.5,
                        "input_price": 1,
                        "output_price": 1,
                    }
                }
            },
            r"bad-4.*below 1",
        ),
    ],
)
def test_bad_data_gets_one_named_error(data, match):
    with pytest.raises(SimProfileError, match=match) as raised:
        register_profiles(data, replace=True)
    assert isinstance(raised.value, RolegraphError)


def test_a_taken_name_needs_replace():
    with pytest.raises(SimProfileError, match="exists"):
        register_profiles({"name": "atlas-nano", "base": "atlas-nano", "reasoning": 0.5})


def test_unreadable_files_are_named(tmp_path):
    with pytest.raises(SimProfileError, match="cannot read"):
        load_profiles(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("profiles: [unclosed", encoding="utf-8")
    with pytest.raises(SimProfileError, match=r"broken\.yaml"):
        load_profiles(broken)
