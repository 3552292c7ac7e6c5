"""The lean path for chains: run a linear workflow's nodes in order, without the Pregel loop.

A workflow whose agents form one chain (a single agent, or each agent feeding
the next, with no loop, fan-out or join) gives LangGraph nothing to schedule:
each superstep runs one node. Pregel still pays for its loop on every run
(channels, tasks, checkpoints, callbacks), about half a millisecond of CPU,
as much as the node itself. :class:`ChainRunner` runs the same
:class:`~orchestrator.runtime.AgentNode` objects the compiled graph holds, in
the graph's order, applies the same state reducers, the same superstep
numbers and the same node retry policy, and returns what the graph would.

It is used only where nothing can tell the difference
(:func:`unobserved`): no checkpointer, no callbacks in the config or the
context, no LangSmith tracing and no debug output. Anything that watches
the graph (a tracer, a thread, a stream, LangGraph Studio) gets the graph.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import ensure_config
from langgraph.types import RetryPolicy

from orchestrator.runtime import (
    CHAIN_KEY,
    AgentNode,
    _merge_outputs,
    _merge_trace,
)
from orchestrator.spec import WorkflowSpec

__all__ = ["ChainRunner", "is_chain", "unobserved"]

_OUTPUT_KEYS = ("answer", "confidence", "usage", "cost", "trace")
_REPLACED = ("answer", "confidence", "usage", "cost")


def is_chain(spec: WorkflowSpec) -> bool:
    """Whether ``spec`` is one chain: one entry, no loops, joins, fan-out or deferred agents."""
    structure = spec.structure
    if len(structure.entries) != 1 or structure.loop_from or structure.deferred:
        return False
    if any(len(after) > 1 for after in structure.successors.values()):
        return False
    return all(
        sum(1 for e in structure.forward_edges if e.target == name) <= 1
        for name in structure.order
    )


def unobserved(config: RunnableConfig | None) -> bool:
    """Whether nothing would see a graph run's internals: no callbacks, tracing or debug.

    Callbacks may come in the config or from the calling run's context; tracing
    and debug output from LangSmith's and LangChain's settings and hooks.
    Anything we cannot rule out counts as observed.
    """
    try:
        from langchain_core.globals import get_debug, get_verbose
        from langchain_core.tracers.context import _configure_hooks, _tracing_v2_is_enabled
        from langchain_core.utils.env import env_var_is_set
    except ImportError:  # pragma: no cover - a langchain-core that moved them
        return False
    if ensure_config(config).get("callbacks"):
        return False
    if get_debug() or get_verbose() or _tracing_v2_is_enabled():
        return False
    for var, _inheritable, _handler, env_var in _configure_hooks:
        if var.get() is not None or (env_var and env_var_is_set(env_var)):
            return False
    return True


def _retries(policy: RetryPolicy, exc: Exception) -> bool:
    retry_on = policy.retry_on
    if isinstance(retry_on, Sequence):
        return isinstance(exc, tuple(retry_on))
    if isinstance(retry_on, type) and issubclass(retry_on, Exception):
        return isinstance(exc, retry_on)
    return bool(retry_on(exc))  # type: ignore[call-arg]


def _wait_s(policy: RetryPolicy, failures: int) -> float:
    """LangGraph's backoff: initial x factor^(failures - 1), capped, plus up to 1 s of jitter."""
    interval = min(
        policy.max_interval, policy.initial_interval * policy.backoff_factor ** (failures - 1)
    )
    return interval + random.uniform(0, 1) if policy.jitter else interval


class ChainRunner:
    """Runs a chain's agent nodes one after another, as its compiled graph would.

    Args:
        nodes: The graph's agent nodes in chain order.
        retry: The graph's node retry policy (``None``: no retries).
    """

    def __init__(self, nodes: Sequence[AgentNode], retry: RetryPolicy | None) -> None:
        """Hold the nodes; nothing runs yet."""
        self.nodes = tuple(nodes)
        self.retry = retry

    def _node_config(self, config: RunnableConfig, step: int, name: str) -> RunnableConfig:
        metadata = {**(config.get("metadata") or {}), "langgraph_step": step}
        metadata["langgraph_node"] = name
        configurable = {**(config.get("configurable") or {}), CHAIN_KEY: True}
        return {**config, "metadata": metadata, "configurable": configurable}

    @staticmethod
    def _apply(state: dict[str, Any], update: Mapping[str, Any]) -> None:
        """The compiled graph's reducers (``messages`` is kept only on a checkpointed thread)."""
        for key, value in update.items():
            if key == "outputs":
                state["outputs"] = _merge_outputs(state.get("outputs") or {}, value)
            elif key == "trace":
                state["trace"] = _merge_trace(state.get("trace") or [], value)
            elif key in _REPLACED:
                state[key] = value

    @staticmethod
    def _output(state: Mapping[str, Any]) -> dict[str, Any]:
        return {key: state[key] for key in _OUTPUT_KEYS if key in state}

    async def ainvoke(self, state: Mapping[str, Any], config: RunnableConfig) -> dict[str, Any]:
        """Run every node in order; return the graph's output (answer, totals, trace)."""
        current: dict[str, Any] = dict(state)
        for step, node in enumerate(self.nodes, start=1):
            node_config = self._node_config(config, step, node.agent.name)
            failures = 0
            while True:
                try:
                    update = await node.ainvoke(current, node_config)  # type: ignore[arg-type]
                    break
                except Exception as exc:
                    failures += 1
                    policy = self.retry
                    if policy is None or not _retries(policy, exc):
                        raise
                    if failures >= policy.max_attempts:
                        raise
                    await asyncio.sleep(_wait_s(policy, failures))
            self._apply(current, update)
        return self._output(current)

    def invoke(self, state: Mapping[str, Any], config: RunnableConfig) -> dict[str, Any]:
        """Synchronous :meth:`ainvoke`."""
        current: dict[str, Any] = dict(state)
        for step, node in enumerate(self.nodes, start=1):
            node_config = self._node_config(config, step, node.agent.name)
            failures = 0
            while True:
                try:
                    update = node.invoke(current, node_config)  # type: ignore[arg-type]
                    break
                except Exception as exc:
                    failures += 1
                    policy = self.retry
                    if policy is None or not _retries(policy, exc):
                        raise
                    if failures >= policy.max_attempts:
                        raise
                    time.sleep(_wait_s(policy, failures))
            self._apply(current, update)
        return self._output(current)
