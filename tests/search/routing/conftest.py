"""A small finished search on simulated models, shared by the routing tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from search import SearchSpace, create_search
from search.evaluation import bundled_dataset
from search.routing.policy import TrainingData


@pytest.fixture(scope="session")
def finished(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A grid search over three sim models; its store keeps every evaluation."""
    store = tmp_path_factory.mktemp("routing") / "store.db"
    data = bundled_dataset("arithmetic", n=40, seed=3, levels=("easy", "hard"))
    space = SearchSpace(
        topologies=("single", "vote_ensemble"),
        pool=["sim:atlas-nano", "sim:atlas-mini", "sim:orca-medium"],
        fixed={"single": {"temperature": 0.0}, "vote_ensemble": {"n": 3, "weighted": False}},
    )
    search = create_search(
        space=space, dataset=data, strategy="grid", store=store, name="rt", test_size=0.4
    )
    return {"result": search.run(), "data": data, "store": Path(store)}


def constructed(n: int = 200, seed: int = 0) -> TrainingData:
    """Two arms: arm 0 cheap and right only on short questions, arm 1 dear and always right.

    The feature (column 0) is the question's length; the best arm depends on it.
    """
    rng = np.random.default_rng(seed)
    length = rng.uniform(0, 10, n)
    short = length < 5
    scores = np.stack([short.astype(float), np.ones(n)], axis=1)
    costs = np.stack([np.full(n, 1e-4), np.full(n, 1e-3)], axis=1)
    confidences = np.stack([np.where(short, 0.95, 0.4), np.full(n, 0.9)], axis=1)
    return TrainingData(
        task_ids=tuple(f"t{i}" for i in range(n)),
        features=np.stack([length, rng.normal(size=n)], axis=1),
        scores=scores,
        costs=costs,
        confidences=confidences,
        worst=np.stack([np.full(n, 2e-4), np.full(n, 2e-3)], axis=1),
    )


def verified(n: int = 300, seed: int = 0) -> TrainingData:
    """Two arms: arm 0 cheap, ending in a verifier, right 70% of the time at random; arm 1
    dear and always right.

    Arm 0's stated confidence says nothing about whether it is right; its verifier accepts
    95% of its right answers and 10% of its wrong ones. No feature tells them apart.
    """
    rng = np.random.default_rng(seed)
    right = rng.random(n) < 0.7
    accepted = np.where(right, rng.random(n) < 0.95, rng.random(n) < 0.1)
    return TrainingData(
        task_ids=tuple(f"v{i}" for i in range(n)),
        features=rng.normal(size=(n, 2)),
        scores=np.stack([right.astype(float), np.ones(n)], axis=1),
        costs=np.stack([np.full(n, 1e-4), np.full(n, 1e-3)], axis=1),
        confidences=np.stack([rng.uniform(0.5, 1.0, n), np.full(n, 0.9)], axis=1),
        worst=np.stack([np.full(n, 2e-4), np.full(n, 2e-3)], axis=1),
        verdicts=np.stack([accepted.astype(float), np.full(n, np.nan)], axis=1),
    )
