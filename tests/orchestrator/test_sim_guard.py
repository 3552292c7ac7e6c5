"""The simulator reads the truth from the question alone and is told nothing of the strategy.

Guards two promises the benchmarks rest on: nothing in the simulator reads a
gold answer from anywhere but the question text, and nothing tells it which
workflow, topology, agent or search strategy is running (at temperature 0 a
reply depends on the model and the prompt's content only).
"""

import ast
from pathlib import Path

from orchestrator import Workflow, deploy
from orchestrator.answers import normalize_answer
from orchestrator.sim import SimChatModel, arithmetic_tasks
from search import Evaluator
from topologies import best_of_n, debate, self_refine, supervisor

SIM = Path(__file__).resolve().parents[2] / "orchestrator" / "sim"
TASKS = arithmetic_tasks(24, seed=41)
GREEDY = 0.0


def predictions(dataset, spec, real_answer) -> list[tuple[str, str]]:
    """(the task's real answer, what the workflow answered) for every task, sorted."""
    seen: list[tuple[str, str]] = []

    def metric(prediction, answer):
        seen.append((real_answer[answer], normalize_answer(prediction)))
        return float(normalize_answer(prediction) == answer)

    Evaluator(dataset, metric, store=None, cache_calls=False).evaluate(spec)
    return sorted(seen)


def test_changing_the_reference_answers_changes_no_reply():
    shifted = [{**t, "answer": f"{int(t['answer']) + 1000 + i}"} for i, t in enumerate(TASKS)]
    back = {s["answer"]: t["answer"] for s, t in zip(shifted, TASKS, strict=True)}
    spec = self_refine(
        solver="sim:atlas-nano", verifier="sim:atlas-mini", rectifier="sim:atlas-nano"
    )
    real = predictions(TASKS, spec, {t["answer"]: t["answer"] for t in TASKS})
    assert predictions(shifted, spec, back) == real
    assert len(real) == len(TASKS)
    assert any(truth == said for truth, said in real)  # it does solve some


def _renamed(spec, suffix: str):
    """The same workflow with every agent and the workflow itself renamed."""
    names = {a.name: f"{a.name}_{suffix}" for a in spec.agents}
    wf = Workflow(f"renamed-{suffix}")
    for agent in spec.agents:
        wf.add_agent(
            names[agent.name],
            role=agent.role,
            model=agent.model,
            temperature=agent.temperature,
            options=dict(agent.options),
        )
    for edge in spec.structure.forward_edges:
        wf.add_edge(names[edge.source], names[edge.target])
    for loop in spec.loops:
        wf.add_loop(names[loop.source], names[loop.target], max_rounds=loop.max_rounds)
    return wf.build()


def _greedy(spec):
    return spec.model_copy(
        update={
            "agents": tuple(
                a.model_copy(update={"temperature": GREEDY}) if a.model else a for a in spec.agents
            )
        }
    )


def _raws(result, suffix: str = "") -> list[tuple[int, str, str | None]]:
    return sorted((n.step, n.agent.removesuffix(suffix), n.raw or "") for n in result.nodes)


def test_renaming_agents_and_workflows_changes_no_reply_at_temperature_zero():
    shapes = [
        _greedy(debate(n=3, models=["sim:atlas-nano", "sim:lynx-small", "sim:orca-small"])),
        _greedy(best_of_n(models=["sim:atlas-nano", "sim:lynx-small"], judge="sim:atlas-mini")),
        supervisor(models="sim:orca-small"),
        self_refine(
            solver="sim:atlas-nano", verifier="sim:atlas-nano", rectifier="sim:atlas-nano"
        ),
    ]
    for spec in shapes:
        renamed = _renamed(spec, "zz")
        for seed in (0, 3):
            one = deploy(spec, seed=seed, record_prompts=False).batch(
                [t["question"] for t in TASKS]
            )
            two = deploy(renamed, seed=seed + 1, record_prompts=False).batch(
                [t["question"] for t in TASKS]
            )
            assert [r.answer for r in one] == [r.answer for r in two]
            # Nodes of one step are listed in the order they started: compare by step.
            assert [_raws(r) for r in one] == [_raws(r, "_zz") for r in two]


def test_call_metadata_other_than_the_sample_is_ignored():
    model = SimChatModel(model="atlas-mini", temperature=0.7)
    from orchestrator.roles import RoleInputs, get_role

    question = TASKS[0]["question"]
    messages = get_role("solver").render(RoleInputs(question=question))
    sample = {"rolegraph_sample": "0:1:1"}
    base = model.invoke(messages, config={"metadata": sample}).content
    noisy = {
        **sample,
        "rolegraph_agent": "judge_of_everything",
        "rolegraph_workflow": "best_of_n",
        "rolegraph_topology": "debate",
        "rolegraph_strategy": "mcts",
        "answer": "123456",
        "reference": TASKS[0]["answer"],
    }
    assert model.invoke(messages, config={"metadata": noisy}).content == base


def test_the_simulator_imports_nothing_that_knows_the_dataset_or_the_search():
    forbidden = ("search", "topologies", "orchestrator.runtime", "orchestrator.deploy")
    for path in SIM.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                assert not name.startswith(forbidden), f"{path.name} imports {name}"


# Where the answer key may be read: where a model works the problem (its working is
# right or wrong as its latent draw says) and where a working is written out. Helper
# roles (debate, judge, aggregator, rectifier) and stated confidence must get what
# they know from the model's own workings, never from the key.
READS_TRUTH = {"__init__", "work", "_answer", "_calculator_working", "write"}
READS_WORKINGS = {"_mistakes", "_slips", "_working_for", "_closest_working"}


def _functions_reading(tree: ast.AST, attribute: str) -> set[str]:
    found: set[str] = set()
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Attribute) and node.attr == attribute:
                found.add(function.name)
    return found


def test_only_a_models_own_working_reads_the_answer_key():
    tree = ast.parse((SIM / "behaviour.py").read_text(encoding="utf-8"))
    readers = _functions_reading(tree, "truth")
    # Nested functions are walked inside their parents too: report the innermost names.
    assert readers <= READS_TRUTH, f"read the answer key: {sorted(readers - READS_TRUTH)}"
    answers = _functions_reading(tree, "answer")
    allowed = READS_TRUTH | READS_WORKINGS
    assert answers <= allowed, f"read a problem's answer: {sorted(answers - allowed)}"
