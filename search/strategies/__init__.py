"""Search strategies behind one ask/tell interface, and a registry of them by name."""

from search.strategies.auto import AutoStrategy, ValueModel
from search.strategies.bandit import Arm, BanditStrategy
from search.strategies.base import (
    Capabilities,
    Handover,
    Outcome,
    Proposal,
    SearchContext,
    SearchStrategy,
    StrategyOptions,
)
from search.strategies.boad import BOADStrategy
from search.strategies.knapsack import ComponentReport, KnapsackStrategy
from search.strategies.mcts import MCTSStrategy, TreeNode
from search.strategies.optuna import OptunaStrategy
from search.strategies.pipeline import Pipeline
from search.strategies.plan import PlanRequest, StagePlan
from search.strategies.registry import get_strategy, list_strategies, register_strategy
from search.strategies.simple import GridStrategy, RandomStrategy

__all__ = [
    "SearchStrategy",
    "SearchContext",
    "Proposal",
    "Outcome",
    "Handover",
    "StrategyOptions",
    "Capabilities",
    "PlanRequest",
    "StagePlan",
    "AutoStrategy",
    "ValueModel",
    "GridStrategy",
    "RandomStrategy",
    "OptunaStrategy",
    "BanditStrategy",
    "Arm",
    "KnapsackStrategy",
    "ComponentReport",
    "BOADStrategy",
    "MCTSStrategy",
    "TreeNode",
    "Pipeline",
    "register_strategy",
    "get_strategy",
    "list_strategies",
]
