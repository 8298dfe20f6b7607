"""The Bulk Data collector: CPEs POST TR-232 reports here (port TELEMETRY_PORT, path /bulkdata).

A report is authenticated (HTTP Basic, per device: ``auth``), decompressed and parsed (``reports``),
then published as one ``MetricSamples`` on ``acs.metrics.v1`` keyed by device id; the CPE gets 204
only once the broker acknowledged it (``acks=all``), so an acknowledged report is never lost. The
broker unreachable: 503 with Retry-After (the CPE's HTTP.RetryEnable retries). Unreadable reports:
400 naming the fault; nothing is published from them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer
from starlette.types import ASGIApp, Receive, Scope, Send

from acs_contracts.kafka_client import producer_kwargs
from acs_contracts.kafka_topics import MetricSamples
from acs_contracts.settings import KafkaSettings

from . import metrics
from .auth import authenticate
from .reports import ReportError, decompress, parse_report, report_format

log = logging.getLogger(__name__)


class Publisher:
    """The collector's producer (idempotent, acks=all), started with the app."""

    def __init__(self, kafka: KafkaSettings | None) -> None:
        self._kw = producer_kwargs(kafka)
        self.producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        self.producer = AIOKafkaProducer(**self._kw, linger_ms=2, compression_type=None)
        await self.producer.start()

    async def stop(self) -> None:
        if self.producer is not None:
            await self.producer.stop()

    async def publish(self, msg: MetricSamples, timeout_s: float = 10.0) -> None:
        assert self.producer is not None
        fut = await self.producer.send(msg.TOPIC, msg.encode(), key=msg.device_id.encode())
        await asyncio.wait_for(fut, timeout_s)


Headers = dict[str, str]


def _json(status: int, error: str, detail: Any = None, headers: Headers | None = None) -> tuple[int, bytes, Headers]:
    return status, orjson.dumps({"error": error, "detail": detail}), {"content-type": "application/json", **(headers or {})}


async def handle(settings: Any, publisher: Publisher, headers: Headers, body: bytes | None) -> tuple[int, bytes, Headers]:
    """One Bulk Data report: (status, body, headers) of the answer. ``body`` None: over the limit."""
    device = authenticate(settings.bulkdata_secret, headers.get("authorization", ""))
    if device is None:
        metrics.REPORTS.labels("-", "unauthorized").inc()
        return _json(401, "authentication required", "HTTP Basic: the device id and its Bulk Data password",
                     {"www-authenticate": 'Basic realm="ACS Bulk Data", charset="UTF-8"'})
    received = time.time()
    if body is None:
        metrics.REPORTS.labels("-", "too-large").inc()
        return _json(413, "report too large", {"limit": settings.max_report_bytes})
    try:
        fmt = report_format(headers.get("bbf-report-format", ""), headers.get("content-type", ""))
        data = decompress(body, headers.get("content-encoding", ""), settings.max_report_bytes)
        samples = parse_report(data, fmt, received)
    except ReportError as e:
        metrics.REPORTS.labels("-", "bad").inc()
        log.info("bad Bulk Data report from %s: %s", device, e)
        return _json(400, "bad report", str(e))
    msg = MetricSamples(device_id=device, timestamp=received, source="bulkdata", samples=samples, report_format=fmt)
    try:
        await publisher.publish(msg)
    except Exception as e:  # noqa: BLE001 - broker down or slow: the CPE keeps the report and retries
        metrics.REPORTS.labels(fmt, "unavailable").inc()
        log.warning("publishing a report of %s failed: %s", device, e)
        return _json(503, "broker unavailable", type(e).__name__, {"retry-after": "30"})
    metrics.REPORTS.labels(fmt, "ok").inc()
    metrics.SAMPLES_IN.inc(len(samples))
    return 204, b"", {}


class ReportsASGI:
    """The report path served straight on ASGI (``/bulkdata``, ``/bulkdata/...``; POST or PUT, as
    the profile's HTTP.Method says), every other request to ``app``: a report is the hot path,
    and FastAPI's routing and dependency machinery cost more CPU than parsing and publishing it."""

    def __init__(self, app: ASGIApp, settings: Any, publisher: Publisher) -> None:
        self.app = app
        self.settings = settings
        self.publisher = publisher

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path == "/bulkdata" or path.startswith("/bulkdata/")) or scope["method"] not in ("POST", "PUT"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        limit = self.settings.max_report_bytes
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size <= limit:
                chunks.append(chunk)
            more = message.get("more_body", False)
        status, body, extra = await handle(self.settings, self.publisher, headers, b"".join(chunks) if size <= limit else None)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(k.encode(), v.encode()) for k, v in extra.items()] + [(b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
