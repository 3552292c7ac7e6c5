"""alpha-Rank on games whose stationary distribution is known."""

import math

import numpy as np
import pytest

from search.evaluation.alpharank import alpharank, cycles, fixation, transition_matrix, win_rates

RPS = [[0.5, 0.0, 1.0], [1.0, 0.5, 0.0], [0.0, 1.0, 0.5]]  # rock, paper, scissors: row beats


@pytest.mark.parametrize("alpha", [0.5, 5.0, 100.0])
def test_rock_paper_scissors_is_uniform_at_any_selection_intensity(alpha):
    assert alpharank(RPS, alpha=alpha) == pytest.approx([1 / 3] * 3, abs=1e-9)
    assert cycles(RPS) == [[0, 1, 2]]


def test_a_strategy_that_beats_every_other_takes_all_the_mass():
    dominant = [
        [0.5, 0.8, 0.9, 0.7],
        [0.2, 0.5, 0.6, 0.4],
        [0.1, 0.4, 0.5, 0.3],
        [0.3, 0.6, 0.7, 0.5],
    ]
    ranks = alpharank(dominant)
    assert ranks[0] == pytest.approx(1.0, abs=1e-9)
    assert cycles(dominant) == []


def test_two_strategies_follow_the_fixation_ratio():
    # A two-state chain's stationary odds are the ratio of its two transition rates.
    game = [[0.5, 0.3], [0.7, 0.5]]
    alpha, m = 2.0, 4
    pi = alpharank(game, alpha=alpha, population=m)
    expected = fixation(0.4, alpha=alpha, population=m) / fixation(-0.4, alpha=alpha, population=m)
    assert pi[1] / pi[0] == pytest.approx(expected)
    # The Moran fixation probability, written out.
    x = alpha * 0.4
    assert fixation(0.4, alpha=alpha, population=m) == pytest.approx(
        (1 - math.exp(-x)) / (1 - math.exp(-m * x))
    )
    assert fixation(0.0, alpha=alpha, population=m) == pytest.approx(1 / m)


def test_a_dominated_cycle_loses_to_a_strategy_that_beats_it():
    # Rock, paper, scissors plus a fourth that beats all three: it gets the mass.
    game = np.full((4, 4), 0.5)
    game[:3, :3] = RPS
    game[3, :3], game[:3, 3] = 0.9, 0.1
    assert alpharank(game)[3] == pytest.approx(1.0, abs=1e-6)
    assert cycles(game) == [[0, 1, 2]]


def test_the_chain_is_a_stochastic_matrix_and_large_alpha_does_not_overflow():
    chain = transition_matrix(RPS, alpha=1e6, population=50)
    assert np.allclose(chain.sum(axis=1), 1.0) and (chain >= 0).all()
    assert alpharank([[0.5, 0.0], [1.0, 0.5]], alpha=1e6) == pytest.approx([0.0, 1.0], abs=1e-9)


def test_win_rates_count_ties_as_half_on_shared_tasks():
    a = {"t1": 1.0, "t2": 0.0, "t3": 1.0}
    b = {"t1": 0.0, "t2": 0.0, "t3": 1.0, "t4": 1.0}
    rates = win_rates([a, b])
    assert rates[0, 1] == pytest.approx((1 + 0.5 + 0.5) / 3)
    assert rates[0, 1] + rates[1, 0] == pytest.approx(1.0)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="alpha"):
        alpharank(RPS, alpha=0)
    with pytest.raises(ValueError, match="square"):
        transition_matrix([[0.5, 0.5]], alpha=1, population=2)
