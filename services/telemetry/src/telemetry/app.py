"""The telemetry process: the collector's HTTP app (reports, /healthz, /readyz, /metrics) and,
with TELEMETRY_WRITER=on, the history writer and alarm evaluator in the same event loop. Either
half can be turned off to scale them apart (collectors behind a load balancer, writers in one
consumer group)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pymongo import AsyncMongoClient
from starlette.types import ASGIApp

from acs_contracts.kafka_client import ensure_topics

from . import collector
from .config import Settings
from .writer import HistoryWriter

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> FastAPI:
    publisher = collector.Publisher(settings.kafka) if settings.collector else None
    writer = HistoryWriter(settings) if settings.writer else None
    ping_client: AsyncMongoClient = AsyncMongoClient(settings.mongodb_uri, serverSelectionTimeoutMS=2000)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await ensure_topics(settings.session_events_partitions, settings.kafka)
        if publisher is not None:
            await publisher.start()
        if writer is not None:
            await writer.start()
        try:
            yield
        finally:
            if writer is not None:
                await writer.stop()
            if publisher is not None:
                await publisher.stop()
            await ping_client.close()

    app = FastAPI(title="ACS telemetry", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.publisher = publisher
    app.state.writer = writer

    @app.get("/healthz")
    async def healthz() -> dict[str, object]:
        return {"status": "ok", "collector": publisher is not None, "writer": writer is not None,
                "written": writer.written if writer is not None else 0}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        try:
            await ping_client[settings.mongodb_database].command("ping")
        except Exception as e:  # noqa: BLE001 - any failure means not ready
            return JSONResponse({"error": "not ready", "detail": f"MongoDB: {type(e).__name__}"}, status_code=503)
        return JSONResponse({"status": "ready"})

    @app.get("/metrics")
    async def prometheus() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app


def create_asgi(settings: Settings) -> ASGIApp:
    """The process's ASGI app: reports on the fast path (``collector.ReportsASGI``), the rest FastAPI."""
    app = create_app(settings)
    publisher = app.state.publisher
    return collector.ReportsASGI(app, settings, publisher) if publisher is not None else app
