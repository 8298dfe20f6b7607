"""A tiny ACS for tests: aiohttp on 127.0.0.1, cwmp.session.AcsSession per CWMP session.

Each session sends the next plan from ``plans`` (a list of ACS requests), records what the CPE
said, and requires the session cookie it set on the InformResponse (so the CPE's cookie jar is
exercised). It also serves files (GET /files/<name>, optional Basic auth) and takes uploads
(PUT /upload/<name>).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
from dataclasses import dataclass, field

from aiohttp import web

from cpe_simulator.httpauth import DigestVerifier
from cwmp import messages as m
from cwmp import soap
from cwmp.session import (
    AcsSession,
    CpeRequestReceived,
    CpeTurnEnded,
    FaultReceived,
    InformReceived,
    ResponseReceived,
)


@dataclass
class Recorded:
    serial: str = ""
    events: list[tuple[str, str]] = field(default_factory=list)
    inform: m.Inform | None = None
    answers: list[tuple[m.Message, m.Message]] = field(default_factory=list)  # (request, response or fault)
    cpe_requests: list[m.Message] = field(default_factory=list)
    client_ports: set[int] = field(default_factory=set)
    posts: int = 0
    raw_answer_ids: list[str | None] = field(default_factory=list)


class MiniAcs:
    def __init__(self, *, auth: str | None = None, username: str = "acs", password: str = "secret",
                 file_auth: tuple[str, str] | None = None) -> None:  # fmt: skip
        self.auth, self.username, self.password = auth, username, password
        self.file_auth = file_auth
        self.plans: list[list[m.Message | bytes]] = []  # bytes: a raw envelope the codec cannot build
        self.sessions: asyncio.Queue[Recorded] = asyncio.Queue()
        self.files: dict[str, bytes] = {}
        self.uploads: dict[str, bytes] = {}
        self.file_gets: list[str] = []
        self.busy: list[int] = []  # answer the next Informs with these HTTP statuses (e.g. 503)
        self.hold_inform: asyncio.Event | None = None  # set: delay InformResponse until it is set
        self.inform_arrived = asyncio.Event()
        self._verifier = DigestVerifier(realm="mini-acs")
        self._live: dict[str, tuple[AcsSession, Recorded, list]] = {}
        self._raw_pending: set[str] = set()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/acs"

    def file_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/files/{name}"

    def upload_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/upload/{name}"

    async def __aenter__(self) -> "MiniAcs":
        app = web.Application()
        app.router.add_post("/acs", self._cwmp)
        app.router.add_get("/files/{name}", self._file)
        app.router.add_put("/upload/{name}", self._upload)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        await self._runner.cleanup()

    async def next_session(self, timeout: float = 10.0) -> Recorded:  # noqa: ASYNC109 - a test helper's bound
        return await asyncio.wait_for(self.sessions.get(), timeout)

    # ------------------------------------------------------------------ handlers
    def _challenge(self, request: web.Request) -> web.Response | None:
        header = request.headers.get("Authorization", "")
        if self.auth == "basic":
            expected = "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            if header != expected:
                return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="mini-acs"'})
        elif self.auth == "digest" and (
            not header or self._verifier.verify(header, request.method, self.username, self.password) != "ok"
        ):
            return web.Response(status=401, headers={"WWW-Authenticate": self._verifier.challenge()})
        return None

    async def _cwmp(self, request: web.Request) -> web.Response:
        denied = self._challenge(request)
        if denied is not None:
            await request.read()
            return denied
        body = await request.read()
        envelope = soap.parse(body)
        key = request.cookies.get("acs-session")
        if key is None or key not in self._live:
            if envelope is None or not isinstance(envelope.body, m.Inform):
                return web.Response(status=400, text="no session cookie")
            if self.busy:
                return web.Response(status=self.busy.pop(0), headers={"Retry-After": "1"})
            key = str(next(self._ids))
            self._live[key] = (AcsSession(), Recorded(), list(self.plans.pop(0)) if self.plans else [])
        session, rec, plan = self._live[key]
        rec.posts += 1
        rec.client_ports.add(request.transport.get_extra_info("peername")[1])
        if key in self._raw_pending:  # the answer to a raw request: record it, bypassing AcsSession
            self._raw_pending.discard(key)
            rec.answers.append((m.GetRPCMethods(), envelope.body))
            rec.raw_answer_ids.append(envelope.id)
            return self._next(key, session, rec, plan)
        event = session.receive(envelope)
        if isinstance(event, InformReceived):
            rec.inform = event.inform
            rec.serial = event.inform.device_id.serial_number
            rec.events = [(str(e.event_code), e.command_key) for e in event.inform.events]
            self.inform_arrived.set()
            if self.hold_inform is not None:
                await self.hold_inform.wait()
            reply = session.respond(session.inform_response())
            response = web.Response(body=soap.build(reply), content_type="text/xml")
            response.set_cookie("acs-session", key)
            return response
        if isinstance(event, CpeRequestReceived):
            rec.cpe_requests.append(event.message)
            return self._xml(session.respond(m.MESSAGE_TYPES[event.message.RPC + "Response"]()))
        if isinstance(event, ResponseReceived):
            rec.answers.append((event.request, event.response))
        elif isinstance(event, FaultReceived):
            rec.answers.append((event.request, event.fault))
        assert isinstance(event, (CpeTurnEnded, ResponseReceived, FaultReceived))
        return self._next(key, session, rec, plan)

    def _next(self, key: str, session: AcsSession, rec: Recorded, plan: list) -> web.Response:
        if plan:
            item = plan.pop(0)
            if isinstance(item, bytes):
                self._raw_pending.add(key)
                return web.Response(body=item, content_type="text/xml")
            return self._xml(session.send_request(item))
        session.end()
        del self._live[key]
        self.sessions.put_nowait(rec)
        return web.Response(status=204)

    @staticmethod
    def _xml(envelope: m.Envelope) -> web.Response:
        return web.Response(body=soap.build(envelope), content_type="text/xml")

    async def _file(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if self.file_auth is not None:
            expected = "Basic " + base64.b64encode(":".join(self.file_auth).encode()).decode()
            if request.headers.get("Authorization") != expected:
                return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="files"'})
        self.file_gets.append(name)
        if name not in self.files:
            return web.Response(status=404)
        return web.Response(body=self.files[name], content_type="application/octet-stream")

    async def _upload(self, request: web.Request) -> web.Response:
        self.uploads[request.match_info["name"]] = await request.read()
        return web.Response(status=201)
