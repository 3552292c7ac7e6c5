"""One rule picks every best: float noise is a tie, and ties go to the smaller hash."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from orchestrator import SimChatModel, register_model
from orchestrator.pricing import default_prices
from search import create_search
from search.evaluation import bundled_dataset
from search.ranking import best, ranked, same
from search.space import SearchSpace
from search.strategies import Outcome, Proposal, SearchContext, SearchStrategy


@dataclass(frozen=True)
class Item:
    hash: str
    value: float
    cost: float


def _key(item: Item) -> tuple[float, float]:
    return item.value, -item.cost


def test_float_noise_is_a_tie_and_the_smaller_hash_wins_in_any_arrival_order() -> None:
    mean = sum([0.1] * 10) / 10  # 0.09999999999999999: summed in another order than 0.1
    items = [Item("c", 0.1, 0.002), Item("a", mean, 0.002), Item("b", 0.1, 0.002 + 1e-19)]
    assert mean != 0.1 and same(mean, 0.1)
    for order in itertools.permutations(items):
        assert [i.hash for i in ranked(order, key=_key)] == ["a", "b", "c"]
        assert best(order, key=_key) == items[1]


def test_a_real_difference_is_never_a_tie() -> None:
    step = 1 / 3000  # one task of a big split
    items = [Item("a", 0.5, 0.001), Item("b", 0.5 + step, 0.001), Item("c", 0.5 + step, 0.0009)]
    for order in itertools.permutations(items):
        assert [i.hash for i in ranked(order, key=_key)] == ["c", "b", "a"]
    assert best([], key=_key) is None
    assert not same(float("inf"), 1e308) and same(float("-inf"), float("-inf"))


class Listed(SearchStrategy):
    """Proposes the space's grid in a given order, each on every task."""

    name = "listed"

    def __init__(self, *, reverse: bool) -> None:
        self.reverse = reverse

    def setup(self, context: SearchContext) -> None:
        super().setup(context)
        grid = list(context.space.grid())
        self._queue = grid[::-1] if self.reverse else grid

    def ask(self) -> Proposal | None:
        return Proposal(candidate=self._queue.pop(0)) if self._queue else None

    def tell(self, outcome: Outcome) -> None:
        pass


def test_tied_candidates_give_the_same_winner_whatever_order_they_were_evaluated_in() -> None:
    # A model that ignores the temperature it is given: three candidates tie exactly.
    flat = register_model(
        lambda **_: SimChatModel(model="atlas-pro", temperature=0.0), name="flat:atlas-pro"
    )
    space = SearchSpace.model_validate({"topologies": ["single"], "pool": [flat], "fixed": {}})
    data = bundled_dataset("arithmetic", n=12, seed=2)
    prices = default_prices().with_prices({flat: (1.0, 4.0)})
    results = [
        create_search(
            space=space, dataset=data, strategy=Listed(reverse=r), store=None, prices=prices
        ).run()
        for r in (False, True)
    ]
    first = results[0]
    assert first.best_stats is not None
    tied = [
        s
        for s in first.candidates
        if same(s.value, first.best_stats.value)
        and same(s.cost_per_task, first.best_stats.cost_per_task)
    ]
    assert len(tied) >= 2, "the test needs tied candidates"
    assert first.best_stats.workflow == min(s.workflow for s in tied)
    assert [r.best_stats.workflow for r in results if r.best_stats] == [
        first.best_stats.workflow
    ] * 2
    assert [s.workflow for s in results[1].candidates] == [s.workflow for s in first.candidates]
    # The account calls a tied rival tied, not "worth less" at the same cost.
    rivals = [line for line in first.account if line.startswith("  not ")]
    assert rivals and all("tied with the winner" in line for line in rivals[: len(tied) - 1])
    assert not any("worth less" in line for line in rivals[: len(tied) - 1])
