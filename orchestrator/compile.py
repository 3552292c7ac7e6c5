"""Compiling a validated spec into a LangGraph ``StateGraph``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from langchain_core.caches import BaseCache
from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable, RunnableLambda
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Checkpointer, RetryPolicy

from orchestrator.budget import output_cap
from orchestrator.concurrency import ModelConcurrency
from orchestrator.linear import ChainRunner, is_chain
from orchestrator.models import (
    bind_output_cap,
    call_temperature,
    resolve_model,
    with_agent_settings,
)
from orchestrator.pricing import PriceTable, default_prices
from orchestrator.roles import get_role
from orchestrator.runtime import (
    AgentNode,
    NodeState,
    RunState,
    ScopedCache,
    WorkflowInput,
    WorkflowOutput,
    is_transient,
)
from orchestrator.spec import WorkflowSpec
from orchestrator.tools import get_tool

__all__ = ["compile_workflow", "compile_parts", "CompiledParts", "DEFAULT_RETRY"]


def _node_runnable(node: AgentNode, name: str) -> Runnable[Any, Any]:
    """Wrap a node with LangGraph's own wrapper, which inspects signatures once, not per call."""
    try:
        from langgraph._internal._runnable import RunnableCallable
    except ImportError:  # pragma: no cover - a LangGraph that moved it; the public one works
        return RunnableLambda(node.invoke, afunc=node.ainvoke, name=name)
    # trace=False as LangGraph does for its own nodes: the task wrapper already opens the
    # node's run, so a second one would only nest a duplicate in LangSmith.
    return RunnableCallable(node.invoke, node.ainvoke, name=name, trace=False)


DEFAULT_RETRY = RetryPolicy(
    max_attempts=3, initial_interval=0.5, jitter=True, retry_on=is_transient
)
"""Retry transient failures (rate limits, timeouts, 5xx) three times with jittered backoff."""


def _route(name: str, target: str, onward: tuple[str, ...]) -> Any:
    def route(state: RunState) -> str | list[str]:
        loop_to = state["outputs"][name][-1]["loop_to"]
        if loop_to is not None:
            return target
        return list(onward) if onward else END

    route.__name__ = f"route_{name}"
    return route


def _sample_indexes(
    spec: WorkflowSpec, overrides: Mapping[str, BaseChatModel] | None = None
) -> dict[str, int]:
    """Number the agents that draw from one pool entry at one temperature: 0, 1, ... by name.

    The temperature is the one the calls really use (an instance's pinned one wins), so
    two agents whose calls are the same draw never get the same number.
    """
    overrides = overrides or {}
    seen: dict[tuple[str | None, float, str | None], int] = {}
    indexes: dict[str, int] = {}
    for agent in sorted(spec.agents, key=lambda a: a.name):
        instance = overrides.get(agent.model) if agent.model is not None else None
        temperature = call_temperature(instance or agent.model, agent.temperature)
        key = (agent.model, temperature, agent.prompt)
        indexes[agent.name] = seen.get(key, 0)
        seen[key] = indexes[agent.name] + 1
    return indexes


@dataclass(frozen=True)
class CompiledParts:
    """A compiled workflow graph, and the lean runner of the same nodes where it is a chain."""

    graph: CompiledStateGraph
    """The LangGraph graph."""
    chain: ChainRunner | None
    """Runs the graph's nodes in order without the Pregel loop; ``None`` unless a chain."""


def compile_workflow(
    spec: WorkflowSpec,
    *,
    models: Mapping[str, BaseChatModel] | None = None,
    cache: BaseCache | None = None,
    prices: PriceTable | None = None,
    checkpointer: Checkpointer = None,
    retry: RetryPolicy | None = DEFAULT_RETRY,
    call_timeout: float | None = None,
    name: str | None = None,
    concurrency: ModelConcurrency | None = None,
) -> CompiledStateGraph:
    """Compile ``spec`` to a LangGraph graph whose nodes are its agents.

    Independent branches run in the same superstep, so they overlap; joins
    wait for every input; each loop is a conditional edge, taken at most its
    ``max_rounds`` times per run.

    The graph takes ``{"question": ...}`` (:class:`WorkflowInput`) and returns
    :class:`WorkflowOutput`: ``answer``, ``confidence``, the run's ``usage`` and
    ``cost``, and its ``trace`` (:class:`NodeTraceRecord` dicts). Its state is
    plain data plus LangChain messages, so any checkpointer stores it, in
    LangGraph's strict msgpack mode too. On a thread, each run's trace and
    loop counts start afresh, and ``messages`` keeps the conversation. The
    exit agent's model calls carry the tag :data:`ANSWER_TAG`, so
    ``stream_mode="messages"`` can be filtered to the answer's tokens.

    Args:
        spec: A validated workflow spec.
        models: Instances to use for given model references, overriding resolution.
        cache: An LLM-call cache (any langchain ``BaseCache``); hits are not billed.
        prices: Price table for cost accounting; defaults to :func:`default_prices`.
        checkpointer: Passed to LangGraph unchanged.
        retry: Node retry policy for transient failures; ``None`` disables retries.
        call_timeout: Seconds allowed per model call (async runs); the clock starts
            when the call starts, not while it waits for a thread or a slot.
        name: Graph name in traces; defaults to the spec's name.
        concurrency: Per-model adaptive limits on calls at once (async runs), shared
            by every workflow deployed with it.

    Returns:
        The compiled graph.
    """
    return compile_parts(
        spec,
        models=models,
        cache=cache,
        prices=prices,
        checkpointer=checkpointer,
        retry=retry,
        call_timeout=call_timeout,
        name=name,
        concurrency=concurrency,
    ).graph


def compile_parts(
    spec: WorkflowSpec,
    *,
    models: Mapping[str, BaseChatModel] | None = None,
    cache: BaseCache | None = None,
    prices: PriceTable | None = None,
    checkpointer: Checkpointer = None,
    retry: RetryPolicy | None = DEFAULT_RETRY,
    call_timeout: float | None = None,
    name: str | None = None,
    concurrency: ModelConcurrency | None = None,
) -> CompiledParts:
    """:func:`compile_workflow`, with the chain runner of the same nodes where ``spec`` is a chain.

    The runner (:class:`~orchestrator.linear.ChainRunner`) shares the graph's
    nodes, so both give the same results; :func:`~orchestrator.deploy` uses it
    for runs nothing observes.
    """
    structure = spec.structure
    prices = prices or default_prices()
    overrides = dict(models or {})
    scoped = ScopedCache(cache) if cache is not None else None
    roles = {agent.name: get_role(agent.role) for agent in spec.agents}
    samples = _sample_indexes(spec, overrides)
    nodes: dict[str, AgentNode] = {}

    builder = StateGraph(RunState, input_schema=WorkflowInput, output_schema=WorkflowOutput)
    for agent in spec.agents:
        role = roles[agent.name]
        model = None
        temperature = agent.temperature
        if role.uses_model and agent.model is not None:
            instance = overrides.get(agent.model)
            temperature = call_temperature(instance or agent.model, agent.temperature)
            if instance is not None:
                model = with_agent_settings(instance, temperature=agent.temperature)
            else:
                model = resolve_model(agent.model, temperature=agent.temperature)
            # The cap a call holds is the cap it is made with.
            model, _ = bind_output_cap(model, output_cap(agent.max_tokens, model))
            if scoped is not None:
                model = model.model_copy(update={"cache": scoped})
        node = AgentNode(
            agent=agent,
            role=role,
            model=model,
            feeders=[(feeder, roles[feeder]) for feeder in structure.feeders[agent.name]],
            loop=structure.loop_from.get(agent.name),
            tools=[get_tool(tool) for tool in agent.tools],
            prices=prices,
            call_timeout=call_timeout,
            entry=agent.name in structure.entries,
            exit=agent.name == structure.exit,
            loop_sources=[lp.source for lp in spec.loops if lp.target == agent.name],
            clears_answer=agent.name == structure.entries[0],
            sample_index=samples[agent.name],
            temperature=temperature,
            limit=concurrency.limit(agent.model) if concurrency and model else None,
        )
        nodes[agent.name] = node
        builder.add_node(
            agent.name,
            _node_runnable(node, agent.name),
            defer=agent.name in structure.deferred,
            input_schema=NodeState,
            retry_policy=retry,
            metadata={"role": agent.role, "model": agent.model},
        )

    for entry in structure.entries:
        builder.add_edge(START, entry)
    loop_sources = set(structure.loop_from)
    for target in structure.order:
        preds = [e.source for e in structure.forward_edges if e.target == target]
        plain = [p for p in preds if p not in loop_sources]
        if len(plain) > 1 and len(plain) == len(preds) and target not in structure.deferred:
            builder.add_edge(plain, target)  # a join: waits for every predecessor
        else:
            for pred in plain:
                builder.add_edge(pred, target)
    for source, loop in structure.loop_from.items():
        onward = structure.successors[source]
        builder.add_conditional_edges(
            source, _route(source, loop.target, onward), [loop.target, *(onward or (END,))]
        )
    if structure.exit not in loop_sources:
        builder.add_edge(structure.exit, END)

    graph = builder.compile(checkpointer=checkpointer, name=name or spec.name)
    chain = ChainRunner([nodes[n] for n in structure.order], retry) if is_chain(spec) else None
    return CompiledParts(graph.with_config(recursion_limit=max(25, structure.max_steps)), chain)
