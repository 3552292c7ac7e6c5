"""No money before the metric can score its references and the models can read the tasks."""

import pytest

from search.errors import SearchError
from search.evaluation import ExactMatch, NumericMatch, Task
from search.preflight import check_references, check_simulated_pool
from search.runner import create_search
from search.space import SearchSpace

TASKS = [Task(id=f"t{i}", question=f"What is {i} + 1?", answer=str(i + 1)) for i in range(6)]


def always_raises(prediction, answer):
    raise RuntimeError("bad metric")


def startswith_yes(prediction, answer):
    return prediction.startswith("yes")


def test_builtin_metrics_score_their_references_and_their_wrappings():
    check_references(NumericMatch(), TASKS)
    check_references(ExactMatch(), TASKS)


@pytest.mark.parametrize(
    ("metric", "says"), [(always_raises, "raised RuntimeError"), (startswith_yes, "scored 0")]
)
def test_a_metric_that_cannot_score_its_references_is_an_error(tmp_path, metric, says):
    with pytest.raises(SearchError, match=f"cannot score its own references.*{says}"):
        create_search(
            space=SearchSpace(topologies=["single"], pool=["sim:atlas-mini"]),
            dataset=[t.model_dump() for t in TASKS],
            metric=metric,
            store=tmp_path / "rg.db",
        )
    # Refused when the search was made: nothing was evaluated, nothing was stored.
    from search.store import Store

    assert Store(tmp_path / "rg.db").count_evaluations() == 0


class ReadsJsonBadly:
    """Claims to read JSON replies, but compares the raw text."""

    name = "reads_json_badly"
    reads = ("json",)

    def __call__(self, prediction, task):
        return float(prediction.strip() == task.answer)


def test_a_metric_that_claims_to_read_json_is_held_to_it():
    with pytest.raises(SearchError, match="as a JSON reply"):
        check_references(ReadsJsonBadly(), TASKS)


def test_a_simulated_pool_on_questions_the_simulator_cannot_read_is_an_error():
    words = [Task(id="w", question="Who wrote Hamlet?", answer="Shakespeare"), *TASKS]
    with pytest.raises(SearchError, match=r"cannot read 1 of 7 tasks.*'w'"):
        check_simulated_pool(["sim:atlas-mini"], words)
    check_simulated_pool(["sim:atlas-mini"], TASKS)
    check_simulated_pool(["openai:gpt-4o-mini"], words)  # real models read anything
