"""One simulated CPE on the network: CWMP sessions over HTTP, its timers and its connection requests.

The device's behaviour lives in :class:`cpe_simulator.device.Device` (no I/O); this class adds what
needs sockets and time: one TCP connection and one cookie jar per session (keep-alive between the
session's POSTs), Basic/Digest answers to the ACS's challenges, the periodic Inform with jitter,
the TR-069 3.2.1.1 retry back-off and 503 Retry-After, and the after-session effects (reboot,
transfers, diagnostics, scheduled Informs).
"""

from __future__ import annotations

import asyncio
import functools
import random
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import hdrs

from cwmp import messages as m
from cwmp import soap
from cwmp.errors import CwmpError, UnknownMethod
from cwmp.events import EventCode
from cwmp.faults import FaultCode
from cwmp.session import ProtocolViolation
from cwmp.session_cpe import (
    AcsFaultReceived,
    AcsRequestReceived,
    AcsResponseReceived,
    CpeSession,
    InformAcknowledged,
    SessionEnded,
)
from cwmp.versions import NAMESPACES

from . import transfers
from .bulkdata import BulkDataReporter, ensure_bulkdata, read_profiles
from .connreq import ConnectionRequestServer
from .datamodel import DataModel
from .device import Action, Device, Transfer
from .httpauth import client_middlewares
from .stats import SessionReport, Stats

if TYPE_CHECKING:
    from .stun import StunAgent
    from .xmpp import CpeXmpp

SOAP_HEADERS = {hdrs.CONTENT_TYPE: 'text/xml; charset="utf-8"', "SOAPAction": ""}


def retry_wait_s(retry_count: int, minimum: float = 5.0, multiplier: float = 2000.0, rng: random.Random | None = None) -> float:
    """TR-069 3.2.1.1: after the n-th failed session wait a random time in
    [m*(k/1000)^(n-1), m*(k/1000)^n] seconds (m = CWMPRetryMinimumWaitInterval, k =
    CWMPRetryIntervalMultiplier); the range stops growing after the 10th retry."""
    n = min(max(retry_count, 1), 10)
    factor = multiplier / 1000.0
    low = minimum * factor ** (n - 1)
    return (rng or random).uniform(low, low * factor)


@functools.lru_cache(maxsize=256)
def _path(root: str, leaf: str) -> str:
    """One shared string per full path, not one per device."""
    return root + leaf


def _unknown_request(name: str) -> m.Message:
    """A body for an ACS request the codec does not know, so the session answers Fault 9000."""
    cls = _UNKNOWN.get(name)
    if cls is None:
        cls = type(name, (m.Message,), {"__slots__": (), "RPC": name, "DIRECTION": "acs"})
        if len(_UNKNOWN) < 256:
            _UNKNOWN[name] = cls
    return cls()


_UNKNOWN: dict[str, type] = {}


def _parse_answer(body: bytes, cwmp_ns: str) -> m.Envelope | None:
    """The ACS's answer; None for an empty one (the ACS has nothing more). A request the codec
    does not know becomes a body the session answers with Fault 9000."""
    if not body.strip():
        return None
    try:
        return soap.parse(body)
    except UnknownMethod as exc:
        return m.Envelope(body=_unknown_request(exc.method), id=exc.envelope_id, cwmp_ns=exc.cwmp_ns or cwmp_ns)


class SessionDropped(Exception):
    """Fault injection: the device vanishes mid-session."""


class SimulatedCpe:
    """A CPE with its own identity, tree, credentials and connection request listener.

    ``connection_request_server``: a shared listener (a fleet's); without one, :meth:`start` opens
    one on ``connection_request_host``:``connection_request_port`` (0 = any free port).
    """

    def __init__(
        self,
        model: DataModel,
        *,
        acs_url: str,
        serial: str,
        username: str | None = None,
        password: str | None = None,
        auth: str = "auto",
        connection_request_host: str = "127.0.0.1",
        connection_request_port: int = 0,
        connection_request_server: ConnectionRequestServer | None = None,
        connection_request_username: str | None = None,
        connection_request_password: str | None = None,
        periodic_interval: int | None = None,
        periodic_jitter: float = 0.05,
        cwmp_version: str = "1.2",
        supported_cwmp_versions: str | None = None,
        fail_downloads: bool = False,
        drop_session_rate: float = 0.0,
        retry_scale: float = 1.0,
        boot_delay_s: float = 0.5,
        http_timeout_s: float = 30.0,
        stats: Stats | None = None,
        seed: int | str | None = None,
        rng: random.Random | None = None,
        parameters: dict[str, str] | None = None,
        connection_request_http: bool = True,
        xmpp_ca_file: str = "",
    ) -> None:
        root = model.root
        self.key = serial
        # A fleet passes its one generator: a Random per device would cost ~5 KB each.
        self.rng = rng if rng is not None else random.Random(seed if seed is not None else serial)
        base = {
            "DeviceInfo.SerialNumber": serial,
            "ManagementServer.URL": acs_url,
            "ManagementServer.Username": username or "",
            "ManagementServer.Password": password or "",
            "ManagementServer.ConnectionRequestUsername": serial
            if connection_request_username is None
            else connection_request_username,
            "ManagementServer.ConnectionRequestPassword": f"cr-{serial}"
            if connection_request_password is None
            else connection_request_password,
        }
        if periodic_interval is not None:
            base["ManagementServer.PeriodicInformInterval"] = str(periodic_interval)
            base["ManagementServer.PeriodicInformEnable"] = "true"
        base.update(parameters or {})  # relative to the root: STUN, XMPP.Connection.1... settings
        if not connection_request_http:
            base["ManagementServer.ConnectionRequestURL"] = ""
        base = {_path(root, leaf): value for leaf, value in base.items()}
        self.device = Device(ensure_bulkdata(model), serial=serial, base=base, rng=self.rng)
        self.bulkdata = BulkDataReporter(self.device)  # TR-232 reports, once a profile is enabled
        self.acs_url_default = acs_url
        self.auth = auth
        self.cr_host = connection_request_host
        self.cr_port = connection_request_port
        self._cr_server = connection_request_server
        self._own_cr_server: ConnectionRequestServer | None = None
        self.connection_request_url: str | None = None
        self.connection_request_http = connection_request_http
        self.xmpp_ca_file = xmpp_ca_file
        self.xmpp: CpeXmpp | None = None  # Annex K, when the model has XMPP.Connection.1
        self.stun: StunAgent | None = None  # Annex G, when STUNEnable is true
        self.periodic_jitter = periodic_jitter
        self.cwmp_version = cwmp_version
        if supported_cwmp_versions is None and cwmp_version == "1.4":
            supported_cwmp_versions = "1.0,1.1,1.2,1.3,1.4"
        self.supported_cwmp_versions = supported_cwmp_versions
        self.fail_downloads = fail_downloads
        self.drop_session_rate = drop_session_rate
        self.retry_scale = retry_scale
        self.boot_delay_s = boot_delay_s
        self.http_timeout_s = http_timeout_s
        self.stats = stats if stats is not None else Stats()
        self.retry_count = 0
        self.in_session = False
        self.reports: list[SessionReport] = []
        self.keep_reports = 50
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._worker: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()
        self._periodic_reset = False
        self._new_device = True
        self._last_inform: m.Inform | None = None

    # ------------------------------------------------------------------ public API
    @property
    def serial(self) -> str:
        return self.device.serial

    @property
    def acs_url(self) -> str:
        return self.device.management("URL") or self.acs_url_default

    def get(self, path: str) -> m.Value:
        """A parameter's current value (Python form), as GetParameterValues would return it."""
        return self.device.value(path).value

    def set_local_value(self, path: str, value: m.Value) -> None:
        """Simulate a change made on the device itself; active notification starts a session."""
        if self.device.set_local_value(path, value) == 2:
            self._wake.set()

    def connection_request_credentials(self) -> tuple[str, str]:
        return (
            self.device.management("ConnectionRequestUsername"),
            self.device.management("ConnectionRequestPassword"),
        )

    def report_change(self, path: str, text: str) -> None:
        """A value the device itself changed that the ACS must learn (ConnReqJabberID,
        UDPConnectionRequestAddress, NATDetected: forced active notification): a session now."""
        got = self.device.tree.get(path)
        if got is None or got[0] == text:
            return
        self.device.tree.set(path, text)
        self.device.changed[path] = None
        self.device.add_event(EventCode.VALUE_CHANGE)
        self._wake.set()

    def connection_request(self) -> bool:
        """A valid connection request arrived: refuse (503) while a session runs."""
        if self.in_session:
            return False
        self.device.add_event(EventCode.CONNECTION_REQUEST)
        self._wake.set()
        return True

    async def start(self, *, boot_after_s: float = 0.0, bootstrap: bool | None = None) -> None:
        """Open the connection request listener and power on: the boot Inform (with "0 BOOTSTRAP"
        the first time) after ``boot_after_s``, then periodic Informs."""
        if self.connection_request_http:
            await self._start_listener()
        await self._start_nat_traversal()
        if bootstrap if bootstrap is not None else self._new_device:
            self.device.add_event(EventCode.BOOTSTRAP)
        self._new_device = False
        self._worker = asyncio.create_task(self._run(boot_after_s), name=f"cpe-{self.serial}")
        if read_profiles(self.device):
            self.bulkdata.changed()

    async def stop(self) -> None:
        await self.bulkdata.stop()
        for task in [self._worker, *self._tasks]:
            if task is not None:
                task.cancel()
        for task in [self._worker, *self._tasks]:
            if task is not None:
                try:
                    await task
                except (asyncio.CancelledError, Exception):
                    pass
        self._worker = None
        self._tasks.clear()
        for agent in (self.xmpp, self.stun):
            if agent is not None:
                await agent.stop()
        if self._cr_server is not None:
            self._cr_server.unregister(self)
        if self._own_cr_server is not None:
            await self._own_cr_server.stop()
            self._own_cr_server = None

    async def run_session(self, events: Iterable[str] = ()) -> SessionReport:
        """One CWMP session now (with ``events`` added to the pending ones), then its after-effects.
        No retry here; the background loop started by :meth:`start` retries with back-off."""
        for code in events:
            self.device.add_event(code)
        if not self.device.events:
            self.device.add_event(EventCode.PERIODIC)
        async with self._lock:
            report = await self._session()
        self.reports.append(report)
        del self.reports[: -self.keep_reports]
        self.retry_count = 0 if report.ok else self.retry_count + 1
        if not report.ok and self._last_inform is not None:
            self.device.session_failed(self._last_inform.events)
        # What the device accepted it carries out, even if the session broke afterwards.
        await self._apply(self.device.take_actions())
        return report

    async def wait_idle(self, timeout_s: float = 30.0) -> None:
        """Wait until background effects (transfers, diagnostics, scheduled Informs) are done."""
        deadline = time.monotonic() + timeout_s
        while self._tasks and time.monotonic() < deadline:
            await asyncio.wait(set(self._tasks), timeout=max(0.0, deadline - time.monotonic()))

    # ------------------------------------------------------------------ the session
    def _http(self) -> aiohttp.ClientSession:
        # One connection per session, like a CPE: limit=1 keeps every POST on the same socket.
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=1, enable_cleanup_closed=False),
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            middlewares=client_middlewares(
                self.device.management("Username"), self.device.management("Password"), self.auth
            ),
            timeout=aiohttp.ClientTimeout(total=self.http_timeout_s),
        )

    async def _session(self) -> SessionReport:
        started = time.monotonic()
        inform = self._last_inform = self.device.build_inform(self.retry_count)
        report = SessionReport(events=[str(e.event_code) for e in inform.events])
        session = CpeSession(
            inform,
            cwmp_ns=NAMESPACES[self.cwmp_version],
            cwmp_version=self.cwmp_version,
            supported_cwmp_versions=self.supported_cwmp_versions,
            requests=list(self.device.requests),
        )
        self.in_session = True
        self.stats.session_started()
        try:
            async with self._http() as http:
                await self._exchange(http, session, inform, report)
        except SessionDropped:
            report.error = "dropped: fault injection"
        except asyncio.CancelledError:
            report.error = "stopped: the device was stopped mid-session"
            raise
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            report.error = f"connection: {exc.__class__.__name__}: {exc}"
        except CwmpError as exc:  # unreadable answer, or nothing this namespace can carry
            report.error = f"soap: {exc}"
        finally:
            self.in_session = False
            report.duration_s = time.monotonic() - started
            self.stats.session_finished(report)
        return report

    async def _exchange(self, http: aiohttp.ClientSession, session: CpeSession, inform: m.Inform, report: SessionReport) -> None:
        """The session's POSTs, each answer handed to ``session``, until it ends or breaks."""
        url = self.acs_url  # the URL at the session's start holds for all of it
        post: m.Envelope | None = session.start()
        while True:
            body = await self._post(http, url, post, report)
            if body is None:
                session.abort()
                return
            if self._take_answer(session, _parse_answer(body, session.cwmp_ns), inform, report):
                return
            post = session.next_post()

    @staticmethod
    async def _post(http: aiohttp.ClientSession, url: str, post: m.Envelope | None, report: SessionReport) -> bytes | None:
        """POSTs ``post`` (None: an empty POST). The answer's body (empty for a 204), or None for
        any other HTTP status, recorded in ``report`` with a 503's Retry-After."""
        data = soap.build(post) if post is not None else b""
        headers = SOAP_HEADERS if post is not None else {}
        async with http.post(url, data=data, headers=headers) as resp:
            body = await resp.read()
            report.http_status = resp.status
            if resp.status == 200:
                return body
            if resp.status == 204:
                return b""
            if resp.status == 503:
                report.retry_after = _retry_after(resp.headers.get(hdrs.RETRY_AFTER))
            report.error = f"http: status {resp.status}"
            return None

    def _take_answer(self, session: CpeSession, answer: m.Envelope | None, inform: m.Inform, report: SessionReport) -> bool:
        """Hands the ACS's answer to ``session`` and acts on what it means; True once the session is over.
        A protocol violation the session survives (an unknown method) is answered with its Fault."""
        try:
            event = session.receive(answer)
        except ProtocolViolation as exc:
            session.reject(exc)
            if session.ended:
                report.error = f"protocol: {exc}"
                return True
            report.faults.append(exc.fault_code)
            return False
        if isinstance(event, InformAcknowledged):
            self.device.inform_delivered(inform.events)
        elif isinstance(event, AcsResponseReceived):
            self.device.request_acknowledged(event.request)
        elif isinstance(event, AcsFaultReceived):
            return self._acs_fault(event, session, report)
        elif isinstance(event, AcsRequestReceived):
            self._answer_acs_request(event, session, report)
        elif isinstance(event, SessionEnded):
            report.ok = True
            return True
        return False

    def _acs_fault(self, event: AcsFaultReceived, session: CpeSession, report: SessionReport) -> bool:
        """The ACS faulted a CPE request: a faulted Inform ends the session; a request refused for
        good (any fault but 8005 Retry Request) is not sent again."""
        report.acs_faults.append(event.fault.fault_code)
        if session.ended:
            report.error = f"acs fault: {event.fault.fault_code}"
            return True
        if event.request is not None and event.fault.fault_code != FaultCode.ACS_RETRY_REQUEST:
            self.device.request_acknowledged(event.request)  # refused for good: do not resend
        return False

    def _answer_acs_request(self, event: AcsRequestReceived, session: CpeSession, report: SessionReport) -> None:
        """The device's answer (a response or a Fault) to an ACS request; fault injection may drop the session here."""
        report.rpcs.append(event.message.RPC)
        if self.drop_session_rate and self.rng.random() < self.drop_session_rate:
            raise SessionDropped()
        answer_msg = self.device.handle(event.message)
        if isinstance(answer_msg, m.Fault):
            report.faults.append(answer_msg.fault_code)
        session.respond(answer_msg)

    # ------------------------------------------------------------------ after the session
    async def _apply(self, actions: list[Action]) -> None:
        for action in actions:
            if action.kind == "reboot":
                await asyncio.sleep(self.boot_delay_s)
                self.device.reboot(action.command_key)
                self._wake.set()
            elif action.kind == "factory_reset":
                await asyncio.sleep(self.boot_delay_s)
                self.device.factory_reset()
                if self.connection_request_url:
                    self._set_cr_url(self.connection_request_url)
                self._periodic_reset = True
                self._wake.set()
            elif action.kind == "transfer":
                self._spawn(self._transfer(action.arg))  # type: ignore[arg-type]
            elif action.kind == "schedule_inform":
                self._spawn(self._scheduled_inform(float(action.arg), action.command_key))  # type: ignore[arg-type]
            elif action.kind == "diagnostics":
                self._spawn(self._diagnostics(str(action.arg)))
            elif action.kind == "change_du_state":
                self._spawn(self._change_du_state(action.arg))  # type: ignore[arg-type]
            elif action.kind == "config" and ".XMPP." in str(action.arg) and self.xmpp is not None:
                self._spawn(self.xmpp.restart())
            elif action.kind == "config" and ".ManagementServer.STUN" in str(action.arg):
                self._spawn(self._start_nat_traversal(restart_stun=True))
            elif action.kind == "config" and str(action.arg).endswith(("PeriodicInformInterval", "PeriodicInformEnable")):
                self._periodic_reset = True  # the loop re-reads the interval when woken
                self._wake.set()
            elif action.kind == "config" and ".BulkData." in str(action.arg):
                self.bulkdata.changed()

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _transfer(self, t: Transfer) -> None:
        await asyncio.sleep(t.delay_seconds)
        if t not in self.device.transfers:
            return  # cancelled by CancelTransfer
        t.state = 2
        if t.window_end and time.monotonic() - t.queued_at > t.window_end + 1.0:
            result = transfers.missed_windows()
        elif t.is_download:
            if self.fail_downloads:
                result = transfers.injected_failure()
            else:
                result = await transfers.download(t.url, username=t.username, password=t.password, file_size=t.file_size)
        else:
            body = self.device.upload_body(t.file_type)
            result = await transfers.upload(t.url, body, username=t.username, password=t.password)
        self.stats.transfers[f"{t.method}:{'ok' if result.ok else result.fault.fault_code}"] += 1
        if result.ok and t.is_download and t.file_type.startswith("1 "):
            await asyncio.sleep(self.boot_delay_s)  # the new image boots
        self.device.complete_transfer(t, result.fault, result.started, result.completed)
        self._wake.set()

    async def _scheduled_inform(self, delay_s: float, command_key: str) -> None:
        await asyncio.sleep(delay_s)
        self.device.add_event(EventCode.SCHEDULED)
        self.device.add_event(EventCode.M_SCHEDULE_INFORM, command_key)
        self._wake.set()

    async def _diagnostics(self, prefix: str) -> None:
        reps = int(self.device.text(prefix + "NumberOfRepetitions", "4") or 4) or 4
        await asyncio.sleep(min(0.05 * reps, 1.0))  # pings take a moment
        self.device.run_ping(prefix)
        self._wake.set()

    async def _change_du_state(self, req: m.ChangeDUState) -> None:
        fetched: dict[str, m.FaultStruct] = {}
        for op in req.operations:
            url = getattr(op, "url", "")
            if url and url not in fetched and not isinstance(op, m.UninstallOpStruct):
                result = await transfers.download(url, username=getattr(op, "username", ""), password=getattr(op, "password", ""))
                fetched[url] = result.fault
        self.device.change_du_state(req, fetched)
        self._wake.set()

    # ------------------------------------------------------------------ the background loop
    async def _start_listener(self) -> None:
        if self._cr_server is None:
            self._own_cr_server = ConnectionRequestServer(self.cr_host, self.cr_port, stats=self.stats)
            await self._own_cr_server.start()
            server = self._own_cr_server
        else:
            server = self._cr_server
        self._set_cr_url(server.register(self))

    async def _start_nat_traversal(self, restart_stun: bool = False) -> None:
        """XMPP (Annex K) when the model has XMPP.Connection.1, STUN (Annex G) when enabled."""
        if self.xmpp is None and self.device.tree.exists(self.device.path("XMPP.Connection.1.Enable")):
            from .xmpp import CpeXmpp

            self.xmpp = CpeXmpp(self, ca_file=self.xmpp_ca_file)
        if self.xmpp is not None:
            await self.xmpp.start()
        if self.stun is None and self.device.management("STUNEnable", "false").lower() in ("true", "1"):
            from .stun import StunAgent

            self.stun = StunAgent(self)
        elif restart_stun and self.stun is not None:
            await self.stun.restart()
            return
        if self.stun is not None:
            await self.stun.start()

    def _set_cr_url(self, url: str) -> None:
        self.connection_request_url = url
        self.device.tree.base[self.device.path("ManagementServer.ConnectionRequestURL")] = url
        self.device.tree.values.pop(self.device.path("ManagementServer.ConnectionRequestURL"), None)

    def _next_periodic(self, first: bool) -> float | None:
        interval = self.device.periodic_interval()
        if interval is None:
            return None
        if first:  # devices spread over the interval, as a real population does
            return time.monotonic() + interval * self.rng.random()
        return time.monotonic() + interval * (1.0 + self.rng.uniform(-self.periodic_jitter, self.periodic_jitter))

    async def _run(self, boot_after_s: float) -> None:
        await asyncio.sleep(boot_after_s)
        self.device.reboot()
        self._wake.set()
        next_periodic = self._next_periodic(first=True)
        while True:
            if not self._wake.is_set():
                try:
                    async with asyncio.timeout_at(_loop_time_of(next_periodic)):
                        await self._wake.wait()
                except TimeoutError:
                    self.device.add_event(EventCode.PERIODIC)
                    next_periodic = self._next_periodic(first=False)
            if self._periodic_reset:
                self._periodic_reset = False
                next_periodic = self._next_periodic(first=False)
                if not self._wake.is_set():
                    continue
            self._wake.clear()
            if not self.device.events:
                continue
            report = await self.run_session()
            if not report.ok:
                wait = report.retry_after
                if wait is None:
                    wait = retry_wait_s(
                        self.retry_count,
                        float(self.device.management("CWMPRetryMinimumWaitInterval", "5") or 5),
                        float(self.device.management("CWMPRetryIntervalMultiplier", "2000") or 2000),
                        self.rng,
                    )
                await asyncio.sleep(wait * self.retry_scale)
                self._wake.set()


def _loop_time_of(deadline: float | None) -> float | None:
    """A time.monotonic() deadline on the event loop's clock (both are monotonic, maybe offset)."""
    if deadline is None:
        return None
    return asyncio.get_running_loop().time() + (deadline - time.monotonic())


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP-date: fall back to the back-off table
