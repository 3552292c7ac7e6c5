"""The single-agent baselines every search compares its winner with.

Whatever the space holds, a search also runs each pool model alone
(``single``) and self-consistency of the best of them (``vote_ensemble``: five
sampled answers, majority vote), on the same tasks, so the comparison is paired.
Studies of automatically designed multi-agent systems keep finding that one of
these matches the designed system at a fraction of its cost; the certificate
says when that is so.
"""

from __future__ import annotations

from collections.abc import Sequence

from search.space import Candidate
from topologies import get_topology

__all__ = [
    "SINGLE",
    "SELF_CONSISTENCY",
    "PROBE_TASKS",
    "single_baselines",
    "self_consistency_baseline",
]

SINGLE = "single"
"""Baseline kind: one pool model answers alone."""

SELF_CONSISTENCY = "self-consistency"
"""Baseline kind: five samples of the best single model, majority vote."""

SAMPLES = 5
"""Samples of the self-consistency baseline."""

PROBE_TASKS = 2
"""Search tasks each real model answers alone before the search, to show it can answer at all."""


def single_baselines(models: Sequence[str]) -> list[Candidate]:
    """One greedy single-agent candidate per pool model, in pool order."""
    topology = get_topology("single")
    return [
        Candidate(
            spec=(spec := topology.build({"model": model, "temperature": 0.0}, pool=models)),
            topology="single",
            params=spec.metadata.get("params", {"model": model}),
            origin="baseline",
        )
        for model in models
    ]


def self_consistency_baseline(model: str, models: Sequence[str]) -> Candidate:
    """Self-consistency of ``model``: :data:`SAMPLES` sampled answers and a majority vote."""
    spec = get_topology("vote_ensemble").build({"n": SAMPLES, "models": model}, pool=models)
    return Candidate(
        spec=spec,
        topology="vote_ensemble",
        params=spec.metadata.get("params", {"n": SAMPLES, "models": model}),
        origin="baseline",
    )
