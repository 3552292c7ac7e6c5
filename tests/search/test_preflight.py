"""No money before the metric can score its references and the models can read the tasks."""

import json
import re

import pytest

from orchestrator.testing import ScriptedChatModel
from search.baselines import PROBE_TASKS
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


class UnauthorisedError(Exception):
    """Stands in for a provider's 401."""

    status_code = 401


class LockedOut(ScriptedChatModel):
    """A real-looking model whose every call is refused, as with a wrong API key."""

    def _respond(self, messages, number):
        raise UnauthorisedError("401 invalid api key")


def _search(tmp_path, pool, models):
    return create_search(
        space=SearchSpace(topologies=["single", "vote_ensemble"], pool=pool),
        dataset=[t.model_dump() for t in TASKS],
        metric="numeric",
        models=models,
        store=tmp_path / "rg.db",
        strategy="random",
        max_evaluations=200,
    )


def test_a_pool_that_cannot_answer_at_all_stops_before_any_candidate(tmp_path):
    a, b = LockedOut(model_name="a"), LockedOut(model_name="b")
    search = _search(tmp_path, ["openai:a", "openai:b"], {"openai:a": a, "openai:b": b})
    said = r"answered.*openai:a: UnauthorisedError: .*401 invalid api key.*openai:b: Unauth"
    with pytest.raises(SearchError, match=said):
        search.run()
    # Each model was asked its probe tasks alone, and nothing else was tried.
    assert search.evaluations == 2 * PROBE_TASKS
    assert 0 < a.calls <= PROBE_TASKS * 4 and 0 < b.calls <= PROBE_TASKS * 4


def test_one_model_that_answers_is_enough_and_its_probes_are_reused(tmp_path):
    good = ScriptedChatModel(model_name="good", replies=['{"answer": "1", "confidence": 0.9}'])
    search = _search(tmp_path, ["openai:good", "openai:locked"], {
        "openai:good": good, "openai:locked": LockedOut(model_name="locked"),
    })  # fmt: skip
    result = search.run()
    assert result.evaluations > 2 * PROBE_TASKS  # the search went on past the probes
    baselines = [s for s in result.candidates if s.baseline == "single"]
    good_alone = next(s for s in baselines if s.params["model"] == "openai:good")
    assert good_alone.complete  # its probe tasks were the start of its baseline run


class Chatty(ScriptedChatModel):
    """Every other reply is prose no role can read; the next (the re-ask's) is right, in JSON."""

    def _respond(self, messages, number):
        if number % 2:
            return 0.0, "Sure! Let me think about it."
        left = re.search(r"What is (\d+) \+ 1", str(messages[-1].content))
        return 0.0, json.dumps({"answer": str(int(left.group(1)) + 1)})


def test_the_certificate_and_report_give_the_shipped_workflows_parse_failure_rate(tmp_path):
    model = Chatty(model_name="chatty")
    result = create_search(
        space=SearchSpace(topologies=["single"], pool=["openai:chatty"]),
        dataset=[t.model_dump() for t in TASKS],
        models={"openai:chatty": model},
        store=tmp_path / "rg.db",
        strategy="grid",
        max_concurrency=1,
    ).run()
    shipped = result.certificate.standing(result.certificate.shipped)
    assert shipped.parse_failure_rate == pytest.approx(0.5)
    assert shipped.fallback_rate == 0.0
    assert any("50% of its model replies could not be read" in line
               for line in result.certificate.lines)  # fmt: skip
    from search.report import write_report

    page = write_report(result, tmp_path / "report").read_text()
    assert "replies not read" in page and '<td class="num">50%</td>' in page
