"""The connection request listener (TR-069 3.2.2): an HTTP GET with Digest auth wakes a device.

One server can serve many devices, each under its own path (``/cr/<serial>``), so a fleet of
thousands needs one port; a lone device may have its own server. Answers: 401 with a Digest
challenge, 200 once the device accepted (it then opens a session with "6 CONNECTION REQUEST"),
503 while the device is already in a session, 404 for an unknown path, 405 for anything but GET.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from aiohttp import hdrs, web

from .httpauth import DigestVerifier

if TYPE_CHECKING:
    from .stats import Stats


class ConnectionRequestTarget(Protocol):
    key: str

    def connection_request_credentials(self) -> tuple[str, str]: ...

    def connection_request(self) -> bool:
        """True if accepted, False if a session is running (answered 503)."""
        ...


class ConnectionRequestServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, stats: "Stats | None" = None) -> None:
        self.host = host
        self.port = port
        self.stats = stats
        self.verifier = DigestVerifier(realm="cpe-simulator")
        self._targets: dict[str, ConnectionRequestTarget] = {}
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/cr/{key}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, backlog=4096, reuse_address=True)
        await site.start()
        if self.port == 0:
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def url_for(self, key: str) -> str:
        return f"http://{self.host}:{self.port}/cr/{key}"

    def register(self, target: ConnectionRequestTarget) -> str:
        self._targets[target.key] = target
        return self.url_for(target.key)

    def unregister(self, target: ConnectionRequestTarget) -> None:
        if self._targets.get(target.key) is target:
            del self._targets[target.key]

    def _count(self, outcome: str) -> None:
        if self.stats is not None:
            self.stats.connection_requests[outcome] += 1

    async def _handle(self, request: web.Request) -> web.Response:
        target = self._targets.get(request.match_info["key"])
        if target is None:
            self._count("404")
            return web.Response(status=404)
        if request.method != hdrs.METH_GET:
            self._count("405")
            return web.Response(status=405, headers={hdrs.ALLOW: "GET"})
        username, password = target.connection_request_credentials()
        if username or password:
            auth = request.headers.get(hdrs.AUTHORIZATION, "")
            verdict = self.verifier.verify(auth, request.method, username, password) if auth else "bad"
            if verdict != "ok":
                self._count("401")
                return web.Response(
                    status=401, headers={hdrs.WWW_AUTHENTICATE: self.verifier.challenge(stale=verdict == "stale")}
                )
        if not target.connection_request():
            self._count("503")
            return web.Response(status=503, headers={hdrs.RETRY_AFTER: "5"})
        self._count("200")
        return web.Response(status=200)
