"""The NBI app (port NBI_PORT) and the CPE file server app (port FS_PORT).

``create_app(settings)`` is the NBI: GenieACS 1.2-compatible REST API plus /healthz, /readyz,
/metrics and the OpenAPI UI at /docs. ``create_file_app(settings)`` is the file server CPEs
reach. Both may share one Runtime (one MongoDB client, one change stream); each starts its own
when none is given.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from device_query.errors import QueryError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from pymongo.errors import OperationFailure, PyMongoError
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import (
    access,
    alarms,
    audit,
    auth,
    campaigns,
    credential_keys,
    devices,
    faults,
    files,
    history,
    oidc,
    overview,
    presets,
    provisions,
    tasks,
    tokens,
    users,
    virtual_parameters,
    whoami,
)
from .config import Settings
from .errors import ApiError
from .metrics import RequestMetrics
from .runtime import Runtime


def _error(status: int, error: str, detail: object = None, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status, headers=headers)


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, e: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": getattr(e, "challenge", "Bearer")} if e.status == 401 else None
        if getattr(e, "headers", None):  # Retry-After of a 429
            headers = {**(headers or {}), **e.headers}  # type: ignore[attr-defined]
        return _error(e.status, e.error, e.detail, headers)

    @app.exception_handler(QueryError)
    async def query_refused(_: Request, e: QueryError) -> JSONResponse:  # device_query's: a bad query or preset
        return _error(400, e.message, e.detail)

    @app.exception_handler(RequestValidationError)
    async def validation(_: Request, e: RequestValidationError) -> JSONResponse:
        return _error(400, "invalid request", [{"loc": err.get("loc"), "msg": err.get("msg")} for err in e.errors()])

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, e: StarletteHTTPException) -> JSONResponse:
        return _error(e.status_code, str(e.detail).lower(), None, getattr(e, "headers", None))

    @app.exception_handler(OperationFailure)
    async def mongo_refused(_: Request, e: OperationFailure) -> JSONResponse:
        return _error(400, "refused by the database", (e.details or {}).get("errmsg") or str(e))

    @app.exception_handler(PyMongoError)
    async def mongo_down(_: Request, e: PyMongoError) -> JSONResponse:
        return _error(503, "database unavailable", type(e).__name__, {"Retry-After": "5"})


def _lifespan(runtime: Runtime, controller: campaigns.CampaignController | None = None):
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        if controller is not None:
            controller.start()
        try:
            yield
        finally:
            if controller is not None:
                await controller.stop()
            await runtime.stop()

    return lifespan


def _install_health(app: FastAPI, runtime: Runtime) -> None:
    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        if await runtime.ready():
            return JSONResponse({"status": "ready"})
        return _error(503, "not ready", "MongoDB ping failed")


def _install_docs(app: FastAPI, settings: Settings) -> None:
    """/docs (Swagger UI) and /openapi.json. Public by default: the page holds no data, and its
    Authorize dialog takes the bearer token for the calls made from it (the HTTPBearer scheme
    every protected route declares), kept across reloads. With NBI_DOCS_PUBLIC=false both need a
    readonly token; a browser is then asked for it by a Basic challenge (token as password)."""
    guard = [] if settings.docs_public else [auth.docs_reader]

    @app.get("/openapi.json", include_in_schema=False, dependencies=guard)
    async def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, dependencies=guard)
    async def docs() -> Response:
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title="ACS NBI",
            swagger_ui_parameters={"persistAuthorization": True},
        )


def create_app(settings: Settings, runtime: Runtime | None = None) -> FastAPI:
    """The NBI. Without ``runtime`` the app owns one and starts it in its lifespan."""
    rt = runtime or Runtime(settings)
    controller = campaigns.CampaignController(rt)
    app = FastAPI(
        title="ACS northbound API",
        version="1",
        description="GenieACS 1.2-compatible device, task, fault, file and preset API. "
        "Authenticate with `Authorization: Bearer <token>` (NBI_TOKENS): on this page, "
        "**Authorize** takes the token and *Try it out* sends it.",
        lifespan=_lifespan(rt, controller),
        docs_url=None,  # served below, public or behind a token (NBI_DOCS_PUBLIC)
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.rt = rt
    app.state.campaigns = controller
    _install_errors(app)
    _install_health(app, rt)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(rt.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    _install_docs(app, settings)
    for router in (devices.router, tasks.router, faults.router, files.router, presets.router, campaigns.router,
                   overview.router, access.router, whoami.router):
        app.include_router(router)
    app.include_router(provisions.router)  # GenieACS scripts (docs/migration-genieacs.md)
    app.include_router(virtual_parameters.router)
    app.include_router(audit.router)
    app.include_router(credential_keys.router)  # re-encrypting CPE credentials (docs/security.md)
    for router in (users.router, tokens.router, oidc.router):  # users, API tokens, sign-in (docs/security.md)
        app.include_router(router)
    # Outermost but for the metrics: every write is recorded, refused ones (401, 403, 413) too.
    app.add_middleware(audit.AuditMiddleware, tokens_of=lambda: settings.tokens, trail_of=lambda: rt.audit)
    for router in (history.router, alarms.router):  # device monitoring (docs/monitoring.md)
        app.include_router(router)
    app.add_middleware(RequestMetrics, metrics=rt.metrics)
    return app


def create_file_app(settings: Settings, runtime: Runtime | None = None) -> FastAPI:
    """The CPE-facing file server: signed downloads (Range) and upload targets."""
    rt = runtime or Runtime(settings)
    app = FastAPI(title="ACS file server", lifespan=_lifespan(rt), docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.rt = rt
    _install_errors(app)
    _install_health(app, rt)
    app.include_router(files.cpe_router)
    return app
