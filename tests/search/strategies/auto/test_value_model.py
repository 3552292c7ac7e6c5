"""The value model ranks candidates it has not run from the parts it has measured."""

import random

from search.space import SearchSpace
from search.strategies.auto import ValueModel, features

POOL = ["sim:atlas-nano", "sim:orca-small", "sim:atlas-mini", "sim:lynx-large"]
SKILL = dict(zip(POOL, [0.55, 0.65, 0.75, 0.9], strict=True))
TOPOLOGY = {"single": 0.0, "vote_ensemble": 0.05}


def _space() -> SearchSpace:
    return SearchSpace(
        topologies=["single", "vote_ensemble"],
        pool=POOL,
        fixed={"single": {"temperature": 0.0}, "vote_ensemble": {"n": 3, "weighted": False}},
    )


def _truth(candidate) -> float:
    models = candidate.models
    return sum(SKILL[m] for m in models) / len(models) + TOPOLOGY[candidate.topology]


def _spearman(a: list[float], b: list[float]) -> float:
    def ranks(values: list[float]) -> list[float]:
        order = sorted(range(len(values)), key=values.__getitem__)
        out = [0.0] * len(values)
        for rank, index in enumerate(order):
            out[index] = float(rank)
        return out

    ra, rb = ranks(a), ranks(b)
    n = len(a)
    return 1 - 6 * sum((x - y) ** 2 for x, y in zip(ra, rb, strict=True)) / (n * (n * n - 1))


def test_features_name_topology_parameters_and_model_shares() -> None:
    candidate = next(c for c in _space().grid() if c.topology == "vote_ensemble")
    parts = features(candidate)
    assert parts["topology=vote_ensemble"] == 1.0
    shares = {k: v for k, v in parts.items() if k.startswith("model=")}
    assert abs(sum(shares.values()) - 1.0) < 1e-9


def test_predicts_unrun_composites_from_measured_parts() -> None:
    candidates = list(_space().grid())
    rng = random.Random(0)
    rng.shuffle(candidates)
    seen, unseen = candidates[:12], candidates[12:]
    model = ValueModel()
    for candidate in seen:  # noisy measurements, as on 40 tasks
        mean = min(1.0, max(0.0, _truth(candidate) + rng.gauss(0, 0.03)))
        model.observe(candidate, mean=mean, cost=0.001 * len(candidate.models), n=40)
    predictions = model.predict(unseen)
    assert all(p is not None for p in predictions)
    predicted = [p.mean for p in predictions if p is not None]
    truth = [_truth(c) for c in unseen]
    assert _spearman(predicted, truth) > 0.8
    # A random ranking of the same candidates does far worse.
    shuffled = predicted[:]
    random.Random(1).shuffle(shuffled)
    assert _spearman(shuffled, truth) < 0.5
    # Costs compose too: more agents, more dollars.
    costs = {len(c.models): p.cost for c, p in zip(unseen, predictions, strict=True) if p}
    assert costs[max(costs)] > costs[min(costs)]


def test_unmeasured_parts_are_uncertain() -> None:
    candidates = list(_space().grid())
    model = ValueModel()
    single = [c for c in candidates if c.topology == "single" and c.models == (POOL[0],)]
    model.observe(single[0], mean=0.5, cost=0.001, n=40)
    other = next(c for c in candidates if POOL[3] in c.models and c.topology == "single")
    (prediction,) = model.predict([other])
    assert prediction is not None and prediction.sd >= 0.5
    assert ValueModel().predict([other]) == [None]
