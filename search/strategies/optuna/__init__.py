"""Optuna-driven search (TPE, NSGA-II, GP) and the pruners it uses."""

from search.strategies.optuna.pruners import PairedWilcoxonPruner
from search.strategies.optuna.strategy import OptunaStrategy

__all__ = ["OptunaStrategy", "PairedWilcoxonPruner"]
