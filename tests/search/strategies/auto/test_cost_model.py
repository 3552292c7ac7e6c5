"""Cost per task predicted as worst case times a per-topology scale learned from probes."""

import math

import pytest

from search.strategies.auto import CostScale


def test_nothing_is_predicted_for_a_topology_not_measured() -> None:
    scale = CostScale()
    assert scale.predict("single", 0.01, 1.645) is None
    scale.observe("a", "single", worst=0.01, cost=0.004)
    assert scale.predict("vote_ensemble", 0.01, 1.645) is None
    assert scale.predict("single", 0.0, 1.645) is None  # no worst case: nothing to scale


def test_the_scale_is_the_geometric_mean_ratio_of_its_topology() -> None:
    scale = CostScale()
    scale.observe("a", "single", worst=0.01, cost=0.004)
    scale.observe("b", "single", worst=0.02, cost=0.01)
    scale.observe("c", "debate", worst=0.01, cost=0.008)
    assert scale.scale("single") == pytest.approx(math.sqrt(0.4 * 0.5))
    assert scale.scale("debate") == pytest.approx(0.8)
    predicted = scale.predict("single", 0.05, 1.645)
    assert predicted is not None
    assert predicted.point == pytest.approx(0.05 * math.sqrt(0.2))
    assert predicted.low < predicted.point < predicted.high


def test_the_interval_narrows_as_candidates_agree_and_widens_when_they_do_not() -> None:
    one, agreeing, scattered = CostScale(), CostScale(), CostScale()
    one.observe("a", "single", worst=0.01, cost=0.005)
    for i in range(8):
        agreeing.observe(f"a{i}", "single", worst=0.01 * (i + 1), cost=0.005 * (i + 1))
        scattered.observe(f"a{i}", "single", worst=0.01, cost=0.005 * (1.6 if i % 2 else 0.6))
    widths = [s.predict("single", 0.01, 1.645) for s in (one, agreeing, scattered)]
    assert all(w is not None for w in widths)
    ratio = [w.high / w.low for w in widths if w is not None]
    assert ratio[1] < ratio[0] < ratio[2]
    # A single probe cannot rule out a candidate a fifth over the ceiling ...
    assert ratio[0] > 1.2**2
