"""route() on a finished search: the verified arm, complementary arms, deadline, cascade
feedback through the store, and the report's routing section."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from search.report import write_report
from search.routing import RoutedWorkflow, evaluate_routing, load_routed, route
from search.routing.records import VERIFIER_AGENT, outcomes, queries
from search.store import Store


@pytest.fixture(scope="module")
def checked(finished: dict[str, Any]) -> RoutedWorkflow:
    return route(
        finished["result"],
        tasks=finished["data"].tasks,
        store=finished["store"],
        verifier="sim:orca-medium",
        policy="cascade",
    )


def test_arms_are_the_cheapest_and_the_strongest_first(finished: dict[str, Any]) -> None:
    result = finished["result"]
    routed = route(result, tasks=finished["data"].tasks, store=finished["store"], k=2)
    cheapest = min(result.front, key=lambda s: (s.cost_per_task, -s.mean))
    strongest = max(result.front, key=lambda s: (s.mean, -s.cost_per_task))
    assert [a.hash for a in routed.config.arms] == [cheapest.workflow, strongest.workflow]


def test_a_verifier_adds_the_cheapest_arm_checked(
    checked: RoutedWorkflow, finished: dict[str, Any]
) -> None:
    *arms, last = checked.config.arms
    cheapest = min(arms, key=lambda a: a.cost_per_task)
    assert last.spec.structure.exit == VERIFIER_AGENT
    assert [a.name for a in last.spec.agents if a.name != VERIFIER_AGENT] == [
        a.name for a in cheapest.spec.agents
    ]
    data = outcomes(
        Store(finished["store"]),
        dataset=finished["result"].dataset,
        arms=checked.config.arms,
        rows=queries(finished["data"].tasks, finished["result"].search_task_ids),
        features=checked.features,
    )
    index = len(checked.config.arms) - 1
    assert not np.isnan(data.verdict[:, index]).any()  # every search task has a verdict
    assert np.isnan(data.verdict[:, :index]).all()  # the others end in no verifier
    same = data.scores[:, index] == data.scores[:, arms.index(cheapest)]
    assert same.all()  # the verifier passes the answer on: the same score


def test_a_rejected_answer_escalates_when_served(checked: RoutedWorkflow) -> None:
    policy = checked.policy
    index = len(checked.config.arms) - 1
    strongest = 1
    policy.chain, policy.thresholds, policy.verified = [index, strongest], [0.0], [True]  # type: ignore[attr-defined]
    verdicts = set()
    for question in [
        "Ava has 12 apples. Ava buys 7 more apples. Ava doubles the number of apples. "
        "Ava gives 5 apples to a friend. Ava triples the number of apples. "
        "How many apples does Ava have now?",
        "What is 2 + 3?",
        "Ben has 40 coins. Ben loses 9 coins. Ben gives away half of the coins. "
        "Ben buys 3 packs with 8 coins in each. How many coins does Ben have now?",
        "What is 17 * 23 - 4?",
        "What is 1234 + 4321 - 55 * 3?",
    ]:
        result = checked.invoke(question)
        said = [n.output.get("verdict") for n in result.nodes if n.agent == VERIFIER_AGENT]
        assert len(said) == 1
        verdicts.add(said[0])
        assert result.arms_tried == (2 if said[0] != "accept" else 1)
        expected = checked.config.arms[strongest if said[0] != "accept" else index].hash
        assert result.arm == expected
    assert verdicts  # at least one verdict came back


def test_deadline_travels_with_the_router(finished: dict[str, Any], tmp_path: Path) -> None:
    routed = route(
        finished["result"],
        tasks=finished["data"].tasks,
        store=finished["store"],
        deadline=30.0,
        policy="ridge",
    )
    assert routed.config.deadline == 30.0 and routed.describe()["deadline"] == 30.0
    latency = routed.policy.arm_latency
    assert len(latency) == len(routed.config.arms) and (latency >= 0).all()
    again = load_routed(routed.export(tmp_path / "r.json"))
    assert again.config.deadline == 30.0
    assert list(again.policy.arm_latency) == list(latency)
    assert routed.invoke(finished["data"].tasks[0].question).answer


@pytest.mark.xfail(
    strict=True,
    reason="on the simulator of issue 26 this problem's cascade fit keeps one level, so "
    "there is no level to tighten; the test needs a problem where a second level pays",
)
def test_cascade_feedback_persists_in_the_store(finished: dict[str, Any], tmp_path: Path) -> None:
    store = tmp_path / "feedback.db"
    Store(store)  # decisions and feedback go here; the records stay in the search's store
    routed = route(
        finished["result"],
        tasks=finished["data"].tasks,
        store=finished["store"],
        policy="cascade",
        options={"cascade": {"patience": 2}},
    )
    path = routed.export(tmp_path / "cascade.json")
    live = load_routed(path, store=store)
    unfed = load_routed(path).policy.get_state()["learned"]
    assert len(unfed["chain"]) >= 2  # a cascade with a level to tighten
    for task in finished["data"].tasks[:12]:
        run = live.invoke(task.question)
        live.feedback(run.run_id, 0.0)  # every answer turns out wrong
    learned = live.policy.get_state()["learned"]
    assert learned["thresholds"][0] > unfed["thresholds"][0]  # the first level keeps fewer
    fresh = load_routed(path, store=store)  # a new router on the store replays the feedback
    assert fresh.policy.get_state()["learned"] == learned
    assert load_routed(path).policy.get_state()["learned"] == unfed  # without it, nothing


def test_the_report_has_a_routing_section(finished: dict[str, Any], tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    result = finished["result"]
    routed = route(result, tasks=finished["data"].tasks, store=finished["store"])
    judged = evaluate_routing(
        routed, result, tasks=finished["data"].tasks, store=finished["store"]
    )
    page = write_report(result, tmp_path / "with", routing=judged).read_text()
    assert '<h2 id="routing">Routing per query</h2>' in page
    section = page[page.index('id="routing"') :]
    for contender in judged.contenders:
        row = f"<tr><td>{contender.name}</td><td>{contender.score.mean:.3f}</td>"
        assert row in section
    assert f"judged on {judged.n_tasks} held-out tasks" in section
    d = judged.score_vs_best
    assert f"accuracy {d.difference:+.3f} [{d.low:+.3f}, {d.high:+.3f}]" in section
    assert f"{judged.regret_vs_oracle * 100:.1f} points" in section
    without = write_report(result, tmp_path / "without").read_text()
    assert 'id="routing"' not in without
