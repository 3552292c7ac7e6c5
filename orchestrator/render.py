"""Pictures of workflow specs as Mermaid flowcharts."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from orchestrator.spec import WorkflowSpec

__all__ = ["spec_mermaid"]

_SHAPES = {
    "planner": ("[/", "/]"),
    "verifier": ("{{", "}}"),
    "judge": ("{", "}"),
    "vote": ("((", "))"),
    "aggregator": ("[[", "]]"),
}


def _node_id(name: str) -> str:
    return re.sub(r"\W", "_", name)


def spec_mermaid(spec: WorkflowSpec) -> str:
    """A Mermaid flowchart of ``spec``: one node per agent, loops as labelled dashed edges."""
    structure = spec.structure
    lines = ["flowchart TD", "    __start__([start])", "    __end__([end])"]
    for agent in spec.agents:
        model = (agent.model or "").split("@", 1)[0]
        label = f"{agent.name}<br/><small>{agent.role}" + (f" · {model}" if model else "")
        if agent.temperature:
            label += f" · T={agent.temperature:g}"
        label += "</small>"
        left, right = _SHAPES.get(agent.role, ("[", "]"))
        lines.append(f'    {_node_id(agent.name)}{left}"{label}"{right}')
    for entry in structure.entries:
        lines.append(f"    __start__ --> {_node_id(entry)}")
    for edge in structure.forward_edges:
        lines.append(f"    {_node_id(edge.source)} --> {_node_id(edge.target)}")
    for loop in spec.loops:
        condition = "if rejected, " if loop.when == "rejected" else ""
        lines.append(
            f'    {_node_id(loop.source)} -. "{condition}max {loop.max_rounds}" .-> '
            f"{_node_id(loop.target)}"
        )
    lines.append(f"    {_node_id(structure.exit)} --> __end__")
    return "\n".join(lines) + "\n"
