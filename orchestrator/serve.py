"""Serving a deployed workflow over HTTP (``pip install 'rolegraph[serve]'``).

The server is meant to sit behind a reverse proxy, so it protects itself:

- **Bearer token.** With a token (``token=``, ``--token`` or the
  ``ROLEGRAPH_SERVE_TOKEN`` environment variable), ``/invoke`` and ``/batch``
  answer only requests carrying ``Authorization: Bearer <token>``; the token is
  checked before the body is read. A token is required to bind anything but a
  loopback address, and with one the ``/docs`` and ``/openapi.json`` pages are off.
- **Host allow-list.** Requests whose ``Host`` header is not in ``allowed_hosts``
  (loopback names by default) get 400, so a web page cannot reach a token-less
  loopback server through DNS rebinding.
- **System prompts stay private.** ``/spec`` shows the workflow's structure only
  (no prompts, role options or metadata) to requests without the token, and the
  traces of ``/invoke`` and ``/batch`` show prompts only to token holders.
- **Limits** (:class:`ServeLimits`): request body size, questions per batch,
  model-calling runs in flight server-wide, a per-request timeout whose expiry
  cancels the request's runs and so their model calls, and a read timeout: a
  connection that has not sent a whole request in time is closed (slowloris).
  Tool calls per reply and per run are capped (:mod:`orchestrator.tools`).
- **Errors.** Invalid input gets 422 (invalid Unicode too) without the input
  echoed back; a model that fails after its retries gets 502.
- **Budget.** An optional :class:`~orchestrator.runtime.CallLedger` is consulted
  before every model call of every request; when it refuses, the request gets 402.

See ``docs/security.md`` for how to run it safely.
"""

from __future__ import annotations

import asyncio
import errno
import hmac
import importlib.util
import ipaddress
import itertools
import logging
import math
import os
import sys
import weakref
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict

from orchestrator.deploy import Deployed, DeployedWorkflow, deploy, load_spec
from orchestrator.errors import (
    BudgetExhaustedError,
    MissingIntegrationError,
    ModelCallError,
    ModelTimeoutError,
    ServeConfigError,
    SpecFormatError,
)
from orchestrator.metering import CallLedger
from orchestrator.render import spec_mermaid
from orchestrator.runtime import CONTEXT_KEY, RunContext
from orchestrator.spec import WorkflowSpec
from orchestrator.trace import RunResult

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = [
    "TOKEN_ENV",
    "MIN_TOKEN_CHARS",
    "MAX_QUESTION_CHARS",
    "MAX_BATCH_QUESTIONS",
    "REDACTED",
    "ServeLimits",
    "InvokeRequest",
    "BatchRequest",
    "FeedbackRequest",
    "LOOPBACK_HOSTS",
    "is_loopback",
    "redacted_spec",
    "load_workflow",
    "create_app",
    "server_config",
    "serve",
]

TOKEN_ENV = "ROLEGRAPH_SERVE_TOKEN"
"""Environment variable read for the bearer token when none is passed."""
MIN_TOKEN_CHARS = 16
"""Shortest token accepted."""
MAX_QUESTION_CHARS = 100_000
"""Longest question a request may carry, whatever the body limit."""
MAX_BATCH_QUESTIONS = 1_000
"""Most questions a ``/batch`` request may carry; :attr:`ServeLimits.max_batch` is lower."""
REDACTED = "[redacted]"
"""What replaces a system prompt for requests without the token."""
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]")
"""The ``Host`` names a server accepts by default."""
EVICT_AFTER_S = 1.0
"""When every connection slot is taken, one that has waited this long for a whole request
may be closed to make room for a client that sends one (serve() only)."""
_PROTECTED = frozenset({"/invoke", "/batch"})
_UNAUTHORIZED = "missing or wrong bearer token; send 'Authorization: Bearer <token>'"
_MAX_LOC_CHARS = 64

_log = logging.getLogger(__name__)
_T = TypeVar("_T")
_Seed = Annotated[int, Strict()]


class ServeLimits(BaseModel):
    """The server's limits; the defaults suit one modest machine behind a proxy."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_body_bytes: int = Field(
        default=1_048_576, ge=1, description="Largest request body, in bytes (413 above it)."
    )
    max_batch: int = Field(
        default=32,
        ge=1,
        le=MAX_BATCH_QUESTIONS,
        description="Most questions in one /batch request (413 above it).",
    )
    max_concurrency: int = Field(
        default=8,
        ge=1,
        description="Workflow runs in flight at once, server-wide, shared by /invoke and "
        "/batch; further runs wait for a slot.",
    )
    request_timeout: float = Field(
        default=120.0,
        gt=0,
        description="Seconds a request may take, waiting included; on expiry its runs "
        "are cancelled, which cancels their model calls, and it gets 504.",
    )
    max_connections: int = Field(
        default=64,
        ge=1,
        description="Open connections uvicorn accepts before answering 503 (serve() only).",
    )
    read_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a connection has to send a whole request (headers and body) "
        "once it opens or its last reply is sent; then it is closed (serve() only).",
    )


def _utf8(value: str) -> str:
    """Refuse text that cannot be UTF-8: a lone surrogate such as U+D800."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("the text is not valid Unicode (a lone surrogate)") from None
    return value


_Text = Annotated[str, Field(min_length=1, max_length=MAX_QUESTION_CHARS), AfterValidator(_utf8)]


class InvokeRequest(BaseModel):
    """Body of ``POST /invoke``."""

    model_config = ConfigDict(extra="forbid")

    question: _Text = Field(description="The question to answer.")
    seed: _Seed | None = Field(
        default=None, ge=-(2**63), lt=2**63, description="Sampling seed for this run."
    )


class BatchRequest(BaseModel):
    """Body of ``POST /batch``."""

    model_config = ConfigDict(extra="forbid")

    questions: list[_Text] = Field(
        min_length=1,
        max_length=MAX_BATCH_QUESTIONS,
        description="Questions, answered concurrently within the server's concurrency limit.",
    )
    seed: _Seed | None = Field(
        default=None, ge=-(2**63), lt=2**63, description="Sampling seed for every run."
    )


def is_loopback(host: str) -> bool:
    """Whether ``host`` names only this machine (``localhost``, ``127.0.0.0/8``, ``::1``)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def load_workflow(target: str | Path | WorkflowSpec | Deployed) -> Deployed:
    """A deployed workflow from a spec, a ``.json``/``.yaml`` file or an exported ``.py`` module.

    A module may define ``workflow`` (any :class:`Deployed`: a workflow, or a router
    exported by ``search.routing``) or ``spec``.
    A ``.py`` file is *imported*, so it runs: load only modules you trust. A
    ``.json``/``.yaml`` spec is data and never runs.

    Raises:
        FileNotFoundError: No such file.
        SpecError: The spec is invalid, or the module defines no workflow.
    """
    if isinstance(target, Deployed):
        return target
    path = Path(target) if isinstance(target, str | Path) else None
    if path is not None and path.suffix == ".py":
        if not path.is_file():
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(path))
        module_spec = importlib.util.spec_from_file_location(f"_rolegraph_{path.stem}", path)
        if module_spec is None or module_spec.loader is None:  # pragma: no cover
            raise SpecFormatError(f"cannot import {path} as a Python module")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_spec.name] = module
        module_spec.loader.exec_module(module)
        found = getattr(module, "workflow", None)
        if isinstance(found, Deployed):
            return found
        if isinstance(getattr(module, "spec", None), WorkflowSpec):
            return deploy(module.spec)
        raise SpecFormatError(
            f"{path} defines neither 'workflow' (a deployed workflow) nor 'spec'; "
            "write it with DeployedWorkflow.export() or 'rolegraph export'"
        )
    return deploy(load_spec(target))


def _require_fastapi() -> Any:
    try:
        import fastapi
    except ImportError as exc:
        raise MissingIntegrationError(
            "serving needs FastAPI and uvicorn: pip install 'rolegraph[serve]'"
        ) from exc
    return fastapi


def _check_token(token: str | None) -> str | None:
    if token is None:
        return None
    if len(token) < MIN_TOKEN_CHARS or token != token.strip():
        raise ServeConfigError(
            f"the serve token must be at least {MIN_TOKEN_CHARS} characters without "
            'surrounding spaces; make one with: python -c "import secrets; '
            'print(secrets.token_urlsafe(32))"'
        )
    return token


class _Slots:
    """One semaphore per event loop (a server runs one loop), bounding runs in flight."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]
        self._by_loop = weakref.WeakKeyDictionary()

    def get(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        semaphore = self._by_loop.get(loop)
        if semaphore is None:
            semaphore = self._by_loop[loop] = asyncio.Semaphore(self.size)
        return semaphore


def redacted_spec(spec: WorkflowSpec) -> dict[str, Any]:
    """The spec's structure as JSON data, for requests without the token.

    Every agent's ``prompt`` is replaced by :data:`REDACTED`; role ``options`` and the
    spec's ``metadata`` (which may hold URLs, emails, notes) are left out.
    """
    data = spec.model_dump(mode="json", exclude_defaults=True)
    data.pop("metadata", None)
    for agent in data.get("agents", []):
        agent.pop("options", None)
        agent.pop("metadata", None)
        if "prompt" in agent:
            agent["prompt"] = REDACTED
    return data


def _validation_errors(errors: Any) -> list[dict[str, Any]]:
    """Validation errors without the input: its type, where, and what rule it broke."""
    cleaned = []
    for error in errors:
        loc = [
            part if isinstance(part, int) else str(part)[:_MAX_LOC_CHARS]
            for part in error.get("loc", ())
        ]
        cleaned.append({"type": error.get("type"), "loc": loc, "msg": error.get("msg")})
    return cleaned[:20]


class FeedbackRequest(BaseModel):
    """Body of ``POST /feedback`` (servers of workflows that learn from feedback)."""

    model_config = ConfigDict(extra="forbid")

    run_id: str = Field(min_length=1, max_length=200, description="The run's id.")
    score: float = Field(ge=0.0, le=1.0, description="How good its answer was, in [0, 1].")


def _identity(workflow: Deployed) -> str:
    return str(getattr(workflow, "hash", workflow.name))


def create_app(
    workflow: Deployed,
    *,
    token: str | None = None,
    limits: ServeLimits | None = None,
    ledger: CallLedger | None = None,
    allowed_hosts: Sequence[str] | None = None,
) -> FastAPI:
    """A FastAPI app with ``/invoke``, ``/batch``, ``/spec``, ``/graph`` and ``/health``.

    A workflow with an ``afeedback(run_id, score)`` method (a router) also gets
    ``POST /feedback``, guarded by the token like ``/invoke``.

    Args:
        workflow: The workflow to serve.
        token: Bearer token required by ``/invoke`` and ``/batch`` and needed to
            see system prompts; ``None`` leaves the endpoints open (loopback only).
            With a token the ``/docs`` and ``/openapi.json`` pages are off.
        limits: Body size, batch size, concurrency and timeout limits.
        ledger: Budget consulted before every model call; defaults to the
            workflow's own ledger, if any.
        allowed_hosts: ``Host`` header values accepted (``*.example.com`` wildcards
            allowed); default :data:`LOOPBACK_HOSTS`. Behind a proxy, name the
            public host.

    Raises:
        ServeConfigError: The token is too short.
        MissingIntegrationError: FastAPI is not installed.
    """
    fastapi = _require_fastapi()
    token = _check_token(token)
    limits = limits or ServeLimits()
    budget = ledger if ledger is not None else workflow.ledger
    slots = _Slots(limits.max_concurrency)
    protected = set(_PROTECTED)
    pages: dict[str, Any] = (
        {"docs_url": None, "redoc_url": None, "openapi_url": None} if token is not None else {}
    )
    app = fastapi.FastAPI(
        title=f"rolegraph: {workflow.name}",
        description="A rolegraph workflow. Prompts are shown only to requests with the token.",
        version=_identity(workflow),
        max_body_size=limits.max_body_bytes,
        **pages,
    )
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Any, exc: RequestValidationError) -> Any:
        return JSONResponse(status_code=422, content={"detail": _validation_errors(exc.errors())})

    @app.middleware("http")
    async def token_first(request: Any, call_next: Callable[[Any], Awaitable[Any]]) -> Any:
        # Before the body is read or parsed: a request without the token learns nothing.
        path = request.url.path
        if (
            token is not None
            and path in protected
            and not has_token(request.headers.get("authorization"))
        ):
            return JSONResponse(
                status_code=401,
                content={"detail": _UNAUTHORIZED},
                headers={"WWW-Authenticate": "Bearer"},
            )
        return await call_next(request)

    app.add_middleware(
        TrustedHostMiddleware,
        allowed_hosts=list(allowed_hosts) if allowed_hosts is not None else list(LOOPBACK_HOSTS),
    )

    def has_token(authorization: str | None) -> bool:
        if token is None or not authorization:
            return False
        scheme, _, given = authorization.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), token.encode()
        )

    def require_token(authorization: str | None) -> bool:
        """Let the request through, or answer 401; returns whether it carried the token."""
        carried = has_token(authorization)
        if token is not None and not carried:
            raise fastapi.HTTPException(
                status_code=401, detail=_UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"}
            )
        return carried

    async def run_one(question: str, seed: int | None, prompts: bool) -> RunResult:
        async with slots.get():
            context = RunContext(
                seed=workflow.seed if seed is None else seed,
                ledger=budget,
                record_prompts=prompts,
            )
            return await workflow.ainvoke(
                question, config={"configurable": {CONTEXT_KEY: context}}
            )

    async def guarded(work: Callable[[], Awaitable[_T]]) -> _T:
        """Run under the request timeout, mapping run failures to HTTP errors."""
        try:
            async with asyncio.timeout(limits.request_timeout):
                return await work()
        except BudgetExhaustedError as exc:
            raise fastapi.HTTPException(status_code=402, detail=f"budget: {exc}") from None
        except ModelTimeoutError as exc:
            raise fastapi.HTTPException(status_code=504, detail=str(exc)) from None
        except TimeoutError:
            raise fastapi.HTTPException(
                status_code=504,
                detail=f"the request took longer than {limits.request_timeout:g}s; its runs "
                "were cancelled",
            ) from None
        except ModelCallError as exc:
            raise fastapi.HTTPException(
                status_code=502, detail=f"a model call failed: {exc}"
            ) from None
        except fastapi.HTTPException:
            raise
        except Exception as exc:
            # A provider's error after its retries (rate limit, 5xx, connection): the
            # details stay in the server's log, which may hold what the reply must not.
            _log.exception("a run failed")
            raise fastapi.HTTPException(
                status_code=502,
                detail=f"a model call failed after its retries ({type(exc).__name__})",
            ) from None

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "workflow": _identity(workflow)}

    header = fastapi.Header(default=None, description="'Bearer <token>'")

    @app.get("/spec")
    async def spec(authorization: str | None = header) -> dict[str, Any]:
        if not isinstance(workflow, DeployedWorkflow):
            describe = getattr(workflow, "describe", None)
            return describe() if callable(describe) else {"name": workflow.name}
        if has_token(authorization):
            return workflow.spec.model_dump(mode="json", exclude_defaults=True)
        return redacted_spec(workflow.spec)

    @app.get("/graph", response_class=fastapi.responses.PlainTextResponse)
    async def graph() -> str:
        if isinstance(workflow, DeployedWorkflow):
            return spec_mermaid(workflow.spec)
        return workflow.get_graph().draw_mermaid()

    result_type: Any = workflow.OutputType

    afeedback = getattr(workflow, "afeedback", None)
    if callable(afeedback):
        protected.add("/feedback")

        @app.post("/feedback")
        async def feedback(
            body: FeedbackRequest, authorization: str | None = header
        ) -> dict[str, str]:
            require_token(authorization)
            try:
                await afeedback(body.run_id, body.score)
            except KeyError:
                raise fastapi.HTTPException(status_code=404, detail="no such run") from None
            except ValueError as exc:
                raise fastapi.HTTPException(status_code=409, detail=str(exc)) from None
            return {"status": "ok"}

    @app.post("/invoke", response_model=result_type)
    async def invoke(body: InvokeRequest, authorization: str | None = header) -> RunResult:
        prompts = require_token(authorization)
        return await guarded(lambda: run_one(body.question, body.seed, prompts))

    @app.post("/batch", response_model=list[result_type])
    async def batch(body: BatchRequest, authorization: str | None = header) -> list[RunResult]:
        prompts = require_token(authorization)
        if len(body.questions) > limits.max_batch:
            raise fastapi.HTTPException(
                status_code=413,
                detail=f"{len(body.questions)} questions is more than this server's limit of "
                f"{limits.max_batch} per batch; split the batch",
            )

        async def run_all() -> list[RunResult]:
            # A TaskGroup cancels the other runs as soon as one fails or the timeout hits.
            try:
                async with asyncio.TaskGroup() as group:
                    tasks = [
                        group.create_task(run_one(q, body.seed, prompts)) for q in body.questions
                    ]
            except BaseExceptionGroup as failed:
                raise _first(failed) from None
            return [task.result() for task in tasks]

        return await guarded(run_all)

    return app


def _first(group: BaseExceptionGroup[BaseException]) -> BaseException:
    error: BaseException = group
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error


def _read_timeout_protocol(seconds: float) -> type[Any]:
    """The h11 protocol of uvicorn, closing connections that do not send a whole request in time.

    uvicorn times out idle keep-alive connections only after a reply, and a request's
    headers or body may trickle in forever: a few slow clients then hold every
    connection slot (slowloris). This closes a connection whose request is not complete
    ``seconds`` after it opened or after its last reply. And when every slot is taken
    and a client sends data, the connections that have waited longest (at least
    :data:`EVICT_AFTER_S`) without a whole request are closed to make room, instead of
    answering the new client 503.
    """
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    arrivals = itertools.count()

    class ReadTimeoutH11Protocol(H11Protocol):
        _read_timer: asyncio.TimerHandle | None = None
        _waiting_since = (0.0, 0)  # (loop time, arrival): the clock ties within a loop turn

        def _arm(self) -> None:
            self._disarm()
            self._waiting_since = (self.loop.time(), next(arrivals))
            self._read_timer = self.loop.call_later(seconds, self._read_timed_out)

        def _evict_waiting(self) -> None:
            """Close the connections waiting longest for a request, until a slot is free."""
            limit = self.limit_concurrency
            if limit is None or len(self.connections) < limit:
                return
            oldest = self.loop.time() - EVICT_AFTER_S
            waiting = sorted(
                (
                    c
                    for c in self.connections
                    if c is not self
                    and isinstance(c, ReadTimeoutH11Protocol)
                    and c._read_timer is not None
                    and c._waiting_since[0] <= oldest
                ),
                key=lambda c: c._waiting_since,
            )
            for victim in waiting:
                if len(self.connections) < limit:
                    break
                victim._disarm()
                self.connections.discard(victim)  # its slot is free now, not at close
                victim.transport.close()

        def data_received(self, data: bytes) -> None:
            self._evict_waiting()
            super().data_received(data)

        def _disarm(self) -> None:
            if self._read_timer is not None:
                self._read_timer.cancel()
                self._read_timer = None

        def _read_timed_out(self) -> None:
            self._read_timer = None
            if not self.transport.is_closing():
                self.transport.close()

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def handle_events(self) -> None:
            super().handle_events()
            if self.conn.their_state in (h11.DONE, h11.MUST_CLOSE, h11.CLOSED):
                self._disarm()  # the whole request is in: the app's own timeout applies

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()

    return ReadTimeoutH11Protocol


def server_config(app: Any, *, host: str, port: int, limits: ServeLimits | None = None) -> Any:
    """The ``uvicorn.Config`` :func:`serve` runs ``app`` with: limits and timeouts applied."""
    import uvicorn

    limits = limits or ServeLimits()
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=_read_timeout_protocol(limits.read_timeout),
        limit_concurrency=limits.max_connections,
        timeout_keep_alive=max(1, min(5, math.ceil(limits.read_timeout))),
        h11_max_incomplete_event_size=16 * 1024,  # headers larger than this get 400
        server_header=False,
    )


def serve(
    target: str | Path | WorkflowSpec | Deployed,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    token: str | None = None,
    limits: ServeLimits | None = None,
    ledger: CallLedger | None = None,
    allowed_hosts: Sequence[str] | None = None,
) -> None:
    """Serve a workflow with uvicorn until interrupted.

    Args:
        target: A workflow, a spec, or a path to one (``.json``/``.yaml``/``.py``).
        host: Interface to bind; anything but loopback needs a token.
        port: Port to bind.
        token: Bearer token; defaults to the ``ROLEGRAPH_SERVE_TOKEN`` environment variable.
        limits: The server's limits.
        ledger: Server-wide budget consulted before every model call.
        allowed_hosts: ``Host`` header values accepted; default :data:`LOOPBACK_HOSTS`
            (behind a proxy, name the public host).

    Raises:
        ServeConfigError: A non-loopback address without a token, or a short token.
        MissingIntegrationError: FastAPI or uvicorn is not installed.
    """
    token = _check_token(token or os.environ.get(TOKEN_ENV) or None)
    if token is None and not is_loopback(host):
        raise ServeConfigError(
            f"refusing to serve on {host} without a token: anyone who can reach it could "
            f"spend your model budget. Set {TOKEN_ENV} (or pass --token), or bind 127.0.0.1 "
            "and put an authenticating reverse proxy in front"
        )
    limits = limits or ServeLimits()
    try:
        import uvicorn
    except ImportError as exc:
        raise MissingIntegrationError(
            "serving needs FastAPI and uvicorn: pip install 'rolegraph[serve]'"
        ) from exc
    app = create_app(
        load_workflow(target),
        token=token,
        limits=limits,
        ledger=ledger,
        allowed_hosts=allowed_hosts,
    )
    uvicorn.Server(server_config(app, host=host, port=port, limits=limits)).run()
