"""The console app: the built UI with its caching and security headers, the SPA fallback, the NBI
under /api with its own token checks, a clear page without a build; and acs-inventory serving it
on CONSOLE_PORT."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from inv_support import ADMIN, OPERATOR, READONLY, free_port, inventory_env
from test_inv_main import _command

from inventory.app import create_app
from inventory.config import Settings
from inventory.console import CSP, create_console_app
from inventory.runtime import Runtime

aio = pytest.mark.asyncio(loop_scope="session")

INDEX = "<!doctype html><html><head><title>ACS console</title></head><body><div id=root></div></body></html>"


def _build(root: Path) -> Path:
    """A dist folder as Vite writes it: index.html, hashed assets, a top-level public file."""
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "assets" / "index-3f9a1c.js").write_text("console.log('app')")
    (root / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    return root


@pytest_asyncio.fixture(loop_scope="session")
async def console(settings: Settings, runtime: Runtime, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    s = settings.model_copy(update={"console_dist": str(_build(tmp_path / "dist"))})
    app = create_console_app(s, create_app(s, runtime))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console") as c:
        yield c


@aio
async def test_index_is_served_uncached_with_security_headers(console):
    r = await console.get("/")
    assert r.status_code == 200 and r.text == INDEX
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["cache-control"] == "no-cache"
    assert r.headers["content-security-policy"] == CSP
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["cross-origin-opener-policy"] == "same-origin"
    assert "camera=()" in r.headers["permissions-policy"]


@aio
async def test_app_routes_fall_back_to_index(console):
    for path in ("/devices", "/devices/000000-Gw-SN1", "/campaigns", "/no/such/page"):
        r = await console.get(path)
        assert r.status_code == 200 and r.text == INDEX, path


@aio
async def test_hashed_assets_are_cached_for_good(console):
    r = await console.get("/assets/index-3f9a1c.js")
    assert r.status_code == 200 and r.text == "console.log('app')"
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert (await console.get("/assets/missing.js")).status_code == 404


@aio
async def test_top_level_public_files_are_served_as_themselves(console):
    r = await console.get("/favicon.svg")
    assert r.status_code == 200 and r.text.startswith("<svg")


@aio
async def test_paths_outside_dist_are_never_read(console):
    for path in ("/../config.py", "/assets/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd"):
        r = await console.get(path)
        assert "root:" not in r.text and r.status_code in (200, 404), path
        if r.status_code == 200:
            assert r.text == INDEX, path


@aio
async def test_nbi_is_under_api_with_its_token_checks(console):
    r = await console.get("/api/devices/")
    assert r.status_code == 401 and r.json()["error"] == "authentication required"
    assert "content-security-policy" not in r.headers  # JSON, not a page
    assert r.headers["x-content-type-options"] == "nosniff"
    r = await console.get("/api/devices/", params={"limit": 1}, headers=READONLY)
    assert r.status_code == 200 and isinstance(r.json(), list)
    r = await console.post("/api/devices/nope/tasks", json={"name": "reboot"}, headers=READONLY)
    assert r.status_code == 403
    assert (await console.get("/api/no-such-route", headers=ADMIN)).status_code == 404


@aio
@pytest.mark.parametrize(("headers", "role"), [(ADMIN, "admin"), (OPERATOR, "operator"), (READONLY, "readonly")])
async def test_whoami_answers_the_tokens_role(console, headers, role):
    r = await console.get("/api/whoami", headers=headers)
    assert r.status_code == 200 and r.json()["role"] == role


@aio
async def test_whoami_refuses_unknown_tokens(console):
    assert (await console.get("/api/whoami")).status_code == 401
    assert (await console.get("/api/whoami", headers={"Authorization": "Bearer wrong"})).status_code == 401


@aio
async def test_without_a_build_a_page_says_how_to_make_one(settings, runtime, tmp_path):
    s = settings.model_copy(update={"console_dist": str(tmp_path / "empty")})
    app = create_console_app(s, create_app(s, runtime))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console") as c:
        r = await c.get("/devices")
        assert r.status_code == 503 and "has not been built" in r.text and "make ui" in r.text
        assert (await c.get("/api/whoami", headers=READONLY)).json()["role"] == "readonly"


def test_settings_read_the_console_variables():
    s = Settings.from_env({"CONSOLE_PORT": "3000", "CONSOLE_HOST": "127.0.0.1", "CONSOLE_DIST": "/srv/ui"})
    assert (s.console_port, s.console_host, s.console_dist) == (3000, "127.0.0.1", "/srv/ui")
    assert Settings.from_env({}).console_port == 0


def test_acs_inventory_serves_the_console_on_console_port(settings, tmp_path):
    nbi_port, fs_port, console_port = free_port(), free_port(), free_port()
    env = {**inventory_env(settings, nbi_port, fs_port), "CONSOLE_PORT": str(console_port),
           "CONSOLE_HOST": "127.0.0.1", "CONSOLE_DIST": str(_build(tmp_path / "dist"))}
    proc = subprocess.Popen(_command(), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{console_port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/api/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, \
                proc.stdout.read().decode() if proc.poll() is not None and proc.stdout else "timeout"
            time.sleep(0.2)
        assert httpx.get(f"{base}/devices/x", timeout=5).text == INDEX
        assert httpx.get(f"{base}/api/whoami", headers=OPERATOR, timeout=5).json()["role"] == "operator"
        assert httpx.get(f"http://127.0.0.1:{nbi_port}/whoami", headers=ADMIN, timeout=5).json()["role"] == "admin"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail("acs-inventory did not stop on SIGTERM")
    assert code == 0
