"""``acs-session-gateway``: run the gateway (CWMP and admin ports on one uvicorn server)."""

from __future__ import annotations

import asyncio
import logging
import os
import resource
import socket

import uvicorn

from .app import create_app
from .config import Settings


def _bind(host: str, port: int) -> socket.socket:
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # accepted sockets inherit it: no Nagle stall
    s.bind((host, port))
    s.listen(2048)
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


def main() -> None:
    logging.basicConfig(level=os.environ.get("ACS_LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    _raise_open_files_limit()
    settings = Settings.from_env()
    config = uvicorn.Config(
        create_app(settings), loop="uvloop", http="httptools", access_log=False, log_level="warning",
        timeout_keep_alive=30, ssl_certfile=settings.tls_certfile or None, ssl_keyfile=settings.tls_keyfile or None,
        backlog=2048,
    )
    server = uvicorn.Server(config)
    sockets = [_bind(settings.host, settings.port)]
    if settings.admin_port != settings.port:
        sockets.append(_bind(settings.host, settings.admin_port))
    asyncio.run(server.serve(sockets=sockets))


if __name__ == "__main__":
    main()
