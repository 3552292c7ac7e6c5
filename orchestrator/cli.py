"""The ``rolegraph`` command line.

Every command reports a failure as one line, ``error: <what went wrong and what
to do>``, on standard error, and exits non-zero: 2 for bad input or setup (a
missing file, an invalid spec, a missing package), 1 for a failure while
running. The global ``--debug`` option (or ``ROLEGRAPH_DEBUG=1``) shows the
full traceback instead. Other command modules reuse :func:`handle_errors`
and :func:`fail`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, NoReturn

import typer
import yaml
from pydantic import ValidationError
from rich.console import Console
from rich.table import Column, Table

from orchestrator.errors import (
    BudgetExhaustedError,
    ModelCallError,
    RolegraphError,
)
from orchestrator.render import spec_mermaid

__all__ = [
    "app",
    "DEBUG_ENV",
    "IMPORT_ENV",
    "debug_enabled",
    "describe_error",
    "fail",
    "handle_errors",
]

DEBUG_ENV = "ROLEGRAPH_DEBUG"
"""Environment variable that turns on ``--debug``."""
_DEBUG: ContextVar[bool] = ContextVar("rolegraph_debug", default=False)

app = typer.Typer(
    name="rolegraph",
    help="Search, run and serve role-agent workflows. 'sim:' models are simulated, offline.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()


IMPORT_ENV = "ROLEGRAPH_IMPORT"
"""Environment variable naming modules to import first (comma-separated), as ``--import``."""


@app.callback()
def _global_options(
    debug: Annotated[
        bool,
        typer.Option("--debug", help="Show the full traceback when a command fails."),
    ] = False,
    imports: Annotated[
        list[str] | None,
        typer.Option(
            "--import",
            help="A module to import first, which registers custom roles, tools or "
            f"topologies (repeat it; also ${IMPORT_ENV}, comma-separated). The working "
            "directory is importable.",
        ),
    ] = None,
) -> None:
    _DEBUG.set(debug)
    names = [*(imports or []), *os.environ.get(IMPORT_ENV, "").split(",")]
    if any(n.strip() for n in names):
        from orchestrator.plugins import import_modules

        with handle_errors():
            import_modules(names)


def debug_enabled() -> bool:
    """Whether ``--debug`` was given (or ``ROLEGRAPH_DEBUG`` is set to a true value)."""
    if os.environ.get(DEBUG_ENV, "").strip().lower() in {"1", "true", "yes", "on"}:
        return True
    return _DEBUG.get()


def _one_line(text: str) -> str:
    return " ".join(text.split())


def describe_error(error: BaseException) -> str:
    """One line saying what went wrong and, where it can, what to do about it."""
    if isinstance(error, RolegraphError):
        return _one_line(str(error))
    if isinstance(error, FileNotFoundError):
        return f"no such file: {error.filename or error}; check the path"
    if isinstance(error, IsADirectoryError):
        return f"{error.filename} is a directory; give a file"
    if isinstance(error, PermissionError):
        return f"permission denied: {error.filename or error}"
    if isinstance(error, OSError):
        where = f": {error.filename}" if error.filename else ""
        return _one_line(f"{error.strerror or error}{where}")
    if isinstance(error, ModuleNotFoundError) and error.name:
        package = error.name.split(".")[0].replace("_", "-")
        return f"the Python package {error.name!r} is not installed: pip install {package}"
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        name = f" in {mark.name}" if mark and mark.name and not mark.name.startswith("<") else ""
        return _one_line(f"invalid YAML{name}{where}: {error.problem or error.context}")
    if isinstance(error, json.JSONDecodeError):
        return f"invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
    if isinstance(error, UnicodeDecodeError):
        return "the file is not UTF-8 text; save it as UTF-8"
    if isinstance(error, ValidationError):
        first = error.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or error.title
        more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
        return _one_line(f"invalid {where}: {first['msg']}{more}")
    if isinstance(error, RecursionError):
        return "the input is nested too deeply"
    return _one_line(f"{type(error).__name__}: {error} (run with --debug for the traceback)")


def fail(error: BaseException | str, *, code: int | None = None) -> NoReturn:
    """Print ``error: ...`` on one line to standard error and exit.

    Args:
        error: The exception (described by :func:`describe_error`) or a message.
        code: Exit status; by default 2 for bad input or setup, 1 otherwise.
    """
    message = _one_line(error) if isinstance(error, str) else describe_error(error)
    if code is None:
        running = (ModelCallError, BudgetExhaustedError)
        input_errors = (RolegraphError, OSError, ValueError, ImportError, RecursionError)
        bad_input = isinstance(error, str) or (
            isinstance(error, input_errors) and not isinstance(error, running)
        )
        code = 2 if bad_input else 1
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=code)


@contextmanager
def handle_errors() -> Iterator[None]:
    """Turn any exception in the block into :func:`fail`, unless ``--debug`` is on.

    Usable as ``with handle_errors():`` or as a decorator ``@handle_errors()``
    under ``@app.command()``. Typer's and Click's own exits pass through.
    """
    try:
        yield
    except (typer.Exit, typer.Abort, typer.TyperException):
        raise
    except Exception as exc:
        if debug_enabled():
            raise
        fail(exc)


SpecPath = Annotated[
    Path,
    typer.Argument(
        help="A spec (.json/.yaml), or an exported workflow module (.py), which is "
        "imported and so runs: use only modules you trust."
    ),
]


@app.command()
@handle_errors()
def run(
    spec: SpecPath,
    question: Annotated[str, typer.Argument(help="The question to answer.")],
    seed: Annotated[int, typer.Option(help="Sampling seed.")] = 0,
    trace: Annotated[bool, typer.Option(help="Print every agent's step.")] = False,
) -> None:
    """Answer QUESTION with the workflow in SPEC."""
    from orchestrator.serve import load_workflow

    workflow = load_workflow(spec)
    result = workflow.invoke(question, seed=seed)
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
    console.print(result.answer, markup=False, highlight=False)
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
@handle_errors()
def validate(spec: SpecPath) -> None:
    """Validate SPEC and print its hash, entry and exit."""
    from orchestrator.deploy import load_spec

    loaded = load_spec(spec)
    structure = loaded.structure
    console.print(
        f"valid {loaded.name}: hash {loaded.hash}, {len(loaded.agents)} agents, "
        f"entry {', '.join(structure.entries)}, exit {structure.exit}",
        markup=False,
        highlight=False,
    )


@app.command()
@handle_errors()
def graph(spec: SpecPath) -> None:
    """Print SPEC as a Mermaid flowchart."""
    from orchestrator.deploy import load_spec

    print(spec_mermaid(load_spec(spec)), end="")


@app.command()
@handle_errors()
def serve(
    spec: SpecPath,
    host: Annotated[
        str, typer.Option(help="Interface to bind; anything but loopback needs a token.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="ROLEGRAPH_SERVE_TOKEN",
            show_envvar=True,
            help="Bearer token clients must send (prefer the environment variable: "
            "command lines are visible to other users).",
        ),
    ] = None,
    max_body_bytes: Annotated[
        int, typer.Option(min=1, help="Largest request body, in bytes.")
    ] = 1_048_576,
    max_batch: Annotated[int, typer.Option(min=1, help="Most questions per /batch.")] = 32,
    max_concurrency: Annotated[
        int, typer.Option(min=1, help="Workflow runs in flight at once, server-wide.")
    ] = 8,
    timeout: Annotated[
        float, typer.Option(min=0.001, help="Seconds per request; runs are cancelled after.")
    ] = 120.0,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            help="A Host header value to accept (repeat it); default: loopback names only. "
            "Behind a proxy, name the public host."
        ),
    ] = None,
) -> None:
    """Serve SPEC over HTTP (needs the 'serve' extra). See docs/security.md."""
    from orchestrator.serve import ServeLimits
    from orchestrator.serve import serve as serve_workflow

    limits = ServeLimits(
        max_body_bytes=max_body_bytes,
        max_batch=max_batch,
        max_concurrency=max_concurrency,
        request_timeout=timeout,
    )
    serve_workflow(
        spec, host=host, port=port, token=token, limits=limits, allowed_hosts=allowed_host
    )


@app.command()
def profiles() -> None:
    """List the simulated model profiles (their numbers describe the simulator only)."""
    from orchestrator.sim import get_profile, list_profiles

    table = Table(
        Column("model", no_wrap=True),  # a name cut in two cannot be copied
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

    table = Table(Column("role", no_wrap=True), "calls a model", "description")
    for name in list_roles():
        role = get_role(name)
        table.add_row(name, "yes" if role.uses_model else "no", role.description)
    console.print(table)


if __name__ == "__main__":  # pragma: no cover
    app()
