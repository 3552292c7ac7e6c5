"""Shared by the simulator's calibration tests: the benchmark module, loaded once."""

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TASKS = 400
"""Tasks per task set in the tests: enough that each switched-off phenomenon falls out."""


def load_benchmark():
    """``benchmarks/sim_calibration.py`` as a module (it is a script, not a package)."""
    if "sim_calibration" in sys.modules:
        return sys.modules["sim_calibration"]
    spec = importlib.util.spec_from_file_location(
        "sim_calibration", ROOT / "benchmarks" / "sim_calibration.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
