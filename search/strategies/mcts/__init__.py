"""MCTS over workflow edits (AFlow style): the tree, the edit operators and the proposers."""

from search.strategies.mcts.edits import (
    DEFAULT_OPERATORS,
    Edit,
    EditOperator,
    Experience,
    get_operator,
    list_operators,
    neighbours,
)
from search.strategies.mcts.proposers import (
    CreditProposer,
    EditChoice,
    EditRequest,
    LLMProposer,
    Proposer,
    RuleProposer,
)
from search.strategies.mcts.strategy import INFEASIBLE, MCTSStrategy, seed_candidate
from search.strategies.mcts.tree import TreeNode, aflow_probabilities, uct_score

__all__ = [
    "MCTSStrategy",
    "INFEASIBLE",
    "TreeNode",
    "uct_score",
    "aflow_probabilities",
    "seed_candidate",
    "Edit",
    "EditOperator",
    "Experience",
    "DEFAULT_OPERATORS",
    "get_operator",
    "list_operators",
    "neighbours",
    "Proposer",
    "RuleProposer",
    "CreditProposer",
    "LLMProposer",
    "EditRequest",
    "EditChoice",
]
