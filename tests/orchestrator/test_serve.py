"""Serving a workflow over HTTP: auth, limits, timeouts, budget and private prompts."""

import asyncio
import functools
import json
import socket
import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient as _TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator import Workflow, deploy
from orchestrator.budget import Budget, BudgetLedger
from orchestrator.errors import ServeConfigError
from orchestrator.serve import (
    REDACTED,
    TOKEN_ENV,
    ServeLimits,
    create_app,
    is_loopback,
    load_workflow,
    serve,
)
from orchestrator.testing import FlakyChatModel, ScriptedChatModel, SlowChatModel

# The server accepts loopback Host names only, by default.
TestClient = functools.partial(_TestClient, base_url="http://localhost")
TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SECRET = "You are a solver. SECRET-PROMPT-TEXT"


def _workflow():
    return deploy(
        Workflow("pair")
        .add_agent("a", role="solver", model="sim:atlas-pro", prompt=SECRET)
        .add_agent("b", role="solver", model="sim:lynx-large")
        .add_agent("judge", role="judge", model="sim:atlas-pro")
        .add_edge(["a", "b"], "judge")
        .build()
    )


def _single(model):
    return deploy(Workflow("one").add_agent("a", role="solver", model=model).build())


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


# --- authentication ------------------------------------------------------------------


def test_with_a_token_runs_need_it():
    with TestClient(create_app(_workflow(), token=TOKEN)) as client:
        refused = client.post("/invoke", json={"question": "What is 6 * 7?"})
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
        wrong = {"Authorization": "Bearer not-the-token-at-all"}
        assert client.post("/invoke", json={"question": "1+1?"}, headers=wrong).status_code == 401
        assert client.post("/batch", json={"questions": ["1+1?"]}).status_code == 401
        ok = client.post("/invoke", json={"question": "What is 6 * 7?"}, headers=AUTH)
        assert ok.status_code == 200 and ok.json()["answer"] == "42"
        assert client.get("/health").status_code == 200  # for the proxy's health checks


def test_spec_redacts_system_prompts_without_the_token():
    with TestClient(create_app(_workflow(), token=TOKEN)) as client:
        public = client.get("/spec")
        assert SECRET not in public.text
        assert public.json()["agents"][0]["prompt"] == REDACTED
        assert client.get("/spec", headers=AUTH).json()["agents"][0]["prompt"] == SECRET
    with TestClient(create_app(_workflow())) as open_client:  # no token: nobody sees it
        assert SECRET not in open_client.get("/spec").text


def test_traces_show_prompts_only_to_token_holders():
    with TestClient(create_app(_workflow(), token=TOKEN)) as client:
        traced = client.post("/invoke", json={"question": "What is 6 * 7?"}, headers=AUTH)
        assert SECRET in traced.text
    with TestClient(create_app(_workflow())) as open_client:
        untraced = open_client.post("/invoke", json={"question": "What is 6 * 7?"})
        assert untraced.json()["answer"] == "42"
        assert SECRET not in untraced.text
        assert all(node["prompt"] == [] for node in untraced.json()["nodes"])


def test_short_tokens_are_refused():
    with pytest.raises(ServeConfigError, match="at least 16 characters"):
        create_app(_workflow(), token="short")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.10", False),
        ("example.com", False),
    ],
)
def test_loopback_addresses(host, loopback):
    assert is_loopback(host) is loopback


def test_a_public_address_needs_a_token(monkeypatch):
    import uvicorn

    started = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: started.append(self))
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    with pytest.raises(ServeConfigError, match=r"refusing to serve on 0\.0\.0\.0 without a token"):
        serve(_workflow(), host="0.0.0.0")
    assert started == []
    serve(_workflow(), host="0.0.0.0", token=TOKEN)
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    serve(_workflow(), host="0.0.0.0", port=9000)
    serve(_workflow())  # loopback needs none
    assert [server.config.host for server in started] == ["0.0.0.0", "0.0.0.0", "127.0.0.1"]
    assert started[0].config.limit_concurrency == ServeLimits().max_connections


# --- limits ----------------------------------------------------------------------------


def test_request_bodies_are_limited():
    limits = ServeLimits(max_body_bytes=4_096)
    with TestClient(create_app(_workflow(), limits=limits)) as client:
        big = client.post("/invoke", json={"question": "x" * 20_000})
        assert big.status_code == 413

        def chunks():  # no Content-Length: the limit counts what arrives
            for _ in range(100):
                yield b"x" * 100

        streamed = client.post(
            "/invoke", content=chunks(), headers={"content-type": "application/json"}
        )
        assert streamed.status_code == 413
        assert client.post("/invoke", json={"question": "1 + 1?"}).status_code == 200


def test_the_default_body_limit_refuses_a_20_mb_question():
    with TestClient(create_app(_workflow())) as client:
        assert client.post("/invoke", json={"question": "x" * 20_000_000}).status_code == 413


def test_batches_are_capped():
    model = ScriptedChatModel()
    with TestClient(create_app(_single(model), limits=ServeLimits(max_batch=3))) as client:
        refused = client.post("/batch", json={"questions": ["q"] * 4})
        assert refused.status_code == 413 and "limit of 3" in refused.json()["detail"]
        assert model.calls == 0
        assert client.post("/batch", json={"questions": ["q"] * 3}).status_code == 200
        assert model.calls == 3


async def test_runs_in_flight_are_capped_server_wide():
    model = SlowChatModel(delay=0.05)
    app = create_app(_single(model), limits=ServeLimits(max_concurrency=2, max_batch=8))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        replies = await asyncio.gather(
            client.post("/batch", json={"questions": [f"q{i}" for i in range(6)]}),
            client.post("/invoke", json={"question": "alone"}),
            client.post("/invoke", json={"question": "alone too"}),
        )
    assert [r.status_code for r in replies] == [200, 200, 200]
    assert model.calls == 8
    assert model.peak_in_flight <= 2


def test_a_timeout_cancels_the_runs_and_their_model_calls():
    model = SlowChatModel(delay=30.0)
    limits = ServeLimits(request_timeout=0.2, max_concurrency=4)
    with TestClient(create_app(_single(model), limits=limits)) as client:
        reply = client.post("/batch", json={"questions": ["q1", "q2", "q3"]})
        assert reply.status_code == 504 and "were cancelled" in reply.json()["detail"]
        assert model.calls == 3
        assert model._counters.in_flight == 0  # every call was cancelled, none left running
        single = client.post("/invoke", json={"question": "q"})
        assert single.status_code == 504 and model._counters.in_flight == 0


def test_a_server_budget_is_checked_before_every_model_call():
    model = ScriptedChatModel()
    ledger = BudgetLedger(Budget(calls=2))
    with TestClient(create_app(_single(model), ledger=ledger)) as client:
        assert client.post("/invoke", json={"question": "q"}).status_code == 200
        assert client.post("/batch", json={"questions": ["q"]}).status_code == 200
        refused = client.post("/invoke", json={"question": "q"})
        assert refused.status_code == 402 and "budget" in refused.json()["detail"]
    assert model.calls == 2 and ledger.spent.calls == 2


# --- request models --------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=10),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
BODIES = st.one_of(
    JSON_VALUES,
    st.fixed_dictionaries(
        {"question": st.one_of(st.text(max_size=20), JSON_VALUES)},
        optional={"seed": st.one_of(st.integers(), JSON_VALUES), "extra": JSON_VALUES},
    ),
    st.fixed_dictionaries(
        {"questions": st.one_of(st.lists(st.text(max_size=10), max_size=5), JSON_VALUES)},
        optional={"seed": st.one_of(st.integers(), JSON_VALUES)},
    ),
)
REQUESTS = {"model": ScriptedChatModel(), "client": None}


def _client():
    if REQUESTS["client"] is None:
        app = create_app(_single(REQUESTS["model"]), limits=ServeLimits(max_batch=4))
        REQUESTS["client"] = TestClient(app)
    return REQUESTS["client"]


@settings(max_examples=80, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(["/invoke", "/batch"]), BODIES)
def test_any_request_body_is_answered_or_refused_without_a_model_call(path, body):
    model = REQUESTS["model"]
    before = model.calls
    reply = _client().post(path, json=body)
    assert reply.status_code in {200, 413, 422}, reply.text
    if reply.status_code != 200:
        assert model.calls == before
    else:
        runs = reply.json() if path == "/batch" else [reply.json()]
        assert model.calls == before + len(runs)


# --- hostile clients -------------------------------------------------------------------


class _Server:
    """A real uvicorn server on 127.0.0.1 (an ephemeral port), configured as serve() does."""

    def __init__(self, app, limits):
        import uvicorn

        from orchestrator.serve import server_config

        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        config = server_config(app, host="127.0.0.1", port=self.port, limits=limits)
        config.log_level = "warning"
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)
        self.socket.close()


def test_slow_clients_cannot_hold_every_connection_slot():
    # slowloris: as many half-sent requests as the server takes connections, to 127.0.0.1
    # only. The read timeout closes them, and the next client is answered.
    limits = ServeLimits(max_connections=16, read_timeout=0.5)
    with _Server(create_app(_workflow()), limits) as server:
        slow = []
        for _ in range(16):
            conn = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            conn.sendall(b"POST /invoke HTTP/1.1\r\nHost: localhost\r\nContent-Le")
            slow.append(conn)
        for conn in slow:  # each is closed by the server, without a reply
            assert conn.recv(1024) == b""
            conn.close()
        reply = httpx.post(
            f"http://127.0.0.1:{server.port}/invoke",
            json={"question": "What is 6 * 7?"},
            timeout=30,
        )
        assert reply.status_code == 200 and reply.json()["answer"] == "42"


def test_a_new_client_is_answered_while_slow_clients_hold_every_slot(monkeypatch):
    # With a read timeout too long to help, the new request still gets 200, not 503:
    # the connections waiting longest for a whole request make room.
    import orchestrator.serve as serving

    monkeypatch.setattr(serving, "EVICT_AFTER_S", 0.0)
    limits = ServeLimits(max_connections=8, read_timeout=120)
    with _Server(create_app(_workflow()), limits) as server:
        slow = []
        for _ in range(8):
            # Half-open: connected, nothing sent (data from them would make room too).
            slow.append(socket.create_connection(("127.0.0.1", server.port), timeout=30))
        deadline = time.monotonic() + 20
        while len(server.server.server_state.connections) < 8:
            assert time.monotonic() < deadline, "the slow connections were not accepted"
            time.sleep(0.02)
        reply = httpx.post(
            f"http://127.0.0.1:{server.port}/invoke",
            json={"question": "What is 6 * 7?"},
            timeout=30,
        )
        assert reply.status_code == 200 and reply.json()["answer"] == "42"
        assert slow[0].recv(1024) == b""  # the one that waited longest was closed
        for conn in slow:
            conn.close()


def test_only_allowed_host_names_are_answered():
    with TestClient(create_app(_workflow())) as client:
        assert client.get("/health").status_code == 200
        rebound = client.get("/health", headers={"Host": "attacker.example"})
        assert rebound.status_code == 400
        refused = client.post(
            "/invoke", json={"question": "q"}, headers={"Host": "attacker.example:8000"}
        )
        assert refused.status_code == 400
    proxied = create_app(_workflow(), token=TOKEN, allowed_hosts=["api.example.com"])
    with _TestClient(proxied, base_url="http://api.example.com") as client:
        assert client.get("/health").status_code == 200
        assert client.get("/health", headers={"Host": "localhost"}).status_code == 400


def test_invalid_unicode_is_a_422_not_a_crash():
    with TestClient(create_app(_workflow())) as client:
        for path, body in (
            ("/invoke", '{"question": "\\ud800"}'),
            ("/batch", '{"questions": ["ok", "\\udfff x"]}'),
        ):
            reply = client.post(path, content=body, headers={"Content-Type": "application/json"})
            assert reply.status_code == 422, reply.text
            assert "unicode" in reply.text.lower()


def test_a_model_that_fails_after_its_retries_gets_502():
    model = FlakyChatModel(schedule=["raise"])
    with TestClient(create_app(_single(model))) as client:
        reply = client.post("/invoke", json={"question": "q"})
        assert reply.status_code == 502
        assert "a model call failed" in reply.json()["detail"]
        assert "Too Many Requests" not in reply.text  # the provider's words stay in the log
        assert client.post("/batch", json={"questions": ["a", "b"]}).status_code == 502


def test_docs_are_off_when_a_token_is_set():
    with TestClient(create_app(_workflow(), token=TOKEN)) as client:
        for page in ("/docs", "/redoc", "/openapi.json"):
            assert client.get(page).status_code == 404
            assert client.get(page, headers=AUTH).status_code == 404
    with TestClient(create_app(_workflow())) as open_client:  # loopback, no token
        assert open_client.get("/openapi.json").status_code == 200


def test_spec_without_the_token_shows_the_structure_only():
    spec = (
        Workflow("pair")
        .add_agent("a", role="solver", model="sim:atlas-pro", prompt=SECRET)
        .add_agent("b", role="solver", model="sim:lynx-large")
        .add_agent("vote", role="vote", options={"weighted": True})
        .add_edge(["a", "b"], "vote")
        .build()
    )
    spec = spec.model_copy(update={"metadata": {"contact": "ops@internal.example"}})
    with TestClient(create_app(deploy(spec), token=TOKEN)) as client:
        public = client.get("/spec").json()
        assert "metadata" not in public and "ops@internal.example" not in json.dumps(public)
        assert all("options" not in agent for agent in public["agents"])
        assert [a["name"] for a in public["agents"]] == ["a", "b", "vote"]
        full = client.get("/spec", headers=AUTH).json()
        assert full["metadata"] == {"contact": "ops@internal.example"}
        assert full["agents"][2]["options"] == {"weighted": True}


def test_the_token_is_checked_before_the_body_and_errors_do_not_echo_input():
    model = ScriptedChatModel()
    with TestClient(create_app(_single(model), token=TOKEN)) as client:
        malformed = client.post(
            "/invoke", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert malformed.status_code == 401
        assert client.post("/batch", json={"nope": 1}).status_code == 401
        huge = "Q" * 200_000
        echoed = client.post("/invoke", json={"question": huge}, headers=AUTH)
        assert echoed.status_code == 422 and len(echoed.content) < 2_000
        key = "K" * 5_000
        extra = client.post("/invoke", json={"question": "q", key: 1}, headers=AUTH)
        assert extra.status_code == 422 and len(extra.content) < 2_000
    assert model.calls == 0
