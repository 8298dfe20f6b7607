"""GET /access: the route table per role, read from the routes themselves, and static token
counts for admins only (never token values)."""

from __future__ import annotations

import pytest
from inv_support import ADMIN, OPERATOR, READONLY, TOKENS

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _role(routes: list[dict], method: str, path: str) -> str:
    [row] = [r for r in routes if r["method"] == method and r["path"] == path]
    return row["role"]


async def test_admin_sees_token_counts_and_routes(nbi):
    r = await nbi.get("/access", headers=ADMIN)
    assert r.status_code == 200, r.text
    a = r.json()
    assert a["role"] == "admin"
    assert [(x["role"], x["staticTokens"]) for x in a["roles"]] == [("readonly", 1), ("operator", 1), ("admin", 1)]
    assert not any(t in r.text for t in TOKENS)
    routes = a["routes"]
    assert _role(routes, "GET", "/devices/") == "readonly"
    assert _role(routes, "POST", "/devices/{device_id}/tasks") == "operator"
    assert _role(routes, "POST", "/campaigns/{cid}/abort") == "operator"
    assert _role(routes, "PUT", "/files/{name}") == "admin"
    assert _role(routes, "DELETE", "/presets/{name}") == "admin"
    assert _role(routes, "GET", "/access") == "readonly"
    assert all(x["method"] != "HEAD" for x in routes)
    assert not any(x["path"] in ("/healthz", "/metrics", "/devices") for x in routes)


async def test_what_each_role_may_call_matches_enforcement(nbi):
    """Every route the table gives to admin is refused to an operator token (403), sampled on
    routes whose refusal comes before any body or lookup."""
    routes = (await nbi.get("/access", headers=READONLY)).json()["routes"]
    assert _role(routes, "PUT", "/presets/{name}") == "admin"
    assert (await nbi.put("/presets/x", json={}, headers=OPERATOR)).status_code == 403
    assert _role(routes, "DELETE", "/faults/{fault_id}") == "operator"
    assert (await nbi.delete("/faults/none:x", headers=READONLY)).status_code == 403


async def test_non_admins_get_no_token_counts(nbi):
    for headers, role in ((READONLY, "readonly"), (OPERATOR, "operator")):
        a = (await nbi.get("/access", headers=headers)).json()
        assert a["role"] == role
        assert all("staticTokens" not in x for x in a["roles"])
    assert (await nbi.get("/access")).status_code == 401
