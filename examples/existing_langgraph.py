"""Optimise a LangGraph graph you already wrote: pick each node's model and a parameter.

The graph below is ordinary LangGraph code: a researcher plans, a writer
drafts an answer, and a reviewer checks it, sending it back to the writer
while it rejects the draft and reviews are left. rolegraph searches which
model each of the three nodes should use, and how many reviews to allow,
under a hard budget; then it deploys the winner, saves the chosen settings as
JSON that the same factory loads without the search, and exports a LangGraph
app (a module that builds this graph with the chosen models, plus
``langgraph.json`` for ``langgraph dev``).

The data are LangSmith-style examples (``{"inputs": ..., "outputs": ...}``) and
the metric is a LangSmith-style evaluator, ``(inputs, outputs, reference_outputs)``.

Runs offline on the simulated models (``sim:``); their accuracy and prices
describe the simulator, not any real LLM. Swap the pool for real models
(``"openai:gpt-4o-mini"``, ...) to optimise against a real provider.

    python examples/existing_langgraph.py [OUT_DIR]

The store and the saved settings go into ``OUT_DIR`` (default: a new temporary folder).
"""

from __future__ import annotations

import importlib.util
import re
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from search import Budget, Objective, create_search, load_dataset
from search.cli import print_result
from search.graphs import GraphSpace, load_config
from topologies.params import Integer

# --- 1. The graph, written the ordinary LangGraph way ------------------------------------


class Plan(BaseModel):
    """The researcher's notes: the steps to the answer."""

    steps: list[str] = Field(description="One step per operation, in order.")


class Draft(BaseModel):
    """The writer's answer."""

    answer: str = Field(description="The final answer.")
    confidence: float = Field(default=0.5, description="Confidence from 0 to 1.")


class Review(BaseModel):
    """The reviewer's verdict."""

    verdict: str = Field(description="'accept' or 'reject'.")
    critique: str = Field(default="", description="The error found, if any.")


class ResearchState(TypedDict, total=False):
    question: str
    notes: list[str]
    answer: str
    critique: str
    verdict: str
    reviews: int


def build(models: Mapping[str, BaseChatModel], *, max_reviews: int = 1):
    """The research team: researcher -> writer -> reviewer, looping back on a rejection."""
    researcher = models["researcher"].with_structured_output(Plan)
    writer = models["writer"].with_structured_output(Draft)
    reviewer = models["reviewer"].with_structured_output(Review)

    def research(state: ResearchState) -> dict:
        prompt = (
            f"Task: plan the solution.\n\n## Question\n{state['question']}\n\n"
            "Write one step per operation, in order, starting from the first quantity."
        )
        plan = researcher.invoke(
            [SystemMessage("You are a careful researcher."), HumanMessage(prompt)]
        )
        return {"notes": plan.steps if plan else [], "reviews": 0}

    def write(state: ResearchState) -> dict:
        if state.get("verdict") == "reject":
            prompt = (
                f"Task: revise the candidate answer.\n\n## Question\n{state['question']}\n\n"
                f"## Candidate answer\n{state['answer']}\n\n## Critique\n{state['critique']}"
            )
        else:
            notes = "\n".join(f"{i}. {step}" for i, step in enumerate(state.get("notes") or [], 1))
            prompt = f"Task: solve the question.\n\n## Question\n{state['question']}"
            prompt += f"\n\n## Plan\n{notes}" if notes else ""
        draft = writer.invoke([SystemMessage("You are a precise writer."), HumanMessage(prompt)])
        return {"answer": draft.answer if draft else state.get("answer", "")}

    def review(state: ResearchState) -> dict:
        prompt = (
            f"Task: verify the candidate answer.\n\n## Question\n{state['question']}\n\n"
            f"## Candidate answer\n{state['answer']}"
        )
        verdict = reviewer.invoke(
            [SystemMessage("You are a strict reviewer."), HumanMessage(prompt)]
        )
        return {
            "verdict": verdict.verdict.lower() if verdict else "accept",
            "critique": verdict.critique if verdict else "",
            "reviews": state.get("reviews", 0) + 1,
        }

    def after_review(state: ResearchState) -> str:
        if state.get("verdict") == "reject" and state.get("reviews", 0) <= max_reviews:
            return "writer"
        return END

    builder = StateGraph(ResearchState)
    builder.add_node("researcher", research)
    builder.add_node("writer", write)
    builder.add_node("reviewer", review)
    builder.add_edge(START, "researcher")
    builder.add_edge("researcher", "writer")
    builder.add_conditional_edges("writer", lambda s: "reviewer" if max_reviews else END)
    builder.add_conditional_edges("reviewer", after_review)
    return builder.compile()


# --- 2. The search space: a model per node, and how many reviews --------------------------

space = GraphSpace(
    build=build,
    slots=["researcher", "writer", "reviewer"],
    pool=["sim:atlas-nano", "sim:lynx-small", "sim:atlas-mini", "sim:atlas-pro"],
    params=[Integer(name="max_reviews", low=0, high=2)],
    max_tokens=256,  # the output cap bound on every node's model (and held per call)
    max_calls_per_run=12,  # a run that makes more model calls fails with "model call cap"
    name="research-team",
    # No version=: it is a hash of the graph's structure, the code of every node and
    # function it reaches (comments and formatting aside), its prompts and static config,
    # so an edit never reuses old results. Give version="2" to force a new one by hand.
)


def correct(inputs: dict, outputs: dict, reference_outputs: dict) -> bool:
    """A LangSmith-style evaluator: the answer's last number is the reference's."""
    numbers = re.findall(r"-?\d+(?:\.\d+)?", outputs["answer"] or "")
    return bool(numbers) and float(numbers[-1]) == float(reference_outputs["answer"])


# Only when run (not when the exported app imports this file for its `build`).
if __name__ == "__main__":
    # --- 3. Your data, and a search under a hard budget ----------------------------------------

    # Everything this example writes goes into one folder: the first argument, or a new
    # temporary folder (printed at the end), never the current directory.
    out = Path(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="rolegraph-example-"))
    out.mkdir(parents=True, exist_ok=True)

    examples = [  # LangSmith's shape: inputs and reference outputs
        {"id": f"q{i}", "inputs": {"question": question}, "outputs": {"answer": answer}}
        for i, (question, answer) in enumerate(
            [
                ("What is 17 + 25?", "42"),
                ("What is (6 + 4) * 7?", "70"),
                ("What is 144 // 12 - 3?", "9"),
                ("What is 9 * 9 + 19?", "100"),
                ("What is (50 - 14) // 6?", "6"),
                ("What is 8 * (3 + 4) - 6?", "50"),
                ("What is 1000 // 8 + 5?", "130"),
                ("What is (21 + 21) * 2 - 4?", "80"),
                ("What is 15 * 15 - 25?", "200"),
                ("What is 3 * (7 + 8) + 5?", "50"),
                ("What is 96 // (2 + 6)?", "12"),
                ("What is 13 * 4 + 8?", "60"),
                ("What is 7 * 8 - 6?", "50"),
                ("What is (99 + 1) // 4?", "25"),
                ("What is 11 * 11 - 21?", "100"),
                ("What is 64 // 8 * 3?", "24"),
            ]
        )
    ]

    search = create_search(
        space=space,
        dataset=load_dataset(examples, name="team-math"),
        metric=correct,
        strategy="tpe+bandit",  # random, grid, tpe, nsga2, bandit and pipelines of them apply
        tpe__n_trials=12,
        tpe__n_startup_trials=6,
        bandit__min_tasks=4,
        budget=Budget(dollars=0.10),  # a hard limit: every call holds its worst case first
        objective=Objective(max_cost_per_task=0.002),
        test_size=0.25,  # held out: the winner's final numbers are measured on it
        store=out / "existing_langgraph.db",
    )
    result = search.run()
    print_result(result)

    # --- 4. Deploy the winner: your graph, with the chosen models ----------------------------

    if result.best_graph is not None:
        print(f"chosen settings: {result.best_graph.models} {result.best_graph.params}")
        team = space.deploy(result.best_graph)
        run = team.invoke("What is 12 * 12 - 44?")
        print(f"deployed answer: {run.answer}  ({run.calls} calls, ${run.cost:.6f}, simulated)")
        for call in run.nodes:
            print(f"  {call.agent:<10} {call.model:<16} {call.usage.total_tokens:>4} tokens")

        # The settings as a file your own code loads, with no search around it.
        result.best_graph.save(out / "best_graph.json")
        graph = load_config(out / "best_graph.json").build(build)
        print("loaded graph answers:", graph.invoke({"question": "What is 6 * 7?"})["answer"])

        # Ship it: a module that builds this graph with the chosen models, and langgraph.json
        # (`langgraph dev` in that folder serves it). `rolegraph export NAME app/ --langgraph`
        # does the same from the store.
        config_file = team.export(out / "app")
        spec = importlib.util.spec_from_file_location(
            "research_team_app", out / "app" / "research_team.py"
        )
        assert spec is not None and spec.loader is not None
        app = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(app)
        print(
            f"exported {config_file}; it answers:",
            app.graph.invoke({"question": "What is 6 * 7?"})["answer"],
        )

    print(f"files written to {out}")
