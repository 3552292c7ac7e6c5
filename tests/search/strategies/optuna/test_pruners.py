"""The paired Wilcoxon pruner: Optuna's decision rule, a fast test."""

import random

import optuna
import pytest

from search.evaluation.stats import signed_rank_p
from search.strategies.optuna.pruners import PairedWilcoxonPruner


@pytest.mark.parametrize("seed", range(20))
def test_p_values_match_scipys_normal_approximation(seed):
    stats = pytest.importorskip("scipy.stats")
    rng = random.Random(seed)
    n = rng.randint(8, 80)
    differences = [rng.choice([-1.0, 0.0, 0.0, 1.0]) + rng.choice([0.0, 0.5]) for _ in range(n)]
    if not any(differences):
        differences[0] = 1.0
    expected = stats.wilcoxon(
        differences, alternative="less", zero_method="zsplit", method="approx", correction=False
    ).pvalue
    assert signed_rank_p(differences) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_edge_cases():
    assert signed_rank_p([]) == 1.0
    assert signed_rank_p([0.0, 0.0, 0.0]) == 0.5
    assert signed_rank_p([-1.0] * 30) < 1e-5
    assert signed_rank_p([1.0] * 30) > 0.99999


def _study(best, current, direction="maximize"):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    pruner = PairedWilcoxonPruner(p_threshold=0.1, n_startup_steps=5)
    study = optuna.create_study(direction=direction, pruner=pruner)
    trial = study.ask()
    for step, value in enumerate(best):
        trial.report(value, step)
    study.tell(trial, sum(best) / len(best))
    trial = study.ask()
    for step, value in enumerate(current):
        trial.report(value, step)
    return pruner.prune(study, study._storage.get_trial(trial._trial_id))


def test_a_clearly_worse_trial_is_pruned_and_a_good_one_is_not():
    best = [1.0] * 30
    assert _study(best, [1.0, 0.0] * 15)
    assert not _study(best, [1.0] * 29 + [0.0])


def test_too_few_shared_steps_never_prune():
    assert not _study([1.0] * 30, [0.0] * 4)


def test_a_trial_as_good_as_the_best_on_average_is_kept():
    assert not _study([1.0, 0.0] * 15, [0.0, 1.0] * 15)


def test_minimisation_flips_the_direction():
    assert _study([0.0] * 30, [1.0] * 30, direction="minimize")
