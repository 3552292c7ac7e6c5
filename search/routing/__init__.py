"""Route each query to the workflow that suits it: a router over a finished search's front.

``route(result, tasks=..., store=...)`` learns, from the search split's stored per-task
results only, which of the front's top workflows to send each question to, under a
hard per-request cost cap; the :class:`RoutedWorkflow` deploys like any workflow.
:func:`evaluate_routing` judges it on the held-out split. See ``docs/routing.md``.
"""

from search.routing.build import route, search_objective
from search.routing.cascade import CascadePolicy
from search.routing.config import RouterConfig
from search.routing.evaluation import Contender, RoutingEvaluation, evaluate_routing
from search.routing.export import export_router
from search.routing.features import (
    EmbeddingFeatures,
    Features,
    FunctionFeatures,
    TextFeatures,
    as_features,
)
from search.routing.linear import LinUCBPolicy, LogisticPolicy, RidgePolicy, SingleArmPolicy
from search.routing.policy import CostCapError, DeadlineError, Plan, RoutingPolicy, TrainingData
from search.routing.records import Arm, verified_arm
from search.routing.selection import POLICIES, CrossValidation, choose_policy, register_policy
from search.routing.workflow import RoutedResult, RoutedWorkflow, load_routed

__all__ = [
    "route",
    "search_objective",
    "evaluate_routing",
    "RoutingEvaluation",
    "Contender",
    "RoutedWorkflow",
    "RoutedResult",
    "RouterConfig",
    "Arm",
    "verified_arm",
    "export_router",
    "load_routed",
    "RoutingPolicy",
    "Plan",
    "TrainingData",
    "CostCapError",
    "DeadlineError",
    "SingleArmPolicy",
    "RidgePolicy",
    "LogisticPolicy",
    "LinUCBPolicy",
    "CascadePolicy",
    "POLICIES",
    "register_policy",
    "choose_policy",
    "CrossValidation",
    "Features",
    "TextFeatures",
    "FunctionFeatures",
    "EmbeddingFeatures",
    "as_features",
]
