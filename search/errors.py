"""Errors of the search package; every one is a :class:`~orchestrator.errors.RolegraphError`."""

from __future__ import annotations

from orchestrator.errors import RolegraphError

__all__ = ["SearchError", "StoreError", "SettingsError"]


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
