"""The ``rolegraph`` command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from orchestrator.errors import RolegraphError

__all__ = ["app"]

app = typer.Typer(
    name="rolegraph",
    help="Search, run and serve role-agent workflows. 'sim:' models are simulated, offline.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()

SpecPath = Annotated[
    Path, typer.Argument(help="A spec (.json/.yaml) or an exported workflow module (.py).")
]


def _fail(error: Exception) -> None:
    console.print(f"[red]error:[/red] {error}")
    raise typer.Exit(code=2)


@app.command()
def run(
    spec: SpecPath,
    question: Annotated[str, typer.Argument(help="The question to answer.")],
    seed: Annotated[int, typer.Option(help="Sampling seed.")] = 0,
    trace: Annotated[bool, typer.Option(help="Print every agent's step.")] = False,
) -> None:
    """Answer QUESTION with the workflow in SPEC."""
    from orchestrator.serve import load_workflow

    try:
        workflow = load_workflow(spec)
        result = workflow.invoke(question, seed=seed)
    except (RolegraphError, OSError, ValueError) as exc:
        _fail(exc)
        return
    if trace:
        table = Table("agent", "role", "answer", "tokens", "cost $", "parse error")
        for node in result.nodes:
            table.add_row(
                node.agent,
                node.role,
                str(node.answer),
                str(node.usage.total_tokens),
                f"{node.cost:.6f}",
                node.parse_error or "",
            )
        console.print(table)
    console.print(result.answer)
    model_note = (
        " (simulated models)"
        if any((n.model or "").startswith("sim:") for n in result.nodes)
        else ""
    )
    console.print(
        f"[dim]{result.calls} model calls, {result.usage.total_tokens} tokens, "
        f"${result.cost:.6f}{model_note}[/dim]"
    )


@app.command()
def validate(spec: SpecPath) -> None:
    """Validate SPEC and print its hash, entry and exit."""
    from orchestrator.deploy import load_spec

    try:
        loaded = load_spec(spec)
    except (RolegraphError, OSError, ValueError) as exc:
        _fail(exc)
        return
    structure = loaded.structure
    console.print(
        f"[green]valid[/green] {loaded.name}: hash {loaded.hash}, {len(loaded.agents)} agents, "
        f"entry {', '.join(structure.entries)}, exit {structure.exit}"
    )


@app.command()
def graph(spec: SpecPath) -> None:
    """Print SPEC as a Mermaid flowchart."""
    from orchestrator.deploy import load_spec

    try:
        print(load_spec(spec).to_mermaid(), end="")
    except (RolegraphError, OSError, ValueError) as exc:
        _fail(exc)


@app.command()
def serve(
    spec: SpecPath,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
) -> None:
    """Serve SPEC over HTTP (needs the 'serve' extra)."""
    from orchestrator.serve import serve as serve_workflow

    try:
        serve_workflow(spec, host=host, port=port)
    except (RolegraphError, OSError, ValueError) as exc:
        _fail(exc)


@app.command()
def profiles() -> None:
    """List the simulated model profiles (their numbers describe the simulator only)."""
    from orchestrator.sim import get_profile, list_profiles

    table = Table(
        "model",
        "family",
        "reasoning",
        "arithmetic",
        "verifier TPR/FPR",
        "$ in/out per 1M",
        title="Simulated models (not real LLMs)",
    )
    for name in list_profiles():
        p = get_profile(name)
        table.add_row(
            f"sim:{name}",
            p.family,
            f"{p.reasoning:.3f}",
            f"{p.arithmetic:.3f}",
            f"{p.verifier_tpr:.2f}/{p.verifier_fpr:.2f}",
            f"{p.input_price:.2f}/{p.output_price:.2f}",
        )
    console.print(table)


@app.command()
def roles() -> None:
    """List the registered roles."""
    from orchestrator.roles import get_role, list_roles

    table = Table("role", "calls a model", "description")
    for name in list_roles():
        role = get_role(name)
        table.add_row(name, "yes" if role.uses_model else "no", role.description)
    console.print(table)


if __name__ == "__main__":  # pragma: no cover
    app()
