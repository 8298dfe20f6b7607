"""The operator console on CONSOLE_PORT: the built single-page app (ui/dist) and the NBI under /api.

One origin for both, so the browser needs no CORS and the console's calls meet the NBI's own
token checks. Hashed assets (``/assets/*``) are cached for a year; ``index.html`` is never
cached, so a new build is picked up on the next load. Any other path answers ``index.html``
(the app's own routes, e.g. ``/devices/<id>``). Without a build, every page says how to make one.
"""

from __future__ import annotations

import html
import logging
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .config import Settings

log = logging.getLogger(__name__)

# The repository's ui/dist, for a checkout installed in place (make run); CONSOLE_DIST elsewhere.
DEFAULT_DIST = Path(__file__).resolve().parents[4] / "ui" / "dist"

# What the app needs and nothing more: its own scripts, inline style attributes (charts), NBI calls
# to the same origin. frame-ancestors and X-Frame-Options both refuse framing (clickjacking).
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'")
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    # no powerful browser features, no window shared with another origin, no embedding elsewhere
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"


def dist_dir(settings: Settings) -> Path:
    return Path(settings.console_dist) if settings.console_dist else DEFAULT_DIST


class SecurityHeaders:
    """Adds the headers every console response carries; CSP only on the app's own pages (the NBI's
    /api/docs loads Swagger UI from elsewhere and answers JSON otherwise)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        is_api = path == "/api" or path.startswith("/api/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                if not is_api and b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", CSP.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _not_built_page(dist: Path) -> HTMLResponse:
    where = html.escape(str(dist))
    body = (
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>ACS console not built</title></head>"
        "<body style='font-family:system-ui;max-width:40rem;margin:3rem auto'>"
        "<h1>The console has not been built</h1>"
        f"<p>No <code>index.html</code> in <code>{where}</code> (CONSOLE_DIST).</p>"
        "<p>Build it with <code>make ui</code> (or <code>cd ui &amp;&amp; npm ci &amp;&amp; npm run build</code>), "
        "then reload. The NBI is served meanwhile under <code>/api</code>.</p></body></html>"
    )
    return HTMLResponse(body, status_code=503, headers={"Cache-Control": "no-store"})


def _spa(dist: Path):
    """Files at the top of dist (favicon, robots.txt) as they are, any other path the app's index."""
    root = dist.resolve()

    async def serve(request: Request) -> Response:
        index = root / "index.html"
        if not index.is_file():
            return _not_built_page(dist)
        rel = request.path_params.get("path", "")
        if rel and "/" not in rel:
            candidate = (root / rel).resolve()
            if candidate.parent == root and candidate.is_file() and candidate.name != "index.html":
                return FileResponse(candidate, headers={"Cache-Control": NO_CACHE})
        return FileResponse(index, media_type="text/html", headers={"Cache-Control": NO_CACHE})

    return serve


class _HashedAssets(StaticFiles):
    """Vite names assets by content hash: a file never changes under its name, so cache it for good."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = IMMUTABLE
        return response


def create_console_app(settings: Settings, nbi: ASGIApp) -> ASGIApp:
    """The console: ``nbi`` (the NBI app, already running its lifespan elsewhere) under /api and the
    built app everywhere else."""
    dist = dist_dir(settings)
    if (dist / "index.html").is_file():
        log.info("console: serving %s on port %s, NBI under /api", dist, settings.console_port)
    else:
        log.warning("console: the UI was not built (no index.html in %s): build it with `make ui`; "
                    "until then the console answers a page saying so, and the NBI under /api", dist)
    serve = _spa(dist)
    routes = [
        Mount("/api", app=nbi),
        Mount("/assets", app=_HashedAssets(directory=dist / "assets", check_dir=False)),
        Route("/", serve, methods=["GET", "HEAD"]),
        Route("/{path:path}", serve, methods=["GET", "HEAD"]),
    ]
    return SecurityHeaders(Starlette(routes=routes))
