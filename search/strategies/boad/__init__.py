"""Component credit in the style of BOAD: a UCB bandit over models, rewarded by helpfulness."""

from search.strategies.boad.credit import (
    MEMBER_ROLES,
    ArmCredit,
    CreditLedger,
    Reward,
    TaskCredit,
    credit_record,
    select_arms,
    ucb_scores,
)
from search.strategies.boad.strategy import TEAM_TOPOLOGIES, BOADStrategy

__all__ = [
    "BOADStrategy",
    "TEAM_TOPOLOGIES",
    "Reward",
    "MEMBER_ROLES",
    "ucb_scores",
    "select_arms",
    "TaskCredit",
    "credit_record",
    "ArmCredit",
    "CreditLedger",
]
