"""Quickstart: define a team, wire two workflows by hand, run them, compare.

Runs offline on rolegraph's simulated models (``sim:``). Their accuracy and
prices describe the simulator, not any real LLM. To use a real provider,
replace the model strings, e.g. ``"openai:gpt-4o-mini"`` (needs
``pip install langchain-openai`` and ``OPENAI_API_KEY``).

    python examples/quickstart.py
"""

from __future__ import annotations

from orchestrator import Agent, Workflow, deploy, spec_mermaid
from orchestrator.answers import normalize_answer
from orchestrator.sim import arithmetic_tasks

# --- 1. A team of role agents ------------------------------------------------------------
# Each agent has a role, a model, a temperature (and optionally a prompt and tools).
solver = Agent(name="solver", role="solver", model="sim:atlas-mini")
checker = Agent(name="checker", role="verifier", model="sim:atlas-pro")
fixer = Agent(name="fixer", role="rectifier", model="sim:atlas-mini")
voters = [
    Agent(name="nano", role="solver", model="sim:atlas-nano", temperature=0.7),
    Agent(name="lynx", role="solver", model="sim:lynx-small", temperature=0.7),
    Agent(name="orca", role="solver", model="sim:orca-small", temperature=0.7),
]

# --- 2. Two workflows, wired by hand ------------------------------------------------------
# Self-refine: solve, verify, and fix at most twice; stop as soon as the checker accepts.
self_refine = (
    Workflow("self-refine")
    .add_agents(solver, checker, fixer)
    .add_edge("solver", "checker")
    .add_edge("checker", "fixer")
    .add_loop("fixer", "checker", max_rounds=2)
    .build()
)

# Ensemble: three cheap models from three families answer in parallel, then vote.
ensemble = (
    Workflow("diverse-vote")
    .add_agents(*voters)
    .add_agent("vote", role="vote")
    .add_edge(["nano", "lynx", "orca"], "vote")
    .build()
)

print(spec_mermaid(self_refine))

# --- 3. Run both on a few bundled tasks ---------------------------------------------------
tasks = arithmetic_tasks(12, seed=0)
for spec in (self_refine, ensemble):
    workflow = deploy(spec)
    results = workflow.batch([task["question"] for task in tasks])
    correct = 0
    print(f"\n== {spec.name} (hash {spec.hash}) ==")
    for task, result in zip(tasks, results, strict=True):
        ok = normalize_answer(result.answer) == task["answer"]
        correct += ok
        print(
            f"  {task['id']}  expected {task['answer']:>5}  got {result.answer!s:>5}  "
            f"{'ok' if ok else 'WRONG'}  {result.calls} calls  ${result.cost:.6f}"
        )
    total = sum(result.cost for result in results)
    print(
        f"  accuracy {correct}/{len(tasks)} = {correct / len(tasks):.0%}, "
        f"cost ${total:.5f} for {len(tasks)} tasks (simulated)"
    )

# --- 4. The trace of one run --------------------------------------------------------------
result = deploy(self_refine).invoke(tasks[2]["question"])
print(f"\nTrace of {tasks[2]['id']}:")
for node in result.nodes:
    verdict = node.output.get("verdict", "")
    print(
        f"  {node.agent:<8} {node.role:<9} answer={node.answer!s:<5} {verdict:<7} "
        f"{node.usage.total_tokens:>4} tokens  ${node.cost:.6f}"
        + (f"  ({node.skipped})" if node.skipped else "")
    )
print(f"  total: {result.usage.total_tokens} tokens, ${result.cost:.6f}")
