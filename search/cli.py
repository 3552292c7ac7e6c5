"""``rolegraph search``, ``show`` and ``export``: the search commands of the CLI."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from orchestrator.cli import app
from orchestrator.errors import RolegraphError
from search.evaluation.budget import Budget
from search.objective import Objective
from search.results import CandidateStats, SearchResult
from search.runner import Search, SearchError, create_search
from search.space import SearchSpace
from search.strategies import Outcome
from topologies import SpaceError

__all__ = ["app", "EXAMPLES", "register", "print_result"]

console = Console()

EXAMPLES: dict[str, dict[str, Any]] = {
    "arithmetic": {
        "description": "Multi-step arithmetic word problems on simulated models (offline).",
        "dataset": {"bundled": "arithmetic", "n": 80, "seed": 0},
        "metric": "numeric",
        "space": {
            "topologies": ["single", "plan_solve", "self_refine", "vote_ensemble", "best_of_n"],
            "pool": [
                "sim:atlas-nano",
                "sim:lynx-small",
                "sim:orca-small",
                "sim:atlas-mini",
                "sim:atlas-pro",
            ],
            "fixed": {"single": {"temperature": 0.0}},
        },
        "strategy": "tpe+bandit",
        "strategy_options": {
            "tpe__n_trials": 30,
            "tpe__n_startup_trials": 10,
            "bandit__min_tasks": 10,
        },
        "budget": {"dollars": 5.0},
        "objective": {"point_value": 0.0005},
        "question": "Maya has 18 shells. Maya buys 4 bags with 6 shells in each. Maya gives "
        "away half of the shells. Maya loses 5 shells. How many shells does Maya "
        "have now?",
    },
}


def _load_config(path: Path) -> dict[str, Any]:
    if path.suffix in {".yaml", ".yml"}:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    elif path.suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
    elif path.suffix == ".py":
        spec = importlib.util.spec_from_file_location(f"_rolegraph_config_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise SearchError(f"cannot import {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        found = getattr(module, "search", None) or getattr(module, "config", None)
        if isinstance(found, Search):
            return {"search": found}
        if not isinstance(found, Mapping):
            raise SearchError(f"{path} must define 'search' (create_search(...)) or 'config'")
        data = dict(found)
    else:
        raise SearchError(f"unsupported config file {path.name}: use .yaml, .json or .py")
    if not isinstance(data, Mapping):
        raise SearchError(f"{path} does not hold a mapping of search settings")
    return dict(data)


def _dataset(value: Any) -> Any:
    if isinstance(value, Mapping) and "bundled" in value:
        from search.evaluation.datasets import bundled_dataset

        options = {k: v for k, v in value.items() if k != "bundled"}
        return bundled_dataset(value["bundled"], **options)
    return value


def _build(config: Mapping[str, Any], overrides: Mapping[str, Any]) -> Search:
    if "search" in config:
        found: Search = config["search"]
        return found
    settings = {**config, **{k: v for k, v in overrides.items() if v is not None}}
    known = {
        "description",
        "dataset",
        "metric",
        "space",
        "strategy",
        "strategy_options",
        "budget",
        "objective",
        "question",
        "store",
        "name",
        "seed",
        "test_size",
    }
    unknown = sorted(set(settings) - known)
    if unknown:
        raise SearchError(f"unknown settings {unknown}; known: {sorted(known)}")
    if "dataset" not in settings or "space" not in settings:
        raise SearchError("a search config needs 'dataset' and 'space'")
    return create_search(
        space=SearchSpace(**settings["space"]),
        dataset=_dataset(settings["dataset"]),
        metric=settings.get("metric", "numeric"),
        strategy=settings.get("strategy", "tpe"),
        budget=Budget(**settings["budget"]) if settings.get("budget") else None,
        objective=Objective(**settings.get("objective", {})),
        store=settings.get("store", "rolegraph.db"),
        name=settings.get("name"),
        seed=settings.get("seed", 0),
        test_size=settings.get("test_size", 0.3),
        **settings.get("strategy_options", {}),
    )


def _stats_table(title: str, rows: list[CandidateStats], *, limit: int | None = None) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("candidate", "tasks", "accuracy (95% CI)", "$ / task", "calls / task"):
        table.add_column(column, justify="left" if column == "candidate" else "right")
    for stats in rows[:limit]:
        table.add_row(
            escape(stats.label),
            f"{stats.n_tasks}{'' if stats.complete else '*'}",
            f"{stats.mean:.3f} ({stats.ci_low:.2f}-{stats.ci_high:.2f})",
            f"{stats.cost_per_task:.6f}",
            f"{stats.score.calls_per_task:.1f}",
        )
    return table


def print_result(result: SearchResult, *, top: int = 8) -> None:
    """Print a search result: spend, the Pareto front, the leaders and the held-out test."""
    if result.simulated:
        console.print(
            "[yellow]Simulated models: these numbers describe the simulator, "
            "not any real LLM.[/yellow]"
        )
    spend = result.spend
    console.print(
        f"search [bold]{result.name}[/bold] ({result.strategy}): {result.evaluations} "
        f"evaluations asked, {spend.evaluations} run, {spend.calls} model calls "
        f"({spend.cached_calls} cached), ${spend.dollars:.4f} spent; stopped: {result.stop_reason}"
    )
    console.print(
        f"objective: {result.objective}; {result.n_search_tasks} search tasks, "
        f"{result.n_test_tasks} held-out test tasks"
    )
    console.print(_stats_table("Pareto front (accuracy vs cost)", list(result.front)))
    console.print(
        _stats_table(
            f"Top {top} candidates (* = not every task)", list(result.candidates), limit=top
        )
    )
    if result.best_stats is None:
        console.print("[red]no candidate was evaluated on every search task[/red]")
        return
    console.print(
        f"best: [bold]{escape(result.best_stats.label)}[/bold] (hash {result.best_stats.workflow})"
    )
    if result.test is not None:
        test = result.test
        note = "" if test.stop_reason == "completed" else f" (stopped: {test.stop_reason})"
        console.print(
            f"held-out test: accuracy {test.mean:.3f} (95% CI {test.ci_low:.2f}-"
            f"{test.ci_high:.2f}) on {test.n_tasks} tasks, ${test.cost_per_task:.6f} per task"
            f"{note}"
        )


class _Live:
    """Progress for a running search: evaluations, spend and the current leader."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task = progress.add_task("searching", total=None)

    def __call__(self, search: Search, outcome: Outcome) -> None:
        leader = search.leader()
        best = f"best {leader.mean:.3f} {escape(leader.label)}" if leader else "no leader yet"
        self.progress.update(
            self.task,
            completed=search.evaluations,
            description=f"{search.evaluations} evals, ${search.ledger.spent.dollars:.4f}; {best}",
        )


def _fail(error: Exception) -> None:
    console.print(f"[red]error:[/red] {error}")
    raise typer.Exit(code=2)


def search_command(
    example: Annotated[
        str | None, typer.Option(help="Run a bundled example: " + ", ".join(EXAMPLES))
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="A search config (.yaml/.json) or a script (.py).")
    ] = None,
    strategy: Annotated[
        str | None, typer.Option(help="Strategy, e.g. tpe, nsga2, bandit, random, tpe+bandit.")
    ] = None,
    budget: Annotated[float | None, typer.Option(help="Dollar budget (hard limit).")] = None,
    store: Annotated[Path, typer.Option(help="SQLite store for results and caches.")] = Path(
        "rolegraph.db"
    ),
    name: Annotated[str | None, typer.Option(help="Search name; reuse it to resume.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the split and the strategy.")] = None,
    out: Annotated[Path | None, typer.Option(help="Also write the result as JSON here.")] = None,
    deploy_winner: Annotated[
        bool, typer.Option("--deploy/--no-deploy", help="Deploy the winner and call it.")
    ] = True,
    question: Annotated[str | None, typer.Option(help="Question for the deployed winner.")] = None,
) -> None:
    """Search for the workflow that scores best per dollar, then deploy and call the winner."""
    if (example is None) == (config is None):
        _fail(SearchError("give exactly one of --example or --config"))
    try:
        if example is not None:
            if example not in EXAMPLES:
                raise SearchError(f"unknown example {example!r}; examples: {', '.join(EXAMPLES)}")
            settings = dict(EXAMPLES[example])
        else:
            assert config is not None
            settings = _load_config(config)
        ask = question or settings.pop("question", None)
        overrides: dict[str, Any] = {
            "strategy": strategy,
            "store": str(store),
            "name": name,
            "seed": seed,
        }
        if strategy is not None:
            settings.pop("strategy_options", None)
        if budget is not None:
            overrides["budget"] = {"dollars": budget}
        run = _build(settings, overrides)
    except (RolegraphError, SpaceError, SearchError, ValueError, OSError) as exc:
        _fail(exc)
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        run.callbacks.append(_Live(progress))
        result = run.run()
    print_result(result)
    if out is not None:
        result.save(out)
        console.print(f"result written to {out}")
    if deploy_winner and result.best is not None and ask:
        from orchestrator import deploy

        workflow = deploy(result.best)
        answer = workflow.invoke(ask)
        console.print(f"\ndeployed winner ({result.best.hash}) answers: {ask}")
        console.print(
            f"  -> [bold]{answer.answer}[/bold]  ({answer.calls} calls, ${answer.cost:.6f})"
        )


def show_command(
    name: Annotated[str | None, typer.Argument(help="A search name; omit to list.")] = None,
    store: Annotated[Path, typer.Option(help="SQLite store.")] = Path("rolegraph.db"),
    top: Annotated[int, typer.Option(help="Candidates to list.")] = 8,
) -> None:
    """List past searches, or show one search's front, leaders and test numbers."""
    from search.store import Store

    if not store.exists():
        _fail(FileNotFoundError(f"no store at {store}"))
    db = Store(store)
    if name is None:
        table = Table("name", "strategy", "status", "stop reason", "$ spent", "updated")
        for past in db.list_searches():
            table.add_row(
                past.name,
                past.strategy,
                past.status,
                past.stop_reason or "",
                f"{past.spend.get('dollars', 0.0):.4f}",
                past.updated_at,
            )
        console.print(table)
        return
    record = db.get_search(name)
    if record is None or record.result is None:
        _fail(KeyError(f"no finished search named {name!r} in {store}"))
        return
    print_result(SearchResult.model_validate(record.result), top=top)


def export_command(
    name: Annotated[str, typer.Argument(help="A search name.")],
    target: Annotated[Path, typer.Argument(help="Output: .py module, .json or .yaml spec.")],
    store: Annotated[Path, typer.Option(help="SQLite store.")] = Path("rolegraph.db"),
) -> None:
    """Export a search's best workflow as a runnable module or a spec file."""
    from orchestrator import deploy
    from search.store import Store

    record = Store(store).get_search(name) if store.exists() else None
    if record is None or record.result is None or record.result.get("best") is None:
        _fail(KeyError(f"no search named {name!r} with a best workflow in {store}"))
        return
    result = SearchResult.model_validate(record.result)
    path = deploy(result).export(target)
    console.print(f"exported {result.best_stats.label if result.best_stats else name} to {path}")


def register(app: typer.Typer) -> None:
    """Add the search commands to the ``rolegraph`` app."""
    app.command("search")(search_command)
    app.command("show")(show_command)
    app.command("export")(export_command)


register(app)

if __name__ == "__main__":  # pragma: no cover
    app()
