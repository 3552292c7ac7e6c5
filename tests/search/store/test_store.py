"""The store: tables, evaluations, aggregates, the LLM-call cache, searches and trials."""

import json
import socket
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from langchain_core.caches import BaseCache
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, Generation
from langchain_tests.integration_tests.cache import AsyncCacheTestSuite, SyncCacheTestSuite

from orchestrator import Workflow, deploy
from orchestrator.trace import NodeTrace, Usage
from search.errors import StoreError
from search.evaluation.stats import summarize
from search.store import EvalKey, EvalRecord, LLMCallCache, Store, get_store

QUESTION = "Ava has 12 apples. Ava buys 5 more apples. How many apples does Ava have now?"


def spec(model="sim:atlas-mini", name="single"):
    return Workflow(name).add_agent("solver", role="solver", model=model).build()


def record(task_id="t1", *, workflow="w1", seed=0, score=1.0, settings="s", **extra):
    values = {
        "workflow": workflow,
        "dataset": "d",
        "task_id": task_id,
        "seed": seed,
        "settings": settings,
        "config": "c",
        "score": score,
        "answer": "42",
        "cost": 0.01,
        "charged": 0.01,
        "calls": 1,
        "usage": Usage(input_tokens=10, output_tokens=5, total_tokens=15),
    }
    return EvalRecord(**{**values, **extra})


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "store.db") as opened:
        yield opened


def test_a_new_database_has_the_tables_in_wal_mode(store):
    conn = sqlite3.connect(store.path)
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"workflows", "evaluations", "llm_calls", "searches", "search_trials"} <= tables
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with store.connection() as db:
        assert db.execute("PRAGMA busy_timeout").fetchone()[0] == 30_000


def test_an_evaluation_keeps_who_paid_for_it_and_an_older_store_gains_the_column(tmp_path):
    path = tmp_path / "old.db"
    with Store(path) as opened:
        opened.put_evaluation(record("t1", owner="search:a"))
        assert opened.get_evaluation(record("t1").key).owner == "search:a"
    import sqlite_utils

    sqlite_utils.Database(path)["evaluations"].transform(drop={"owner"})  # as before it
    with Store(path) as reopened:
        assert reopened.get_evaluation(record("t1").key).owner == ""  # not known
        reopened.put_evaluation(record("t2", owner="search:b"))
        assert reopened.get_evaluation(record("t2").key).owner == "search:b"


def test_store_accepts_a_url_and_memory(tmp_path):
    assert Store(f"sqlite:///{tmp_path / 'u.db'}").path == str(tmp_path / "u.db")
    assert get_store(None).in_memory
    with pytest.raises(ValueError, match="SQLite path"):
        Store("postgresql://db/x")


def test_workflows_round_trip_by_hash(store):
    original = spec()
    assert store.save_workflow(original) == original.hash
    assert store.save_workflow(original) == original.hash  # idempotent
    assert store.get_workflow(original.hash) == original
    assert store.get_workflow("missing") is None
    assert store.list_workflows() == [original.hash]


def test_evaluations_round_trip_with_their_trace(store):
    node = NodeTrace(agent="solver", role="solver", step=1, answer="42", calls=1)
    saved = record(trace=(node,), error=None)
    store.put_evaluation(saved)
    loaded = store.get_evaluation(saved.key)
    assert loaded is not None and loaded.cached
    assert loaded.model_dump(exclude={"cached"}) == saved.model_dump(exclude={"cached"})
    assert store.get_evaluation(EvalKey("w1", "d", "t1", 1, "s")) is None


def test_putting_the_same_key_replaces_the_row(store):
    store.put_evaluation(record(score=0.0))
    store.put_evaluation(record(score=1.0))
    assert store.count_evaluations() == 1
    assert store.get_evaluation(EvalKey("w1", "d", "t1", 0, "s")).score == 1.0


def test_batched_lookup_returns_only_stored_keys(store):
    for i in range(5):
        store.put_evaluation(record(f"t{i}"))
    keys = [EvalKey("w1", "d", f"t{i}", 0, "s") for i in range(8)]
    found = store.get_evaluations(keys)
    assert set(found) == set(keys[:5])


def test_score_rows_summarize_per_task_and_filter(store):
    store.put_evaluation(record("t1", seed=0, score=1.0))
    store.put_evaluation(record("t1", seed=1, score=0.0))
    store.put_evaluation(record("t2", score=1.0))
    store.put_evaluation(record("t3", score=0.0, failed=True, error="boom"))
    store.put_evaluation(record("t4", score=1.0, config="other"))
    rows = store.score_rows("w1", "d", config="c")
    stats = summarize(rows)
    assert stats.n == 4 and stats.n_tasks == 3 and stats.failures == 1
    assert stats.mean == pytest.approx(0.5)  # (0.5 + 1 + 0) / 3
    assert stats.ci_method == "bootstrap"  # a task mean of 0.5 is not binary
    assert stats.cost == pytest.approx(0.04) and stats.tokens == 60
    only = summarize(store.score_rows("w1", "d", task_ids=["t2", "t3"], config="c"))
    assert only.n_tasks == 2 and only.mean == 0.5 and only.ci_method == "wilson"
    assert summarize(store.score_rows("w1", "d")).n_tasks == 4
    assert summarize(store.score_rows("nope", "d")).n == 0


def test_newer_settings_win_when_not_filtered(store):
    store.put_evaluation(record("t1", score=0.0, settings="old", created_at="2024-01-01"))
    store.put_evaluation(record("t1", score=1.0, settings="new", created_at="2025-01-01"))
    assert [(row.task_id, row.score) for row in store.score_rows("w1", "d")] == [("t1", 1.0)]


def test_cost_profile_reads_completed_evaluations(store):
    store.put_evaluation(record("t1", cost=0.01, calls=2))
    store.put_evaluation(record("t2", cost=0.03, calls=3))
    store.put_evaluation(record("t3", cost=9.0, failed=True))
    profile = store.cost_profile("w1")
    assert profile.n == 2 and profile.max_cost == 0.03 and profile.max_calls == 3
    assert profile.mean_cost == pytest.approx(0.02)


def test_many_threads_write_without_losing_rows(store):
    errors = []

    def writer(worker):
        try:
            for i in range(40):
                store.put_evaluation(record(f"t{worker}-{i}"))
                store.get_evaluation(EvalKey("w1", "d", f"t{worker}-{i}", 0, "s"))
        except Exception as exc:  # pragma: no cover - the assertion reports it
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.count_evaluations() == 320


def test_an_in_memory_store_is_shared_by_threads():
    memory = Store(":memory:")
    threads = [
        threading.Thread(target=lambda i=i: memory.put_evaluation(record(f"t{i}")))
        for i in range(10)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert memory.count_evaluations() == 10


def test_tables_read_well_with_the_sqlite_utils_cli(store):
    store.put_evaluation(record())
    cli = Path(sys.executable).with_name("sqlite-utils")
    out = subprocess.run(
        [str(cli), "rows", store.path, "evaluations", "-c", "task_id", "-c", "score"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout) == [{"task_id": "t1", "score": 1.0}]


# --- the LLM-call cache ---------------------------------------------------------------


class TestLLMCallCacheSync(SyncCacheTestSuite):
    @pytest.fixture
    def cache(self, tmp_path) -> BaseCache:
        return Store(tmp_path / "cache.db").llm_cache()


class TestLLMCallCacheAsync(AsyncCacheTestSuite):
    @pytest.fixture
    async def cache(self, tmp_path) -> BaseCache:
        return Store(tmp_path / "cache.db").llm_cache()


def test_chat_generations_round_trip_with_tool_calls_and_usage(store):
    cache = store.llm_cache()
    message = AIMessage(
        content="",
        tool_calls=[{"name": "SolverOutput", "args": {"answer": "17"}, "id": "call_1"}],
        usage_metadata={"input_tokens": 9, "output_tokens": 4, "total_tokens": 13},
        response_metadata={"model_name": "sim:atlas-mini"},
    )
    value = [ChatGeneration(message=message), Generation(text="plain")]
    cache.update("prompt", "llm", value)
    assert cache.lookup("prompt", "llm") == value
    assert cache.lookup("prompt", "other llm") is None
    assert len(cache) == 1


def test_cached_calls_survive_a_new_store_and_cost_nothing(tmp_path):
    path = tmp_path / "llm.db"
    first = deploy(spec(), cache=Store(path).llm_cache()).invoke(QUESTION)
    second = deploy(spec(), cache=Store(path).llm_cache()).invoke(QUESTION)
    assert isinstance(Store(path).llm_cache(), LLMCallCache)
    assert first.cached_calls == 0 and first.charged > 0
    assert second.cached_calls == second.calls == 1 and second.charged == 0
    assert second.answer == first.answer == "17"


def test_a_write_after_its_task_closed_is_committed_not_lost(store):
    # A model call that timed out goes on in its thread; its reply comes after the
    # evaluation took its held rows, and must still reach the store.
    from contextvars import copy_context

    from search.store import hold_llm_calls

    cache = store.llm_cache()
    value = [Generation(text="late")]
    with hold_llm_calls() as rows:
        cache.update("early", "llm", value)
        late_context = copy_context()  # what a worker thread started now would see
    assert len(rows) == 1 and len(cache) == 0
    late_context.run(cache.update, "late", "llm", value)
    assert len(rows) == 1  # not held in a list nobody reads any more
    assert cache.lookup("late", "llm") == value and len(cache) == 1


def test_a_dead_process_hold_is_reclaimed_when_a_run_starts(store):
    from orchestrator.budget import Amount, Budget
    from search.store.budgets import StorePool

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    killed = StorePool(store, "search:s")
    killed.owner = f"{socket.gethostname()}:{dead.pid}:dead"
    assert killed.take(Amount(dollars=0.25, calls=1), Budget(dollars=1.0))
    with store.connection() as db:
        db.execute("UPDATE budget_holds SET pid = ? WHERE owner = ?", (dead.pid, killed.owner))
    spent, reserved = store.budget_totals("search:s")
    assert reserved.dollars == 0.25 and spent.dollars == 0
    StorePool(store, "search:s")  # the resumed run starts: the budget is far from tight
    spent, reserved = store.budget_totals("search:s")
    assert reserved == Amount() and spent.dollars == 0.25  # it may have been billed


# --- searches and trials --------------------------------------------------------------


def test_searches_are_created_updated_and_listed(store):
    search = store.create_search("s1", strategy="tpe", config={"n_trials": 10})
    assert search.status == "running" and search.config == {"n_trials": 10}
    with pytest.raises(ValueError, match="load_if_exists"):
        store.create_search("s1", strategy="tpe")
    assert store.create_search("s1", strategy="tpe", load_if_exists=True).id == search.id
    updated = store.update_search(
        search.id,
        status="stopped",
        stop_reason="budget: dollars",
        spend={"dollars": 0.5},
        result={"best": "abc"},
    )
    assert updated.stop_reason == "budget: dollars" and updated.spend == {"dollars": 0.5}
    assert updated.result == {"best": "abc"} and updated.updated_at >= search.updated_at
    anonymous = store.create_search(strategy="mcts")
    assert anonymous.name == f"search-{anonymous.id}"
    assert [s.name for s in store.list_searches()] == ["s1", anonymous.name]
    assert store.get_search("s1").id == search.id and store.get_search(999) is None
    with pytest.raises(KeyError):
        store.update_search(999, status="x")


def test_trials_get_unique_numbers_across_threads(store):
    search = store.create_search("s", strategy="tpe")
    threads = [
        threading.Thread(target=lambda: store.add_trial(search.id, params={"k": 1}))
        for _ in range(12)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    trials = store.list_trials(search.id)
    assert [t.number for t in trials] == list(range(12))


def test_trials_are_updated_with_values_state_and_merged_attrs(store):
    search = store.create_search("s", strategy="tpe")
    trial = store.add_trial(search.id, workflow="w1", params={"topology": "single"})
    assert trial.state == "running" and trial.values is None
    store.update_trial(search.id, trial.number, user_attrs={"cost": 0.1})
    done = store.update_trial(
        search.id, trial.number, values=[0.9, 0.1], state="complete", user_attrs={"n": 3}
    )
    assert done.values == [0.9, 0.1] and done.state == "complete"
    assert done.user_attrs == {"cost": 0.1, "n": 3}
    assert store.update_trial(search.id, trial.number, values=0.5).values == [0.5]
    assert store.list_trials(search.id, state="complete")[0].number == trial.number
    assert store.get_trial(search.id, 99) is None
    with pytest.raises(KeyError):
        store.update_trial(search.id, 99, state="fail")


def test_strategy_state_round_trips_and_is_kept_per_search(tmp_path):
    store = Store(tmp_path / "state.db")
    kept = record()
    store.save_state("a", "mcts/meta", {"roots": ["x"], "n": 1})
    store.save_states("a", {"mcts/node/x": kept, "mcts/node/y": {"visits": 2}})
    store.save_state("b", "mcts/meta", {"roots": []})
    reopened = Store(tmp_path / "state.db")  # committed: another connection reads it
    assert reopened.load_state("a", "mcts/meta") == {"n": 1, "roots": ["x"]}
    assert reopened.load_state("a", "missing", default=[]) == []
    nodes = reopened.load_states("a", prefix="mcts/node/")
    assert list(nodes) == ["mcts/node/x", "mcts/node/y"]
    assert EvalRecord.model_validate(nodes["mcts/node/x"]) == kept
    assert reopened.load_states("b") == {"mcts/meta": {"roots": []}}
    store.save_state("a", "mcts/meta", {"n": 2})  # replaces
    assert reopened.load_state("a", "mcts/meta") == {"n": 2}
    assert reopened.delete_state("a", "mcts/node/y") == 1
    assert reopened.delete_state("a") == 2
    assert reopened.load_states("a") == {} and reopened.load_states("b") != {}


def test_strategy_state_prefixes_are_literal(store):
    store.save_states("s", {"a_%": 1, "ab": 2, "a_%/x": 3})
    assert store.load_states("s", prefix="a_%") == {"a_%": 1, "a_%/x": 3}


def test_strategy_state_is_safe_under_threads(store):
    def write(i):
        store.save_states("s", {f"k{i}/{j}": {"i": i, "j": j} for j in range(5)})

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(store.load_states("s")) == 40


# --- the file alone, and files that are not ours ----------------------------------------

WORKER = Path(__file__).resolve().parents[1] / "_search_worker.py"


def test_after_a_search_the_db_file_alone_holds_it(tmp_path):
    # A search in another process that exits as the CLI does; then only the .db file is
    # copied (mailed, committed) and read: the write-ahead log was checkpointed into it.
    store = tmp_path / "run" / "rolegraph.db"
    store.parent.mkdir()
    log = str(tmp_path / "calls")
    done = subprocess.run(
        [sys.executable, str(WORKER), str(store), "copied", "--calls", log, "--trials", "4"],
        cwd=Path(__file__).resolve().parents[3],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    copy = tmp_path / "copy" / "rolegraph.db"
    copy.parent.mkdir()
    copy.write_bytes(store.read_bytes())
    found = Store(copy).get_search("copied")
    assert found is not None and found.status == "complete" and found.result is not None
    assert found.result["best"] == json.loads(done.stdout.splitlines()[-1])["best"]


def test_close_checkpoints_the_log_into_the_file(tmp_path):
    path = tmp_path / "store.db"
    opened = Store(path)
    opened.put_evaluation(record("t1"))
    opened.put_evaluation(record("t2"))
    opened.close()
    copy = tmp_path / "copy.db"
    copy.write_bytes(path.read_bytes())
    assert len(Store(copy).evaluations()) == 2


def test_a_symlink_to_another_applications_database_is_refused(tmp_path):
    theirs = tmp_path / "app.sqlite"
    conn = sqlite3.connect(theirs)
    conn.execute("CREATE TABLE users (email TEXT)")
    conn.commit()
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    before = theirs.read_bytes()
    link = tmp_path / "rolegraph.db"
    link.symlink_to(theirs)
    with pytest.raises(StoreError, match="another application's database"):
        Store(link)
    assert theirs.read_bytes() == before and not Path(f"{theirs}-wal").exists()
    text = tmp_path / "notes.txt"
    text.write_text("not a database at all, but long enough to be read as one")
    (tmp_path / "other.db").symlink_to(text)
    with pytest.raises(StoreError, match="not a SQLite database"):
        Store(tmp_path / "other.db")
    (tmp_path / "dangling.db").symlink_to(tmp_path / "nowhere.db")
    with pytest.raises(StoreError, match="leads to no file"):
        Store(tmp_path / "dangling.db")
    ours = tmp_path / "ours.db"
    Store(ours).close()
    (tmp_path / "alias.db").symlink_to(ours)
    assert Store(tmp_path / "alias.db").evaluations() == []  # a link to a store is fine
