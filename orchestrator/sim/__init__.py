"""The simulated model provider (``sim:<profile>``) and its bundled task family.

Everything here runs offline and deterministically. Its numbers describe the
simulator, not any real LLM.
"""

from orchestrator.sim.model import SimChatModel
from orchestrator.sim.profiles import (
    PROFILES,
    SimProfile,
    get_profile,
    list_profiles,
    register_profile,
)
from orchestrator.sim.tasks import LEVELS, arithmetic_tasks, read_problem

__all__ = [
    "SimChatModel",
    "SimProfile",
    "PROFILES",
    "register_profile",
    "get_profile",
    "list_profiles",
    "arithmetic_tasks",
    "read_problem",
    "LEVELS",
]
