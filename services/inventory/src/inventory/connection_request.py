"""Connection requests: ask a CPE to open a CWMP session now (TR-069 3.2.2, Annex G, Annex K).

The transports are tried in the order ``cr_transport.order`` picks from what the device reported
(HTTP first; XMPP then UDP first for a device that detected NAT), until one succeeds:

* HTTP: a GET to the device's ConnectionRequestURL, answering a Digest or Basic challenge with the
  device's connection-request credentials. A CPE that is rate-limiting answers 503 (or 429): we
  wait a little (its Retry-After, capped) and try once more.
* XMPP: the Annex K ``connectionRequest`` IQ to its ConnReqJabberID over the ACS's XMPP session
  (``xmpp_client``), answered with a result or an error.
* UDP: the Annex G message to its UDPConnectionRequestAddress, a signed HTTP request line in a
  datagram, sent several times since UDP may drop it (no answer comes: sent counts as ok).

Every attempt is counted in ``acs_connection_requests_total{transport,outcome}`` and timed in
``acs_connection_request_duration_seconds{transport}``; the task's ``connectionRequest`` field
records the transport that worked and each attempt.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from multidict import CIMultiDictProxy

from acs_contracts import cpe_secrets

from .config import Settings
from .cr_transport import Reach, order
from .cr_transport import paths as _paths
from .metrics import Metrics
from .shapes import param_value
from .xmpp_client import XmppConnector

log = logging.getLogger(__name__)

# How long an idle connection to a CPE stays open for the next request to it (at most about
# rate x KEEPALIVE_S idle sockets with a fleet of distinct addresses).
KEEPALIVE_S = 1.0
CLOSERS_KEPT = 10000  # CPE addresses remembered as closing their connections silently

@dataclass(frozen=True, slots=True)
class Credentials:
    username: str
    password: str


def udp_message(host_port: str, username: str, password: str, *, ts: int | None = None,
                message_id: str | None = None, cnonce: str | None = None) -> bytes:
    """The Annex G message: an HTTP GET line whose query is signed with HMAC-SHA1(password).

    sig = HMAC-SHA1 over the concatenation ts + id + un + cn, keyed with the password, in hex.
    """
    ts_s = str(int(time.time()) if ts is None else ts)
    mid = message_id or secrets.token_hex(8)
    cn = cnonce or secrets.token_hex(8)
    sig = hmac.new(password.encode(), (ts_s + mid + username + cn).encode(), hashlib.sha1).hexdigest()
    uri = f"http://{host_port}?ts={ts_s}&id={mid}&un={username}&cn={cn}&sig={sig}"
    return f"GET {uri} HTTP/1.1\r\nHost: {host_port}\r\n\r\n".encode()


def split_host_port(address: str, default_port: int = 80) -> tuple[str, int]:
    """``host:port``, ``[v6]:port`` or a bare host (port 80)."""
    if address.startswith("["):
        host, _, rest = address[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else default_port
    if address.count(":") == 1:
        host, port = address.split(":")
        return host, int(port)
    return address, default_port


class _Sender(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.error: Exception | None = None

    def error_received(self, exc: Exception) -> None:
        self.error = exc


def stored_credentials(doc: Mapping[str, Any] | None, sealed: cpe_secrets.Secrets) -> Credentials | None:
    """The connection-request credentials of a ``credentials`` document, decrypted for this
    request only (a legacy plaintext password reads as is); None when it has none, or when no
    configured key opens them (logged)."""
    cr = (doc or {}).get("connectionRequest") or {}
    if not cr.get("username"):
        return None
    try:
        return Credentials(str(cr["username"]), sealed.open(cr.get("password")))
    except cpe_secrets.CredentialKeyError as e:
        log.error("connection request credentials of %s unreadable: %s", (doc or {}).get("_id"), e)
        return None


class ConnectionRequester:
    def __init__(self, settings: Settings, metrics: Metrics, credentials: Any) -> None:
        self.settings = settings
        self.metrics = metrics
        self.credentials = credentials  # the credentials collection
        self.secrets = cpe_secrets.from_env("inventory")  # their passwords, decrypted for a request only
        self._http_session: aiohttp.ClientSession | None = None  # made in the running loop, on first use
        self._fresh_session: aiohttp.ClientSession | None = None
        self._closers: OrderedDict[str, None] = OrderedDict()  # CPE addresses that close silently (LRU)
        self.xmpp: XmppConnector | None = None  # set by the runtime when NBI_XMPP_JID is given
        self._repeats: set[asyncio.Task[None]] = set()  # UDP repeats still to send

    async def close(self) -> None:
        for repeat in list(self._repeats):
            repeat.cancel()
        for session in (self._http_session, self._fresh_session):
            if session is not None:
                await session.close()

    def _session(self, *, keep_alive: bool) -> aiohttp.ClientSession:
        connector = (aiohttp.TCPConnector(limit=0, keepalive_timeout=KEEPALIVE_S, ttl_dns_cache=60) if keep_alive
                     else aiohttp.TCPConnector(limit=0, force_close=True, ttl_dns_cache=60))
        return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=self.settings.cr_timeout_s),
                                     trust_env=False)

    @property
    def http(self) -> aiohttp.ClientSession:
        """One pooled client for HTTP connection requests (aiohttp: a fleet needs its speed).

        Connections are kept open for ``KEEPALIVE_S`` where the CPE allows: the Digest answer then
        goes over the connection its 401 came on, and CPEs behind one address and port (a simulated
        fleet, a CPE proxy) share connections; opening connections was half the client's CPU per
        request. CPEs that close theirs after answering without saying so get ``http_fresh``."""
        if self._http_session is None:
            self._http_session = self._session(keep_alive=True)
        return self._http_session

    @property
    def http_fresh(self) -> aiohttp.ClientSession:
        """A new connection per request: for CPEs that close theirs after a 401 without saying so
        (a reused connection then turns out closed), remembered by address in ``_closers``."""
        if self._fresh_session is None:
            self._fresh_session = self._session(keep_alive=False)
        return self._fresh_session

    async def credentials_for(self, device: Mapping[str, Any]) -> Credentials:
        """The credentials collection first, then the device's own values, then the defaults."""
        async with self.metrics.mongo("find_credentials"):
            doc = await self.credentials.find_one({"_id": device["_id"]}, {"connectionRequest": 1})
        stored = stored_credentials(doc, self.secrets)
        if stored is not None:
            return stored
        user = param_value(device, *_paths("ConnectionRequestUsername"))
        if user:
            password = param_value(device, *_paths("ConnectionRequestPassword"))
            return Credentials(str(user), str(password or ""))
        return Credentials(self.settings.cr_username, self.settings.cr_password)

    async def request(self, device: Mapping[str, Any], credentials: Credentials | None = None) -> dict[str, Any]:
        """Each transport the device can be reached by, best first, until one works; the outcome
        as recorded on the task (``connectionRequest``). ``credentials``: already looked up (a
        paced batch reads them in one query); else from the credentials collection."""
        reach = Reach.of(device)
        transports = order(reach, xmpp=self.xmpp is not None)
        if not transports:
            return {
                "status": "error", "transport": None, "at": datetime.now(UTC),
                "error": "device has no ConnectionRequestURL, UDPConnectionRequestAddress or ConnReqJabberID",
                "attempts": [],
            }
        creds = credentials or await self.credentials_for(device)
        attempts: list[dict[str, Any]] = []
        for transport in transports:
            t0 = time.perf_counter()
            if transport == "http":
                assert reach.url is not None
                attempts.extend(await self._http(reach.url, creds))
            elif transport == "xmpp":
                assert reach.jid is not None
                attempts.append(await self._xmpp(reach.jid, creds))
            else:
                assert reach.udp is not None
                attempts.append(await self._udp(reach.udp, creds))
            self.metrics.connection_request_duration.labels(transport).observe(time.perf_counter() - t0)
            if attempts[-1]["status"] == "ok":
                break
        return self._result(attempts)

    async def _xmpp(self, jid: str, creds: Credentials) -> dict[str, Any]:
        assert self.xmpp is not None
        status, error = await self.xmpp.connection_request(jid, creds.username, creds.password)
        return self._outcome("xmpp", status, error, jabberID=jid)

    @staticmethod
    def _result(attempts: list[dict[str, Any]]) -> dict[str, Any]:
        last = attempts[-1]
        return {"status": last["status"], "transport": last["transport"], "at": last["at"],
                "error": last["error"], "attempts": attempts}

    def _outcome(self, transport: str, status: str, error: str | None, **extra: Any) -> dict[str, Any]:
        self.metrics.connection_requests.labels(transport, status).inc()
        return {"transport": transport, "status": status, "error": error,
                "at": datetime.now(UTC), **extra}

    async def _http(self, url: str, creds: Credentials) -> list[dict[str, Any]]:
        """One GET, and a second one after a 503/429 (the CPE is rate-limiting connection requests)."""
        first = await self._http_once(url, creds)
        if first[0]["status"] != "rate_limited":
            return [first[0]]
        await asyncio.sleep(self._retry_delay(first[1]))
        return [first[0], (await self._http_once(url, creds))[0]]

    async def _http_once(self, url: str, creds: Credentials) -> tuple[dict[str, Any], Mapping[str, str] | None]:
        try:
            code, headers = await self._get(url, creds)
            schemes = [h.split(" ", 1)[0].lower() for h in headers.getall("WWW-Authenticate", [])]
            if code == 401 and "basic" in schemes and "digest" not in schemes:
                code, headers = await self._get(url, creds, basic=True)
        except TimeoutError as e:
            return self._outcome("http", "unreachable", f"timeout: {e!r}"), None
        except (aiohttp.ClientConnectionError, OSError) as e:
            return self._outcome("http", "unreachable", f"{type(e).__name__}: {e}"), None
        except (aiohttp.ClientError, ValueError) as e:
            return self._outcome("http", "error", f"{type(e).__name__}: {e}"), None
        if 200 <= code < 300:
            status, error = "ok", None
        elif code in (401, 403):
            status, error = "auth_failed", f"HTTP {code}"
        elif code in (429, 503):
            status, error = "rate_limited", f"HTTP {code}"
        else:
            status, error = "error", f"HTTP {code}"
        return self._outcome("http", status, error, httpStatus=code), headers

    async def _get(self, url: str, creds: Credentials, basic: bool = False) -> tuple[int, CIMultiDictProxy[str]]:
        """One GET (a Digest challenge answered inside it), on a kept-open connection unless the CPE
        is known to close its connections silently; when a kept-open one turns out closed, the GET
        is sent again on new connections and the CPE's address remembered."""
        address = urlsplit(url).netloc
        if address not in self._closers:
            try:
                return await self._get_on(self.http, url, creds, basic)
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as e:
                if isinstance(e, aiohttp.ClientConnectorError):
                    raise  # not reached at all: a new connection would fare no better
                self._closers[address] = None
                if len(self._closers) > CLOSERS_KEPT:
                    self._closers.popitem(last=False)
        else:
            self._closers.move_to_end(address)
        return await self._get_on(self.http_fresh, url, creds, basic)

    @staticmethod
    async def _get_on(session: aiohttp.ClientSession, url: str, creds: Credentials,
                      basic: bool) -> tuple[int, CIMultiDictProxy[str]]:
        """Digest through aiohttp's middleware; Basic only when ``basic`` (after the CPE asked for
        it: never sent in the clear unasked)."""
        if basic:
            extra: dict[str, Any] = {"headers": {"Authorization": aiohttp.BasicAuth(creds.username, creds.password).encode()}}
        else:
            extra = {"middlewares": (aiohttp.DigestAuthMiddleware(creds.username, creds.password),)}
        async with session.get(url, allow_redirects=False, **extra) as response:
            await response.read()
            return response.status, response.headers

    def _retry_delay(self, headers: Mapping[str, str] | None) -> float:
        delay = self.settings.cr_retry_delay_s
        header = headers.get("retry-after", "") if headers is not None else ""
        if header.strip().isdigit():
            delay = float(header.strip())
        return min(max(delay, 0.0), self.settings.cr_retry_max_delay_s)

    async def _udp(self, address: str, creds: Credentials) -> dict[str, Any]:
        try:
            host, port = split_host_port(address)
        except ValueError:
            return self._outcome("udp", "error", f"bad UDPConnectionRequestAddress {address!r}")
        loop = asyncio.get_running_loop()
        try:
            transport, proto = await loop.create_datagram_endpoint(_Sender, remote_addr=(host, port))
        except OSError as e:
            return self._outcome("udp", "unreachable", f"{type(e).__name__}: {e}")
        message = udp_message(address, creds.username, creds.password)
        transport.sendto(message)
        if proto.error is not None:
            transport.close()
            return self._outcome("udp", "unreachable", str(proto.error))
        # The repeats (the same message, same id, per Annex G) go out in the background: the
        # caller's wait for the session starts with the first datagram, not after the last.
        repeat = asyncio.create_task(self._repeat_udp(transport, message))
        self._repeats.add(repeat)
        repeat.add_done_callback(self._repeats.discard)
        return self._outcome("udp", "ok", None)

    async def _repeat_udp(self, transport: asyncio.DatagramTransport, message: bytes) -> None:
        try:
            for _ in range(max(1, self.settings.cr_udp_repeats) - 1):
                await asyncio.sleep(self.settings.cr_udp_interval_s)
                transport.sendto(message)
        finally:
            transport.close()
