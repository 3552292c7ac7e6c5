"""A search report people can look at: one self-contained HTML page with PNG figures.

:func:`write_report` writes, into one folder, ``report.html``, the figures it
shows and ``result.json`` (the :class:`~search.results.SearchResult` it was
made from). The page references only those files, by relative path, and
nothing on the network, so the folder can be zipped, mailed or served as is.

The page holds:

- the Pareto front of accuracy against cost per task, with 95% interval bars
  and the winner marked (``pareto.png``);
- the best accuracy found so far against the dollars spent (``progress.png``,
  from ``result.history``; left out, with a note, when the history is empty);
- the spend by strategy stage (``spend.png``);
- the winner's workflow diagram (``winner.png``) and its agents;
- the held-out test result, the account of how the winner was found and the
  table of every candidate;
- the simulated-model disclaimer whenever ``sim:`` models were used.

Figures need matplotlib: ``pip install 'rolegraph[plot]'``.

Example:
    >>> from search import SearchResult
    >>> result = SearchResult.load("result.json")  # doctest: +SKIP
    >>> write_report(result, "report/")  # doctest: +SKIP
    PosixPath('report/report.html')
"""

from __future__ import annotations

import html
import importlib.metadata
import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.errors import MissingIntegrationError
from orchestrator.render import spec_mermaid
from search.results import CandidateStats, SearchResult
from search.routing.evaluation import RoutingEvaluation
from search.store import Store

__all__ = ["write_report", "Figure", "REPORT_FILE", "FIGURES"]

REPORT_FILE = "report.html"
"""Name of the page :func:`write_report` writes."""
FIGURES = ("pareto.png", "progress.png", "spend.png", "winner.png")
"""The figure files a report may hold (``progress.png`` only with a history)."""

SIMULATED_NOTE = (
    "This search used simulated 'sim:' models. Their accuracy, prices and latencies describe "
    "rolegraph's simulator, chosen so that the trade-offs a search must find exist; they say "
    "nothing about any real LLM."
)

_WINNER = "#d62728"
_FRONT = "#1f77b4"
_OTHER = "#9e9e9e"


@dataclass(frozen=True)
class Figure:
    """One figure of a report."""

    file: str
    title: str
    caption: str


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise MissingIntegrationError(
            "a search report draws its figures with matplotlib: pip install 'rolegraph[plot]'"
        ) from exc
    return plt


def _finite(value: float) -> bool:
    return value is not None and math.isfinite(value)


def _short(label: str, width: int = 38) -> str:
    return "\n".join(textwrap.wrap(label, width=width)[:3])


def _accuracy_axis(ax: Any, values: Sequence[float]) -> None:
    """Accuracy from a little under the lowest value shown to just over 1."""
    shown = [v for v in values if _finite(v)]
    low = min(shown, default=0.0)
    ax.set_ylim(max(-0.02, math.floor((low - 0.05) * 10) / 10), 1.03)


def _cost_axis(ax: Any, costs: Sequence[float]) -> None:
    positive = [c for c in costs if c > 0]
    if positive and len(positive) == len(costs) and max(positive) / min(positive) > 20:
        ax.set_xscale("log")


def _pareto(result: SearchResult, path: Path, plt: Any) -> Figure:
    scored = [c for c in result.candidates if c.n_tasks > 0 and _finite(c.mean)]
    front = [c for c in result.front if _finite(c.mean)]
    front_ids = {c.workflow for c in front}
    winner = result.best_stats
    fig, ax = plt.subplots(figsize=(8.0, 5.0), dpi=110)
    complete = [c for c in scored if c.complete and c.workflow not in front_ids]
    partial = [c for c in scored if not c.complete]
    if complete:
        ax.scatter(
            [c.cost_per_task for c in complete],
            [c.mean for c in complete],
            s=22,
            color=_OTHER,
            alpha=0.7,
            label="other candidates (every task)",
        )
    if partial:
        ax.scatter(
            [c.cost_per_task for c in partial],
            [c.mean for c in partial],
            s=22,
            facecolors="none",
            edgecolors=_OTHER,
            alpha=0.7,
            label="stopped early (fewer tasks)",
        )
    if front:
        xs = [c.cost_per_task for c in front]
        ys = [c.mean for c in front]
        low = [max(0.0, c.mean - c.ci_low) if _finite(c.ci_low) else 0.0 for c in front]
        high = [max(0.0, c.ci_high - c.mean) if _finite(c.ci_high) else 0.0 for c in front]
        ax.errorbar(
            xs,
            ys,
            yerr=[low, high],
            fmt="o-",
            color=_FRONT,
            ecolor=_FRONT,
            elinewidth=1,
            capsize=3,
            markersize=5,
            drawstyle="steps-post",
            label="Pareto front (95% CI)",
        )
    if winner is not None and _finite(winner.mean):
        ax.scatter(
            [winner.cost_per_task],
            [winner.mean],
            marker="*",
            s=260,
            color=_WINNER,
            edgecolors="black",
            linewidths=0.6,
            zorder=5,
            label="winner",
        )
        ax.annotate(
            _short(winner.label),
            (winner.cost_per_task, winner.mean),
            xytext=(12, -28),
            textcoords="offset points",
            fontsize=7.5,
            color=_WINNER,
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.85},
            arrowprops={"arrowstyle": "-", "color": _WINNER, "lw": 0.6},
        )
    _cost_axis(ax, [c.cost_per_task for c in scored])
    ax.set_xlabel("cost per task ($, list price)")
    ax.set_ylabel(f"accuracy on the {result.n_search_tasks} search tasks")
    _accuracy_axis(ax, [c.mean for c in scored] + [c.ci_low for c in front])
    ax.grid(True, alpha=0.3)
    title = "Accuracy vs cost per task"
    ax.set_title(title + (" (simulated models)" if result.simulated else ""))
    if scored:
        ax.legend(loc="lower right", fontsize=8)
    else:
        ax.text(0.5, 0.5, "no candidate was scored", ha="center", transform=ax.transAxes)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Figure(
        file=path.name,
        title="Pareto front: accuracy against cost per task",
        caption=f"Each dot is a candidate workflow ({len(scored)} scored). Blue: the "
        f"{len(front)} candidates no other beats on both accuracy and cost, with 95% "
        "confidence intervals over tasks. Hollow: stopped early, scored on fewer tasks. "
        "Red star: the winner the objective picked"
        + (f" ({html.escape(result.objective)})." if result.objective else "."),
    )


def _progress(result: SearchResult, path: Path, plt: Any) -> Figure:
    steps = result.history
    fig, ax = plt.subplots(figsize=(8.0, 4.2), dpi=110)
    stages = list(dict.fromkeys(step.stage for step in steps))
    colours = plt.get_cmap("tab10")
    for index, stage in enumerate(stages):
        mine = [s for s in steps if s.stage == stage and _finite(s.mean)]
        kept = [s for s in mine if not s.pruned]
        cut = [s for s in mine if s.pruned]
        colour = colours(index % 10)
        if kept:
            ax.scatter(
                [s.spent for s in kept],
                [s.mean for s in kept],
                s=14,
                color=colour,
                alpha=0.55,
                label=f"{stage}: candidate's mean then",
            )
        if cut:
            ax.scatter(
                [s.spent for s in cut],
                [s.mean for s in cut],
                s=16,
                marker="x",
                color=colour,
                alpha=0.55,
                label=f"{stage}: stopped early",
            )
    best = [(s.spent, s.best_mean) for s in steps if s.best_mean is not None]
    if best:
        xs = [x for x, _ in best]
        ys = [float(y) for _, y in best if y is not None]
        ax.step(xs, ys, where="post", color=_WINNER, linewidth=2, label="best so far")
    ax.set_xlabel("dollars the search paid (cache misses; replayed results at what they cost)")
    ax.set_ylabel("accuracy on the search tasks")
    _accuracy_axis(ax, [s.mean for s in steps])
    ax.grid(True, alpha=0.3)
    ax.set_title(
        "Best accuracy so far vs dollars spent" + (" (simulated)" if result.simulated else "")
    )
    ax.legend(loc="lower right", fontsize=7.5)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Figure(
        file=path.name,
        title="Best accuracy so far against dollars spent",
        caption=f"One point per outcome the strategy was told ({len(steps)}), at the dollars "
        "the search had paid by then (each evaluation once, at what it cost when it ran, so a "
        "rerun shows the whole search), coloured by stage; crosses were stopped early. The "
        "red line is the incumbent's accuracy: where it goes flat, more money bought "
        "nothing better.",
    )


def _spend_rows(result: SearchResult) -> tuple[list[tuple[str, float, int]], str]:
    rows = [(name, spend.dollars, spend.calls) for name, spend in result.stages.items()]
    test = result.test
    if rows:
        if test is not None and not any("test" in name for name, _, _ in rows):
            rows.append(("held-out test", test.spent, 0))
        return rows, "whole search"
    test_dollars = test.spent if test is not None else 0.0
    search_dollars = max(0.0, result.spend.dollars - test_dollars)
    rows = [("search (all stages)", search_dollars, result.spend.calls)]
    if test is not None:
        rows.append(("held-out test", test_dollars, 0))
    return rows, "all runs"


def _spend(result: SearchResult, path: Path, plt: Any) -> Figure:
    rows, scope = _spend_rows(result)
    fig, ax = plt.subplots(figsize=(8.0, 0.8 + 0.55 * max(2, len(rows))), dpi=110)
    names = [name for name, _, _ in rows]
    dollars = [d for _, d, _ in rows]
    bars = ax.barh(names, dollars, color=_FRONT)
    ax.invert_yaxis()
    top = max(dollars, default=0.0) or 1.0
    for bar, value in zip(bars, dollars, strict=True):
        ax.text(
            bar.get_width() + top * 0.01,
            bar.get_y() + bar.get_height() / 2,
            f"${value:.4f}",
            va="center",
            fontsize=8,
        )
    ax.set_xlim(0, top * 1.2)
    ax.set_xlabel("dollars (cache misses)")
    budget = result.budget.dollars if result.budget is not None else None
    note = f"; budget ${budget:.2f}" if budget else ""
    ax.set_title(f"Spend by stage ({scope}{note})")
    ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    caption = (
        "Dollars each strategy stage's evaluations cost when they ran (each once: a rerun "
        "shows the whole search), and the held-out test."
        if scope == "whole search"
        else "This result records no per-stage spend, so the bars split what the search spent "
        "over all its runs into the search and the held-out test."
    )
    return Figure(
        file=path.name,
        title="Spend by stage",
        caption=caption
        + " Only cache misses cost money: stored results and cached calls are free.",
    )


def _winner(result: SearchResult, path: Path) -> Figure | None:
    if result.best is None:
        return None
    from topologies.pictures import save_png

    save_png(result.best, path)
    return Figure(
        file=path.name,
        title="The winner's workflow",
        caption="Agents left to right in the order they run, coloured by role; "
        "dashed arrows are bounded loops.",
    )


# --- the page ---------------------------------------------------------------------------

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0;
       color: #222; background: #fff; }
main { max-width: 1060px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 1.6em; margin: 0 0 4px; }
h2 { font-size: 1.2em; margin: 32px 0 10px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.sub { color: #666; margin: 0 0 16px; }
.warn { background: #fff4ce; border: 1px solid #e0b400; padding: 10px 14px;
        border-radius: 6px; margin: 12px 0; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; }
.card { flex: 1 1 220px; border: 1px solid #ddd; border-radius: 8px; padding: 12px 14px; }
.card .k { color: #666; font-size: 0.85em; }
.card .v { font-size: 1.35em; font-weight: 600; margin-top: 2px; }
.card .n { color: #444; font-size: 0.85em; margin-top: 4px; word-break: break-word; }
table { border-collapse: collapse; width: 100%; font-size: 0.86em; }
th, td { border-bottom: 1px solid #eee; padding: 5px 8px; text-align: left;
         vertical-align: top; }
th { background: #f6f6f6; }
td.num, th.num { text-align: right; white-space: nowrap; }
tr.win td { background: #fdecea; font-weight: 600; }
tr.shipped td { background: #eaf6ea; font-weight: 600; }
tr.front td:first-child { border-left: 3px solid #1f77b4; }
figure { margin: 18px 0; }
figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.88em; margin-top: 6px; }
code, pre { font-family: Menlo, Consolas, monospace; font-size: 0.85em; }
pre { background: #f6f6f6; padding: 10px; overflow-x: auto; }
.note { color: #666; font-style: italic; }
ul.account li { margin: 3px 0; }
.certificate { border: 2px solid #2ca02c; border-radius: 8px; padding: 4px 16px 12px;
               margin: 12px 0; }
.certificate h2, #certificate h2 { border: none; margin-top: 10px; }
footer { color: #888; font-size: 0.8em; margin-top: 40px; }
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _money(dollars: float) -> str:
    return f"${dollars:.4f}"


def _per_task(dollars: float) -> str:
    return f"${dollars:.6f}"


def _interval(stats: CandidateStats | Any) -> str:
    if not (_finite(stats.ci_low) and _finite(stats.ci_high)):
        return "n/a"
    return f"{stats.ci_low:.2f}-{stats.ci_high:.2f}"


def _card(key: str, value: str, note: str = "", ident: str = "") -> str:
    span = f'<span id="{ident}">{_e(value)}</span>' if ident else _e(value)
    extra = f'<div class="n">{note}</div>' if note else ""
    return (
        f'<div class="card"><div class="k">{_e(key)}</div><div class="v">{span}</div>{extra}</div>'
    )


def _summary(result: SearchResult) -> str:
    best = result.best_stats
    cards = []
    if best is not None:
        cards.append(
            _card(
                "winner's accuracy (search tasks)",
                f"{best.mean:.3f}",
                f'<span id="winner-label">{_e(best.label)}</span><br>accuracy on '
                f"{best.n_tasks} search tasks (95% CI {_interval(best)}), "
                f"{_per_task(best.cost_per_task)} per task",
                "winner-accuracy",
            )
        )
    else:
        cards.append(_card("winner", "none", "no candidate was evaluated on every search task"))
    test = result.test
    if test is not None:
        cards.append(
            _card(
                "held-out test accuracy",
                f"{test.mean:.3f}",
                f"on {test.n_tasks} tasks the search never saw (95% CI {_interval(test)}), "
                f"{_per_task(test.cost_per_task)} per task",
                "test-accuracy",
            )
        )
    else:
        cards.append(_card("held-out test accuracy", "n/a", "no held-out test result"))
    spend = result.spend
    cards.append(
        _card(
            "spent (all runs)",
            _money(spend.dollars),
            f"{spend.calls:,} model calls ({spend.cached_calls:,} cached, free), "
            f"{spend.evaluations:,} evaluations run",
            "spend-dollars",
        )
    )
    return f'<div class="cards">{"".join(cards)}</div>'


def _facts(result: SearchResult, config: dict[str, Any] | None) -> str:
    rows: list[tuple[str, str]] = [
        ("strategy", result.strategy),
        (
            "dataset",
            f"{result.dataset} ({result.n_search_tasks} search tasks, "
            f"{result.n_test_tasks} held-out test tasks)",
        ),
        ("metric", result.metric),
        ("objective", result.objective),
        (
            "evaluations",
            f"{result.evaluations:,} asked (stored ones included), "
            f"{result.spend.evaluations:,} run",
        ),
        (
            "spend, all runs",
            f"{_money(result.spend.dollars)}, {result.spend.tokens:,} tokens, "
            f"{result.spend.calls:,} calls",
        ),
    ]
    this_run = result.spend_this_run
    if this_run.dollars or this_run.calls or this_run.evaluations:
        rows.append(("spend, this run", f"{_money(this_run.dollars)}, {this_run.calls:,} calls"))
    if result.budget is not None:
        limits = ", ".join(
            (f"${v:g}" if k == "dollars" else f"{v:,} {k}")
            for k, v in result.budget.model_dump().items()
            if v is not None
        )
        rows.append(("budget", f"{limits} (hard limit, search and held-out test together)"))
    rows.append(("stopped", result.stop_reason))
    rows.append(("wall time", f"{result.wall_s:.1f} s (this run)"))
    if config and config.get("seed") is not None:
        rows.append(("seed", str(config["seed"])))
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    return f'<table class="facts">{body}</table>'


def _certificate(result: SearchResult) -> str:
    """The first screen: what ships, what the search can claim, what it costs, in words."""
    certificate = result.certificate
    if certificate is None:
        return ""
    nothing = certificate.verdict == "no_winner"
    title = "No winner" if nothing else "The certificate"
    items = "".join(f"<li>{_e(line)}</li>" for line in certificate.lines)
    parts = [
        f'<section id="certificate" class="{"warn" if nothing else "certificate"}">',
        f"<h2>{title}</h2><ul>{items}</ul>",
    ]
    if certificate.standings:
        head = (
            "<tr><th>finalist (alpha-Rank order)</th><th>baseline</th>"
            '<th class="num">accuracy</th><th class="num">vs leader (simultaneous)</th>'
            '<th class="num">P(best)</th><th class="num">alpha-Rank</th>'
            '<th class="num">$ / task</th><th class="num">$ / correct answer</th>'
            '<th class="num">replies not read</th>'
            "<th>within noise of the leader</th></tr>"
        )
        rows = []
        ranked = sorted(certificate.standings, key=lambda s: (-s.alpharank, -s.mean))
        for s in ranked[:15]:
            shipped = s.workflow == certificate.shipped
            cop = "never right" if s.cost_of_pass is None else _per_task(s.cost_of_pass)
            rows.append(
                f'<tr class="{"shipped" if shipped else ""}"><td>{_e(s.label)}'
                f"{' (shipped)' if shipped else ''}</td><td>{_e(s.baseline or '')}</td>"
                f'<td class="num">{s.mean:.3f}</td>'
                f'<td class="num">{100 * s.gap:+.1f} ({100 * s.gap_low:+.1f} to '
                f"{100 * s.gap_high:+.1f}) points</td>"
                f'<td class="num">{s.p_best:.0%}</td><td class="num">{s.alpharank:.3f}</td>'
                f'<td class="num">{_per_task(s.cost_per_task)}</td><td class="num">{cop}</td>'
                f'<td class="num">{_share(s.parse_failure_rate)}</td>'
                f"<td>{'yes' if s.tied else 'no, worse'}</td></tr>"
            )
        more = len(ranked) - 15
        note = f'<p class="note">{more} more finalists in result.json.</p>' if more > 0 else ""
        parts.append(f'<table class="candidates">{head}{"".join(rows)}</table>{note}')
    parts.append("</section>")
    return "".join(parts)


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _account(result: SearchResult) -> str:
    if not result.account:
        return '<p class="note">This result records no account of the search.</p>'
    items = "".join(f"<li>{_e(line)}</li>" for line in result.account)
    return f'<ul class="account">{items}</ul>'


def _test(result: SearchResult) -> str:
    test = result.test
    if test is None:
        return '<p class="note">No held-out test result: no winner, or no test split.</p>'
    stopped = "" if test.stop_reason == "completed" else f" It stopped early: {test.stop_reason}."
    best = result.best_stats
    gap = ""
    if best is not None and _finite(best.mean) and _finite(test.mean):
        gap = (
            f" On the search tasks it scored {best.mean:.3f}; a large drop on the test would "
            "mean the search overfitted its tasks."
        )
    return (
        f"<p>The winner, evaluated once on {test.n_tasks} tasks the search never saw, scored "
        f"<b>{test.mean:.3f}</b> (95% CI {_interval(test)}, {test.score.failures} failed runs), "
        f"at {_per_task(test.cost_per_task)} per task; evaluating it cost {_money(test.spent)} "
        f"in cache misses.{_e(gap)}{_e(stopped)}</p>"
    )


def _routing(routing: RoutingEvaluation) -> str:
    """The routing section: the router against the best single arm, an oracle and random."""
    rows = "".join(
        f"<tr><td>{_e(c.name)}</td><td>{c.score.mean:.3f}</td>"
        f"<td>[{c.score.low:.3f}, {c.score.high:.3f}]</td>"
        f"<td>{_per_task(c.cost_per_task)}</td></tr>"
        for c in routing.contenders
    )
    shares = ", ".join(f"{_e(label)}: {share:.0%}" for label, share in routing.share.items())
    d, c = routing.score_vs_best, routing.cost_vs_best
    cap = f" under a cap of {_money(routing.cost_cap)} per request" if routing.cost_cap else ""
    return (
        f"<p>A router ({_e(routing.policy)} policy{cap}), trained on the search tasks only, "
        f"judged on {routing.n_tasks} held-out tasks. Best single: {_e(routing.best_single)}; "
        "the oracle knows each task's best arm with hindsight; random picks uniformly.</p>"
        "<table><tr><th>policy</th><th>accuracy</th><th>95% CI</th><th>cost per task</th></tr>"
        f"{rows}</table>"
        f'<p class="note">Router minus best single (paired bootstrap): accuracy '
        f"{d.difference:+.3f} [{d.low:+.3f}, {d.high:+.3f}], cost {c.difference:+.2e} "
        f"[{c.low:+.2e}, {c.high:+.2e}] dollars per task; regret vs the oracle "
        f"{routing.regret_vs_oracle * 100:.1f} points. Arms answered: {shares}.</p>"
    )


def _figure(figure: Figure) -> str:
    return (
        f'<figure><img src="{_e(figure.file)}" alt="{_e(figure.title)}">'
        f"<figcaption><b>{_e(figure.title)}.</b> {figure.caption}</figcaption></figure>"
    )


def _agents(result: SearchResult) -> str:
    spec = result.best
    if spec is None:
        return ""
    rows = "".join(
        f"<tr><td>{_e(a.name)}</td><td>{_e(a.role)}</td><td>{_e(a.model or '')}</td>"
        f'<td class="num">{a.temperature:g}</td></tr>'
        for a in spec.agents
    )
    return (
        "<table><tr><th>agent</th><th>role</th><th>model</th>"
        f'<th class="num">temperature</th></tr>{rows}</table>'
        f"<details><summary>Mermaid source (hash <code>{_e(spec.hash)}</code>)</summary>"
        f"<pre>{_e(spec_mermaid(spec))}</pre></details>"
    )


def _candidates(result: SearchResult) -> str:
    front = {c.workflow for c in result.front}
    winner = result.best_stats.workflow if result.best_stats else None
    head = (
        '<tr><th class="num">#</th><th>candidate</th><th>origin</th><th class="num">tasks</th>'
        '<th class="num">accuracy</th><th class="num">95% CI</th><th class="num">$ / task</th>'
        '<th class="num">calls / task</th><th>notes</th><th>hash</th></tr>'
    )
    rows = []
    for rank, c in enumerate(result.candidates, start=1):
        notes = []
        if c.workflow == winner:
            notes.append("winner")
        if c.workflow in front:
            notes.append("front")
        if c.pruned:
            notes.append("stopped early")
        elif not c.complete:
            notes.append("not every task")
        if c.value == -math.inf:
            notes.append("over the cost ceiling")
        css = "win" if c.workflow == winner else ("front" if c.workflow in front else "")
        rows.append(
            f'<tr class="{css}"><td class="num">{rank}</td><td>{_e(c.label)}</td>'
            f"<td>{_e(c.origin)}</td>"
            f'<td class="num">{c.n_tasks}</td><td class="num">{c.mean:.3f}</td>'
            f'<td class="num">{_interval(c)}</td><td class="num">{c.cost_per_task:.6f}</td>'
            f'<td class="num">{c.score.calls_per_task:.1f}</td><td>{", ".join(notes)}</td>'
            f"<td><code>{_e(c.workflow)}</code></td></tr>"
        )
    if not rows:
        return '<p class="note">No candidate was evaluated.</p>'
    return f'<table class="candidates">{head}{"".join(rows)}</table>'


def _version() -> str:
    try:
        return importlib.metadata.version("rolegraph")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - run from a checkout
        return "unknown"


def _page(
    result: SearchResult,
    figures: dict[str, Figure],
    *,
    config: dict[str, Any] | None,
    trials: dict[str, int] | None,
    routing: RoutingEvaluation | None = None,
) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>rolegraph search report: {_e(result.name)}</title>",
        f"<style>{_CSS}</style></head><body><main>",
        f"<h1>Search report: {_e(result.name)}</h1>",
        f'<p class="sub">{_e(result.strategy)} on {_e(result.dataset)}, metric '
        f"{_e(result.metric)}; objective: {_e(result.objective)}</p>",
    ]
    if result.simulated:
        parts.append(
            f'<div class="warn" id="simulated"><b>Simulated models.</b> {_e(SIMULATED_NOTE)}</div>'
        )
    parts.append(_certificate(result))
    parts.append(_summary(result))
    parts.append("<h2>The search</h2>")
    parts.append(_facts(result, config))
    if trials:
        counted = ", ".join(f"{n} {state}" for state, n in sorted(trials.items()))
        parts.append(
            f'<p class="note">Proposals recorded as trials in the store: {_e(counted)}.</p>'
        )
    parts.append("<h2>How the winner was found</h2>")
    parts.append(_account(result))
    parts.append("<h2>Accuracy and cost</h2>")
    parts.append(_figure(figures["pareto"]))
    if "progress" in figures:
        parts.append(_figure(figures["progress"]))
    else:
        parts.append(
            '<p class="note" id="no-history">No curve of best accuracy against dollars: this '
            "result records no history of the search's steps.</p>"
        )
    parts.append(_figure(figures["spend"]))
    parts.append("<h2>Held-out test</h2>")
    parts.append(_test(result))
    if routing is not None:
        parts.append('<h2 id="routing">Routing per query</h2>')
        parts.append(_routing(routing))
    parts.append("<h2>The winner's workflow</h2>")
    if "winner" in figures:
        parts.append(_figure(figures["winner"]))
        parts.append(_agents(result))
    else:
        parts.append('<p class="note">No winner: nothing to draw.</p>')
    parts.append(f"<h2>Candidates ({len(result.candidates)})</h2>")
    parts.append(
        '<p class="sub">Best first by the objective. Accuracy is the mean over the search '
        "tasks each was evaluated on, with a 95% confidence interval over tasks; cost is at "
        "list price, whether or not the call was cached.</p>"
    )
    parts.append(_candidates(result))
    files = [REPORT_FILE, *(f.file for f in figures.values()), "result.json"]
    parts.append(
        f"<footer>Written by rolegraph {_e(_version())} from the search's result "
        f'(<a href="result.json">result.json</a>). Files: {_e(", ".join(files))}.'
        + (" Simulated models: numbers describe the simulator." if result.simulated else "")
        + "</footer>"
    )
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"


def write_report(
    result: SearchResult,
    directory: str | Path,
    *,
    store: Store | None = None,
    routing: RoutingEvaluation | None = None,
) -> Path:
    """Write ``report.html``, its PNG figures and ``result.json`` into ``directory``.

    Args:
        result: A finished search's result (``search.run()``, or
            ``SearchResult.model_validate(store.get_search(name).result)``).
        directory: The folder to write into; created if missing. Files of an
            earlier report there are replaced.
        store: The search's store, to add its recorded settings and trial counts.
        routing: A router's held-out judgement (:func:`search.routing.evaluate_routing`),
            for a routing section.

    Returns:
        The path of ``report.html``.

    Raises:
        MissingIntegrationError: matplotlib is not installed
            (``pip install 'rolegraph[plot]'``).
    """
    plt = _pyplot()
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    for name in FIGURES:  # a figure this report does not draw must not linger from an old one
        (folder / name).unlink(missing_ok=True)
    figures: dict[str, Figure] = {"pareto": _pareto(result, folder / "pareto.png", plt)}
    if result.history:
        figures["progress"] = _progress(result, folder / "progress.png", plt)
    figures["spend"] = _spend(result, folder / "spend.png", plt)
    winner = _winner(result, folder / "winner.png")
    if winner is not None:
        figures["winner"] = winner
    config: dict[str, Any] | None = None
    trials: dict[str, int] | None = None
    if store is not None:
        record = store.get_search(result.name)
        if record is not None:
            config = record.config
            trials = {}
            for trial in store.list_trials(record.id):
                trials[trial.state] = trials.get(trial.state, 0) + 1
    result.save(folder / "result.json")
    page = folder / REPORT_FILE
    page.write_text(
        _page(result, figures, config=config, trials=trials, routing=routing), encoding="utf-8"
    )
    return page
