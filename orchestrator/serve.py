"""Serving a deployed workflow over HTTP (``pip install 'rolegraph[serve]'``)."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from orchestrator.deploy import DeployedWorkflow, deploy, load_spec
from orchestrator.errors import MissingIntegrationError
from orchestrator.spec import WorkflowSpec
from orchestrator.trace import RunResult

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["InvokeRequest", "BatchRequest", "load_workflow", "create_app", "serve"]


class InvokeRequest(BaseModel):
    """Body of ``POST /invoke``."""

    question: str = Field(description="The question to answer.")
    seed: int | None = Field(default=None, description="Sampling seed for this run.")


class BatchRequest(BaseModel):
    """Body of ``POST /batch``."""

    questions: list[str] = Field(description="Questions, answered concurrently.")
    seed: int | None = Field(default=None, description="Sampling seed for every run.")


def load_workflow(target: str | Path | WorkflowSpec | DeployedWorkflow) -> DeployedWorkflow:
    """A deployed workflow from a spec, a ``.json``/``.yaml`` file or an exported ``.py`` module.

    A module may define ``workflow`` (a :class:`DeployedWorkflow`) or ``spec``.
    """
    if isinstance(target, DeployedWorkflow):
        return target
    path = Path(target) if isinstance(target, str | Path) else None
    if path is not None and path.suffix == ".py":
        module_spec = importlib.util.spec_from_file_location(f"_rolegraph_{path.stem}", path)
        if module_spec is None or module_spec.loader is None:
            raise ImportError(f"cannot import {path}")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_spec.name] = module
        module_spec.loader.exec_module(module)
        found = getattr(module, "workflow", None)
        if isinstance(found, DeployedWorkflow):
            return found
        if isinstance(getattr(module, "spec", None), WorkflowSpec):
            return deploy(module.spec)
        raise AttributeError(f"{path} defines neither 'workflow' nor 'spec'")
    return deploy(load_spec(target))


def _require_fastapi() -> Any:
    try:
        import fastapi
    except ImportError as exc:
        raise MissingIntegrationError(
            "serving needs FastAPI and uvicorn: pip install 'rolegraph[serve]'"
        ) from exc
    return fastapi


def create_app(workflow: DeployedWorkflow) -> FastAPI:
    """A FastAPI app with ``/invoke``, ``/batch``, ``/spec``, ``/graph`` and ``/health``."""
    fastapi = _require_fastapi()
    app = fastapi.FastAPI(
        title=f"rolegraph: {workflow.spec.name}",
        description=workflow.spec.description or "A rolegraph workflow.",
        version=workflow.spec.hash,
    )

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "workflow": workflow.spec.hash}

    @app.get("/spec")
    async def spec() -> dict[str, Any]:
        return workflow.spec.model_dump(mode="json", exclude_defaults=True)

    @app.get("/graph", response_class=fastapi.responses.PlainTextResponse)
    async def graph() -> str:
        return workflow.spec.to_mermaid()

    @app.post("/invoke", response_model=RunResult)
    async def invoke(request: InvokeRequest) -> RunResult:
        return await workflow.ainvoke(request.question, seed=request.seed)

    @app.post("/batch", response_model=list[RunResult])
    async def batch(request: BatchRequest) -> list[RunResult]:
        runs = [workflow.ainvoke(q, seed=request.seed) for q in request.questions]
        return list(await asyncio.gather(*runs))

    return app


def serve(
    target: str | Path | WorkflowSpec | DeployedWorkflow,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
) -> None:
    """Serve a workflow with uvicorn until interrupted."""
    app = create_app(load_workflow(target))
    try:
        import uvicorn
    except ImportError as exc:
        raise MissingIntegrationError(
            "serving needs FastAPI and uvicorn: pip install 'rolegraph[serve]'"
        ) from exc
    uvicorn.run(app, host=host, port=port)
