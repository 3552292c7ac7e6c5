"""Search over a LangGraph graph you already have: its model slots and parameters.

Give rolegraph your graph (a factory ``build(models, **params)``, or a compiled
graph with configurable ``init_chat_model`` models), a pool of models and any
parameters; :func:`search.create_search` then searches it with the same
evaluator, store, budget, strategies, held-out test and Pareto front as
rolegraph's own workflows. Every call of the models your graph is given is
held against the budget, cached, charged and traced. The winner,
``result.best_graph``, is a :class:`GraphConfig`: deploy it with
:meth:`GraphSpace.deploy`, or save it and load it in your own code with
:func:`load_config`.

Example:
    >>> from search import create_search
    >>> from search.graphs import GraphSpace
    >>> space = GraphSpace(build=build, slots=["writer"],       # doctest: +SKIP
    ...                    pool=["sim:atlas-nano", "sim:atlas-mini"], version="1")
    >>> result = create_search(space=space, dataset=data, budget={"dollars": 0.05}).run()
    >>> answer = space.deploy(result.best_graph)("What is 2 + 3?")   # doctest: +SKIP
"""

from orchestrator.tracked import GraphRun, TrackedChatModel
from search.graphs.adapters import (
    answer_output,
    default_adapters,
    messages_input,
    messages_output,
    question_input,
)
from search.graphs.candidate import GraphSource, GraphTarget
from search.graphs.config import GraphConfig, load_config
from search.graphs.deployed import DeployedGraph
from search.graphs.errors import GraphSpaceError, UntrackedCallsWarning
from search.graphs.graph_space import GraphSpace
from search.graphs.providers import register_providers

__all__ = [
    "GraphSpace",
    "GraphConfig",
    "load_config",
    "DeployedGraph",
    "GraphTarget",
    "GraphSource",
    "TrackedChatModel",
    "GraphRun",
    "register_providers",
    "messages_input",
    "messages_output",
    "question_input",
    "answer_output",
    "default_adapters",
    "GraphSpaceError",
    "UntrackedCallsWarning",
]
