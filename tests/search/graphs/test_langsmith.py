"""LangSmith conventions: datasets of inputs/outputs examples, and evaluators with the
(inputs, outputs, reference_outputs) signature as metrics, on a graph search."""

from __future__ import annotations

from langgraph.graph import START, StateGraph
from typing_extensions import TypedDict

from search import Budget, Evaluator, create_search, load_dataset
from search.evaluation.datasets import Task
from search.evaluation.metrics import get_metric
from search.graphs import GraphSpace
from tests.search.graphs.conftest import TASKS, _text, build_chat

EXAMPLES = [
    {"inputs": {"question": q}, "outputs": {"answer": a}, "metadata": {"topic": "arithmetic"}}
    for q, a in TASKS
]


def correct(inputs: dict, outputs: dict, reference_outputs: dict) -> bool:
    """A LangSmith evaluator: does the answer hold the reference's number?"""
    got = (outputs["answer"] or "").replace('"', " ").replace(",", " ").split()
    return reference_outputs["answer"] in got


def graded(outputs: dict, reference_outputs: dict) -> dict:
    """A LangSmith evaluator returning a result dict."""
    return {"key": "graded", "score": 1.0 if correct({}, outputs, reference_outputs) else 0.0}


def test_a_dataset_of_langsmith_examples_loads():
    dataset = load_dataset(EXAMPLES, name="ls-math")
    first = dataset.tasks[0]
    assert (first.question, first.answer) == TASKS[0]
    assert first.metadata["inputs"] == {"question": TASKS[0][0]}
    assert first.metadata["topic"] == "arithmetic"
    # One input and one output under other names are read as the question and answer.
    other = load_dataset([{"inputs": {"q": "What is 2 + 3?"}, "outputs": {"y": "5"}}], name="o")
    assert (other.tasks[0].question, other.tasks[0].answer) == ("What is 2 + 3?", "5")


def test_langsmith_evaluators_are_metrics():
    example = {"inputs": {"question": "What is 17 + 25?"}, "outputs": {"answer": "42"}}
    task = Task(id="t", question="What is 17 + 25?", answer="42", metadata=example)
    assert get_metric(correct)('{"answer": "42", "confidence": 0.9}', task) == 1.0
    assert get_metric(correct)("41", task) == 0.0
    assert get_metric(graded)("42", task) == 1.0


def test_a_graph_search_on_langsmith_examples_and_evaluator(pair_space, tmp_path):
    dataset = load_dataset(EXAMPLES, name="ls-math")
    target = pair_space.point(solver="sim:atlas-mini", checker="sim:atlas-mini", check="yes")
    summary = Evaluator(dataset, correct, store=tmp_path / "rg.db").evaluate(target.graph)
    assert summary.n == len(TASKS) and summary.mean > 0.5
    result = create_search(space=pair_space, dataset=dataset, metric=graded, strategy="random",
                           n_candidates=2, budget=Budget(dollars=0.05),
                           store=tmp_path / "rg.db").run()  # fmt: skip
    assert result.best_graph is not None


class Topical(TypedDict, total=False):
    question: str
    unit: str
    answer: str


def build_with_unit(models):
    """A graph whose input has a field besides the question."""

    def solve(state: Topical) -> dict:
        reply = models["solver"].invoke(f"Task: solve the question.\n\n## Question\n"
                                        f"{state['question']}")  # fmt: skip
        return {"answer": f"{_text(reply)} {state.get('unit', '?')}"}

    builder = StateGraph(Topical)
    builder.add_node("solver", solve)
    builder.add_edge(START, "solver")
    return builder.compile()


def test_an_examples_inputs_are_the_graphs_input(tmp_path):
    examples = [
        {"inputs": {"question": q, "unit": "apples"}, "outputs": {"answer": f"{a} apples"}}
        for q, a in TASKS[:3]
    ]
    space = GraphSpace(build=build_with_unit, slots=["solver"], pool=["sim:atlas-mini"],
                       name="units")  # fmt: skip
    target = space.point(solver="sim:atlas-mini").graph
    summary = Evaluator(load_dataset(examples, name="units"), "exact",
                        store=tmp_path / "rg.db").evaluate(target)  # fmt: skip
    assert all(r.answer and r.answer.endswith(" apples") for r in summary.records)
    dg = space.deploy(space.config({"solver": "sim:atlas-mini"}))
    assert dg.invoke({"question": "What is 2 + 3?", "inputs": {"question": "What is 2 + 3?",
                                                             "unit": "pears"}}).answer.endswith(
        "pears"
    )  # fmt: skip


def test_a_chat_example_feeds_a_messages_graph(tmp_path):
    examples = [
        {"inputs": {"messages": [{"role": "user", "content": q}]}, "outputs": {"answer": a}}
        for q, a in TASKS[:3]
    ]
    dataset = load_dataset(examples, name="chat")
    assert dataset.tasks[0].question == TASKS[0][0]
    space = GraphSpace(build=build_chat, slots=["assistant"], pool=["sim:atlas-mini"],
                       name="chat")  # fmt: skip
    summary = Evaluator(dataset, correct, store=tmp_path / "rg.db").evaluate(
        space.point(assistant="sim:atlas-mini").graph
    )
    assert summary.n == 3 and summary.mean > 0


def test_an_examples_other_inputs_are_part_of_its_key():
    def task(unit: str) -> Task:
        example = {"inputs": {"question": "What is 2 + 3?", "unit": unit}, "outputs": {"a": "5"}}
        return load_dataset([example], name="k").tasks[0]

    assert task("apples").digest != task("pears").digest
    plain = load_dataset([{"inputs": {"question": "Q?"}, "outputs": {"answer": "5"}}], name="p")
    assert plain.tasks[0].digest == Task(id="x", question="Q?", answer="5").digest


def test_a_langsmith_dataset_loads_by_name_through_the_client(monkeypatch):
    import uuid
    from types import SimpleNamespace

    import langsmith

    asked = {}

    class FakeClient:  # stands in for the network: the langsmith client's own API
        def list_examples(self, *, dataset_name, splits=None):
            asked.update(name=dataset_name, splits=splits)
            return [
                SimpleNamespace(id=uuid.UUID(int=i), inputs=e["inputs"], outputs=e["outputs"])
                for i, e in enumerate(EXAMPLES)
            ]

    monkeypatch.setattr(langsmith, "Client", FakeClient)
    dataset = load_dataset("langsmith:math-evals", split="test")
    assert asked == {"name": "math-evals", "splits": ["test"]}
    assert dataset.name == "langsmith-math-evals" and len(dataset) == len(TASKS)
    assert (dataset.tasks[0].question, dataset.tasks[0].answer) == TASKS[0]
    assert dataset.tasks[0].id == str(uuid.UUID(int=0))
