"""The gateway's HTTP application: the CWMP endpoint (port 7547) and the admin endpoints
(/metrics, /healthz, /readyz on the admin port). uvicorn serves the admin port; the CWMP port is
served by the lean server of ``cwmp_http`` (``GATEWAY_HTTP_SERVER=native``, the default) or by
the same uvicorn server on a second socket (``uvicorn``).

The gateway keeps no session state: a signed cookie says which device a POST belongs to, the
Inform is durably published (to acs.session-events.v1) before InformResponse goes out, and every
later POST is published (to acs.session-messages.v1, with the Inform's position from the cookie)
and answered with whatever the owning scheduler replies over the session-affinity channel.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pymongo import AsyncMongoClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from acs_contracts import cpe_secrets, gc_tuning
from acs_contracts.affinity import NO_MORE
from acs_contracts.device_id import make_device_id
from acs_contracts.kafka_topics import REPLY_WAIT, SESSION_MESSAGES, SessionEvent, SessionMessage
from cwmp import soap
from cwmp.errors import HostileXmlError, SoapParseError
from cwmp.messages import Envelope, Inform
from cwmp.serialize import message_to_dict
from cwmp.session import AcsSession, ProtocolViolation

from . import auth, malloc, metrics
from .affinity import ReplyListener
from .config import Settings
from .credentials import CredentialStore
from .publisher import BrokerUnavailable, SessionEventPublisher
from .session_cookie import COOKIE_NAME, SessionToken, decode_token, encode_token

log = logging.getLogger(__name__)

XML = 'text/xml; charset="utf-8"'


def _headers_of(env: Envelope) -> dict:
    h: dict = {"id": env.id}
    for k in ("hold_requests", "session_timeout", "supported_cwmp_versions", "use_cwmp_version", "no_more_requests"):
        v = getattr(env, k)
        if v is not None:
            h[k] = v
    return h


class Gateway:
    """Everything one CWMP POST needs, wired once at start."""

    def __init__(self, settings: Settings) -> None:
        self.s = settings
        self.listener = ReplyListener(settings.affinity_secret or None)
        self.publisher = SessionEventPublisher(settings.kafka, settings.publish_timeout_s)
        self.mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_uri, serverSelectionTimeoutMS=3000)
        self.creds = CredentialStore(self.mongo[settings.mongodb_database],
                                     auth.Credentials(settings.cpe_username, settings.cpe_password),
                                     cpe_secrets.from_env("session-gateway") if settings.cpe_auth != "none"
                                     else cpe_secrets.Secrets(cpe_secrets.keys_from_env()),
                                     ttl_s=settings.cpe_credential_cache_s)
        self.inflight = 0
        self._trimmer: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.listener.start(self.s.reply_host, self.s.reply_port)
        await self.publisher.start()
        self._trimmer = asyncio.create_task(malloc.trim_periodically(self.s.malloc_trim_interval_s))

    async def stop(self) -> None:
        if self._trimmer is not None:
            self._trimmer.cancel()
        await self.listener.stop()
        await self.publisher.stop()
        await self.mongo.close()

    def _unavailable(self, reason: str, kind: str) -> Response:
        metrics.REJECTED.labels(reason).inc()
        metrics.HTTP_REQUESTS.labels(kind, "503").inc()
        return Response(status_code=503, headers={"Retry-After": str(self.s.retry_after_s)})

    async def handle(self, request: Request) -> Response:
        if self.inflight >= self.s.max_inflight:
            return self._unavailable("backpressure", "any")
        self.inflight += 1
        metrics.ACTIVE.inc()
        t0 = time.perf_counter()
        kind = "message"
        try:
            resp, kind = await self._handle(request)
            return resp
        finally:
            self.inflight -= 1
            metrics.ACTIVE.dec()
            metrics.REQUEST_DURATION.labels(kind).observe(time.perf_counter() - t0)

    async def _read_body(self, request: Request) -> bytes | None:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.s.max_body_bytes:
            return None
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.s.max_body_bytes:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    async def _handle(self, request: Request) -> tuple[Response, str]:
        body = await self._read_body(request)
        if body is None:
            metrics.REJECTED.labels("bad_request").inc()
            metrics.HTTP_REQUESTS.labels("any", "413").inc()
            return PlainTextResponse("request body too large", status_code=413), "any"
        try:
            env = soap.parse(body)
        except (HostileXmlError, SoapParseError) as e:
            metrics.REJECTED.labels("bad_request").inc()
            metrics.HTTP_REQUESTS.labels("any", "400").inc()
            return PlainTextResponse(f"invalid CWMP request: {e}", status_code=400), "any"
        del body
        if env is not None and isinstance(env.body, Inform):
            kind, answer = "inform", self._inform(request, env)
        else:
            token = decode_token(request.cookies.get(COOKIE_NAME, ""), self.s.secret, self.s.session_max_age_s)
            kind = "empty" if env is None else "message"
            if token is None:
                metrics.REJECTED.labels("bad_request").inc()
                metrics.HTTP_REQUESTS.labels(kind, "400").inc()
                return PlainTextResponse("no CWMP session: a session starts with an Inform", status_code=400), kind
            answer = self._in_session(request, token, env, kind)
        # The coroutine owns the message now and drops it once encoded: a request waiting on the
        # broker or the scheduler holds no body and no parsed envelope (memory per open session).
        del env
        return await answer, kind

    async def _inform(self, request: Request, env: Envelope) -> Response:
        inform = env.body
        assert isinstance(inform, Inform)
        d = inform.device_id
        device_id = make_device_id(d.oui, d.product_class, d.serial_number)
        # What ACS_TENANT_RULES may assign a new device's tenant by: the ACS URL's path it used,
        # and the user name it authenticated with.
        facts: dict[str, Any] = {"acsPath": request.url.path}
        if self.s.cpe_auth != "none":
            header = request.headers.get("authorization")
            which, creds, stale, dev = await self.creds.check(device_id, lambda dev: auth.verify_device(
                header, request.method, self.s.cpe_auth, dev, self.creds.default, self.s.secret), may_reread=bool(header))
            metrics.CPE_LOGINS.labels(which).inc()
            if creds is not None:
                # the scheduler promotes pending credentials a device logs in with, rotates those
                # older than SCHEDULER_CPE_CREDENTIAL_ROTATION_DAYS, and sets a device's own at
                # first contact (never the password itself)
                facts.update(cpeUsername=creds.username, cpeCredential=which)
                if dev.rotated_at is not None:
                    facts["cpeRotatedAt"] = dev.rotated_at
            if creds is None:
                metrics.REJECTED.labels("auth").inc()
                metrics.HTTP_REQUESTS.labels("inform", "401").inc()
                r = Response(status_code=401)
                for c in auth.challenges(self.s.cpe_auth, self.s.secret, stale):
                    r.headers.append("WWW-Authenticate", c)
                return r
        session = AcsSession()  # the same rules the scheduler applies; here only for the Inform's answer
        try:
            session.receive(env)
        except ProtocolViolation as v:  # e.g. 8006: no CWMP version in common
            metrics.REJECTED.labels("bad_request").inc()
            metrics.HTTP_REQUESTS.labels("inform", "200").inc()
            fault = session.reject(v)
            return Response(soap.build(fault), media_type=XML) if fault else Response(status_code=204)
        answer = soap.build(session.respond(session.inform_response()))
        token = SessionToken(device_id, uuid.uuid4().hex, time.time(), session.cwmp_ns, session.cwmp_version)
        hints = self.s.inform_hint_wait_s > 0
        event = SessionEvent(
            device_id=device_id, session_id=token.session_id, kind="inform", request_id=token.session_id,
            reply_to=self.s.reply_advertise if hints else None, received_at=time.time(), cwmp_ns=env.cwmp_ns,
            cwmp_version=token.cwmp_version, source_ip=request.client.host if request.client else "",
            body=message_to_dict(inform), headers={**_headers_of(env), **facts}, gateway_id=self.s.instance_id,
        ).encode()
        event_codes = [str(ev.event_code) for ev in inform.events]
        del env, inform, d, session  # until the broker acknowledges, hold bytes only
        if hints:  # the scheduler's "nothing to do" or "continue", for the session's empty POST
            self._expect_hint(token.session_id)
        try:
            partition, offset = await self.publisher.publish(device_id, event)
        except BrokerUnavailable as e:
            self.listener.drop_hint(token.session_id)
            log.warning("Inform from %s not published: %s", device_id, e)
            return self._unavailable("broker_unavailable", "inform")
        del event
        for code in event_codes:
            metrics.INFORMS.labels(code).inc()
        metrics.HTTP_REQUESTS.labels("inform", "200").inc()
        resp = Response(answer, media_type=XML)
        token = dataclasses.replace(token, inform_partition=partition, inform_offset=offset)
        resp.set_cookie(COOKIE_NAME, encode_token(token, self.s.secret), httponly=True, path="/")
        return resp

    def _expect_hint(self, session_id: str) -> None:
        self._time_hop(self.listener.expect_hint(session_id, self.s.reply_timeout_s))

    @staticmethod
    def _time_hop(reply: asyncio.Future) -> None:
        """The reply hop: event sent (copied to the scheduler and published) -> the scheduler's
        reply here, whether or not the broker has acknowledged the event yet (the CPE is answered
        only once it has: ``acs_gateway_kafka_publish_seconds``)."""
        t0 = time.perf_counter()
        reply.add_done_callback(lambda f: None if f.cancelled() else metrics.REPLY_HOP.observe(time.perf_counter() - t0))

    async def _hinted_end(self, token: SessionToken) -> Response | None:
        """The answer to an empty POST the scheduler gave at the Inform: 204 when it has nothing
        to send, its first request when it offered one; None when it said "continue", said
        nothing in time, or the answer went to another gateway."""
        hint = self.listener.take_hint(token.session_id)
        if hint is None:
            return None
        try:
            async with asyncio.timeout(self.s.inform_hint_wait_s):
                reply = await asyncio.shield(hint)
        except TimeoutError:
            return None
        except asyncio.CancelledError:
            if not hint.cancelled():
                raise  # this request itself was cancelled
            return None  # the answer expired unread
        finally:
            self.listener.forget(token.session_id)
        if reply.status == 200 and reply.body:  # the first request (cwmp.session AcsSession.offer_request)
            metrics.HTTP_REQUESTS.labels("empty", "200").inc()
            return Response(reply.body, media_type=XML)
        if reply.status != NO_MORE:
            return None
        metrics.HTTP_REQUESTS.labels("empty", "204").inc()
        metrics.SESSIONS.labels(reply.outcome).inc()
        metrics.SESSION_DURATION.observe(time.time() - token.started_at)
        resp = Response(status_code=204)
        resp.delete_cookie(COOKIE_NAME, path="/")
        return resp

    async def _in_session(self, request: Request, token: SessionToken, env: Envelope | None, kind: str) -> Response:
        if kind == "empty":
            ended = await self._hinted_end(token)
            if ended is not None:
                return ended
        else:  # a CPE request or an RPC response: the Inform's answer no longer applies
            self.listener.drop_hint(token.session_id)
        rid = uuid.uuid4().hex
        event = SessionMessage(
            device_id=token.device_id, session_id=token.session_id, kind=kind, request_id=rid,
            reply_to=self.s.reply_advertise, received_at=time.time(), cwmp_ns=token.cwmp_ns,
            cwmp_version=token.cwmp_version, source_ip=request.client.host if request.client else "",
            body=message_to_dict(env.body) if env is not None and env.body is not None else None,
            headers={**(_headers_of(env) if env is not None else {}), REPLY_WAIT: self.s.reply_timeout_s},
            gateway_id=self.s.instance_id, inform_partition=token.inform_partition, inform_offset=token.inform_offset,
        ).encode()
        del env  # until the broker acknowledges, hold bytes only
        waiter = self.listener.expect(rid)
        self._time_hop(waiter)
        try:  # whatever ends this wait (answer, error, timeout, cancellation), nothing stays parked
            try:
                await self.publisher.publish(token.device_id, event, SESSION_MESSAGES)
            except BrokerUnavailable as e:
                log.warning("session event from %s not published: %s", token.device_id, e)
                return self._unavailable("broker_unavailable", kind)
            del event  # acknowledged: waiting for the scheduler holds nothing of the message
            try:
                async with asyncio.timeout(self.s.reply_timeout_s):  # no task or extra future per wait, unlike wait_for
                    reply = await waiter
            except TimeoutError:
                metrics.REJECTED.labels("reply_timeout").inc()
                metrics.SESSIONS.labels("timeout").inc()
                metrics.HTTP_REQUESTS.labels(kind, "204").inc()
                return Response(status_code=204)
        finally:
            self.listener.forget(rid)
        metrics.HTTP_REQUESTS.labels(kind, str(reply.status)).inc()
        if reply.end_session or reply.status == 204:
            metrics.SESSIONS.labels(reply.outcome).inc()
            metrics.SESSION_DURATION.observe(time.time() - token.started_at)
        if reply.status == 204:
            resp = Response(status_code=204)
            resp.delete_cookie(COOKIE_NAME, path="/")
            return resp
        return Response(reply.body, status_code=reply.status, media_type=XML)

    async def ready(self) -> dict[str, bool]:
        kafka_ok = await self.publisher.ready()
        try:
            await asyncio.wait_for(self.mongo.admin.command("ping"), 3)
            mongo_ok = True
        except Exception:  # any driver error means not ready
            mongo_ok = False
        return {"kafka": kafka_ok, "mongodb": mongo_ok}


class GatewayApp:
    """The ASGI application uvicorn serves with ``GATEWAY_HTTP_SERVER=uvicorn`` (with ``native``
    it serves ``admin`` alone): CWMP POSTs on the CWMP port go straight to the
    gateway (the hot path: no router, no middleware stack); everything else, lifespan included,
    goes to the Starlette app with the admin endpoints (Starlette, not FastAPI: three plain
    endpoints do not need FastAPI's and pydantic's ~12 MB of resident imports)."""

    def __init__(self, gateway: Gateway, admin: Starlette, cwmp_port: int, admin_port: int) -> None:
        self.gateway = gateway
        self.admin = admin
        self._cwmp_port = cwmp_port
        self._separate = cwmp_port != admin_port

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            server = scope.get("server")
            on_cwmp = not self._separate or server is None or server[1] == self._cwmp_port
            if on_cwmp:
                response = await self.gateway.handle(Request(scope, receive))
                await response(scope, receive, send)
                return
        await self.admin(scope, receive, send)


def create_app(settings: Settings,
               serve_cwmp: Callable[[Gateway], AbstractAsyncContextManager[object]] | None = None) -> GatewayApp:
    """The gateway and its admin app. ``serve_cwmp``, when given, serves the CWMP port from the
    gateway's start to its stop (the admin app's lifespan), and stops it before the gateway."""
    gw = Gateway(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette):
        await gw.start()
        try:
            async with serve_cwmp(gw) if serve_cwmp is not None else nullcontext():
                gc_tuning.freeze_startup()
                yield
        finally:
            await gw.stop()

    async def metrics_endpoint(request: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "instance": settings.instance_id})

    async def readyz(request: Request) -> Response:
        checks = await gw.ready()
        ok = all(checks.values())
        return Response(orjson.dumps({"ready": ok, **checks}), status_code=200 if ok else 503, media_type="application/json")

    app = Starlette(lifespan=lifespan, routes=[
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
    ])
    app.state.gateway = gw
    return GatewayApp(gw, app, settings.port, settings.admin_port)
