"""Connection requests against a real (tiny) CPE HTTP endpoint and a UDP socket."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import pytest
import pytest_asyncio
from inv_support import OPERATOR, free_port, igd_device

from acs_devstack.polling import eventually

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _md5(s: str) -> str:
    return hashlib.md5(s.encode()).hexdigest()


@dataclass
class CpeEndpoint:
    """A CPE's connection-request listener: Digest or Basic, with scripted 503s."""

    scheme: str = "digest"
    username: str = "cpe"
    password: str = "secret"
    busy: int = 0  # answer this many requests with 503 first
    on_accept: object = None
    requests: list[dict] = field(default_factory=list)
    accepted: int = 0
    realm: str = "cpe-realm"
    nonce: str = field(default_factory=lambda: secrets.token_hex(8))
    keep_alive: bool = False
    connections: int = 0

    def check(self, header: str | None) -> bool:
        if not header:
            return False
        if self.scheme == "basic":
            import base64
            return header == "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        if not header.startswith("Digest "):
            return False
        p = dict(re.findall(r'(\w+)="?([^",]*)"?', header[7:]))
        ha1 = _md5(f"{p.get('username')}:{self.realm}:{self.password}")
        ha2 = _md5(f"GET:{p.get('uri')}")
        want = _md5(f"{ha1}:{p.get('nonce')}:{p.get('nc')}:{p.get('cnonce')}:{p.get('qop')}:{ha2}")
        return p.get("username") == self.username and p.get("nonce") == self.nonce and p.get("response") == want

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One request, then the connection closed without saying so (as many CPEs do); with
        ``keep_alive``, requests until the client closes it."""
        self.connections += 1
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                break
            await self._answer(head, writer)
            if not self.keep_alive:
                break
        writer.close()

    async def _answer(self, head: bytes, writer: asyncio.StreamWriter) -> None:
        lines = head.decode().split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        self.requests.append({"line": lines[0], "authorization": headers.get("authorization")})
        extra = ""
        if self.busy > 0:
            self.busy -= 1
            status = "503 Service Unavailable"
            extra = "Retry-After: 0\r\n"
        elif self.check(headers.get("authorization")):
            status = "200 OK"
            self.accepted += 1
            if self.on_accept:
                asyncio.get_running_loop().call_soon(self.on_accept)
        else:
            status = "401 Unauthorized"
            if self.scheme == "digest":
                extra = f'WWW-Authenticate: Digest realm="{self.realm}", qop="auth", nonce="{self.nonce}", algorithm=MD5\r\n'
            else:
                extra = f'WWW-Authenticate: Basic realm="{self.realm}"\r\n'
        writer.write(f"HTTP/1.1 {status}\r\n{extra}Content-Length: 0\r\n\r\n".encode())
        await writer.drain()


@pytest_asyncio.fixture(loop_scope="session")
async def cpe():
    ep = CpeEndpoint()
    server = await asyncio.start_server(ep.handle, "127.0.0.1", 0)
    ep.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/cr"
    async with server:
        yield ep
        server.close()


class UdpListener(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.packets: list[bytes] = []

    def datagram_received(self, data: bytes, addr) -> None:
        self.packets.append(data)


@pytest_asyncio.fixture(loop_scope="session")
async def udp():
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(UdpListener, local_addr=("127.0.0.1", 0))
    proto.address = f"127.0.0.1:{transport.get_extra_info('sockname')[1]}"
    yield proto
    transport.close()


async def _device(runtime, device_id: str, **kw) -> str:
    await runtime.db.devices.replace_one({"_id": device_id}, igd_device(device_id, **kw), upsert=True)
    return device_id


def _count(nbi_metrics: str, transport: str, outcome: str) -> float:
    for line in nbi_metrics.splitlines():
        if line.startswith("acs_connection_requests_total{") and f'transport="{transport}"' in line and f'outcome="{outcome}"' in line:
            return float(line.split()[-1])
    return 0.0


async def test_digest_connection_request_then_completion(nbi, runtime, cpe):
    dev = await _device(runtime, "A1B2C3-Cr-0001", cr_url=cpe.url)
    await runtime.db.credentials.replace_one({"_id": dev}, {"connectionRequest": {"username": "cpe", "password": "secret"}}, upsert=True)

    def cpe_connects() -> None:  # the CPE opens a session; the scheduler completes the task
        async def finish():
            await asyncio.sleep(0.1)  # the session comes after the connection request was answered
            await runtime.db.tasks.update_one({"device": dev, "status": "pending"}, {"$set": {"status": "done", "result": {}}})
        asyncio.get_running_loop().create_task(finish())

    cpe.on_accept = cpe_connects
    before = _count((await nbi.get("/metrics")).text, "http", "ok")
    r = await nbi.post(f"/devices/{dev}/tasks", params={"connection_request": "", "timeout": "5000"},
                       json={"name": "reboot"}, headers=OPERATOR)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "done"
    assert cpe.accepted == 1 and cpe.requests[0]["authorization"] is None
    assert cpe.requests[1]["authorization"].startswith("Digest ")
    stored = await runtime.db.tasks.find_one({"device": dev})
    assert stored["connectionRequest"]["status"] == "ok" and stored["connectionRequest"]["transport"] == "http"
    assert stored["connectionRequest"]["error"] is None and stored["connectionRequest"]["at"] is not None
    assert _count((await nbi.get("/metrics")).text, "http", "ok") == before + 1


async def test_encrypted_credentials_are_decrypted_for_the_request_only(nbi, runtime, cpe):
    """Credentials stored sealed (ACS_CREDENTIALS_KEYS) reach the CPE; the NBI never shows them."""
    from acs_contracts.cpe_secrets import Secrets, new_key

    keys = Secrets([new_key()])
    was, runtime.cr.secrets = runtime.cr.secrets, keys
    try:
        cpe.scheme, cpe.username, cpe.password = "basic", "sealed-user", "sealed-pass"
        dev = await _device(runtime, "A1B2C3-Cr-0009", cr_url=cpe.url)
        await runtime.db.credentials.replace_one(
            {"_id": dev}, {"connectionRequest": {"username": "sealed-user", "password": keys.seal("sealed-pass")}}, upsert=True)
        r = await nbi.post(f"/devices/{dev}/tasks", params={"connection_request": "", "timeout": "50"},
                           json={"name": "reboot"}, headers=OPERATOR)
        assert r.status_code == 202 and r.json()["connectionRequest"]["status"] == "ok", r.text
        assert cpe.accepted == 1 and "sealed-pass" not in r.text
        listed = await nbi.get("/devices/", params={"query": f'{{"_id": "{dev}"}}'}, headers=OPERATOR)
        assert listed.status_code == 200 and "sealed-pass" not in listed.text and "credentials" not in listed.text
        runtime.cr.secrets = Secrets([new_key()])  # a key that does not open them: refused, with the defaults tried
        r = await nbi.post(f"/devices/{dev}/tasks", params={"connection_request": "", "timeout": "50"},
                           json={"name": "reboot"}, headers=OPERATOR)
        assert r.json()["connectionRequest"]["status"] == "auth_failed"
    finally:
        runtime.cr.secrets = was


async def test_basic_with_device_credentials_and_timeout(nbi, runtime, cpe):
    cpe.scheme, cpe.username, cpe.password = "basic", "devuser", "devpass"
    dev = await _device(runtime, "A1B2C3-Cr-0002", cr_url=cpe.url, cr_user="devuser", cr_pass="devpass")
    r = await nbi.post(f"/devices/{dev}/tasks", params={"connection_request": "", "timeout": "300"},
                       json={"name": "reboot"}, headers=OPERATOR)
    assert r.status_code == 202
    assert r.json()["connectionRequest"]["status"] == "ok" and cpe.accepted == 1


async def test_a_cpe_that_keeps_connections_open_is_asked_over_one(nbi, runtime, cpe):
    """The Digest answer goes over the connection the 401 came on, and the next request reuses it."""
    cpe.keep_alive = True
    dev = await _device(runtime, "A1B2C3-Cr-0010", cr_url=cpe.url)
    await runtime.db.credentials.replace_one({"_id": dev}, {"connectionRequest": {"username": "cpe", "password": "secret"}}, upsert=True)
    for i in range(2):
        r = await nbi.post(f"/devices/{dev}/tasks", params={"connection_request": "", "timeout": "50"}, json={"name": "reboot"}, headers=OPERATOR)
        assert r.json()["connectionRequest"]["status"] == "ok"
        if i == 0:
            assert cpe.connections == 1  # the answer to the 401 went over the connection it came on
    assert cpe.accepted == 2
    # each connection request answers a challenge of its own: no nonce is carried over to the next
    assert [bool(r["authorization"]) for r in cpe.requests] == [False, True, False, True]


async def test_default_credentials_and_auth_failure(nbi, runtime, cpe):
    cpe.username, cpe.password = "default-user", "default-pass"
    dev = await _device(runtime, "A1B2C3-Cr-0003", cr_url=cpe.url)
    r = await nbi.post(f"/devices/{dev}/tasks", params={"connection_request": "", "timeout": "50"}, json={"name": "reboot"}, headers=OPERATOR)
    assert r.json()["connectionRequest"]["status"] == "ok"
    cpe.password = "changed"
    r = await nbi.post(f"/devices/{dev}/tasks", params={"connection_request": "", "timeout": "50"}, json={"name": "reboot"}, headers=OPERATOR)
    assert r.status_code == 202
    cr = r.json()["connectionRequest"]
    assert cr["status"] == "auth_failed" and "401" in cr["error"], cr
    assert _count((await nbi.get("/metrics")).text, "http", "auth_failed") >= 1


async def test_503_is_retried_once(nbi, runtime, cpe):
    dev = await _device(runtime, "A1B2C3-Cr-0004", cr_url=cpe.url)
    await runtime.db.credentials.replace_one({"_id": dev}, {"connectionRequest": {"username": "cpe", "password": "secret"}}, upsert=True)
    cpe.busy = 1
    r = await nbi.post(f"/devices/{dev}/tasks", params={"connection_request": "", "timeout": "50"}, json={"name": "reboot"}, headers=OPERATOR)
    cr = r.json()["connectionRequest"]
    assert cr["status"] == "ok"
    assert [a["status"] for a in cr["attempts"]] == ["rate_limited", "ok"]
    cpe.busy = 2
    r = await nbi.post(f"/devices/{dev}/tasks", params={"connection_request": "", "timeout": "50"}, json={"name": "reboot"}, headers=OPERATOR)
    cr = r.json()["connectionRequest"]
    assert cr["status"] == "rate_limited" and cr["error"] == "HTTP 503"
    assert _count((await nbi.get("/metrics")).text, "http", "rate_limited") >= 3


def _check_udp(packet: bytes, address: str, username: str, password: str) -> None:
    text = packet.decode()
    assert text.endswith("\r\n\r\n")
    line, host = text.split("\r\n")[:2]
    method, uri, version = line.split(" ")
    assert method == "GET" and version == "HTTP/1.1" and host == f"Host: {address}"
    parts = urlsplit(uri)
    assert parts.netloc == address
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert set(q) == {"ts", "id", "un", "cn", "sig"} and q["un"] == username
    want = hmac.new(password.encode(), (q["ts"] + q["id"] + q["un"] + q["cn"]).encode(), hashlib.sha1).hexdigest()
    assert q["sig"] == want


async def test_udp_when_http_unreachable(nbi, runtime, udp):
    closed = f"http://127.0.0.1:{free_port()}/cr"
    dev = await _device(runtime, "A1B2C3-Cr-0005", cr_url=closed, udp=udp.address)
    await runtime.db.credentials.replace_one({"_id": dev}, {"connectionRequest": {"username": "u1", "password": "p1"}}, upsert=True)
    r = await nbi.post(f"/devices/{dev}/tasks", params={"connection_request": "", "timeout": "50"}, json={"name": "reboot"}, headers=OPERATOR)
    cr = r.json()["connectionRequest"]
    assert [(a["transport"], a["status"]) for a in cr["attempts"]] == [("http", "unreachable"), ("udp", "ok")]
    assert cr["transport"] == "udp" and cr["status"] == "ok"
    await eventually(lambda: len(udp.packets) >= 3)  # the repeats follow in the background
    assert len(udp.packets) == 3 and len(set(udp.packets)) == 1  # repeated, same message id
    _check_udp(udp.packets[0], udp.address, "u1", "p1")


async def test_udp_only_device(nbi, runtime, udp):
    dev = await _device(runtime, "A1B2C3-Cr-0006", udp=udp.address, cr_user="nat", cr_pass="pw")
    r = await nbi.post(f"/devices/{dev}/tasks", params={"connection_request": "", "timeout": "50"}, json={"name": "reboot"}, headers=OPERATOR)
    assert r.json()["connectionRequest"]["transport"] == "udp"
    await eventually(lambda: udp.packets)
    _check_udp(udp.packets[-1], udp.address, "nat", "pw")
    assert _count((await nbi.get("/metrics")).text, "udp", "ok") >= 2


async def test_no_address_is_reported(nbi, runtime):
    dev = await _device(runtime, "A1B2C3-Cr-0007")
    r = await nbi.post(f"/devices/{dev}/tasks", params={"connection_request": "", "timeout": "50"}, json={"name": "reboot"}, headers=OPERATOR)
    assert r.status_code == 202
    assert r.json()["connectionRequest"]["status"] == "error"
