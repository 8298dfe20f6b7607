"""The CWMP port's HTTP/1.1 server: one slotted asyncio protocol per connection, httptools parsing.

A gateway holds every CPE session as a keep-alive connection with a POST waiting for the
scheduler's reply, so what a connection costs is what a session costs, 10,000 times over.
uvicorn spends ~10 KB per connection (protocol, request-response cycle, events, ASGI scope and
header lists); here a connection is a slotted protocol plus its transport: no parser between
requests, no task while idle, one shared timer for idle timeouts, and while a request waits only
the handler's task and a small request object. The admin port stays on uvicorn.

Requests on a connection are answered one at a time, in order: pipelined ones queue behind the
one in progress (reading pauses meanwhile). Reading goes on while a request waits, so a client
that leaves is noticed; the answer to its request is then dropped.
"""

from __future__ import annotations

import asyncio
import logging
import math
import socket
import ssl
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from email.utils import formatdate
from http import HTTPStatus
from typing import Any, NamedTuple, cast

import httptools
from starlette.datastructures import Address
from starlette.requests import cookie_parser
from starlette.responses import Response

log = logging.getLogger(__name__)

# The request headers anyone reads, by the slot of CwmpRequest that keeps them. Transfer-Encoding
# and Connection are the parser's business; Expect is acted on as soon as the headers are in.
_HEADER_SLOTS = {"content-length": "content_length", "content-type": "content_type", "cookie": "cookie",
                 "authorization": "authorization", "host": "host"}
_HEADER_SLOTS_RAW = {k.encode(): v for k, v in _HEADER_SLOTS.items()}

_STATUS_LINES = {s.value: f"HTTP/1.1 {s.value} {s.phrase}\r\n".encode() for s in HTTPStatus}
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_TEXT = (b"content-type", b"text/plain; charset=utf-8")
_ERRORS = {400: b"malformed HTTP request", 413: b"request body too large", 500: b"internal server error"}
_METHODS = {b"POST": "POST", b"GET": "GET", b"HEAD": "HEAD"}


class CwmpRequest:
    """What the gateway reads of a request, in the shape of the Starlette ``Request`` it also
    serves: ``method``, ``url.path``, ``headers.get``, ``cookies``, ``client`` and ``stream()``. The body is
    complete before the handler runs and is handed out once, so a waiting request keeps none."""

    __slots__ = (
        "_body",
        "authorization",
        "body_size",
        "client",
        "content_length",
        "content_type",
        "cookie",
        "expect_continue",
        "host",
        "http10",
        "keep_alive",
        "method",
        "target",
    )

    def __init__(self, client: Address | None) -> None:
        self.method = ""
        self.client = client
        self.keep_alive = True
        self.http10 = False
        self.expect_continue = False
        self.body_size = 0
        self._body: bytes | bytearray = b""
        self.content_length: bytes | None = None
        self.content_type: bytes | None = None
        self.cookie: bytes | None = None
        self.authorization: bytes | None = None
        self.host: bytes | None = None
        self.target = b""  # the request target as sent (path and query)

    @property
    def url(self) -> _Url:
        return _Url(self.target.split(b"?", 1)[0].decode("latin-1") or "/")

    @property
    def headers(self) -> _Headers:
        return _Headers(self)

    @property
    def cookies(self) -> dict[str, str]:
        return cookie_parser(self.cookie.decode("latin-1")) if self.cookie else {}

    def add_body(self, chunk: bytes) -> None:
        """Append a piece of the body: the first kept as is, later ones joined in one buffer."""
        if not self._body:
            self._body = chunk
        elif isinstance(self._body, bytearray):
            self._body += chunk
        else:
            self._body = bytearray(self._body) + chunk
        self.body_size += len(chunk)

    def finish_body(self) -> None:
        if isinstance(self._body, bytearray):
            self._body = bytes(self._body)

    async def stream(self) -> AsyncIterator[bytes]:
        body, self._body = self._body, b""
        if body:
            yield bytes(body)


class _Url(NamedTuple):
    """The part of Starlette's ``URL`` the gateway reads."""

    path: str


class _Headers:
    """Case-insensitive ``get`` over the few headers a ``CwmpRequest`` keeps."""

    __slots__ = ("_request",)

    def __init__(self, request: CwmpRequest) -> None:
        self._request = request

    def get(self, name: str, default: str | None = None) -> str | None:
        slot = _HEADER_SLOTS.get(name.lower())
        value = getattr(self._request, slot) if slot is not None else None
        return default if value is None else value.decode("latin-1")


Handler = Callable[[CwmpRequest], Coroutine[Any, Any, Response]]  # run as a task

_date_cache: tuple[int, bytes] = (0, b"")


def _date_header() -> bytes:
    """The Date header line, formatted once a second."""
    global _date_cache
    now = int(time.time())
    if now != _date_cache[0]:
        _date_cache = (now, f"date: {formatdate(now, usegmt=True)}\r\n".encode())
    return _date_cache[1]


class CwmpProtocol(asyncio.Protocol):
    """One CPE connection. Idle, it holds its transport, the client address and a few flags."""

    __slots__ = (
        "_client",
        "_current",
        "_last",
        "_parser",
        "_queue",
        "_reading",
        "_req",
        "_server",
        "_task",
        "_transport",
    )

    def __init__(self, server: CwmpServer) -> None:
        self._server = server
        self._transport: asyncio.Transport | None = None
        self._client: Address | None = None
        self._parser: httptools.HttpRequestParser | None = None  # only while a request is being read
        self._req: CwmpRequest | None = None  # the request being read
        self._queue: list[CwmpRequest | int] | None = None  # read, waiting their turn (an int: error to answer)
        self._current: CwmpRequest | None = None  # the request the handler task is answering
        self._task: asyncio.Task[Response] | None = None
        self._reading = True  # False once nothing more is to be read: the connection closes after the queue
        self._last = 0.0  # loop time of the last byte read or answer written

    # ---- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's are not asyncio.Transport subclasses
        peer = transport.get_extra_info("peername")
        self._client = Address(peer[0], peer[1]) if isinstance(peer, tuple) else None
        self._last = self._server.loop.time()
        self._server.connections.add(self)
        if self._server.closing:
            self._transport.close()

    def data_received(self, data: bytes) -> None:
        if not self._reading:
            return
        self._last = self._server.loop.time()
        if self._parser is None:
            self._parser = httptools.HttpRequestParser(self)
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # What follows is another protocol: answer what came before it, then close.
            last = self._queue[-1] if self._queue else None
            if isinstance(last, CwmpRequest):
                last.keep_alive = False
                self._reading = False
            else:
                self._reject(400)
        except httptools.HttpParserError:
            if self._reading:  # past a request that closes the connection, anything is ignored
                self._reject(400)
        if self._req is None:  # between requests: no parser is kept while one waits or idles
            self._parser = None
        self._next()

    def eof_received(self) -> bool:
        return False  # a half-closed client is gone: close (an answer in preparation is dropped)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._parser = self._req = self._queue = None
        self._reading = False
        self._server.forget(self)

    # ---- httptools callbacks

    def on_message_begin(self) -> None:
        self._req = CwmpRequest(self._client) if self._reading else None

    def on_url(self, url: bytes) -> None:
        req = self._req
        if req is not None and len(req.target) < 4096:  # the parser may hand it in pieces
            req.target += url

    def on_header(self, name: bytes, value: bytes) -> None:
        req = self._req
        if req is None:
            return
        key = name.lower()
        if key == b"expect":
            req.expect_continue = value.strip().lower() == b"100-continue"
            return
        slot = _HEADER_SLOTS_RAW.get(key)
        if slot is not None:
            seen = getattr(req, slot)
            setattr(req, slot, value if seen is None else seen + (b"; " if slot == "cookie" else b", ") + value)

    def on_headers_complete(self) -> None:
        req, parser = self._req, self._parser
        if req is None or parser is None:
            return
        method = parser.get_method()
        req.method = _METHODS.get(method) or method.decode("ascii")
        req.keep_alive = parser.should_keep_alive()
        req.http10 = parser.get_http_version() == "1.0"
        declared = req.content_length
        if declared is not None and declared.isdigit() and int(declared) > self._server.max_body_bytes:
            self._reject(413)  # before 100 Continue: the client need not send the body at all
            return
        req.expect_continue = req.expect_continue and not req.http10
        self._maybe_continue()

    def on_body(self, chunk: bytes) -> None:
        req = self._req
        if req is None:
            return
        if req.body_size + len(chunk) > self._server.max_body_bytes:
            self._reject(413)
            return
        req.add_body(chunk)

    def on_message_complete(self) -> None:
        req, self._req = self._req, None
        if req is None:
            return
        req.finish_body()
        if not req.keep_alive:
            self._reading = False
        self._enqueue(req)

    # ---- answering

    def _enqueue(self, item: CwmpRequest | int) -> None:
        if self._queue is None:
            self._queue = [item]
        else:
            self._queue.append(item)

    def _reject(self, status: int) -> None:
        """Read nothing more: answer ``status`` after the requests before it, then close."""
        self._req = None
        self._reading = False
        self._enqueue(status)

    def _next(self) -> None:
        """Answer what is queued, one request at a time, while no handler is running."""
        transport = self._transport
        while self._task is None and self._queue and transport is not None:
            item = self._queue.pop(0)
            if isinstance(item, int):
                self._write(item, [_TEXT], _ERRORS[item], keep_alive=False, linger=True)
            elif item.method != "POST":
                self._write(405, [(b"allow", b"POST")], b"", item.keep_alive, item.http10)
            else:
                self._current = item
                self._task = self._server.loop.create_task(self._server.handler(item))
                self._task.add_done_callback(self._done)
            transport = self._transport
        if transport is None or transport.is_closing():
            return
        if self._queue:  # pipelined requests wait; read no more meanwhile
            if transport.is_reading():
                transport.pause_reading()
        else:
            if not transport.is_reading():
                transport.resume_reading()
            self._maybe_continue()

    def _maybe_continue(self) -> None:
        """Send 100 Continue to a request waiting for it, once the answers before it are out."""
        req = self._req
        if req is not None and req.expect_continue and self._task is None and not self._queue and self._transport:
            req.expect_continue = False
            self._transport.write(_CONTINUE)

    def _done(self, task: asyncio.Task[Response]) -> None:
        req, self._current, self._task = self._current, None, None
        response: Response | None = None
        if not task.cancelled():
            if (exc := task.exception()) is not None:
                log.error("CWMP request failed", exc_info=exc)
            else:
                response = task.result()
        if self._transport is None or req is None:
            return  # the client left: its answer is dropped
        if response is None:
            self._write(500, [_TEXT], _ERRORS[500], keep_alive=False)
        else:
            self._write(response.status_code, response.raw_headers, response.body, req.keep_alive, req.http10)
        self._next()

    def _write(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes | memoryview,
               keep_alive: bool, http10: bool = False, linger: bool = False) -> None:
        """Write one response; without keep-alive, close after it. ``linger``: the client may
        still be sending (a body cut short), so only our side is shut and what comes is read
        and dropped until the client closes (or the idle timeout): a close with unread data
        would reset the connection and could destroy the answer before the client reads it."""
        transport = self._transport
        if transport is None:
            return
        keep_alive = keep_alive and not self._server.closing
        parts: list[bytes | memoryview] = [_STATUS_LINES.get(status) or f"HTTP/1.1 {status} \r\n".encode(), _date_header()]
        sized = False
        for name, value in headers:
            sized = sized or name.lower() == b"content-length"
            parts += (name, b": ", value, b"\r\n")
        if not sized and status >= 200 and status not in (204, 304):
            parts.append(b"content-length: %d\r\n" % len(body))
        if not keep_alive:
            parts.append(b"connection: close\r\n")
        elif http10:
            parts.append(b"connection: keep-alive\r\n")
        parts.append(b"\r\n")
        if body and status not in (204, 304):
            parts.append(body)
        transport.write(b"".join(parts))
        self._last = self._server.loop.time()
        if not keep_alive:
            self._reading = False
            self._queue = None
            if linger and transport.can_write_eof():
                transport.write_eof()
            else:
                transport.close()

    # ---- for the server

    def close_if_idle(self, cutoff: float) -> None:
        """Close the connection if no request is in progress or queued and nothing came since ``cutoff``."""
        if self._transport is not None and self._task is None and not self._queue and self._last <= cutoff:
            self._transport.close()

    def abort(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._transport is not None:
            self._transport.abort()


class CwmpServer:
    """Accepts CPE connections; owns their shared idle timeout and the graceful stop. Made
    inside the running loop it serves on."""

    def __init__(self, handler: Handler, *, max_body_bytes: int, keep_alive_s: float = 30.0) -> None:
        self.handler = handler
        self.max_body_bytes = max_body_bytes
        self.keep_alive_s = keep_alive_s
        self.closing = False
        self.connections: set[CwmpProtocol] = set()
        self.loop = asyncio.get_running_loop()
        self._server: asyncio.base_events.Server | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._drained: asyncio.Event | None = None

    async def start(self, sock: socket.socket, *, ssl_context: ssl.SSLContext | None = None, backlog: int = 4096) -> None:
        """Serve on an already bound socket (TCP_NODELAY is set on every accepted connection)."""
        self._server = await self.loop.create_server(lambda: CwmpProtocol(self), sock=sock, ssl=ssl_context,
                                                     backlog=backlog)
        self._sweeper = self.loop.create_task(self._sweep())

    async def _sweep(self) -> None:
        """One timer for every connection: close those idle (or stalled mid-request) past keep_alive_s."""
        while True:
            await asyncio.sleep(max(0.05, self.keep_alive_s / 4))
            cutoff = self.loop.time() - self.keep_alive_s
            for conn in list(self.connections):
                conn.close_if_idle(cutoff)

    def forget(self, conn: CwmpProtocol) -> None:
        self.connections.discard(conn)
        if self._drained is not None and not self.connections:
            self._drained.set()

    async def close(self, grace_s: float) -> None:
        """Stop accepting, close idle connections, let requests in progress finish within
        ``grace_s`` (each answer then closes its connection), and drop whatever is left."""
        self.closing = True
        self._drained = asyncio.Event()
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections):
            conn.close_if_idle(math.inf)
        if not self.connections:
            self._drained.set()
        try:
            async with asyncio.timeout(grace_s):
                await self._drained.wait()
        except TimeoutError:
            log.warning("%d CWMP requests still in progress at stop: dropped", len(self.connections))
            for conn in list(self.connections):
                conn.abort()
            await self._drained.wait()  # an aborted transport reports its loss at once
        if self._server is not None:
            await self._server.wait_closed()
