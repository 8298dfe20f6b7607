"""The CWMP port's own HTTP/1.1 server (cwmp_http), driven over real sockets.

CPE HTTP stacks are old and picky: keep-alive, pipelining, chunked bodies, 100-continue and the
exact closing rules are what they rely on, and a waiting request must survive nothing leaking
when its client leaves.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
from starlette.responses import Response

from acs_contracts.affinity import Reply
from acs_devstack.polling import eventually
from session_gateway.app import Gateway
from session_gateway.config import Settings
from session_gateway.cwmp_http import CwmpRequest, CwmpServer
from session_gateway.session_cookie import COOKIE_NAME, SessionToken, encode_token

MAX_BODY = 1000


class Stub:
    """A handler that records what it was given; a body of ``wait`` blocks until ``release``."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, bytes]] = []
        self.requests: list[CwmpRequest] = []
        self.gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting = asyncio.Event()
        self.running = 0
        self.most_running = 0
        self.finished = 0

    def release(self) -> None:
        self.gate.set_result(None)

    async def __call__(self, request: CwmpRequest) -> Response:
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            body = b"".join([c async for c in request.stream()])
            self.seen.append((request.method, body))
            self.requests.append(request)
            if body == b"wait":
                self.waiting.set()
                await self.gate
            if body == b"boom":
                raise RuntimeError("handler failed")
            return Response(b"echo:" + body, media_type="text/xml")
        finally:
            self.running -= 1
            self.finished += 1


async def _serve(handler, **kw) -> tuple[CwmpServer, int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    server = CwmpServer(handler, max_body_bytes=MAX_BODY, **kw)
    await server.start(sock)
    return server, sock.getsockname()[1]


@pytest.fixture
async def stub() -> Stub:
    return Stub()


@pytest.fixture
async def served(stub: Stub) -> AsyncIterator[tuple[CwmpServer, int]]:
    server, port = await _serve(stub)
    yield server, port
    if not stub.gate.done():
        stub.release()
    await server.close(1.0)


async def _connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


def _post(body: bytes, *headers: str, version: str = "1.1") -> bytes:
    head = "".join(f"{h}\r\n" for h in headers)
    return f"POST /acs HTTP/{version}\r\nHost: acs\r\n{head}Content-Length: {len(body)}\r\n\r\n".encode() + body


async def _response(reader: asyncio.StreamReader) -> tuple[int, dict[str, list[str]], bytes]:
    """One response: status, headers (lower-case names, every value), body (by Content-Length)."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers.setdefault(name.strip().lower(), []).append(value.strip())
    size = int(headers.get("content-length", ["0"])[0])
    body = await asyncio.wait_for(reader.readexactly(size), 5) if size else b""
    return status, headers, body


async def _closed(reader: asyncio.StreamReader) -> bool:
    """The server closed the connection (EOF or reset) with nothing more to read."""
    try:
        return await asyncio.wait_for(reader.read(1), 5) == b""
    except ConnectionError:
        return True


async def test_keep_alive_answers_several_requests_on_one_connection(served, stub):
    _, port = served
    reader, writer = await _connect(port)
    for body in (b"one", b"two"):
        writer.write(_post(body))
        status, headers, answer = await _response(reader)
        assert status == 200 and answer == b"echo:" + body
        assert headers["content-type"] == ["text/xml; charset=utf-8"] and "date" in headers and "connection" not in headers
    assert [b for _, b in stub.seen] == [b"one", b"two"]
    writer.close()


async def test_pipelined_requests_are_answered_in_order_one_at_a_time(served, stub):
    _, port = served
    reader, writer = await _connect(port)
    writer.write(_post(b"wait") + _post(b"second") + _post(b"third"))
    await asyncio.wait_for(stub.waiting.wait(), 5)
    await asyncio.sleep(0.05)  # a window in which the pipelined requests must NOT start
    assert [b for _, b in stub.seen] == [b"wait"]  # the others wait their turn
    stub.release()
    answers = [(await _response(reader))[2] for _ in range(3)]
    assert answers == [b"echo:wait", b"echo:second", b"echo:third"] and stub.most_running == 1
    writer.close()


async def test_chunked_body_arriving_in_pieces(served, stub):
    _, port = served
    reader, writer = await _connect(port)
    writer.write(b"POST / HTTP/1.1\r\nHost: acs\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
    await writer.drain()
    await asyncio.sleep(0.05)  # the behaviour under test: the rest of the body comes in a later segment
    writer.write(b"6\r\n world\r\n0\r\n\r\n")
    status, _, body = await _response(reader)
    assert status == 200 and body == b"echo:hello world"
    assert stub.requests[0].headers.get("content-length") is None
    writer.close()


async def test_expect_100_continue_is_answered_before_the_body(served):
    _, port = served
    reader, writer = await _connect(port)
    writer.write(b"POST / HTTP/1.1\r\nHost: acs\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
    assert await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5) == b"HTTP/1.1 100 Continue\r\n\r\n"
    writer.write(b"body")
    status, _, body = await _response(reader)
    assert status == 200 and body == b"echo:body"
    writer.close()


async def test_declared_body_too_large_gets_413_without_100_continue_and_closes(served, stub):
    _, port = served
    reader, writer = await _connect(port)
    writer.write(f"POST / HTTP/1.1\r\nHost: acs\r\nExpect: 100-continue\r\nContent-Length: {MAX_BODY + 1}\r\n\r\n".encode())
    status, headers, body = await _response(reader)
    assert status == 413 and headers["connection"] == ["close"] and b"too large" in body
    assert await _closed(reader) and not stub.seen
    writer.close()


async def test_413_reaches_a_client_still_sending_its_body(served, stub):
    _, port = served
    async with httpx.AsyncClient() as client:  # sends the whole body before reading: a plain close resets it
        r = await client.post(f"http://127.0.0.1:{port}/", content=b"x" * 5_000_000)
    assert r.status_code == 413 and not stub.seen


async def test_chunked_body_growing_too_large_gets_413_and_closes(served, stub):
    _, port = served
    reader, writer = await _connect(port)
    chunk = b"x" * 600
    writer.write(b"POST / HTTP/1.1\r\nHost: acs\r\nTransfer-Encoding: chunked\r\n\r\n"
                 + (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 2)
    status, headers, _ = await _response(reader)
    assert status == 413 and headers["connection"] == ["close"] and await _closed(reader) and not stub.seen
    writer.close()


@pytest.mark.parametrize("garbage", [b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",  # a TLS hello
                                     b"POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
                                     b"POST / HTTP/1.1\r\nHost: acs\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"])
async def test_malformed_http_gets_400_and_closes(served, stub, garbage):
    _, port = served
    reader, writer = await _connect(port)
    writer.write(garbage)
    status, headers, _ = await _response(reader)
    assert status == 400 and headers["connection"] == ["close"] and await _closed(reader) and not stub.seen
    writer.close()


async def test_other_methods_get_405_and_the_connection_stays_open(served, stub):
    _, port = served
    reader, writer = await _connect(port)
    writer.write(b"GET /metrics HTTP/1.1\r\nHost: acs\r\n\r\n")
    status, headers, body = await _response(reader)
    assert status == 405 and headers["allow"] == ["POST"] and body == b"" and not stub.seen
    writer.write(_post(b"after"))
    assert (await _response(reader))[2] == b"echo:after"
    writer.close()


async def test_connection_close_is_honoured(served):
    _, port = served
    reader, writer = await _connect(port)
    writer.write(_post(b"last", "Connection: close") + _post(b"ignored"))
    status, headers, body = await _response(reader)
    assert status == 200 and body == b"echo:last" and headers["connection"] == ["close"]
    assert await _closed(reader)
    writer.close()


async def test_http_1_0_closes_unless_keep_alive(served):
    _, port = served
    reader, writer = await _connect(port)
    writer.write(_post(b"a", "Connection: keep-alive", version="1.0"))
    status, headers, _ = await _response(reader)
    assert status == 200 and headers["connection"] == ["keep-alive"]
    writer.write(_post(b"b", version="1.0"))
    status, headers, _ = await _response(reader)
    assert status == 200 and headers["connection"] == ["close"] and await _closed(reader)
    writer.close()


async def test_request_adapter_offers_what_the_gateway_reads(served, stub):
    _, port = served
    reader, writer = await _connect(port)
    writer.write(_post(b"x", "cookie: a=1", "COOKIE: session=abc", "Authorization: Basic Y3BlOnNlY3JldA==",
                       "Content-Type: text/xml; charset=utf-8", "X-Other: dropped"))
    await _response(reader)
    req = stub.requests[0]
    assert req.method == "POST" and req.client is not None and req.client.host == "127.0.0.1"
    assert req.headers.get("AUTHORIZATION") == "Basic Y3BlOnNlY3JldA==" and req.headers.get("x-other") is None
    assert req.headers.get("content-type") == "text/xml; charset=utf-8" and req.headers.get("content-length") == "1"
    assert req.cookies == {"a": "1", "session": "abc"}
    writer.close()


async def test_204_has_no_body_and_carries_set_and_deleted_cookies():
    async def handler(request: CwmpRequest) -> Response:
        r = Response(status_code=204)
        r.set_cookie("s", "v", httponly=True, path="/")
        r.delete_cookie("old", path="/")
        return r

    server, port = await _serve(handler)
    try:
        reader, writer = await _connect(port)
        writer.write(_post(b""))
        status, headers, body = await _response(reader)
        assert status == 204 and body == b"" and "content-length" not in headers
        cookies = headers["set-cookie"]
        assert len(cookies) == 2 and cookies[0].startswith("s=v;") and cookies[1].startswith('old="";')
        writer.write(_post(b""))  # and the connection is still usable
        assert (await _response(reader))[0] == 204
        writer.close()
    finally:
        await server.close(1.0)


async def test_error_statuses_carry_their_headers():
    seen: list[str | None] = []

    async def handler(request: CwmpRequest) -> Response:
        body = b"".join([c async for c in request.stream()])
        seen.append(request.headers.get("authorization"))
        if body == b"401":
            r = Response(status_code=401)
            r.headers.append("WWW-Authenticate", 'Digest realm="acs"')
            r.headers.append("WWW-Authenticate", 'Basic realm="acs"')
            return r
        return Response(status_code=503, headers={"Retry-After": "10"})

    server, port = await _serve(handler)
    try:
        reader, writer = await _connect(port)
        writer.write(_post(b"401"))
        status, headers, _ = await _response(reader)
        assert status == 401 and headers["www-authenticate"] == ['Digest realm="acs"', 'Basic realm="acs"']
        assert headers["content-length"] == ["0"]
        writer.write(_post(b"503"))
        status, headers, _ = await _response(reader)
        assert status == 503 and headers["retry-after"] == ["10"]
        writer.close()
    finally:
        await server.close(1.0)


async def test_handler_failure_answers_500_and_closes(served):
    _, port = served
    reader, writer = await _connect(port)
    writer.write(_post(b"boom"))
    status, headers, _ = await _response(reader)
    assert status == 500 and headers["connection"] == ["close"] and await _closed(reader)
    writer.close()


async def test_client_leaving_mid_wait_drops_the_answer_and_the_connection(served, stub):
    server, port = served
    _, writer = await _connect(port)
    writer.write(_post(b"wait"))
    await asyncio.wait_for(stub.waiting.wait(), 5)
    writer.close()
    await eventually(lambda: not server.connections, what="the connection dropped")
    stub.release()
    await eventually(lambda: stub.running == 0, what="the handler ended")
    assert stub.finished == 1


async def test_idle_connections_close_after_keep_alive_but_waiting_ones_stay(stub):
    server, port = await _serve(stub, keep_alive_s=0.2)
    try:
        idle_reader, idle_writer = await _connect(port)
        busy_reader, busy_writer = await _connect(port)
        busy_writer.write(_post(b"wait"))
        await asyncio.wait_for(stub.waiting.wait(), 5)
        assert await _closed(idle_reader)
        await asyncio.sleep(0.4)  # twice the keep-alive: the busy connection must NOT be closed meanwhile
        stub.release()
        assert (await _response(busy_reader))[2] == b"echo:wait"
        idle_writer.close()
        busy_writer.close()
    finally:
        await server.close(1.0)


async def test_graceful_close_finishes_requests_in_progress_and_closes_idle_connections(stub):
    server, port = await _serve(stub)
    idle_reader, idle_writer = await _connect(port)
    busy_reader, busy_writer = await _connect(port)
    busy_writer.write(_post(b"wait"))
    await asyncio.wait_for(stub.waiting.wait(), 5)
    closing = asyncio.create_task(server.close(5.0))
    assert await _closed(idle_reader)
    with pytest.raises(OSError):
        await _connect(port)  # no longer accepting
    stub.release()
    status, headers, body = await _response(busy_reader)
    assert status == 200 and body == b"echo:wait" and headers["connection"] == ["close"]
    await asyncio.wait_for(closing, 5)
    assert not server.connections
    idle_writer.close()
    busy_writer.close()


async def test_graceful_close_drops_what_outlives_the_grace(stub):
    server, port = await _serve(stub)
    reader, writer = await _connect(port)
    writer.write(_post(b"wait"))
    await asyncio.wait_for(stub.waiting.wait(), 5)
    t0 = time.perf_counter()
    await server.close(0.1)
    assert time.perf_counter() - t0 < 2 and not server.connections and await _closed(reader)
    await eventually(lambda: stub.running == 0, what="the handler cancelled")
    assert stub.finished == 1 and stub.gate.cancelled()  # cancelled while waiting, never released
    writer.close()


# ---- with the gateway itself


class AckingPublisher:
    def __init__(self) -> None:
        self.events: list[bytes] = []

    async def publish(self, device_id: str, event: bytes, topic: str = "") -> tuple[int, int]:
        self.events.append(event)
        return 0, len(self.events) - 1  # partition, offset


SECRET = b"k" * 32


def _cookie() -> str:
    return encode_token(SessionToken("OUI-PC-SN1", "s1", time.time(), "urn:dslforum-org:cwmp-1-0", "1.0"), SECRET)


async def _gateway_server(reply_timeout_s: float) -> tuple[Gateway, AckingPublisher, CwmpServer, int]:
    gw = Gateway(Settings(secret=SECRET, reply_timeout_s=reply_timeout_s, instance_id="gw-test", max_body_bytes=MAX_BODY))
    pub = AckingPublisher()
    gw.publisher = pub  # type: ignore[assignment]
    server, port = await _serve(gw.handle)
    return gw, pub, server, port


async def test_gateway_answers_an_empty_post_with_the_schedulers_reply():
    gw, pub, server, port = await _gateway_server(5.0)
    try:
        reader, writer = await _connect(port)
        writer.write(_post(b"", f"Cookie: {COOKIE_NAME}={_cookie()}"))
        await eventually(lambda: pub.events, what="the event published")
        event = orjson.loads(pub.events[0])
        assert event["kind"] == "empty" and event["source_ip"] == "127.0.0.1"
        assert gw.listener.deliver(Reply(request_id=event["request_id"], status=200, body=b"<rpc/>"))
        status, headers, body = await _response(reader)
        assert status == 200 and body == b"<rpc/>" and headers["content-type"] == ['text/xml; charset="utf-8"']
        writer.write(_post(b"", "Cookie: other=1"))  # no session cookie: the gateway's own 400, connection kept
        status, _, body = await _response(reader)
        assert status == 400 and b"no CWMP session" in body and gw.inflight == 0
        writer.close()
    finally:
        await server.close(1.0)


async def test_gateway_request_whose_client_left_ends_cleanly():
    gw, pub, server, port = await _gateway_server(0.2)
    try:
        _, writer = await _connect(port)
        writer.write(_post(b"", f"Cookie: {COOKIE_NAME}={_cookie()}"))
        await eventually(lambda: pub.events, what="the event published")
        assert gw.inflight == 1
        writer.close()
        await eventually(lambda: gw.inflight == 0 and not gw.listener._waiting and not server.connections,
                         what="the request ended (at the latest at the 0.2 s reply timeout)")
    finally:
        await server.close(1.0)


async def test_an_informs_event_says_which_acs_path_and_user_name_the_cpe_came_with():
    """What ACS_TENANT_RULES may assign a new device's tenant by (the scheduler reads them)."""
    import base64
    from types import SimpleNamespace

    from cwmp import messages as m
    from cwmp import soap
    from session_gateway.auth import Credentials, DeviceCredentials

    gw = Gateway(Settings(secret=SECRET, instance_id="gw-test", max_body_bytes=MAX_BODY, cpe_auth="basic",
                          inform_hint_wait_ms=0))
    pub = AckingPublisher()
    gw.publisher = pub  # type: ignore[assignment]

    async def check(device_id: str, verify, may_reread: bool = True):
        dev = DeviceCredentials(current=Credentials("isp-b-cpe", "pw"), rotated_at=1_700_000_000.0)
        return (*verify(dev), dev)

    gw.creds = SimpleNamespace(check=check, default=Credentials("", ""))  # type: ignore[assignment]
    server, port = await _serve(gw.handle)
    try:
        inform = m.Inform(device_id=m.DeviceIdStruct("Acme", "112233", "X", "SN9"), events=[m.EventStruct("1 BOOT", "")],
                          max_envelopes=1, current_time=None, retry_count=0, parameter_list=[])
        body = soap.build_message(inform, id="1")
        basic = base64.b64encode(b"isp-b-cpe:pw").decode()
        reader, writer = await _connect(port)
        writer.write(f"POST /isp-b/cwmp HTTP/1.1\r\nHost: acs\r\nAuthorization: Basic {basic}\r\n"
                     f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        status, _headers, _body = await _response(reader)
        assert status == 200
        [event] = [orjson.loads(e) for e in pub.events]
        assert event["kind"] == "inform"
        assert event["headers"]["acsPath"] == "/isp-b/cwmp" and event["headers"]["cpeUsername"] == "isp-b-cpe"
        # which of its credentials it used, and when they were set: the scheduler promotes and rotates by them
        assert event["headers"]["cpeCredential"] == "current" and event["headers"]["cpeRotatedAt"] == 1_700_000_000.0
        assert "pw" not in event["headers"].values()  # the password itself never leaves the gateway
        writer.close()
    finally:
        await server.close(1.0)
