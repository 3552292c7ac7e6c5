"""Errors of the search package; every one is a :class:`~orchestrator.errors.RolegraphError`."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from orchestrator.errors import RolegraphError

__all__ = ["SearchError", "StoreError", "SettingsError", "DatasetError", "unknown_name"]


class SearchError(RolegraphError, ValueError):
    """A search is misconfigured: a bad budget, split, name, setting or strategy."""


class StoreError(RolegraphError):
    """The store's file cannot be used: not a rolegraph store, damaged, or unreadable.

    Attributes:
        path: The database file.
    """

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(message)
        self.path = path


class SettingsError(SearchError):
    """A setting is out of range or of the wrong type; the message names it."""


class DatasetError(RolegraphError, ValueError):
    """A dataset is empty, or a task in it is malformed.

    Attributes:
        source: Where the data came from (a path or ``"records"``).
        location: The 1-based line, row or record at fault, if one is.
    """

    def __init__(self, message: str, *, source: str, location: int | None = None) -> None:
        super().__init__(message)
        self.source = source
        self.location = location


def unknown_name(kind: str, name: str, known: Iterable[str]) -> str:
    """``unknown <kind> 'x' (did you mean 'y'?); known: ...``: the message for a bad name.

    Example:
        >>> unknown_name("metric", "exact_mach", ["exact_match", "f1"])
        "unknown metric 'exact_mach' (did you mean 'exact_match'?); known: exact_match, f1"
    """
    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown {kind} {name!r}{hint}; known: {', '.join(names)}"
