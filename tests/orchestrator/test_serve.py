"""Serving a workflow over HTTP."""

from fastapi.testclient import TestClient

from orchestrator import Workflow, deploy
from orchestrator.serve import create_app, load_workflow


def _workflow():
    return deploy(
        Workflow("pair")
        .add_agent("a", role="solver", model="sim:atlas-pro")
        .add_agent("b", role="solver", model="sim:lynx-large")
        .add_agent("judge", role="judge", model="sim:atlas-pro")
        .add_edge(["a", "b"], "judge")
        .build()
    )


def test_http_endpoints():
    client = TestClient(create_app(_workflow()))
    assert client.get("/health").json()["status"] == "ok"
    assert client.get("/spec").json()["agents"][0]["name"] == "a"
    assert client.get("/graph").text.startswith("flowchart TD")
    answer = client.post("/invoke", json={"question": "What is 6 * 7?"}).json()
    assert answer["answer"] == "42" and len(answer["nodes"]) == 3
    batch = client.post("/batch", json={"questions": ["What is 2 + 2?", "What is 3 * 3?"]})
    assert [r["answer"] for r in batch.json()] == ["4", "9"]
    assert client.post("/invoke", json={}).status_code == 422


def test_load_workflow_from_an_exported_module(tmp_path):
    path = _workflow().export(tmp_path / "flow.py")
    loaded = load_workflow(path)
    assert loaded.hash == _workflow().hash
    assert load_workflow(_workflow().export(tmp_path / "flow.yaml")).hash == loaded.hash
