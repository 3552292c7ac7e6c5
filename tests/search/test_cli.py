"""The search commands of the rolegraph CLI: search, estimate, show, export and report."""

import json

import pytest
from langchain_core.rate_limiters import BaseRateLimiter, InMemoryRateLimiter
from typer.testing import CliRunner

from orchestrator.models import PROVIDERS, Provider, model_fingerprint, resolve_model
from search import create_search
from search.cli import ConfigError, SearchProgress, app, prepare, rate_limited_models
from search.cli.progress import progress_share

runner = CliRunner()
WIDE = {"COLUMNS": "200"}
NARROW = {"COLUMNS": "60"}


def _config(tmp_path, **changes):
    config = {
        "dataset": {"bundled": "arithmetic", "n": 24, "seed": 2},
        "space": {
            "topologies": ["single"],
            "pool": ["sim:atlas-nano", "sim:atlas-pro"],
            "fixed": {"single": {"temperature": 0.0}},
        },
        "strategy": "grid",
        "budget": {"dollars": 1.0},
        "question": "What is 6 * 7?",
        **changes,
    }
    path = tmp_path / "search.json"
    path.write_text(json.dumps(config))
    return path


def _one_error_line(result):
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    return lines[0]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A store holding one finished search with a long name."""
    folder = tmp_path_factory.mktemp("finished")
    store = folder / "rg.db"
    name = "a-rather-long-search-name-that-a-narrow-table-would-cut-short-0123456789"
    result = runner.invoke(
        app,
        ["search", "--config", str(_config(folder)), "--store", str(store), "--name", name],
        env=WIDE,
    )
    assert result.exit_code == 0, result.output
    return store, name


def test_search_show_export_and_run(tmp_path):
    store = tmp_path / "rg.db"
    out = tmp_path / "result.json"
    result = runner.invoke(
        app,
        [
            "search",
            "--config",
            str(_config(tmp_path)),
            "--store",
            str(store),
            "--name",
            "demo",
            "--out",
            str(out),
        ],
        env=WIDE,
    )
    assert result.exit_code == 0, result.output
    assert "Simulated models" in result.output
    assert "Pareto front" in result.output and "held-out test" in result.output
    assert "deployed winner" in result.output and "-> 42" in result.output
    assert json.loads(out.read_text())["best_stats"]["label"].startswith("single(")

    listed = runner.invoke(app, ["show", "--store", str(store)], env=WIDE)
    assert "demo" in listed.output and "complete" in listed.output
    shown = runner.invoke(app, ["show", "demo", "--store", str(store)], env=WIDE)
    assert "atlas-pro" in shown.output

    module = tmp_path / "winner.py"
    exported = runner.invoke(app, ["export", "demo", str(module), "--store", str(store)])
    assert exported.exit_code == 0, exported.output
    answered = runner.invoke(app, ["run", str(module), "What is 6 * 7?"])
    assert answered.exit_code == 0 and "42" in answered.output


def test_show_never_cuts_names_and_commands_take_prefixes_and_ids(finished, tmp_path):
    store, name = finished
    listed = runner.invoke(app, ["show", "--store", str(store)], env=NARROW)
    assert listed.exit_code == 0, listed.output
    assert "…" not in listed.output
    assert f"#1 {name}" in listed.output.splitlines()  # whole, on one line

    by_prefix = runner.invoke(app, ["show", name[:12], "--store", str(store)], env=WIDE)
    assert by_prefix.exit_code == 0 and "best:" in by_prefix.output
    module = tmp_path / "by_id.py"
    by_id = runner.invoke(app, ["export", "1", str(module), "--store", str(store)])
    assert by_id.exit_code == 0, by_id.output
    assert module.is_file()


def test_export_with_an_unknown_name_lists_the_names(finished, tmp_path):
    store, name = finished
    result = runner.invoke(app, ["export", "nope", str(tmp_path / "w.py"), "--store", str(store)])
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert "no search 'nope'" in line and name in line and "(id 1)" in line


def test_export_langgraph_writes_the_app(finished, tmp_path):
    store, name = finished
    folder = tmp_path / "app"
    result = runner.invoke(
        app, ["export", name, str(folder), "--langgraph", "--store", str(store)]
    )
    assert result.exit_code == 0, result.output
    config = json.loads((folder / "langgraph.json").read_text())
    (graph,) = config["graphs"].values()
    module = graph.removeprefix("./").split(":")[0]
    assert (folder / module).is_file() and graph.endswith(":graph")
    refused = runner.invoke(
        app, ["export", name, str(tmp_path / "x.py"), "--langgraph", "--store", str(store)]
    )
    assert refused.exit_code == 2 and "folder" in _one_error_line(refused)


def test_deployed_workflow_exports_a_langgraph_app(tmp_path):
    from orchestrator import deploy
    from topologies import single

    path = deploy(single(model="sim:atlas-nano")).export(tmp_path / "lg", langgraph=True)
    assert path.name == "langgraph.json"
    assert json.loads(path.read_text())["graphs"]


def test_search_rejects_bad_input_before_spending(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "dataset: {bundled: arithmetic}\nspace: {topologies: [nope], pool: [sim:atlas-nano]}\n"
    )
    store = tmp_path / "x.db"
    result = runner.invoke(app, ["search", "--config", str(bad), "--store", str(store)])
    assert result.exit_code == 2 and "unknown topology 'nope'" in _one_error_line(result)
    assert "config key 'space'" in result.output
    both = runner.invoke(app, ["search"])
    assert both.exit_code == 2 and "exactly one of --example" in _one_error_line(both)
    unknown = runner.invoke(app, ["search", "--example", "chess"])
    assert unknown.exit_code == 2 and "unknown example 'chess'" in _one_error_line(unknown)


def test_a_missing_file_is_one_line(tmp_path):
    missing = tmp_path / "nope.yaml"
    result = runner.invoke(app, ["search", "--config", str(missing)])
    assert result.exit_code == 2
    assert "no such file" in _one_error_line(result) and "nope.yaml" in result.output
    estimate = runner.invoke(app, ["estimate", str(missing)])
    assert estimate.exit_code == 2 and "no such file" in _one_error_line(estimate)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("dataset: [unclosed\n", "line"),
        ("a: 1\na: 2\n", "duplicate"),
        (
            "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
            "c: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c]\n"
            "e: &e [*d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e]\n",
            "alias",
        ),
    ],
)
def test_invalid_yaml_is_one_line(tmp_path, text, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    result = runner.invoke(app, ["search", "--config", str(path)])
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert "bad.yaml" in line and expected in line.lower()


def test_a_missing_provider_package_is_one_line_with_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(
        PROVIDERS, "nowhere", Provider("rolegraph_no_such_module", "Chat", "langchain-nowhere")
    )
    path = _config(tmp_path, space={"topologies": ["single"], "pool": ["nowhere:model-1"]})
    store = tmp_path / "x.db"
    result = runner.invoke(app, ["search", "--config", str(path), "--store", str(store)])
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert "pip install langchain-nowhere" in line and "space.pool" in line
    assert not store.exists()


def test_debug_shows_the_traceback(tmp_path):
    result = runner.invoke(app, ["--debug", "search", "--config", str(tmp_path / "nope.yaml")])
    assert isinstance(result.exception, FileNotFoundError)


@pytest.mark.parametrize(
    ("changes", "key", "words"),
    [
        ({"budgt": 1.0}, "budgt", "did you mean 'budget'"),
        ({"budget": {"dollars": -1}}, "budget.dollars", "greater than or equal to 0"),
        ({"budget": {"dolars": 1}}, "budget.dolars", "did you mean 'dollars'"),
        ({"settings": {"parallel": 0}}, "settings", "parallel"),
        ({"evaluation": {"repetitions": "many"}}, "evaluation", "repetitions"),
        ({"rate_limit": -2}, "rate_limit", "greater than 0"),
        ({"concurrency": 0}, "concurrency", "greater than or equal to 1"),
        ({"strategy": "chess"}, "strategy", "unknown strategy 'chess'"),
        ({"strategy": "random", "strategy_options": {"depth": 3}}, "strategy_options", "'depth'"),
        ({"metric": "vibes"}, "metric", "unknown metric 'vibes'"),
        ({"objective": {"point_value": 0}}, "objective.point_value", "greater than 0"),
        (
            {"space": {"topologies": ["single"], "pool": ["sim:atlas-nano"], "poool": []}},
            "space.poool",
            "did you mean 'pool'",
        ),
        ({"dataset": {"name": "x"}}, "dataset", "'path', 'bundled' or 'benchmark'"),
        ({"imports": ["no_such_module_here"]}, "imports", "'no_such_module_here'"),
    ],
)
def test_config_errors_name_the_key(tmp_path, changes, key, words):
    path = _config(tmp_path, **changes)
    result = runner.invoke(
        app, ["search", "--config", str(path), "--store", str(tmp_path / "x.db")]
    )
    assert result.exit_code == 2, result.output
    line = _one_error_line(result)
    assert f"config key {key!r}" in line and words in line and "search.json" in line
    assert not (tmp_path / "x.db").exists()


def test_config_errors_are_named_errors(tmp_path):
    with pytest.raises(ConfigError) as caught:
        prepare({"dataset": "bundled:arithmetic", "space": {}, "bogus": 1}, source="c.yaml")
    assert caught.value.key == "bogus" and caught.value.source == "c.yaml"


def test_concurrency_and_rate_limit_from_flags_and_config(tmp_path):
    config = json.loads(_config(tmp_path).read_text())
    prepared = prepare({**config, "store": ":memory:"}, {"rate_limit": 50.0, "concurrency": 3})
    search = prepared.search
    assert search.evaluator.max_concurrency == 3
    limiters = {id(model.rate_limiter) for model in search.evaluator.models.values()}
    assert len(limiters) == 1 and set(search.evaluator.models) == {
        "sim:atlas-nano",
        "sim:atlas-pro",
    }
    (limiter,) = {model.rate_limiter for model in search.evaluator.models.values()}
    assert isinstance(limiter, InMemoryRateLimiter) and limiter.requests_per_second == 50.0
    from_config = prepare({**config, "store": ":memory:", "rate_limit": 7, "concurrency": 2})
    assert from_config.search.evaluator.max_concurrency == 2
    assert from_config.rate_limit == 7


def test_a_rate_limiter_keeps_evaluation_keys_and_limits_only_real_calls():
    class Counting(BaseRateLimiter):
        def __init__(self):
            self.count = 0

        def acquire(self, *, blocking=True):
            self.count += 1
            return True

        async def aacquire(self, *, blocking=True):
            self.count += 1
            return True

    limiter = Counting()
    pool = ["sim:atlas-nano", "sim:lynx-small"]
    models = rate_limited_models(pool, limiter)
    for ref in pool:
        assert model_fingerprint(models[ref]) == model_fingerprint(resolve_model(ref))
    space = {"topologies": ["single"], "pool": pool, "fixed": {"single": {"temperature": 0.0}}}
    data = "bundled:arithmetic"
    search = create_search(
        space=space, dataset=data, strategy="grid", store=":memory:", models=models
    )
    result = search.run()
    assert result.spend.calls > 0 and limiter.count == result.spend.calls
    again = create_search(
        space=space, dataset=data, strategy="grid", store=search.store, models=models, name="b"
    ).run()
    # Everything comes from the store: same keys with the limiter, and nothing is limited.
    assert again.spend.calls == 0 and limiter.count == result.spend.calls


def test_estimate_and_dry_run_spend_nothing(tmp_path):
    path = _config(tmp_path)
    store = tmp_path / "never.db"
    result = runner.invoke(app, ["estimate", str(path), "--store", str(store)], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "It is an estimate" in result.output and "How this estimate was made" in result.output
    for row in ("evaluations", "model calls", "dollars", "wall time"):
        assert row in result.output
    assert "the plan evaluates at most 2 candidates: 100.0% of the space" in result.output
    dry = runner.invoke(
        app, ["search", "--config", str(path), "--store", str(store), "--dry-run"], env=WIDE
    )
    assert dry.exit_code == 0 and "It is an estimate" in dry.output
    assert "deployed winner" not in dry.output
    assert not store.exists()


def test_progress_share_follows_the_nearest_limit():
    assert progress_share(
        dollars=3.0, budget_dollars=4.0, evaluations=10, max_evaluations=100, told=1, planned=10
    ) == (0.75, "budget: $3.0000/$4.00")
    share, text = progress_share(
        dollars=0.1, budget_dollars=None, evaluations=90, max_evaluations=100, told=1, planned=None
    )
    assert share == 0.9 and text.startswith("max_evaluations")
    assert progress_share(
        dollars=0, budget_dollars=None, evaluations=5, max_evaluations=None, told=0, planned=None
    ) == (0.0, "5 evaluations")
    assert (
        progress_share(
            dollars=0,
            budget_dollars=None,
            evaluations=5,
            max_evaluations=None,
            told=12,
            planned=10,
        )[0]
        == 1.0
    )


def test_the_progress_bar_follows_a_search_and_stays_off_pipes(capsys):
    search = create_search(
        space={"topologies": ["single"], "pool": ["sim:atlas-nano", "sim:lynx-small"]},
        dataset="bundled:arithmetic",
        strategy="random",
        n_candidates=3,
        store=":memory:",
    )
    with SearchProgress(search, planned=3) as bar:
        search.run()
    task = bar.progress.tasks[0]
    assert bar.told >= 3 and task.completed == task.total
    assert "plan: " in task.description
    assert bar.progress.disable  # not a terminal here: nothing drawn
    assert bar not in search.callbacks
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_an_interrupted_search_says_how_to_resume(tmp_path, monkeypatch):
    from search.runner import Search

    def interrupted(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(Search, "run", interrupted)
    store = tmp_path / "rg.db"
    result = runner.invoke(
        app, ["search", "--config", str(_config(tmp_path)), "--store", str(store)]
    )
    assert result.exit_code == 130
    assert "run the same command again to resume" in _one_error_line(result)


def test_a_config_imports_the_modules_that_register_its_custom_parts(tmp_path):
    import sys

    plugin = tmp_path / "my_roles_plugin.py"  # beside the config, as users keep them
    plugin.write_text("IMPORTED = True\n")
    config = json.loads(_config(tmp_path).read_text())
    path = tmp_path / "search.json"
    path.write_text(json.dumps({**config, "imports": ["my_roles_plugin"], "store": ":memory:"}))
    sys.modules.pop("my_roles_plugin", None)
    from search.cli.config import load_config

    prepare(load_config(path), source=str(path))
    assert sys.modules["my_roles_plugin"].IMPORTED
