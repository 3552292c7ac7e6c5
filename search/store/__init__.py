"""The store: SQLite (through sqlite-utils) for workflows, evaluations, LLM calls and searches.

Example:
    >>> store = Store(":memory:")
    >>> store.count_evaluations()
    0
"""

from search.store.budgets import StorePool
from search.store.cache import LLMCallCache, hold_llm_calls
from search.store.evaluations import ScoreRow
from search.store.records import (
    CostProfile,
    EvalKey,
    EvalRecord,
    SearchRecord,
    TrialRecord,
    TrialState,
)
from search.store.store import Store, get_store

__all__ = [
    "Store",
    "get_store",
    "EvalKey",
    "EvalRecord",
    "ScoreRow",
    "CostProfile",
    "SearchRecord",
    "TrialRecord",
    "TrialState",
    "StorePool",
    "LLMCallCache",
    "hold_llm_calls",
]
