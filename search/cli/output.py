"""What the search commands print: results, estimates and lists of searches."""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from search.estimate import Range, SearchEstimate
from search.results import CandidateStats, SearchResult
from search.store import SearchRecord

__all__ = [
    "console",
    "print_result",
    "print_estimate",
    "print_searches",
    "stats_table",
    "print_certificate",
    "money",
    "count",
    "duration",
]

console = Console()
"""Standard output: results. Progress and errors go to standard error."""

SIMULATED_NOTE = "Simulated models: these numbers describe the simulator, not any real LLM."


def money(dollars: float | None) -> str:
    """Dollars with four significant places for small amounts: ``$0.0123``, ``$12.50``."""
    if dollars is None or math.isinf(dollars):
        return "unbounded"
    if dollars >= 100:
        return f"${dollars:,.0f}"
    if dollars >= 1:
        return f"${dollars:,.2f}"
    return f"${dollars:.4f}" if dollars >= 0.0001 else f"${dollars:.2g}"


def count(value: float | None) -> str:
    """A whole number with thousands separators, or 'unbounded'."""
    if value is None or math.isinf(value):
        return "unbounded"
    return f"{round(value):,}"


def duration(seconds: float | None) -> str:
    """Seconds as ``0.4 s``, ``3 min``, ``2.5 h``."""
    if seconds is None or math.isinf(seconds):
        return "unbounded"
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def stats_table(title: str, rows: Sequence[CandidateStats], *, limit: int | None = None) -> Table:
    """A table of candidates: label (never cut), tasks, accuracy with interval, cost, calls."""
    table = Table(title=title, title_justify="left")
    table.add_column("candidate", overflow="fold")
    for column in ("tasks", "accuracy (95% CI)", "$ / task", "calls / task"):
        table.add_column(column, justify="right", no_wrap=True)
    for stats in list(rows)[:limit]:
        mark = f" [dim]({stats.baseline} baseline)[/dim]" if stats.baseline else ""
        table.add_row(
            escape(stats.label) + mark,
            f"{stats.n_tasks}{'' if stats.complete else '*'}",
            f"{stats.mean:.3f} ({stats.ci_low:.2f}-{stats.ci_high:.2f})",
            f"{stats.cost_per_task:.6f}",
            f"{stats.score.calls_per_task:.1f}",
        )
    return table


def budget_line(result: SearchResult) -> str:
    """What the search has spent over all its runs, and what is left of its budget."""
    spend, budget = result.spend, result.budget
    line = f"all runs: ${spend.dollars:.4f}, {spend.calls} model calls"
    if spend.overrun:
        line += f" (${spend.overrun:.4f} over what calls held: a model ignored its cap)"
    if budget is None or budget.dollars is None:
        return line + "; no dollar budget"
    left = max(0.0, budget.dollars - spend.dollars)
    return f"{line}; budget ${budget.dollars:g}, ${left:.4f} left ({left / budget.dollars:.0%})"


def print_result(result: SearchResult, *, top: int = 8) -> None:
    """Print a search result: spend, the Pareto front, the leaders and the held-out test."""
    if result.simulated:
        console.print(f"[yellow]{SIMULATED_NOTE}[/yellow]")
    now = result.spend_this_run
    console.print(
        f"search [bold]{escape(result.name)}[/bold] ({escape(result.strategy)}): "
        f"{result.evaluations} evaluations asked, {now.evaluations} run now, {now.calls} model "
        f"calls ({now.cached_calls} cached), ${now.dollars:.4f} spent now; "
        f"stopped: {escape(result.stop_reason)}"
    )
    console.print(budget_line(result))
    console.print(
        f"objective: {escape(result.objective)}; {result.n_search_tasks} search tasks, "
        f"{result.n_test_tasks} held-out test tasks"
    )
    console.print(stats_table("Pareto front (accuracy vs cost)", result.front))
    console.print(
        stats_table(f"Top {top} candidates (* = not every task)", result.candidates, limit=top)
    )
    for line in result.account:
        console.print(f"  {escape(line)}")
    print_certificate(result)
    if result.best_stats is None:
        if result.certificate is None:
            console.print("[red]no candidate was evaluated on every search task[/red]")
        return
    console.print(
        f"best: [bold]{escape(result.best_stats.label)}[/bold] (hash {result.best_stats.workflow})"
    )
    if result.test is not None:
        test = result.test
        note = "" if test.stop_reason == "completed" else f" (stopped: {escape(test.stop_reason)})"
        console.print(
            f"held-out test: accuracy {test.mean:.3f} (95% CI {test.ci_low:.2f}-"
            f"{test.ci_high:.2f}) on {test.n_tasks} tasks, ${test.cost_per_task:.6f} per task"
            f"{note}"
        )


def print_certificate(result: SearchResult) -> None:
    """The certificate in plain words: what ships and what the search can claim about it."""
    certificate = result.certificate
    if certificate is None:
        return
    colour = "red" if certificate.verdict == "no_winner" else "green"
    title = "NO WINNER" if certificate.verdict == "no_winner" else "Certificate"
    console.print(f"[bold {colour}]{title}[/bold {colour}]")
    for line in certificate.lines:
        console.print(f"  {escape(line)}", soft_wrap=True, highlight=False)


def _range(value: Range, fmt: str = "count") -> tuple[str, str]:
    render = {"count": count, "money": money, "time": duration}[fmt]
    return render(value.low), render(value.high)


def print_estimate(estimate: SearchEstimate) -> None:
    """Print an estimate: the ranges, what the budget and plan cover, and how it was made."""
    console.print(
        f"[bold]Estimate[/bold] for search [bold]{escape(estimate.name)}[/bold] "
        f"({escape(estimate.strategy)}), before anything is spent. It is an estimate, not a "
        "measurement."
    )
    if estimate.simulated:
        console.print(f"[yellow]{SIMULATED_NOTE}[/yellow]")
    about = "" if estimate.space_exact else "about "
    sampled = "" if estimate.space_exact else f"; costs from a sample of {estimate.sampled:,}"
    console.print(
        f"space: {about}{estimate.space_size:,} candidates{sampled}; tasks: "
        f"{estimate.search_tasks} search + {estimate.test_tasks} held-out test; "
        f"repetitions: {estimate.repetitions} (for candidates that sample)"
    )
    for plan in estimate.plan:
        console.print(f"plan: {escape(plan.name)}: {escape(plan.summary)}")
    table = Table(title="Range", title_justify="left")
    table.add_column("")
    table.add_column("low", justify="right")
    table.add_column("high", justify="right")
    rows = [
        ("candidates", *_range(estimate.candidates)),
        ("evaluations", *_range(estimate.evaluations)),
        ("model calls", *_range(estimate.calls)),
        ("dollars", *_range(estimate.dollars, fmt="money")),
        ("wall time", *_range(estimate.wall_s, fmt="time")),
    ]
    for row in rows:
        table.add_row(*row)
    console.print(table)
    limit = f"{estimate.rate_limit:g} requests/s" if estimate.rate_limit else "no rate limit"
    console.print(
        f"concurrency: {estimate.concurrency} evaluations at once, {estimate.parallel} "
        f"proposals at once; {limit}"
    )
    budget = estimate.budget
    if budget is None or all(v is None for v in budget.model_dump().values()):
        console.print("budget: none; the high end is the plan's worst case")
    else:
        limits = ", ".join(
            money(v) if k == "dollars" else f"{count(v)} {k}"
            for k, v in budget.model_dump().items()
            if v is not None
        )
        console.print(f"budget: {limits} (a hard limit, search and held-out test together)")
    if estimate.bound == "budget" and estimate.plan_dollars is not None:
        console.print(
            f"the high end is the budget: the plan's worst case would be "
            f"{money(estimate.plan_dollars)}"
        )
    share = estimate.plan_share
    if share is not None and estimate.candidates.high is not None:
        console.print(
            f"the plan evaluates at most {count(estimate.candidates.high)} candidates: "
            f"{share:.1%} of the space"
        )
    covered = estimate.budget_candidates
    if covered is not None and estimate.search_budget_dollars is not None:
        size = estimate.space_size
        low, high = covered.low, covered.high
        low_share = min(1.0, low / size) if size else 0.0
        high_text = count(high)
        high_share = "100%" if high is None else f"{min(1.0, high / size):.1%}"
        console.print(
            f"the {money(estimate.search_budget_dollars)} search budget pays for "
            f"{count(low)}-{high_text} median candidates on all {estimate.search_tasks} search "
            f"tasks (worst case - short replies): {low_share:.1%}-{high_share} of the space"
        )
    console.print("[dim]How this estimate was made:[/dim]")
    for line in estimate.method:
        console.print(f"[dim]- {escape(line)}[/dim]")


def print_searches(records: Sequence[SearchRecord], *, store: str) -> None:
    """List the searches in a store, each name whole on its own line (``export`` takes it).

    Names are printed with soft wrapping: a narrow terminal may wrap them on
    screen, but nothing is cut and a copied name is one line.
    """
    console.print(
        f"{len(records)} searches in {escape(store)} (give a name, a unique prefix of it, "
        "or the id to show, export or report):"
    )
    for past in records:
        console.print(f"[bold]#{past.id}[/bold] {escape(past.name)}", soft_wrap=True)
        details = [past.strategy, past.status]
        if past.stop_reason:
            details.append(f"stopped: {past.stop_reason}")
        details.append(f"${past.spend.get('dollars', 0.0):.4f} spent")
        details.append(f"updated {past.updated_at}")
        console.print(f"    {escape(', '.join(details))}", soft_wrap=True, highlight=False)
