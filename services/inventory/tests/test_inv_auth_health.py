"""Bearer tokens and roles, health endpoints, metrics exposition, OpenAPI."""

from __future__ import annotations

import pytest
from inv_support import ADMIN, OPERATOR, READONLY

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.mark.parametrize("method, path", [
    ("GET", "/devices/"), ("GET", "/tasks/"), ("GET", "/faults/"), ("GET", "/files/"), ("GET", "/presets/"),
    ("POST", "/devices/x/tasks"), ("DELETE", "/devices/x"), ("PUT", "/files/a"), ("PUT", "/presets/p"),
])  # /docs and /openapi.json are public by default: test_inv_docs.py
async def test_anonymous_is_refused(nbi, method, path):
    r = await nbi.request(method, path)
    assert r.status_code == 401
    assert r.json()["error"] == "authentication required"
    assert r.headers["www-authenticate"] == "Bearer"
    r = await nbi.request(method, path, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401 and r.json()["error"] == "invalid token"
    r = await nbi.request(method, path, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert r.status_code == 401


@pytest.mark.parametrize("method, path, readonly, operator", [
    ("GET", "/devices/", 200, 200),
    ("POST", "/devices/none-x-y/tasks", 403, 404),
    ("POST", "/devices/none-x-y/tags/t", 403, 404),
    ("DELETE", "/tasks/000000000000000000000000", 403, 404),
    ("DELETE", "/faults/none", 403, 404),
    ("DELETE", "/devices/none-x-y", 403, 403),
    ("PUT", "/presets/p-auth", 403, 403),
    ("DELETE", "/files/none", 403, 403),
])
async def test_roles(nbi, method, path, readonly, operator):
    assert (await nbi.request(method, path, headers=READONLY)).status_code == readonly
    assert (await nbi.request(method, path, headers=OPERATOR)).status_code == operator


async def test_admin_may_do_everything(nbi):
    assert (await nbi.put("/presets/p-auth", json={}, headers=ADMIN)).status_code == 200
    assert (await nbi.delete("/presets/p-auth", headers=ADMIN)).status_code == 200
    assert (await nbi.delete("/devices/none-x-y", headers=ADMIN)).status_code == 404


async def test_health_and_metrics_are_open(nbi, fileserver):
    assert (await nbi.get("/healthz")).json() == {"status": "ok"}
    assert (await nbi.get("/readyz")).status_code == 200
    assert (await fileserver.get("/healthz")).status_code == 200
    await nbi.get("/devices/", headers=READONLY)
    text = (await nbi.get("/metrics")).text
    for name in ("acs_nbi_requests_total", "acs_nbi_request_duration_seconds", "acs_connection_requests_total",
                 "acs_tasks_pending", "acs_task_queue_oldest_age_seconds", "acs_mongo_operation_duration_seconds",
                 "acs_campaign_devices"):
        assert f"# TYPE {name} " in text, name
    assert 'acs_nbi_requests_total{method="GET",route="/devices/",status="200"}' in text
    assert 'acs_mongo_operation_duration_seconds_count{op="find_devices"}' in text


async def test_openapi_with_token(nbi):
    r = await nbi.get("/openapi.json", headers=READONLY)
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert "/devices/{device_id}/tasks" in paths and "/files/{name}" in paths
    r = await nbi.get("/docs", headers=READONLY)
    assert r.status_code == 200 and "swagger" in r.text.lower()


async def test_unknown_route_is_json(nbi):
    r = await nbi.get("/nothing-here", headers=READONLY)
    assert r.status_code == 404 and r.json()["error"]


async def test_body_limit(nbi, settings):
    r = await nbi.put("/presets/big", content=b"{" + b" " * (settings.max_body_bytes + 1) + b"}", headers=ADMIN)
    assert r.status_code == 413
