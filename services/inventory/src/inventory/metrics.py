"""Prometheus metrics of the inventory service (docs/metrics.md), one registry per app."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.requests = Counter(
            "acs_nbi_requests_total", "NBI calls", ["method", "route", "status"], registry=r
        )
        self.request_duration = Histogram(
            "acs_nbi_request_duration_seconds", "NBI latency", ["route"], registry=r
        )
        self.connection_requests = Counter(
            "acs_connection_requests_total", "connection requests sent", ["transport", "outcome"], registry=r
        )
        self.connection_request_duration = Histogram(
            "acs_connection_request_duration_seconds", "one connection request attempt", ["transport"], registry=r
        )
        self.xmpp_online = Gauge("acs_xmpp_connected", "1 while the ACS's XMPP session is open", registry=r)
        self.tasks_pending = Gauge("acs_tasks_pending", "tasks in status pending", registry=r)
        self.oldest_pending_age = Gauge(
            "acs_task_queue_oldest_age_seconds", "age of the oldest pending task", registry=r
        )
        self.mongo_duration = Histogram(
            "acs_mongo_operation_duration_seconds", "MongoDB round trips", ["op"], registry=r
        )
        self.campaign_devices = Gauge(
            "acs_campaign_devices", "firmware campaign progress", ["campaign", "state"], registry=r
        )
        self.auth_refusals = Counter(
            "acs_nbi_auth_refusals_total", "calls and sign-ins refused by authentication or its limits", ["reason"],
            registry=r,
        )
        self.sign_ins = Counter("acs_nbi_sign_ins_total", "sessions opened", ["via"], registry=r)

    @asynccontextmanager
    async def mongo(self, op: str) -> AsyncIterator[None]:
        """Time one MongoDB round trip."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.mongo_duration.labels(op).observe(time.perf_counter() - t0)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class RequestMetrics:
    """ASGI middleware counting requests by route template (not raw path: ids would explode labels)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.requests.labels(scope["method"], template, str(status)).inc()
            self.metrics.request_duration.labels(template).observe(time.perf_counter() - t0)
