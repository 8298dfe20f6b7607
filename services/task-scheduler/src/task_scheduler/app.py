"""The scheduler process: wiring, the admin HTTP endpoints (/metrics, /healthz, /readyz)."""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pymongo import AsyncMongoClient

from acs_contracts import gc_tuning
from acs_contracts.kafka_client import ensure_topics
from acs_contracts.mongo_collections import PRESETS, ensure_indexes

from . import tenants
from .config import Settings
from .consumer import SessionConsumer
from .device_session import SessionDriver
from .outbound import Outbound
from .provisioning import Provisioner, ProvisioningSettings
from .provisioning.consistent_store import ReadYourWritesStore
from .replies import ReplySender
from .store import BatchWriter

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, settings: Settings) -> None:
        self.s = settings
        tenants.configure(settings.tenant_rules)  # ACS_TENANT_RULES: who owns a new device
        self.mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_uri, serverSelectionTimeoutMS=5000)
        db = self.mongo[settings.mongodb_database]
        self.writer = BatchWriter(db, settings.write_batch_max, settings.write_batch_ms / 1000)
        self.store = ReadYourWritesStore(db, self.writer, settings.inform_digest_cache, tasks_poll_s=settings.tasks_poll_s,
                                         tasks_refresh_s=settings.tasks_refresh_s)  # presets read what the Inform just wrote
        self.replies = ReplySender(secret=settings.affinity_secret or None)
        self.outbound = Outbound(settings.kafka)
        self.provisioner = Provisioner(ProvisioningSettings(
            bootstrap_defaults=settings.bootstrap_defaults, periodic_inform_interval_s=settings.periodic_inform_interval_s,
            max_iterations=settings.provision_max_iterations, gpv_batch_size=settings.gpv_batch_size,
            provisions_dir=settings.provisions_dir, function_timeout_s=settings.provision_function_timeout_s,
            presets_poll_s=settings.presets_poll_s, script_cpu_ms=settings.script_cpu_ms,
            script_memory_mb=settings.script_memory_mb, ext_dir=settings.ext_dir, ext_timeout_s=settings.ext_timeout_s,
            files_base_url=settings.files_base_url, files_secret=settings.files_secret,
            file_url_ttl_s=settings.file_url_ttl_s), db[PRESETS])
        self.driver = SessionDriver(settings, self.store, self.replies, self.outbound, provisioner=self.provisioner)
        self.consumer = SessionConsumer(settings, self.driver, self.writer)
        self._run_task: asyncio.Task | None = None

    async def start(self) -> None:
        await ensure_topics(self.s.session_events_partitions, self.s.kafka)
        await ensure_indexes(self.mongo[self.s.mongodb_database])
        self.writer.start()
        await self.store.start()
        await self.provisioner.start()
        await self.outbound.start()
        await self.consumer.start()
        self._run_task = asyncio.create_task(self.consumer.run(), name="session-consumer")

    async def stop(self) -> None:
        if self._run_task:
            self._run_task.cancel()
        await self.consumer.stop()
        await self.writer.stop()
        await self.store.stop()
        await self.provisioner.stop()
        await self.outbound.stop()
        await self.replies.close()
        await self.mongo.close()

    async def ready(self) -> dict[str, bool]:
        try:
            await asyncio.wait_for(self.mongo.admin.command("ping"), 3)
            mongo_ok = True
        except Exception:
            mongo_ok = False
        kafka_ok = self.consumer.assigned_once and self._run_task is not None and not self._run_task.done()
        try:
            kafka_ok = kafka_ok and bool(await asyncio.wait_for(self.consumer.consumer.topics(), 3))
        except Exception:
            kafka_ok = False
        return {"kafka": kafka_ok, "mongodb": mongo_ok}


def create_app(settings: Settings) -> FastAPI:
    sched = Scheduler(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await sched.start()
        gc_tuning.freeze_startup()
        try:
            yield
        finally:
            await sched.stop()

    app = FastAPI(title="ACS task scheduler", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.scheduler = sched

    @app.get("/metrics")
    async def metrics_endpoint() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz")
    async def healthz() -> dict:
        prov = sched.provisioner
        return {"status": "ok", "sessions": len(sched.driver.sessions), "tasks_poll": sched.store.tasks_poll_ok,
                "presets": {"loaded": len(prov.presets), "rejected": prov.rejected, "generation": prov.generation}}

    @app.get("/readyz")
    async def readyz() -> Response:
        checks = await sched.ready()
        ok = all(checks.values())
        return Response(orjson.dumps({"ready": ok, **checks}), status_code=200 if ok else 503, media_type="application/json")

    return app
