"""The CPE side of TR-069 Annex G: STUN binding discovery and UDP connection requests.

A CPE behind NAT opens one UDP socket and, from it, sends RFC 5389 Binding Requests to
``ManagementServer.STUNServerAddress``:``STUNServerPort`` (with the TR-111 CONNECTION-REQUEST-BINDING
attribute, and BINDING-CHANGE once after the mapping moved). The answer's XOR-MAPPED-ADDRESS is
the public address the NAT gave that socket: the device reports it as
``ManagementServer.UDPConnectionRequestAddress`` and ``NATDetected`` (true when it differs from
the socket's own address), forced into the next Inform as a value change. Binding Requests
repeat every ``STUNMinimumKeepAlivePeriod`` seconds, which keeps the NAT mapping open.

The same socket receives the ACS's UDP connection requests: an HTTP GET line whose query carries
``ts``, ``id``, ``un``, ``cn`` and ``sig`` = HMAC-SHA1(password, ts+id+un+cn). A message is
accepted when ``un`` and ``sig`` match the connection-request credentials, its ``id`` differs from
the last accepted one and its ``ts`` is not older (the ACS repeats each message; one wakes the
device). The Binding client is written here (a few dozen lines of RFC 5389) because it must share
the socket that receives connection requests, which the PyPI STUN clients do not allow.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import logging
import os
import socket
import struct
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    from .device import Device

log = logging.getLogger(__name__)

MAGIC_COOKIE = 0x2112A442
BINDING_REQUEST, BINDING_SUCCESS = 0x0001, 0x0101
ATTR_MAPPED_ADDRESS, ATTR_USERNAME, ATTR_XOR_MAPPED_ADDRESS = 0x0001, 0x0006, 0x0020
ATTR_CONNECTION_REQUEST_BINDING, ATTR_BINDING_CHANGE = 0xC001, 0xC002  # TR-111 Part 2
TR111_BINDING = b"dslforum.org/TR-111 "


def _attribute(kind: int, value: bytes) -> bytes:
    pad = (-len(value)) % 4
    return struct.pack("!HH", kind, len(value)) + value + b"\0" * pad


def binding_request(transaction_id: bytes, *, username: str = "", binding_change: bool = False) -> bytes:
    """An RFC 5389 Binding Request with the TR-111 attributes (no MESSAGE-INTEGRITY)."""
    attrs = _attribute(ATTR_CONNECTION_REQUEST_BINDING, TR111_BINDING)
    if binding_change:
        attrs += _attribute(ATTR_BINDING_CHANGE, b"")
    if username:
        attrs += _attribute(ATTR_USERNAME, username.encode())
    return struct.pack("!HHI", BINDING_REQUEST, len(attrs), MAGIC_COOKIE) + transaction_id + attrs


def is_stun(data: bytes) -> bool:
    return len(data) >= 20 and data[0] & 0xC0 == 0 and struct.unpack_from("!I", data, 4)[0] == MAGIC_COOKIE


def parse_binding_response(data: bytes) -> tuple[bytes, tuple[str, int]] | None:
    """(transaction id, mapped address) of a Binding Success Response, or None."""
    if not is_stun(data):
        return None
    kind, length = struct.unpack_from("!HH", data, 0)
    if kind != BINDING_SUCCESS or 20 + length > len(data):
        return None
    tid, pos, end = data[8:20], 20, 20 + length
    mapped: tuple[str, int] | None = None
    while pos + 4 <= end:
        attr, alen = struct.unpack_from("!HH", data, pos)
        value = data[pos + 4 : pos + 4 + alen]
        pos += 4 + alen + (-alen) % 4
        if attr in (ATTR_XOR_MAPPED_ADDRESS, ATTR_MAPPED_ADDRESS) and len(value) >= 8:
            family, port = value[1], struct.unpack_from("!H", value, 2)[0]
            raw = value[4:8] if family == 1 else value[4:20]
            if attr == ATTR_XOR_MAPPED_ADDRESS:
                port ^= MAGIC_COOKIE >> 16
                key = struct.pack("!I", MAGIC_COOKIE) + tid
                raw = bytes(b ^ key[i] for i, b in enumerate(raw))
            address = (str(ipaddress.ip_address(raw)), port)
            if attr == ATTR_XOR_MAPPED_ADDRESS or mapped is None:
                mapped = address
    return (tid, mapped) if mapped is not None else None


@dataclass(frozen=True, slots=True)
class UdpRequest:
    ts: int
    id: str
    un: str
    cn: str
    sig: str


def parse_udp_request(data: bytes) -> UdpRequest | None:
    """The signed query of an Annex G message (``GET <uri> HTTP/1.1``), or None if malformed."""
    try:
        line = data.split(b"\r\n", 1)[0].decode("ascii")
        method, uri, version = line.split(" ")
        if method != "GET" or not version.startswith("HTTP/1."):
            return None
        q = {k: v[0] for k, v in parse_qs(urlsplit(uri).query, strict_parsing=True).items()}
        return UdpRequest(int(q["ts"]), q["id"], q["un"], q["cn"], q["sig"])
    except (UnicodeDecodeError, ValueError, KeyError):
        return None


def signature(password: str, req: UdpRequest) -> str:
    text = f"{req.ts}{req.id}{req.un}{req.cn}"
    return hmac.new(password.encode(), text.encode(), hashlib.sha1).hexdigest()


class StunTarget(Protocol):
    """What the STUN side needs of a simulated CPE (``SimulatedCpe``)."""

    device: "Device"

    def connection_request_credentials(self) -> tuple[str, str]: ...

    def connection_request(self) -> bool: ...

    def report_change(self, path: str, text: str) -> None: ...


class _Socket(asyncio.DatagramProtocol):
    def __init__(self, agent: "StunAgent") -> None:
        self.agent = agent

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.agent.received(data, addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("STUN socket error: %s", exc)


class StunAgent:
    """One device's UDP socket: STUN bindings out, UDP connection requests in."""

    def __init__(self, cpe: StunTarget, host: str = "0.0.0.0", port: int = 0) -> None:
        self.cpe = cpe
        self.host, self.port = host, port
        self.transport: asyncio.DatagramTransport | None = None
        self.mapped: tuple[str, int] | None = None
        self.outcomes: Counter[str] = Counter()  # accepted, bad_signature, replayed, busy, malformed
        self._waiting: dict[bytes, asyncio.Future[tuple[str, int]]] = {}
        self._changed = False
        self._last: tuple[int, str] | None = None
        self._keepalive: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._restart_wanted = False

    def _param(self, leaf: str, default: str = "") -> str:
        return self.cpe.device.management(leaf, default)

    @property
    def enabled(self) -> bool:
        return self._param("STUNEnable", "false").lower() in ("true", "1") and bool(self._param("STUNServerAddress"))

    def server(self) -> tuple[str, int]:
        return self._param("STUNServerAddress"), int(self._param("STUNServerPort", "3478") or 3478)

    async def start(self, first_binding_timeout_s: float = 5.0) -> None:
        """Open the socket and learn the first binding (so the boot Inform carries it)."""
        if not self.enabled or self.transport is not None:
            return
        loop = asyncio.get_running_loop()
        self.transport, _ = await loop.create_datagram_endpoint(lambda: _Socket(self), local_addr=(self.host, self.port))
        self.port = self.transport.get_extra_info("sockname")[1]
        try:
            await self.bind(timeout_s=first_binding_timeout_s)
        except TimeoutError:
            log.warning("%s: no STUN answer from %s:%s", self.cpe.device.serial, *self.server())
        self._keepalive = asyncio.create_task(self._keep_alive(), name=f"stun-{self.cpe.device.serial}")

    async def stop(self) -> None:
        if self._keepalive is not None:
            self._keepalive.cancel()
            await asyncio.gather(self._keepalive, return_exceptions=True)
            self._keepalive = None
        if self.transport is not None:
            self.transport.close()
            self.transport = None

    async def restart(self) -> None:
        """STUN settings changed: rebind with the new ones (once for several changed together)."""
        self._restart_wanted = True
        async with self._lock:
            if not self._restart_wanted:
                return
            self._restart_wanted = False
            await self.stop()
            await self.start()

    async def bind(self, timeout_s: float = 5.0) -> tuple[str, int]:
        """One Binding Request/Response (retransmitted, RFC 5389 7.2.1); reports a new mapping."""
        assert self.transport is not None
        tid = os.urandom(12)
        fut: asyncio.Future[tuple[str, int]] = asyncio.get_running_loop().create_future()
        self._waiting[tid] = fut
        message = binding_request(tid, username=self._param("STUNUsername"), binding_change=self._changed)
        host, port = self.server()
        try:
            async with asyncio.timeout(timeout_s):
                wait = 0.25
                while True:
                    self.transport.sendto(message, (host, port))
                    done, _ = await asyncio.wait({fut}, timeout=wait)
                    if done:
                        break
                    wait = min(wait * 2, 2.0)
        finally:
            self._waiting.pop(tid, None)
        mapped = fut.result()
        self._changed = False
        if mapped != self.mapped:
            self._changed = self.mapped is not None  # the next request says BINDING-CHANGE
            self.mapped = mapped
            self._report(mapped, host, port)
        return mapped

    def _report(self, mapped: tuple[str, int], stun_host: str, stun_port: int) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:  # the address the route uses
            probe.connect((stun_host, stun_port))
            local = (probe.getsockname()[0], self.port)
        root = self.cpe.device.path("ManagementServer.")
        self.cpe.report_change(root + "UDPConnectionRequestAddress", f"{mapped[0]}:{mapped[1]}")
        self.cpe.report_change(root + "NATDetected", "true" if mapped != local else "false")

    async def _keep_alive(self) -> None:
        while True:
            period = max(1, int(self._param("STUNMinimumKeepAlivePeriod", "30") or 30))
            await asyncio.sleep(period)
            try:
                await self.bind()
            except TimeoutError:
                log.info("%s: STUN keep-alive got no answer", self.cpe.device.serial)

    def received(self, data: bytes, addr: tuple[str, int]) -> None:
        if is_stun(data):
            got = parse_binding_response(data)
            if got is not None:
                fut = self._waiting.get(got[0])
                if fut is not None and not fut.done():
                    fut.set_result(got[1])
            return
        self.outcomes[self._connection_request(data)] += 1

    def _connection_request(self, data: bytes) -> str:
        req = parse_udp_request(data)
        if req is None:
            return "malformed"
        username, password = self.cpe.connection_request_credentials()
        if req.un != username or not hmac.compare_digest(req.sig.lower(), signature(password, req)):
            return "bad_signature"
        if self._last is not None and (req.id == self._last[1] or req.ts < self._last[0]):
            return "replayed"  # a repeat of the message just accepted, or an old one
        self._last = (req.ts, req.id)
        return "accepted" if self.cpe.connection_request() else "busy"
