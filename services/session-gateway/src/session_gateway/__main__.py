"""``acs-session-gateway``: run the gateway. uvicorn serves the admin port; the CWMP port is served
by ``cwmp_http`` in the same event loop (``GATEWAY_HTTP_SERVER=native``) or by uvicorn as well."""

from __future__ import annotations

import logging
import resource
import socket
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

import uvicorn
from starlette.applications import Starlette

from .app import Gateway, GatewayApp, create_app
from .config import Settings
from .cwmp_http import CwmpServer

KEEP_ALIVE_S = 30.0  # an idle CPE connection is closed after this
SHUTDOWN_GRACE_S = 5.0  # at stop, how long CWMP requests in progress may take to finish
BACKLOG = 4096  # a boot storm connects thousands of CPEs at once


def _bind(host: str, port: int) -> socket.socket:
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # accepted sockets inherit it: no Nagle stall
    s.bind((host, port))
    s.listen(BACKLOG)
    s.set_inheritable(True)
    return s


def _raise_open_files_limit() -> None:
    """Every CPE session holds a socket: lift the soft RLIMIT_NOFILE (often 1024) to the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):  # an infinite hard limit the kernel caps lower: keep the soft one
            pass


def _ssl_context(settings: Settings) -> ssl.SSLContext | None:
    if not settings.tls_certfile:
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(settings.tls_certfile, settings.tls_keyfile or None)
    return ctx


@asynccontextmanager
async def _serve_cwmp(sock: socket.socket, settings: Settings, gateway: Gateway) -> AsyncIterator[None]:
    """The native CWMP server, for the gateway's lifetime (started after it, stopped before it)."""
    server = CwmpServer(gateway.handle, max_body_bytes=settings.max_body_bytes, keep_alive_s=KEEP_ALIVE_S)  # type: ignore[arg-type]  # duck-typed Request
    await server.start(sock, ssl_context=_ssl_context(settings), backlog=BACKLOG)
    try:
        yield
    finally:
        await server.close(SHUTDOWN_GRACE_S)


def main() -> None:
    settings = Settings.from_env()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    _raise_open_files_limit()
    if settings.http_server not in ("native", "uvicorn"):
        raise SystemExit(f"GATEWAY_HTTP_SERVER must be native or uvicorn, not {settings.http_server!r}")
    native = settings.http_server == "native"
    if native and settings.admin_port == settings.port:
        raise SystemExit("GATEWAY_HTTP_SERVER=native needs GATEWAY_ADMIN_PORT apart from GATEWAY_PORT")
    cwmp_sock = _bind(settings.host, settings.port)
    asgi: Starlette | GatewayApp
    if native:
        app = create_app(settings, partial(_serve_cwmp, cwmp_sock, settings))
        asgi, sockets = app.admin, [_bind(settings.host, settings.admin_port)]
    else:
        app = create_app(settings)
        asgi, sockets = app, [cwmp_sock]
        if settings.admin_port != settings.port:
            sockets.append(_bind(settings.host, settings.admin_port))
    # With the native server, uvicorn serves only the admin port: plain HTTP, as probes and
    # Prometheus expect it (the certificate is the CPEs', on the CWMP port).
    config = uvicorn.Config(
        asgi, loop="uvloop", http="httptools", access_log=False, log_level="warning",
        timeout_keep_alive=int(KEEP_ALIVE_S), backlog=BACKLOG,
        ssl_certfile=None if native else settings.tls_certfile or None,
        ssl_keyfile=None if native else settings.tls_keyfile or None,
    )
    uvicorn.Server(config).run(sockets=sockets)  # run(), not asyncio.run(serve()): the loop is the configured uvloop


if __name__ == "__main__":
    main()
