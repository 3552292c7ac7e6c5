"""``strategy="auto"``: the default search (value model, cheap probes, paired racing)."""

from search.strategies.auto.cost_model import CostInterval, CostScale
from search.strategies.auto.strategy import AutoStrategy
from search.strategies.auto.value_model import Prediction, ValueModel, features

__all__ = ["AutoStrategy", "CostInterval", "CostScale", "ValueModel", "Prediction", "features"]
