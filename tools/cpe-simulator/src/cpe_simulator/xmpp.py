"""The CPE side of TR-069 Annex K: an XMPP client that answers connection requests.

The device keeps one XMPP session (``<root>XMPP.Connection.1.``: Username, Password, Domain,
Resource and ``Server.1.ServerAddress``/``Port``) and reports the JID it was bound to in
``ManagementServer.ConnReqJabberID`` (forced into the next Inform as a value change). An
``iq type="get"`` with ``<connectionRequest>`` is accepted when its sender's bare JID is in
``ManagementServer.ConnReqAllowedJabberIDs`` (empty: anyone) and its username and password are
the device's connection-request credentials; the device answers an empty result and opens a
session with "6 CONNECTION REQUEST", or an error: ``not-authorized`` for bad credentials,
``forbidden`` for a sender not allowed, ``resource-constraint`` while a session runs.

Dumps of TR-098 gateways have no XMPP objects: :func:`with_xmpp` adds them (under the model's
root) so any model can be simulated as an XMPP-capable device. Changing the XMPP settings with
SetParameterValues (bootstrap provisioning) reconnects with the new ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from slixmpp import ClientXMPP, Iq
from slixmpp.exceptions import XMPPError
from slixmpp.xmlstream import ElementBase, StanzaBase, register_stanza_plugin
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import StanzaPath

from .datamodel import DataModel, Node, parent_path

if TYPE_CHECKING:
    from .device import Device

log = logging.getLogger(__name__)

NS = "urn:broadband-forum-org:cwmp:xmppConnReq-1-0"
CONNECTION = "XMPP.Connection.1."
_STRING, _BOOL, _UINT = "xsd:string", "xsd:boolean", "xsd:unsignedInt"
# (path relative to the root, writable, default, type); objects end with ".".
XMPP_ROWS: tuple[tuple[str, bool, str, str], ...] = (
    ("ManagementServer.ConnReqJabberID", False, "", _STRING),
    ("ManagementServer.ConnReqAllowedJabberIDs", True, "", _STRING),
    ("ManagementServer.ConnReqXMPPConnection", True, "", _STRING),
    ("XMPP.", False, "", ""),
    ("XMPP.ConnectionNumberOfEntries", False, "1", _UINT),
    ("XMPP.Connection.", False, "", ""),
    (CONNECTION, False, "", ""),
    (CONNECTION + "Enable", True, "false", _BOOL),
    (CONNECTION + "Username", True, "", _STRING),
    (CONNECTION + "Password", True, "", _STRING),
    (CONNECTION + "Domain", True, "", _STRING),
    (CONNECTION + "Resource", True, "cwmp", _STRING),
    (CONNECTION + "JabberID", False, "", _STRING),
    (CONNECTION + "Status", False, "Disabled", _STRING),
    (CONNECTION + "ServerNumberOfEntries", False, "1", _UINT),
    (CONNECTION + "Server.", False, "", ""),
    (CONNECTION + "Server.1.", False, "", ""),
    (CONNECTION + "Server.1.ServerAddress", True, "", _STRING),
    (CONNECTION + "Server.1.Port", True, "5222", _UINT),
)


def with_xmpp(model: DataModel) -> DataModel:
    """``model`` plus the XMPP objects and ManagementServer.ConnReq* parameters it lacks."""
    nodes = dict(model.nodes)
    for rel, writable, value, xsd in XMPP_ROWS:
        path = model.root + rel
        if path not in nodes:
            nodes[path] = Node(True, writable) if rel.endswith(".") else Node(False, writable, value, xsd)
    children: dict[str, list[str]] = {p: [] for p, n in nodes.items() if n.is_object}
    for p in nodes:
        parent = parent_path(p)
        if parent is not None:
            children[parent].append(p)
    return DataModel(model.source + "+xmpp", model.root, nodes, {k: tuple(v) for k, v in children.items()},
                     model.identity)


class ConnectionRequest(ElementBase):
    """``<connectionRequest xmlns="urn:broadband-forum-org:cwmp:xmppConnReq-1-0">``."""

    name = "connectionRequest"
    namespace = NS
    plugin_attrib = "cwmp_connection_request"
    interfaces = {"username", "password"}  # noqa: RUF012 - slixmpp reads these class attributes
    sub_interfaces = interfaces


register_stanza_plugin(Iq, ConnectionRequest)


class XmppTarget(Protocol):
    """What the XMPP side needs of a simulated CPE (``SimulatedCpe``)."""

    device: "Device"

    def connection_request_credentials(self) -> tuple[str, str]: ...

    def connection_request(self) -> bool: ...

    def report_change(self, path: str, text: str) -> None: ...


class CpeXmpp:
    """The device's XMPP session, (re)built from its XMPP.Connection.1 parameters."""

    def __init__(self, cpe: XmppTarget, *, ca_file: str = "", verify_tls: bool = True) -> None:
        self.cpe = cpe
        self.ca_file = ca_file
        self.verify_tls = verify_tls
        self.client: ClientXMPP | None = None
        self.online = asyncio.Event()
        self.requests = 0  # connection requests accepted
        self._lock = asyncio.Lock()
        self._restart_wanted = False

    def _param(self, rel: str, default: str = "") -> str:
        return self.cpe.device.text(self.cpe.device.path(rel), default)

    @property
    def enabled(self) -> bool:
        return self._param(CONNECTION + "Enable", "false").lower() in ("true", "1")

    async def start(self) -> None:
        """Connect when XMPP.Connection.1 is enabled; returns without waiting for the session."""
        if not self.enabled or self.client is not None:
            return
        user, domain = self._param(CONNECTION + "Username"), self._param(CONNECTION + "Domain")
        resource = self._param(CONNECTION + "Resource") or "cwmp"
        client = ClientXMPP(f"{user}@{domain}/{resource}", self._param(CONNECTION + "Password"))
        if self.ca_file:
            client.ca_certs = Path(self.ca_file)
        if not self.verify_tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            client.ssl_context = ctx
        client.register_handler(Callback(
            "cwmp connection request", StanzaPath("iq@type=get/cwmp_connection_request"), self._on_request))
        client.add_event_handler("session_start", self._on_session_start)
        client.add_event_handler("disconnected", self._on_disconnected)
        self.client = client
        self._status("Connecting")
        client.connect(*self._server())

    def _server(self) -> tuple[str | None, int | None]:
        """Server.1's address, or (None, None): the domain's DNS SRV record."""
        host = self._param(CONNECTION + "Server.1.ServerAddress")
        if not host:
            return None, None
        return host, int(self._param(CONNECTION + "Server.1.Port", "5222") or 5222)

    async def stop(self) -> None:
        client, self.client = self.client, None
        self.online.clear()
        if client is None:
            return
        if client.transport is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.disconnect(wait=0.5), 2.0)
        client.cancel_connection_attempt()
        self._status("Disabled")

    async def restart(self) -> None:
        """The XMPP settings changed (SetParameterValues): reconnect with the new ones, once for
        the several parameters one SetParameterValues changed."""
        self._restart_wanted = True
        async with self._lock:
            if not self._restart_wanted:
                return
            self._restart_wanted = False
            await self.stop()
            await self.start()

    def _status(self, status: str) -> None:
        self.cpe.device.tree.set(self.cpe.device.path(CONNECTION + "Status"), status)

    async def _on_session_start(self, _event: object) -> None:
        assert self.client is not None
        self.client.send_presence()
        jid = str(self.client.boundjid)
        self._status("Enabled")
        self.cpe.device.tree.set(self.cpe.device.path(CONNECTION + "JabberID"), jid)
        if not self._param("ManagementServer.ConnReqXMPPConnection"):
            self.cpe.device.tree.set(self.cpe.device.path("ManagementServer.ConnReqXMPPConnection"),
                                     self.cpe.device.path(CONNECTION.rstrip(".")))
        self.cpe.report_change(self.cpe.device.path("ManagementServer.ConnReqJabberID"), jid)
        self.online.set()

    def _on_disconnected(self, _reason: object) -> None:
        self.online.clear()
        if self.client is not None:
            self._status("Error")
            # slixmpp's own back-off (exponential, capped) takes the next attempt.
            self.client.connect(*self._server())

    def _on_request(self, iq: StanzaBase) -> None:
        assert isinstance(iq, Iq)
        allowed = [j.strip() for j in self._param("ManagementServer.ConnReqAllowedJabberIDs").split(",") if j.strip()]
        if allowed and iq["from"].bare not in allowed and str(iq["from"]) not in allowed:
            raise XMPPError("forbidden", etype="cancel")
        req = iq["cwmp_connection_request"]
        if (req["username"], req["password"]) != self.cpe.connection_request_credentials():
            raise XMPPError("not-authorized", etype="auth")
        if not self.cpe.connection_request():
            raise XMPPError("resource-constraint", etype="wait")
        self.requests += 1
        iq.reply(clear=True).send()
