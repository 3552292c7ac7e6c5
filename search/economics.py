"""The economic stop: more search is worth it only while a better candidate could repay it.

With ``Objective(expected_queries=N)`` the shipped workflow will answer ``N``
queries. A candidate not yet found can improve on the leader by at most

- its cost: down to the cheapest cost per task seen so far, saving
  ``leader cost - cheapest cost`` per query;
- its accuracy, when the objective prices it (``point_value``): up to 100%,
  worth ``(1 - leader accuracy) * 100 * point_value`` per query.

So ``N`` times that is the most any further candidate could be worth. Once it
is below what evaluating one more candidate on every search task costs (the
mean list price per task of the candidates so far, times the tasks), no
remaining candidate could repay its evaluation, and the search stops, saying so.
"""

from __future__ import annotations

from collections.abc import Sequence

from search.objective import Objective
from search.results import CandidateStats

__all__ = ["economic_stop", "most_a_candidate_could_save"]


def most_a_candidate_could_save(
    leader: CandidateStats, candidates: Sequence[CandidateStats], objective: Objective
) -> float:
    """Dollars per query a yet unseen candidate could at most be worth over the leader."""
    cheapest = min((c.cost_per_task for c in candidates if c.n_tasks), default=0.0)
    saving = max(0.0, leader.cost_per_task - cheapest)
    if objective.point_value is not None:
        saving += max(0.0, 1.0 - leader.mean) * 100 * objective.point_value
    return saving


def economic_stop(
    *,
    leader: CandidateStats | None,
    candidates: Sequence[CandidateStats],
    objective: Objective,
    n_tasks: int,
) -> str | None:
    """The stop reason once no further candidate could repay its evaluation, else ``None``."""
    queries = objective.expected_queries
    if queries is None or leader is None:
        return None
    seen = [c for c in candidates if c.n_tasks]
    if not seen:
        return None
    next_cost = sum(c.cost_per_task for c in seen) / len(seen) * n_tasks
    worth = queries * most_a_candidate_could_save(leader, seen, objective)
    if worth >= next_cost:
        return None
    return (
        f"economic: at {queries:,} expected queries a better candidate could save at most "
        f"${worth:.4f} in all, less than the ${next_cost:.4f} one more costs to evaluate "
        f"on {n_tasks} tasks"
    )
