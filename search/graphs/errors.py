"""Errors of graph search."""

from __future__ import annotations

from topologies.params import SpaceError

__all__ = ["GraphSpaceError", "UntrackedCallsWarning"]


class GraphSpaceError(SpaceError):
    """A graph search space is malformed: a bad factory, slot, parameter or adapter."""


class UntrackedCallsWarning(UserWarning):
    """A graph answered, but rolegraph saw no model usage: its costs are missing.

    The graph made its model calls through clients rolegraph did not give it
    (or its models report no ``usage_metadata``), so they were not held
    against the budget, cached, charged or traced.
    """
