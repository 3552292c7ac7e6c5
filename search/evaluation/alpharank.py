"""alpha-Rank over paired per-task win rates (Omidshafiei et al., 2019, single population).

Each candidate is a strategy; ``M[i, j]`` is how often ``i`` beats ``j`` on the
tasks both saw (a tie counts half). A population all playing ``t`` is taken
over by one mutant playing ``s`` with the fixation probability of the Moran process

    rho(s, t) = (1 - exp(-alpha D)) / (1 - exp(-m alpha D)),   D = M[s, t] - M[t, s],

(``1/m`` when ``D = 0``), and moves to ``s`` with probability ``eta rho(s, t)``,
``eta = 1 / (K - 1)``. The ranking is the stationary distribution of that
Markov chain. As ``alpha`` grows it depends only on the *response graph*, the
sign of each ``D``: a candidate that beats every other gets all the mass,
and a cycle (A beats B, B beats C, C beats A) shares it.

Example:
    >>> rps = [[0.5, 0.0, 1.0], [1.0, 0.5, 0.0], [0.0, 1.0, 0.5]]
    >>> [round(p, 3) for p in alpharank(rps)]
    [0.333, 0.333, 0.333]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import networkx as nx
import numpy as np

__all__ = ["win_rates", "fixation", "transition_matrix", "alpharank", "cycles"]


def win_rates(scores: Sequence[Mapping[str, float]]) -> np.ndarray:
    """``M[i, j]``: the share of shared tasks on which ``i`` scores above ``j`` (ties: half).

    Pairs that share no task get 0.5: nothing tells them apart.
    """
    k = len(scores)
    rates = np.full((k, k), 0.5)
    for i in range(k):
        for j in range(i + 1, k):
            shared = [t for t in scores[i] if t in scores[j]]
            if not shared:
                continue
            a = np.array([scores[i][t] for t in shared])
            b = np.array([scores[j][t] for t in shared])
            won = float(np.mean((a > b) + 0.5 * (a == b)))
            rates[i, j], rates[j, i] = won, 1.0 - won
    return rates


def fixation(delta: float, *, alpha: float, population: int) -> float:
    """Probability that one mutant with payoff advantage ``delta`` takes over the population."""
    if delta == 0.0:
        return 1.0 / population
    x = alpha * delta
    if x > 0:
        return -math.expm1(-x) / -math.expm1(-population * x)
    # D < 0: the same ratio, written so that large alpha does not overflow.
    y = -x
    return math.exp(-(population - 1) * y) * -math.expm1(-y) / -math.expm1(-population * y)


def transition_matrix(
    payoffs: Sequence[Sequence[float]] | np.ndarray, *, alpha: float, population: int
) -> np.ndarray:
    """The alpha-Rank Markov chain over ``K`` strategies (rows sum to 1)."""
    m = np.asarray(payoffs, dtype=float)
    k = m.shape[0]
    if m.shape != (k, k):
        raise ValueError(f"payoffs must be a square matrix, got shape {m.shape}")
    chain = np.zeros((k, k))
    if k == 1:
        return np.ones((1, 1))
    eta = 1.0 / (k - 1)
    for resident in range(k):
        for mutant in range(k):
            if mutant != resident:
                delta = m[mutant, resident] - m[resident, mutant]
                chain[resident, mutant] = eta * fixation(delta, alpha=alpha, population=population)
        chain[resident, resident] = 1.0 - chain[resident].sum()
    return chain


def alpharank(
    payoffs: Sequence[Sequence[float]] | np.ndarray,
    *,
    alpha: float = 100.0,
    population: int = 50,
) -> list[float]:
    """The stationary distribution of the alpha-Rank chain: each strategy's long-run mass.

    Args:
        payoffs: ``M[i, j]``, the payoff of ``i`` against ``j`` (e.g. :func:`win_rates`).
        alpha: Selection intensity; large values approach the response graph's ranking.
        population: Population size ``m`` of the Moran process.

    Raises:
        ValueError: ``alpha`` or ``population`` is not positive, or the matrix is not square.
    """
    if alpha <= 0 or population < 2:
        raise ValueError("alpha must be > 0 and population >= 2")
    chain = transition_matrix(payoffs, alpha=alpha, population=population)
    k = chain.shape[0]
    # pi (C - I) = 0 and sum(pi) = 1: least squares on the stacked system (exact if ergodic).
    system = np.vstack([chain.T - np.eye(k), np.ones((1, k))])
    target = np.zeros(k + 1)
    target[-1] = 1.0
    pi, *_ = np.linalg.lstsq(system, target, rcond=None)
    pi = np.clip(pi, 0.0, None)
    return [float(p) for p in pi / pi.sum()]


def cycles(
    payoffs: Sequence[Sequence[float]] | np.ndarray, *, margin: float = 0.0
) -> list[list[int]]:
    """Groups of strategies that beat each other in a circle (strongly connected, size >= 3).

    ``i`` beats ``j`` when ``M[i, j] - M[j, i] > margin``; each group is listed by index,
    in ascending order.
    """
    m = np.asarray(payoffs, dtype=float)
    graph: nx.DiGraph[int] = nx.DiGraph()
    graph.add_nodes_from(range(m.shape[0]))
    for i in range(m.shape[0]):
        for j in range(m.shape[0]):
            if i != j and m[i, j] - m[j, i] > margin:
                graph.add_edge(i, j)
    groups = [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) >= 3]
    return sorted(groups)
