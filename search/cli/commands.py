"""``rolegraph search``, ``estimate``, ``show``, ``export`` and ``report``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import typer.core
from rich.markup import escape

from orchestrator.cli import fail, handle_errors
from search.cli.config import EXAMPLES, Prepared, load_config, prepare
from search.cli.output import console, print_estimate, print_result, print_searches
from search.cli.progress import SearchProgress
from search.errors import SearchError
from search.graphs.config import GraphConfig
from search.results import SearchResult
from search.store import SearchRecord, Store

__all__ = [
    "register",
    "search_command",
    "estimate_command",
    "show_command",
    "export_command",
    "report_command",
    "route_command",
    "find_search",
]

_DEFAULT_STORE = "rolegraph.db"

Example = Annotated[str | None, typer.Option(help="Run a bundled example: " + ", ".join(EXAMPLES))]
Strategy = Annotated[
    str | None, typer.Option(help="Strategy, e.g. tpe, nsga2, bandit, random, tpe+bandit.")
]
BudgetOption = Annotated[float | None, typer.Option(help="Dollar budget (a hard limit).")]
StoreOption = Annotated[
    Path | None,
    typer.Option(
        help="SQLite store for results and caches [default: the config's, else rolegraph.db]."
    ),
]
NameOption = Annotated[str | None, typer.Option(help="Search name; reuse it to resume.")]
Seed = Annotated[int | None, typer.Option(help="Seed of the split and the strategy.")]
RateLimit = Annotated[
    float | None,
    typer.Option(
        min=0.001,
        help="Model requests per second, over every pool model (LangChain's "
        "InMemoryRateLimiter); cached calls are not limited. Config key: rate_limit.",
    ),
]
Concurrency = Annotated[
    int | None,
    typer.Option(min=1, help="Evaluations running at once. Config key: concurrency."),
]
_RAY_HERE = "local"


class _OptionalValueCommand(typer.core.TyperCommand):
    """A command whose ``--ray`` takes an optional value: ``--ray`` alone means ``local``.

    Typer has no options with an optional value, so a bare ``--ray`` (last, or
    followed by another option) is given its value before the arguments are parsed.
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """Parse ``args`` after filling in a bare ``--ray``."""
        filled: list[str] = []
        for index, arg in enumerate(args):
            filled.append(arg)
            following = args[index + 1] if index + 1 < len(args) else None
            if arg == "--ray" and (following is None or following.startswith("-")):
                filled.append(_RAY_HERE)
        return super().parse_args(ctx, filled)


RayOption = Annotated[
    str | None,
    typer.Option(
        "--ray",
        metavar="[ADDRESS]",
        help="Run evaluations on Ray workers (pip install 'rolegraph\\[ray]'): --ray alone "
        "starts a local Ray instance (or joins RAY_ADDRESS); --ray ray://head:10001 joins "
        "a cluster. Config key: evaluation.executor / evaluation.ray_address.",
    ),
]
StorePath = Annotated[Path, typer.Option(help="SQLite store.")]


def _settings(example: str | None, config: Path | None) -> tuple[dict[str, Any], str]:
    if (example is None) == (config is None):
        fail("give exactly one of --example NAME or a config file")
    if example is not None:
        if example not in EXAMPLES:
            raise SearchError(f"unknown example {example!r}; examples: {', '.join(EXAMPLES)}")
        return dict(EXAMPLES[example]), f"example {example}"
    assert config is not None
    return load_config(config), str(config)


def _prepare(
    example: str | None,
    config: Path | None,
    *,
    estimate_only: bool,
    **options: Any,
) -> tuple[Prepared, str | None]:
    settings, source = _settings(example, config)
    overrides = dict(options)
    ray_address = overrides.pop("ray", None)
    if ray_address is not None:
        evaluation = dict(settings.get("evaluation") or {})
        evaluation["executor"] = "ray"
        if ray_address != _RAY_HERE:
            evaluation["ray_address"] = ray_address
        overrides["evaluation"] = evaluation
    if overrides.get("budget") is not None:
        overrides["budget"] = {"dollars": overrides["budget"]}
    if overrides.get("store") is not None:
        overrides["store"] = str(overrides["store"])
    real_store = overrides.get("store") or settings.get("store") or _DEFAULT_STORE
    if estimate_only:
        overrides["store"] = ":memory:"  # estimating writes nothing
    prepared = prepare(settings, overrides, source=source)
    return prepared, str(real_store) if isinstance(real_store, str | Path) else None


def _estimate(prepared: Prepared, real_store: str | None) -> None:
    from search.estimate import estimate_search

    search = prepared.search
    print_estimate(estimate_search(search, rate_limit=prepared.rate_limit))
    if real_store and Path(real_store).is_file():
        record = Store(real_store).get_search(search.name)
        if record is not None:
            console.print(
                f"a search named {escape(search.name)!r} is in {escape(real_store)} "
                f"({record.status}, ${record.spend.get('dollars', 0.0):.4f} spent): running "
                "it resumes it, and what it already evaluated is free"
            )


@handle_errors()
def search_command(
    example: Example = None,
    config: Annotated[
        Path | None, typer.Option(help="A search config (.yaml/.json) or a script (.py).")
    ] = None,
    strategy: Strategy = None,
    budget: BudgetOption = None,
    store: StoreOption = None,
    name: NameOption = None,
    seed: Seed = None,
    rate_limit: RateLimit = None,
    concurrency: Concurrency = None,
    ray: RayOption = None,
    out: Annotated[Path | None, typer.Option(help="Also write the result as JSON here.")] = None,
    report: Annotated[
        Path | None,
        typer.Option(help="Write a report (report.html and PNG figures) into this folder."),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print the estimate of what it would spend, and stop."),
    ] = False,
    deploy_winner: Annotated[
        bool, typer.Option("--deploy/--no-deploy", help="Deploy the winner and call it.")
    ] = True,
    question: Annotated[str | None, typer.Option(help="Question for the deployed winner.")] = None,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Progress bar on a terminal.")
    ] = True,
    expected_queries: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Queries the winner will answer: stop once no candidate could repay its "
            "evaluation at that volume.",
        ),
    ] = None,
) -> None:
    """Search for the workflow that scores best per dollar, then deploy and call the winner."""
    if report is not None and not dry_run:
        from search.report import _pyplot

        _pyplot()  # a missing plot extra fails now, not after the search has spent
    prepared, real_store = _prepare(
        example,
        config,
        estimate_only=dry_run,
        strategy=strategy,
        budget=budget,
        store=store,
        name=name,
        seed=seed,
        rate_limit=rate_limit,
        concurrency=concurrency,
        ray=ray,
    )
    if dry_run:
        _estimate(prepared, real_store)
        return
    run = prepared.search
    if expected_queries is not None:
        run.objective = run.objective.model_copy(update={"expected_queries": expected_queries})
    from search.estimate import strategy_plan

    plans = strategy_plan(
        run.strategy, run.space, len(run.search_tasks), size=run.space.combinations()
    )
    planned = [plan.proposals for plan in plans]
    total = None if any(n is None for n in planned) else sum(n or 0 for n in planned)
    try:
        with SearchProgress(run, planned=total, enabled=progress):
            result = run.run()
    except KeyboardInterrupt:
        fail(
            f"interrupted; the evaluations that finished are stored in {run.store.path}: "
            "run the same command again to resume",
            code=130,
        )
    print_result(result)
    if out is not None:
        result.save(out)
        console.print(f"result written to {escape(str(out))}")
    if report is not None:
        from search.report import write_report

        page = write_report(result, report, store=run.store)
        console.print(f"report written to {escape(str(page))}")
    ask = question or prepared.question
    if deploy_winner and result.best is not None and ask:
        from orchestrator import deploy

        workflow = deploy(result.best, models=prepared.models or None)
        answer = workflow.invoke(ask)
        console.print(f"\ndeployed winner ({result.best.hash}) answers: {escape(ask)}")
        verdict = ""
        if prepared.answer is not None and not question:
            right = str(answer.answer).strip() == prepared.answer.strip()
            verdict = "  right" if right else f"  wrong: the answer is {escape(prepared.answer)}"
        console.print(
            f"  -> [bold]{escape(str(answer.answer))}[/bold]  ({answer.calls} calls, "
            f"${answer.cost:.6f}){verdict}"
        )


@handle_errors()
def estimate_command(
    config: Annotated[
        Path | None,
        typer.Argument(help="A search config (.yaml/.json) or a script (.py)."),
    ] = None,
    example: Example = None,
    strategy: Strategy = None,
    budget: BudgetOption = None,
    store: StoreOption = None,
    name: NameOption = None,
    seed: Seed = None,
    rate_limit: RateLimit = None,
    concurrency: Concurrency = None,
) -> None:
    """Estimate a search's dollars, model calls and wall time before spending anything."""
    prepared, real_store = _prepare(
        example,
        config,
        estimate_only=True,
        strategy=strategy,
        budget=budget,
        store=store,
        name=name,
        seed=seed,
        rate_limit=rate_limit,
        concurrency=concurrency,
    )
    _estimate(prepared, real_store)


def _open(store: Path) -> Store:
    if not store.is_file():
        raise SearchError(f"no store at {store}; give the one the search used with --store")
    return Store(store)


def find_search(db: Store, ref: str, *, finished: bool = True) -> SearchRecord:
    """A search by its name, its id, or a unique prefix of its name.

    Raises:
        SearchError: None matches, or a prefix matches several; the message
            lists the searches there are.
    """
    records = db.list_searches()
    usable = [r for r in records if r.result is not None] if finished else records
    exact = [r for r in usable if r.name == ref]
    if exact:
        return exact[0]
    if ref.isdigit():
        by_id = [r for r in usable if r.id == int(ref)]
        if by_id:
            return by_id[0]
    matches = [r for r in usable if r.name.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    what = "finished searches" if finished else "searches"
    if matches:
        names = ", ".join(repr(r.name) for r in matches)
        raise SearchError(f"{ref!r} could be any of {names}; give more of the name")
    listed = ", ".join(f"{r.name!r} (id {r.id})" for r in usable) or "none"
    raise SearchError(f"no search {ref!r} in {db.path}; {what} there: {listed}")


@handle_errors()
def show_command(
    name: Annotated[
        str | None, typer.Argument(help="A search name, a unique prefix or its id; omit to list.")
    ] = None,
    store: StorePath = Path(_DEFAULT_STORE),
    top: Annotated[int, typer.Option(min=0, help="Candidates to list.")] = 8,
) -> None:
    """List past searches (full names and ids), or show one search's front, leaders and test."""
    db = _open(store)
    if name is None:
        print_searches(db.list_searches(), store=str(store))
        return
    record = find_search(db, name)
    assert record.result is not None
    print_result(SearchResult.model_validate(record.result), top=top)


def _result(store: Path, name: str) -> SearchResult:
    result = SearchResult.model_validate(find_search(_open(store), name).result)
    if result.best is None and result.best_graph is None:
        raise SearchError(f"search {result.name!r} found no winner: nothing to export")
    return result


@handle_errors()
def export_command(
    name: Annotated[str, typer.Argument(help="A search name, a unique prefix or its id.")],
    target: Annotated[
        Path,
        typer.Argument(help="A .py module, a .json or .yaml spec, or with --langgraph a folder."),
    ],
    store: StorePath = Path(_DEFAULT_STORE),
    langgraph: Annotated[
        bool,
        typer.Option(
            "--langgraph",
            help="Write a LangGraph application into TARGET (a folder): the module and "
            "langgraph.json, for 'langgraph dev'.",
        ),
    ] = False,
) -> None:
    """Export a search's best workflow as a runnable module, a spec file or a LangGraph app."""
    from orchestrator.export import export_langgraph, write_module

    result = _result(store, name)
    spec = result.best
    if spec is None:
        assert result.best_graph is not None
        path = _export_graph(result.best_graph, target, langgraph=langgraph)
        console.print(f"exported graph {escape(result.best_graph.graph)} to {escape(str(path))}")
        return
    if langgraph:
        if target.suffix in {".py", ".json", ".yaml", ".yml"}:
            raise SearchError(f"--langgraph writes into a folder; {target} looks like a file")
        path = export_langgraph(spec, target)
    elif target.suffix == ".py":
        path = write_module(spec, target)
    elif target.suffix in {".json", ".yaml", ".yml"}:
        path = spec.save(target)
    else:
        raise SearchError(
            f"cannot tell what to write from {target.name!r}: use a .py, .json or .yaml file, "
            "or --langgraph with a folder"
        )
    label = result.best_stats.label if result.best_stats else result.name
    console.print(f"exported {escape(label)} to {escape(str(path))}")


def _export_graph(config: GraphConfig, target: Path, *, langgraph: bool) -> Path:
    """A graph search's winner: a module that builds the user's graph, an app, or settings."""
    from search.graphs.export import export_graph, write_graph_module

    if langgraph:
        if target.suffix in {".py", ".json", ".yaml", ".yml"}:
            raise SearchError(f"--langgraph writes into a folder; {target} looks like a file")
        return export_graph(config, target)
    if target.suffix == ".py":
        return write_graph_module(config, target)
    if target.suffix == ".json":
        return config.save(target)
    raise SearchError(
        f"a graph search exports a .py module, its settings as .json, or with --langgraph "
        f"a folder; not {target.name!r}"
    )


@handle_errors()
def report_command(
    name: Annotated[str, typer.Argument(help="A search name, a unique prefix or its id.")],
    directory: Annotated[
        Path, typer.Argument(help="Folder to write report.html and figures into.")
    ],
    store: StorePath = Path(_DEFAULT_STORE),
) -> None:
    """Write a finished search's report: report.html with PNG figures (needs the plot extra)."""
    from search.report import write_report

    db = _open(store)
    result = SearchResult.model_validate(find_search(db, name).result)
    page = write_report(result, directory, store=db)
    console.print(f"report written to {escape(str(page))}")


def register(app: typer.Typer) -> None:
    """Add the search commands to the ``rolegraph`` app."""
    app.command("search", cls=_OptionalValueCommand)(search_command)
    app.command("estimate")(estimate_command)
    app.command("show")(show_command)
    app.command("export")(export_command)
    app.command("report")(report_command)
    app.command("route")(route_command)


@handle_errors()
def route_command(
    name: Annotated[str, typer.Argument(help="A search name, a unique prefix or its id.")],
    example: Example = None,
    config: Annotated[
        Path | None,
        typer.Option(help="The search's config (.yaml/.json/.py): its dataset is read."),
    ] = None,
    store: StorePath = Path(_DEFAULT_STORE),
    k: Annotated[int | None, typer.Option("--k", min=1, help="Arms from the front.")] = None,
    cost_cap: Annotated[
        float | None,
        typer.Option("--cost-cap", min=0.0, help="Hard dollars per request (worst case)."),
    ] = None,
    deadline: Annotated[
        float | None,
        typer.Option(min=0.0, help="Seconds per request (the arms' stored run times)."),
    ] = None,
    verifier: Annotated[
        list[str] | None,
        typer.Option(
            help="A model that checks the cheapest arm's answer, so a cascade can escalate "
            "on its rejection (repeat to offer several)."
        ),
    ] = None,
    policy: Annotated[str, typer.Option(help="'auto' or a policy name.")] = "auto",
    out: Annotated[
        Path | None, typer.Option(help="Write the router: a .py module or .json data.")
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option(help="Write the search's report, with a routing section, into this folder."),
    ] = None,
    evaluate: Annotated[
        bool,
        typer.Option(
            "--evaluate/--no-evaluate",
            help="Judge it on the held-out split (runs the arms there; stored results free).",
        ),
    ] = True,
) -> None:
    """Build a router over a finished search's front, judge it on the held-out split, export it."""
    from search.routing import evaluate_routing, route

    settings, source = _settings(example, config)
    prepared = prepare(settings, {"store": ":memory:"}, source=source)  # its dataset only
    db = _open(store)
    result = _result(store, name)
    tasks = prepared.search.dataset.tasks
    routed = route(
        result,
        tasks=tasks,
        store=db,
        k=k,
        policy=policy,
        cost_cap=cost_cap,
        deadline=deadline,
        verifier=verifier or None,
        models=prepared.models or None,
    )
    validation = routed.config.cross_validation
    how = f" ({escape(validation.rule)})" if validation is not None else ""
    console.print(
        f"router {routed.router_id}: policy {routed.policy.name}{how}, "
        f"{len(routed.arms)} arms, trained on {routed.config.trained_on} search tasks"
    )
    for arm in routed.config.arms:
        console.print(f"  arm {arm.hash}  {escape(arm.label)}")
    if evaluate:
        judged = evaluate_routing(
            routed, result, tasks=tasks, store=db, models=prepared.models or None
        )
        note = " (simulated models)" if judged.simulated else ""
        console.print(f"held-out split, {judged.n_tasks} tasks{note}:")
        for c in judged.contenders:
            console.print(
                f"  {c.name:<12} {c.score.mean:6.1%} [{c.score.low:.1%}, {c.score.high:.1%}]  "
                f"${c.cost_per_task:.6f}/task"
            )
        console.print(f"  regret vs oracle: {judged.regret_vs_oracle * 100:.1f} points")
        if report is not None:
            from search.report import write_report

            page = write_report(result, report, store=db, routing=judged)
            console.print(f"report written to {escape(str(page))}")
    if out is not None:
        path = routed.export(out)
        console.print(f"router written to {escape(str(path))}")
