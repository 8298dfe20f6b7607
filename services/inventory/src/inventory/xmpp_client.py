"""The ACS's XMPP connection (TR-069 Annex K): connection requests to CPEs behind NAT.

A CPE that cannot be reached by HTTP keeps an XMPP session open to the operator's server and
reports its full JID in ``ManagementServer.ConnReqJabberID``. The ACS keeps one authenticated
client connection (STARTTLS whenever the server offers it, certificate checked), and a connection
request is an ``iq type="get"`` carrying ``<connectionRequest>`` with the CPE's
connection-request username and password; the CPE answers with an empty result or an error.
A lost connection is reopened with exponential back-off; meanwhile requests fail fast as
"unreachable" so the transport choice falls back to HTTP or UDP.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from slixmpp import ClientXMPP, Iq
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream import ElementBase, register_stanza_plugin

if TYPE_CHECKING:
    from .config import Settings
    from .metrics import Metrics

log = logging.getLogger(__name__)

NS = "urn:broadband-forum-org:cwmp:xmppConnReq-1-0"


class ConnectionRequest(ElementBase):
    """``<connectionRequest xmlns="urn:broadband-forum-org:cwmp:xmppConnReq-1-0">``."""

    name = "connectionRequest"
    namespace = NS
    plugin_attrib = "cwmp_connection_request"
    interfaces = {"username", "password"}  # noqa: RUF012 - slixmpp reads these class attributes
    sub_interfaces = interfaces


register_stanza_plugin(Iq, ConnectionRequest)

# XMPP error conditions as connection-request outcomes (the names the HTTP path uses).
_CONDITIONS = {
    "not-authorized": "auth_failed",
    "forbidden": "auth_failed",
    "service-unavailable": "unreachable",
    "recipient-unavailable": "unreachable",
    "item-not-found": "unreachable",
    "remote-server-not-found": "unreachable",
    "resource-constraint": "rate_limited",
    "policy-violation": "rate_limited",
}


@dataclass(frozen=True, slots=True)
class XmppSettings:
    jid: str  # bare or full; a resource is added when missing so replicas do not kick each other
    password: str
    server: str = ""  # host:port; empty: the JID's domain (DNS SRV)
    ca_file: str = ""  # CA bundle for the server's certificate; empty: the system's
    verify_tls: bool = True
    timeout_s: float = 5.0
    backoff_max_s: float = 60.0


class XmppConnector:
    """One XMPP client session, kept open; ``connection_request`` sends the Annex K IQ."""

    def __init__(self, settings: XmppSettings, resource: str,
                 on_change: Callable[[int], None] | None = None) -> None:
        self.settings = settings
        self.on_change = on_change or (lambda _online: None)
        jid = settings.jid if "/" in settings.jid else f"{settings.jid}/{resource}"
        self.client = ClientXMPP(jid, settings.password)
        self.client.register_plugin("xep_0199")  # ping: keeps NAT and load balancer state alive
        if settings.ca_file:
            self.client.ca_certs = Path(settings.ca_file)
        if not settings.verify_tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            self.client.ssl_context = ctx
        self.online = asyncio.Event()
        self.last_error = ""
        self._stopping = False
        self._backoff = 0.0
        self._reconnect: asyncio.Task[None] | None = None
        self.client.add_event_handler("session_start", self._on_session_start)
        self.client.add_event_handler("disconnected", self._on_disconnected)
        self.client.add_event_handler("failed_auth", self._on_failed_auth)

    @property
    def jid(self) -> str:
        return str(self.client.boundjid)

    def start(self) -> None:
        self._connect()

    def _connect(self) -> None:
        host, port = _host_port(self.settings.server)
        self.client.connect(host, port)

    async def _on_session_start(self, _event: object) -> None:
        self._backoff = 0.0
        self.last_error = ""
        self.client.send_presence()
        self.online.set()
        self.on_change(1)
        log.info("XMPP session open as %s", self.client.boundjid)

    def _on_failed_auth(self, _event: object) -> None:
        self.last_error = "XMPP authentication failed"
        log.warning("XMPP authentication failed for %s", self.settings.jid)

    def _on_disconnected(self, reason: object) -> None:
        self.online.clear()
        self.on_change(0)
        if self._stopping:
            return
        self.last_error = f"XMPP disconnected: {reason}"
        self._backoff = min(self.settings.backoff_max_s, self._backoff * 2 + 1.0)
        log.warning("XMPP disconnected (%s); reconnecting in %.0f s", reason, self._backoff)
        if self._reconnect is None or self._reconnect.done():
            self._reconnect = asyncio.ensure_future(self._reconnect_later(self._backoff))

    async def _reconnect_later(self, delay: float) -> None:
        await asyncio.sleep(delay)
        if not self._stopping:
            self._connect()

    async def wait_online(self, timeout: float) -> bool:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self.online.wait()
        return self.online.is_set()

    async def connection_request(self, to: str, username: str, password: str) -> tuple[str, str | None]:
        """(outcome, error): outcome is ok, auth_failed, unreachable, rate_limited or error."""
        if not self.online.is_set():
            return "unreachable", self.last_error or "the ACS has no XMPP session"
        iq = self.client.make_iq_get(ito=to)
        iq["cwmp_connection_request"]["username"] = username
        iq["cwmp_connection_request"]["password"] = password
        try:
            await iq.send(timeout=self.settings.timeout_s)
        except IqError as e:
            condition = e.iq["error"]["condition"]
            return _CONDITIONS.get(condition, "error"), f"XMPP error {condition}"
        except IqTimeout:
            return "unreachable", f"no XMPP answer in {self.settings.timeout_s} s"
        return "ok", None

    async def stop(self) -> None:
        self._stopping = True
        if self._reconnect is not None:
            self._reconnect.cancel()
        if self.client.transport is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.client.disconnect(wait=1.0), 3.0)
        self.client.cancel_connection_attempt()


def _host_port(address: str) -> tuple[str | None, int | None]:
    if not address:
        return None, None
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"NBI_XMPP_SERVER {address!r} is not host:port")
    return host.strip("[]"), int(port)


def start_for(settings: "Settings", metrics: "Metrics") -> XmppConnector:
    """The process's connector from NBI_XMPP_*, connecting in the background; each process binds
    its own resource so several inventory replicas share one account."""
    connector = XmppConnector(
        XmppSettings(settings.xmpp_jid, settings.xmpp_password, settings.xmpp_server, settings.xmpp_ca_file,
                     settings.xmpp_verify_tls, settings.xmpp_timeout_s),
        resource=f"acs-{socket.gethostname()}-{os.getpid()}",
        on_change=metrics.xmpp_online.set,
    )
    connector.start()
    return connector
