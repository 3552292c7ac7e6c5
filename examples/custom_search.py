"""A topology search on your own data, metric, space and budget, then deployment.

Runs offline on the simulated models; swap the pool for real ones, e.g.
``["openai:gpt-4o-mini", "anthropic:claude-3-5-haiku-latest", "ollama:llama3.2"]``
(their integration packages and API keys are needed then). The accuracy and
prices printed here describe the simulator, not any real LLM.

    python examples/custom_search.py [OUT_DIR]

The store and the exported winner go into ``OUT_DIR`` (default: a new temporary folder).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from orchestrator import deploy
from search import Budget, Objective, SearchSpace, create_search, load_dataset
from search.cli import print_result

# 1. Your data: any list of dicts with id, question and answer (or a .jsonl / .csv file).
records = [
    {"id": f"q{i}", "question": question, "answer": answer}
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
        ]
    )
]
dataset = load_dataset(records, name="mental-math")


# 2. Your metric: any function returning a score in [0, 1] (or "numeric", "exact", "f1").
def close_enough(prediction: str | None, answer: str) -> float:
    try:
        return float(abs(float(prediction or "nan") - float(answer)) < 0.5)
    except ValueError:
        return 0.0


# 3. The space: topologies from the library x their parameters x a pool of models.
space = SearchSpace(
    topologies=["single", "self_refine", "vote_ensemble"],
    pool=["sim:atlas-nano", "sim:lynx-small", "sim:atlas-mini"],
    fixed={"single": {"temperature": 0.0}, "self_refine": {"plan": False}},
)

# Everything this example writes goes into one folder: the first argument, or a new
# temporary folder (printed at the end), never the current directory.
out = Path(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="rolegraph-example-"))
out.mkdir(parents=True, exist_ok=True)

# 4. Search: TPE with pruning, then a bandit race among the best five, under a hard budget.
search = create_search(
    space=space,
    dataset=dataset,
    metric=close_enough,
    strategy="tpe+bandit",
    tpe__n_trials=15,
    bandit__min_tasks=4,
    budget=Budget(dollars=0.05),
    objective=Objective(max_cost_per_task=0.001),  # a hard ceiling per question
    test_size=0.34,
    store=out / "custom_search.db",
)
result = search.run()
print_result(result)

# 5. Deploy the winner, call it, and export it as a module LangGraph can serve.
if result.best is not None:
    workflow = deploy(result.best)
    print(workflow("What is 12 * 12 - 44?"))
    winner = workflow.export(out / "winner.py")
    print(f"exported {winner}; run it with: rolegraph run {winner} 'What is 2 + 2?'")

print(f"files written to {out}")
