"""Pictures of built specs: Mermaid text always, a PNG when matplotlib is installed."""

from __future__ import annotations

from pathlib import Path

import networkx as nx

from orchestrator import WorkflowSpec
from orchestrator.errors import MissingIntegrationError
from orchestrator.render import spec_mermaid

__all__ = ["mermaid", "mermaid_markdown", "save_png"]

_COLOURS = {
    "planner": "#c6dbef",
    "solver": "#e5f5e0",
    "blind_solver": "#e5f5e0",
    "verifier": "#fdd0a2",
    "rectifier": "#fee6ce",
    "judge": "#dadaeb",
    "aggregator": "#d9f0d3",
    "vote": "#f0f0f0",
    "select": "#f0f0f0",
}


def _layers(spec: WorkflowSpec) -> list[dict[str, float]]:
    """Agents by topological layer, each layer ordered by its predecessors' positions."""
    graph = spec.structure.forward
    index = {agent.name: i for i, agent in enumerate(spec.agents)}
    rank: dict[str, float] = {}
    layers: list[dict[str, float]] = []
    for generation in nx.topological_generations(graph):

        def key(name: str) -> tuple[float, int]:
            preds = [rank[p] for p in graph.predecessors(name)]
            return (sum(preds) / len(preds) if preds else 0.0, index[name])

        ordered = sorted(generation, key=key)
        middle = (len(ordered) - 1) / 2
        layer = {name: middle - i for i, name in enumerate(ordered)}
        rank.update({name: float(i) for i, name in enumerate(ordered)})
        layers.append(layer)
    return layers


def mermaid(spec: WorkflowSpec) -> str:
    """The spec as a Mermaid flowchart (see :func:`orchestrator.spec_mermaid`)."""
    return spec_mermaid(spec)


def mermaid_markdown(spec: WorkflowSpec, *, title: str | None = None) -> str:
    """A Markdown block that GitHub and most doc sites draw: a fenced ``mermaid`` chart."""
    heading = f"**{title}**\n\n" if title else ""
    return f"{heading}```mermaid\n{spec_mermaid(spec)}```\n"


def save_png(spec: WorkflowSpec, path: str | Path, *, dpi: int = 120) -> Path:
    """Draw the spec left to right in layers and save it as a PNG.

    Needs matplotlib (``pip install 'rolegraph[plot]'``); it is imported
    only here, so the rest of the package never needs it.

    Raises:
        MissingIntegrationError: matplotlib is not installed.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise MissingIntegrationError(
            "PNG pictures need matplotlib; install it with pip install 'rolegraph[plot]' "
            "(Mermaid text needs nothing: orchestrator.spec_mermaid(spec))"
        ) from exc
    graph = spec.structure.forward
    layers = _layers(spec)
    positions = {name: (x, y) for x, layer in enumerate(layers) for name, y in layer.items()}
    width = max(4.0, 1.9 * len(layers))
    height = max(2.5, 1.1 * max(len(layer) for layer in layers))
    figure, axes = plt.subplots(figsize=(width, height))
    roles = {agent.name: agent.role for agent in spec.agents}
    models = {agent.name: (agent.model or "").split("@", 1)[0] for agent in spec.agents}
    nx.draw_networkx_edges(graph, positions, ax=axes, arrows=True, node_size=2600)
    loops = [(lp.source, lp.target) for lp in spec.loops]
    if loops:
        looped = nx.DiGraph(loops)
        nx.draw_networkx_edges(
            looped,
            positions,
            ax=axes,
            style="dashed",
            edge_color="#b2182b",
            connectionstyle="arc3,rad=0.35",
            arrows=True,
            node_size=2600,
        )
    nx.draw_networkx_nodes(
        graph,
        positions,
        ax=axes,
        node_size=2600,
        node_color=[_COLOURS.get(roles[n], "#ffffff") for n in graph.nodes],
        edgecolors="#555555",
    )
    labels = {
        n: f"{n}\n{roles[n]}" + (f"\n{models[n].removeprefix('sim:')}" if models[n] else "")
        for n in graph.nodes
    }
    nx.draw_networkx_labels(graph, positions, labels=labels, ax=axes, font_size=7)
    axes.set_title(f"{spec.name} ({spec.hash})", fontsize=9)
    axes.margins(x=0.12, y=0.25)
    axes.axis("off")
    target = Path(path)
    figure.savefig(target, dpi=dpi, bbox_inches="tight")
    plt.close(figure)
    return target
