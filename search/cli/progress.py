"""A progress bar for a running search, with a total and an ETA.

The search may end for any of three reasons known in advance: its dollar
budget, its ``max_evaluations``, or the end of its strategy's plan (trials,
iterations, arms: see :func:`search.estimate.strategy_plan`). The bar shows
the share of whichever is nearest its end, so its ETA is for the first limit
the search will reach. It draws on standard error, only on a terminal, and
disappears when the search ends.
"""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from search.runner import Search
from search.strategies import Outcome

__all__ = ["SearchProgress", "progress_share"]

_STEPS = 1000


def progress_share(
    *,
    dollars: float,
    budget_dollars: float | None,
    evaluations: int,
    max_evaluations: int | None,
    told: int,
    planned: int | None,
) -> tuple[float, str]:
    """The share of the search done, by the limit nearest its end, and that limit in words.

    Example:
        >>> progress_share(dollars=1.0, budget_dollars=4.0, evaluations=10,
        ...                max_evaluations=None, told=6, planned=10)
        (0.6, 'plan: 6/10 proposals')
    """
    shares: list[tuple[float, str]] = []
    if budget_dollars:
        shares.append((dollars / budget_dollars, f"budget: ${dollars:.4f}/${budget_dollars:.2f}"))
    if max_evaluations:
        shares.append(
            (evaluations / max_evaluations, f"max_evaluations: {evaluations}/{max_evaluations}")
        )
    if planned:
        shares.append((told / planned, f"plan: {told}/{planned} proposals"))
    if not shares:
        return 0.0, f"{evaluations} evaluations"
    share, text = max(shares, key=lambda item: item[0])
    return min(1.0, share), text


class SearchProgress:
    """A search callback that draws a transient progress bar on standard error.

    Use it as a context manager around :meth:`Search.run`; it adds itself to
    the search's callbacks. It draws nothing when standard error is not a
    terminal (pipes, CI, tests) or when ``enabled`` is false.

    Args:
        search: The search to follow.
        planned: Proposals the strategy plans at most (``SearchEstimate.proposals``).
        enabled: Draw at all.
    """

    def __init__(self, search: Search, *, planned: int | None, enabled: bool = True) -> None:
        """Prepare the bar; it starts on ``__enter__``."""
        self.search = search
        self.planned = planned
        self.told = 0
        budget = search.ledger.budget if hasattr(search.ledger, "budget") else None
        self.budget_dollars = getattr(budget, "dollars", None)
        console = Console(stderr=True)
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            disable=not (enabled and console.is_terminal),
        )
        self.task = self.progress.add_task("searching", total=_STEPS)

    def __enter__(self) -> SearchProgress:
        self.progress.start()
        self.search.callbacks.append(self)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self in self.search.callbacks:
            self.search.callbacks.remove(self)
        self.progress.stop()

    def __call__(self, search: Search, outcome: Outcome) -> None:
        """Update the bar after each outcome told to the strategy."""
        self.told += 1
        spent = search.ledger.spent.dollars
        share, limit = progress_share(
            dollars=spent,
            budget_dollars=self.budget_dollars,
            evaluations=search.evaluations,
            max_evaluations=search.max_evaluations,
            told=self.told,
            planned=self.planned,
        )
        leader = search.leader()
        best = f"best {leader.mean:.3f} {escape(leader.label)}" if leader else "no leader yet"
        self.progress.update(
            self.task,
            completed=round(share * _STEPS),
            description=f"{search.evaluations} evals, ${spent:.4f} ({limit}); {best}",
        )
