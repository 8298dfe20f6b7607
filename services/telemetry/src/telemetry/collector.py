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

from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from acs_contracts.kafka_client import producer_kwargs
from acs_contracts.kafka_topics import MetricSamples

from . import metrics
from .auth import authenticate
from .reports import ReportError, decompress, parse_report, report_format

log = logging.getLogger(__name__)

router = APIRouter()


class Publisher:
    """The collector's producer (idempotent, acks=all), started with the app."""

    def __init__(self, kafka_env: dict[str, str]) -> None:
        self._kw = producer_kwargs(kafka_env or None)
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


def _error(status: int, error: str, detail: Any = None, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status, headers=headers)


async def _body(request: Request, limit: int) -> bytes | None:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/bulkdata")
@router.put("/bulkdata")
@router.post("/bulkdata/{_path:path}")
@router.put("/bulkdata/{_path:path}")
async def report(request: Request, _path: str = "") -> Response:
    """One Bulk Data report (POST or PUT, as the profile's HTTP.Method says)."""
    s = request.app.state.settings
    device = authenticate(s.bulkdata_secret, request.headers.get("authorization", ""))
    if device is None:
        metrics.REPORTS.labels("-", "unauthorized").inc()
        return _error(401, "authentication required", "HTTP Basic: the device id and its Bulk Data password",
                      {"WWW-Authenticate": 'Basic realm="ACS Bulk Data", charset="UTF-8"'})
    received = time.time()
    body = await _body(request, s.max_report_bytes)
    if body is None:
        metrics.REPORTS.labels("-", "too-large").inc()
        return _error(413, "report too large", {"limit": s.max_report_bytes})
    try:
        fmt = report_format(request.headers.get("bbf-report-format", ""), request.headers.get("content-type", ""))
        data = decompress(body, request.headers.get("content-encoding", ""), s.max_report_bytes)
        samples = parse_report(data, fmt, received)
    except ReportError as e:
        metrics.REPORTS.labels("-", "bad").inc()
        log.info("bad Bulk Data report from %s: %s", device, e)
        return _error(400, "bad report", str(e))
    msg = MetricSamples(device_id=device, timestamp=received, source="bulkdata", samples=samples, report_format=fmt)
    try:
        await request.app.state.publisher.publish(msg)
    except Exception as e:  # noqa: BLE001 - broker down or slow: the CPE keeps the report and retries
        metrics.REPORTS.labels(fmt, "unavailable").inc()
        log.warning("publishing a report of %s failed: %s", device, e)
        return _error(503, "broker unavailable", type(e).__name__, {"Retry-After": "30"})
    metrics.REPORTS.labels(fmt, "ok").inc()
    metrics.SAMPLES_IN.inc(len(samples))
    return Response(status_code=204)
