"""Pipelines: stages run in turn, outcomes go to the stage that asked, shortlists are handed on."""

from search.strategies import BanditStrategy, GridStrategy, Pipeline, RandomStrategy
from search.strategies.base import Handover, Outcome, Proposal, SearchStrategy

from .helpers import context, outcome, run, single_space


class Scripted(SearchStrategy):
    """Proposes the given candidates once each; hands over what it was told was best."""

    def __init__(self, name: str, picks: int) -> None:
        self.name = name
        self.picks = picks
        self.told: list[Outcome] = []
        self.received: tuple = ()

    def setup(self, context) -> None:
        super().setup(context)
        self.received = context.candidates
        self.queue = list(context.candidates or context.space.grid())[: self.picks]

    def ask(self) -> Proposal | None:
        return Proposal(candidate=self.queue.pop(0)) if self.queue else None

    def tell(self, outcome: Outcome) -> None:
        self.told.append(outcome)

    def handover(self, k: int = 5) -> Handover:
        ranked = sorted(self.told, key=lambda o: o.stats.mean, reverse=True)
        return Handover(candidates=[o.proposal.candidate for o in ranked[:k]])

    def front(self) -> list[str] | None:
        return [o.proposal.candidate.hash for o in self.told] or None


def test_stages_run_in_turn_and_hand_on_a_shortlist():
    first, second = Scripted("first", picks=3), Scripted("second", picks=5)
    pipeline = Pipeline(first, second, keep=2)
    pipeline.setup(context(single_space()))
    asked = [pipeline.ask() for _ in range(3)]
    assert pipeline.ask() is None  # the first stage is done but still has work running
    for proposal, score in zip(asked, (0.2, 0.9, 0.5), strict=True):
        pipeline.tell(outcome(proposal, [score] * 20))
    assert len(first.told) == 3 and not second.told
    handed = [pipeline.ask(), pipeline.ask()]
    assert pipeline.current is second and pipeline.ask() is None
    assert [c.hash for c in second.received] == [asked[1].candidate.hash, asked[2].candidate.hash]
    assert [p.candidate.hash for p in handed] == [c.hash for c in second.received]
    pipeline.tell(outcome(handed[0], [1.0] * 20))
    assert len(second.told) == 1 and len(first.told) == 3  # routed to the stage that asked
    assert pipeline.front() == [handed[0].candidate.hash]  # the current stage's front


def test_names_and_descriptions_join_the_stages():
    pipeline = Pipeline(GridStrategy(), BanditStrategy(min_tasks=4))
    assert pipeline.name == "grid+bandit"
    assert [stage["strategy"] for stage in pipeline.describe()["stages"]] == ["grid", "bandit"]


def test_a_pipeline_hands_over_a_shortlist_in_a_real_search(tmp_path):
    pipeline = Pipeline(RandomStrategy(n_candidates=3), BanditStrategy(min_tasks=6), keep=2)
    run(tmp_path, pipeline)
    assert len(pipeline.stages[1].arms) == 2
