"""route() on a finished search: deploy, feedback across processes, export, serve, no leakage."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from orchestrator.serve import create_app, load_workflow
from search.evaluation.datasets import Task
from search.routing import RoutedResult, RoutedWorkflow, evaluate_routing, load_routed, route
from search.store import Store


@pytest.fixture(scope="module")
def routed(finished: dict[str, Any]) -> RoutedWorkflow:
    return route(finished["result"], tasks=finished["data"].tasks, store=finished["store"])


def test_router_deploys_like_a_workflow(routed: RoutedWorkflow, finished: dict[str, Any]) -> None:
    question = finished["data"].tasks[0].question
    result = routed.invoke(question)
    assert isinstance(result, RoutedResult) and result.run_id and result.answer
    assert result.arm in {arm.hash for arm in routed.config.arms}
    assert result.cost > 0 and result.calls >= 1
    assert isinstance(routed(question), str)
    assert len(routed.batch([question, question])) == 2


def test_router_trains_on_the_search_split_only(
    routed: RoutedWorkflow, finished: dict[str, Any]
) -> None:
    result = finished["result"]
    assert routed.config.trained_on == len(result.search_task_ids)
    assert not set(result.search_task_ids) & set(result.test_task_ids)


class _Sealed(Task):
    """A task whose answer must never be read."""

    def __getattribute__(self, name: str) -> Any:
        if name == "answer":
            raise AssertionError("the router read a task's answer")
        return super().__getattribute__(name)


def test_router_never_reads_an_answer(finished: dict[str, Any]) -> None:
    sealed = [
        _Sealed.model_construct(id=t.id, question=t.question, answer=t.answer, kind=t.kind)
        for t in finished["data"].tasks
    ]
    routed = route(finished["result"], tasks=sealed, store=finished["store"], policy="ridge")
    with pytest.raises(TypeError):
        routed.plan(sealed[0])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        routed.invoke(sealed[0])  # type: ignore[arg-type]
    routed.invoke(sealed[0].question)


def test_feedback_persists_across_processes(finished: dict[str, Any], tmp_path: Path) -> None:
    store = finished["store"]
    first = route(finished["result"], tasks=finished["data"].tasks, store=store, policy="linucb")
    run = first.invoke(finished["data"].tasks[1].question)
    first.feedback(run.run_id, 0.0)
    with pytest.raises(ValueError):
        first.feedback(run.run_id, 1.0)
    path = first.export(tmp_path / "router.json")
    script = (
        "import sys, json\n"
        "from search.routing import load_routed\n"
        "r = load_routed(sys.argv[1], store=sys.argv[2])\n"
        "print(json.dumps(r.policy.get_state()['learned']['a']))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(path), str(store)],
        capture_output=True,
        text=True,
        check=True,
    )
    fresh = load_routed(path)  # no store: knows nothing of the feedback
    assert json.loads(out.stdout) == first.policy.get_state()["learned"]["a"]
    assert json.loads(out.stdout) != fresh.policy.get_state()["learned"]["a"]
    decision = Store(store).get_decision(first.router_id, run.run_id)
    assert decision is not None and decision.score == 0.0


def test_export_and_load_back(
    routed: RoutedWorkflow, finished: dict[str, Any], tmp_path: Path
) -> None:
    question = finished["data"].tasks[2].question
    again = load_routed(routed.export(tmp_path / "r.json"))
    assert again.router_id == routed.router_id
    assert again.plan(question) == routed.plan(question)
    module = load_workflow(routed.export(tmp_path / "r.py"))
    assert isinstance(module, RoutedWorkflow) and module.router_id == routed.router_id
    assert module.invoke(question).answer == routed.invoke(question).answer


def test_langgraph_export(routed: RoutedWorkflow, tmp_path: Path) -> None:
    config_path = routed.export(tmp_path / "app", langgraph=True)
    config = json.loads(config_path.read_text())
    (target,) = config["graphs"].values()
    module = load_workflow(tmp_path / "app" / target.split(":")[0])
    assert isinstance(module, RoutedWorkflow)
    graph = module.get_graph()
    assert {"route", "finish", *(f"arm_{i}" for i in range(len(routed.arms)))} <= set(graph.nodes)
    conditional = [e for e in graph.edges if e.source == "route"]
    assert len(conditional) == len(routed.arms) and all(e.conditional for e in conditional)


def test_serve_with_feedback(routed: RoutedWorkflow, finished: dict[str, Any]) -> None:
    from fastapi.testclient import TestClient

    token = "t" * 32
    client = TestClient(create_app(routed, token=token), base_url="http://localhost")
    auth = {"Authorization": f"Bearer {token}"}
    question = finished["data"].tasks[3].question
    reply = client.post("/invoke", json={"question": question}, headers=auth)
    assert reply.status_code == 200, reply.text
    run_id = reply.json()["run_id"]
    assert client.post("/feedback", json={"run_id": run_id, "score": 1.0}).status_code == 401
    ok = client.post("/feedback", json={"run_id": run_id, "score": 1.0}, headers=auth)
    assert ok.status_code == 200
    again = client.post("/feedback", json={"run_id": run_id, "score": 1.0}, headers=auth)
    assert again.status_code == 409
    assert client.get("/spec").json()["router"] == routed.router_id


def test_held_out_evaluation(routed: RoutedWorkflow, finished: dict[str, Any]) -> None:
    judged = evaluate_routing(
        routed, finished["result"], tasks=finished["data"].tasks, store=finished["store"]
    )
    assert judged.n_tasks == len(finished["result"].test_task_ids)
    names = [c.name for c in judged.contenders]
    assert names == ["router", "best single", "oracle", "random"]
    oracle = judged.contender("oracle").score.mean
    assert oracle >= judged.contender("router").score.mean
    assert oracle >= judged.contender("best single").score.mean
    assert judged.regret_vs_oracle >= 0 and judged.simulated


def test_cost_cap_holds_on_every_request(finished: dict[str, Any]) -> None:
    from orchestrator.worst_case import worst_case_run

    data = finished["data"]
    routed = route(finished["result"], tasks=data.tasks, store=finished["store"], k=3)
    worst = {
        a.hash: worst_case_run(a.spec, question=data.tasks[0].question).dollars
        for a in routed.config.arms
    }
    cap = sorted(worst.values())[1]  # the dearest arm never fits
    capped = route(
        finished["result"], tasks=data.tasks, store=finished["store"], k=3, cost_cap=cap
    )
    for task in data.tasks[:12]:
        plan = capped.plan(task.question)
        bound = [
            worst_case_run(capped.config.arms[a].spec, question=task.question).dollars
            for a in plan.arms
        ]
        assert sum(bound) <= cap
