"""The simulated model provider (``sim:<profile>``) and its bundled task families.

Everything here runs offline and deterministically. Its numbers describe the
simulator, not any real LLM; ``docs/simulator.md`` lists the published figures
its phenomena are calibrated to.
"""

from orchestrator.sim.behaviour import UnreadableTaskError
from orchestrator.sim.model import SimChatModel
from orchestrator.sim.profiles import (
    FAMILIES,
    PROFILES,
    SimFamily,
    SimProfile,
    SimProfileError,
    get_family,
    get_profile,
    list_families,
    list_profiles,
    load_profiles,
    register_family,
    register_profile,
    register_profiles,
)
from orchestrator.sim.tasks import (
    LEVELS,
    arithmetic_tasks,
    choice_tasks,
    code_tasks,
    read_problem,
)

__all__ = [
    "SimChatModel",
    "SimProfile",
    "SimFamily",
    "SimProfileError",
    "UnreadableTaskError",
    "PROFILES",
    "FAMILIES",
    "register_profile",
    "register_family",
    "register_profiles",
    "load_profiles",
    "get_profile",
    "get_family",
    "list_profiles",
    "list_families",
    "arithmetic_tasks",
    "choice_tasks",
    "code_tasks",
    "read_problem",
    "LEVELS",
]
