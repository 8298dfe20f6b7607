"""Users, API tokens and sign-in (inventory/users.py, tokens.py, accounts.py): argon2 hashes,
tokens stored hashed and shown once, expiry and revocation, session tokens from POST /login,
lock-out after repeated failures, rate limits, /whoami and the audit log's actor."""

from __future__ import annotations

import json

import httpx
import pytest
from inv_support import ADMIN, READONLY

from inventory.accounts import TOKENS, USERS, token_hash
from inventory.app import create_app
from inventory.security_settings import SecuritySettings

pytestmark = pytest.mark.asyncio(loop_scope="session")

PW = "correct horse battery"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _login(nbi, user: str, password: str = PW) -> httpx.Response:
    return await nbi.post("/login", json={"username": user, "password": password})


async def test_admin_creates_a_user_who_signs_in_and_whose_password_is_hashed(nbi, runtime):
    r = await nbi.put("/users/alice", json={"role": "operator", "password": PW}, headers=ADMIN)
    assert r.status_code == 201, r.text
    assert r.json()["role"] == "operator" and "passwordHash" not in r.text
    stored = await runtime.db.db[USERS].find_one({"_id": "alice"})
    assert stored["passwordHash"].startswith("$argon2id$") and PW not in json.dumps(stored, default=str)

    assert (await _login(nbi, "alice", "wrong password")).status_code == 401
    r = await _login(nbi, "alice")
    assert r.status_code == 200, r.text
    session = r.json()
    assert session["role"] == "operator" and session["token"].startswith("acs_")
    stored_token = await runtime.db.db[TOKENS].find_one({"_id": token_hash(session["token"])})
    assert stored_token["kind"] == "session" and session["token"] not in json.dumps(stored_token, default=str)

    who = (await nbi.get("/whoami", headers=bearer(session["token"]))).json()
    assert who["role"] == "operator" and who["user"] == "alice" and who["kind"] == "session"
    assert 'acs_nbi_sign_ins_total{via="password"}' in (await nbi.get("/metrics")).text
    # operator: may tag, may not manage users
    assert (await nbi.get("/users", headers=bearer(session["token"]))).status_code == 403
    assert (await nbi.post("/logout", headers=bearer(session["token"]))).status_code == 200
    assert (await nbi.get("/whoami", headers=bearer(session["token"]))).status_code == 401


async def test_api_tokens_are_shown_once_listed_without_value_narrowed_expired_and_revoked(nbi, runtime):
    await nbi.put("/users/bob", json={"role": "admin", "password": PW}, headers=ADMIN)
    session = (await _login(nbi, "bob")).json()["token"]
    r = await nbi.post("/tokens", json={"name": "ci", "role": "readonly", "expiresInDays": 7}, headers=bearer(session))
    assert r.status_code == 201, r.text
    created = r.json()
    value = created["token"]
    assert created["role"] == "readonly" and created["status"] == "active"
    listed = (await nbi.get("/tokens", headers=bearer(session))).json()
    assert created["id"] in [t["id"] for t in listed] and value not in json.dumps(listed)
    # the narrowed role holds
    assert (await nbi.get("/whoami", headers=bearer(value))).json()["role"] == "readonly"
    assert (await nbi.get("/users", headers=bearer(value))).status_code == 403
    used = await runtime.db.db[TOKENS].find_one({"_id": token_hash(value)})
    assert used["lastUsed"] is not None
    # a readonly token cannot mint an admin one
    assert (await nbi.post("/tokens", json={"role": "admin"}, headers=bearer(value))).status_code == 403
    assert (await nbi.post("/tokens", json={"expiresInDays": 100000}, headers=bearer(session))).status_code == 400
    # revoked: refused at once
    assert (await nbi.delete(f"/tokens/{created['id']}", headers=bearer(session))).status_code == 200
    assert (await nbi.get("/whoami", headers=bearer(value))).status_code == 401
    # expired: refused
    other = (await nbi.post("/tokens", json={"name": "short"}, headers=bearer(session))).json()
    await runtime.db.db[TOKENS].update_one({"id": other["id"]}, {"$set": {"expiresAt": used["created"]}})
    assert (await nbi.get("/whoami", headers=bearer(other["token"]))).status_code == 401
    assert {t["id"]: t["status"] for t in (await nbi.get("/tokens", headers=bearer(session))).json()}[other["id"]] == "expired"


async def test_disabling_a_user_revokes_its_tokens_and_static_tokens_keep_working(nbi):
    await nbi.put("/users/carol", json={"role": "readonly", "password": PW}, headers=ADMIN)
    session = (await _login(nbi, "carol")).json()["token"]
    assert (await nbi.get("/devices", headers=bearer(session))).status_code == 200
    assert (await nbi.put("/users/carol", json={"disabled": True}, headers=ADMIN)).status_code == 200
    assert (await nbi.get("/devices", headers=bearer(session))).status_code == 401
    assert (await _login(nbi, "carol")).status_code == 401
    assert (await nbi.get("/whoami", headers=READONLY)).json() == {
        "role": "readonly", "user": None, "tenant": None, "scope": [], "kind": "static",
        "token": (await nbi.get("/whoami", headers=READONLY)).json()["token"]}
    assert (await nbi.delete("/users/carol", headers=ADMIN)).status_code == 200
    assert (await nbi.get("/users/carol", headers=ADMIN)).status_code == 404


async def test_bad_user_input_is_a_clear_400(nbi):
    assert (await nbi.put("/users/x", json={"role": "root", "password": PW}, headers=ADMIN)).status_code == 400
    assert (await nbi.put("/users/x", json={"role": "admin", "password": "short"}, headers=ADMIN)).status_code == 400
    assert (await nbi.put("/users/x", json={"role": "admin", "scope": "{not json"}, headers=ADMIN)).status_code == 400
    assert (await nbi.put("/users/x", json={"role": "admin", "scope": '{"$where": "1"}'}, headers=ADMIN)).status_code == 400
    assert (await nbi.put("/users/bad name", json={"role": "admin"}, headers=ADMIN)).status_code == 400
    assert (await nbi.post("/login", content=b"[]")).status_code == 400


async def test_writes_by_users_name_the_user_and_tenant_in_the_audit_log(nbi):
    await nbi.put("/users/dora", json={"role": "admin", "password": PW, "tenant": "t-audit"}, headers=ADMIN)
    session = (await _login(nbi, "dora")).json()
    assert session["tenant"] == "t-audit"
    await nbi.put("/users/dora-2", json={"role": "readonly", "password": PW}, headers=bearer(session["token"]))
    r = await nbi.get("/audit", params={"query": json.dumps({"path": "/users/dora-2"})}, headers=ADMIN)
    rec = r.json()[0]
    assert rec["actor"]["user"] == "dora" and rec["actor"]["tenant"] == "t-audit" and rec["actor"]["via"] == "session"
    assert rec["after"]["password"] == "***" and PW not in r.text
    login = (await nbi.get("/audit", params={"query": json.dumps({"path": "/login"})}, headers=ADMIN)).json()
    assert login and session["token"] not in json.dumps(login) and PW not in json.dumps(login)
    # a tenant's admin reads its tenant's records only
    mine = (await nbi.get("/audit", headers=bearer(session["token"]))).json()
    assert mine and all(r["actor"].get("tenant") == "t-audit" for r in mine)


@pytest.fixture(scope="module")
async def strict(settings, runtime):
    """An NBI with tight limits: 3 failures lock out, 5 sign-ins a minute, 5 calls a token at once."""
    sec = SecuritySettings(login_max_failures=3, login_lockout_s=600, login_rate_per_min=5, rate_per_s=0.01,
                           rate_burst=5, auth_failures_per_min=4)
    app = create_app(settings.model_copy(update={"security": sec}), runtime)
    return app


def _client(app, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 1234)), base_url="http://nbi")


async def test_repeated_wrong_passwords_lock_the_user_out(nbi, strict):
    await nbi.put("/users/erin", json={"role": "readonly", "password": PW}, headers=ADMIN)
    async with _client(strict, "10.0.0.1") as c:
        for _ in range(3):
            assert (await _login(c, "erin", "wrong password")).status_code == 401
    async with _client(strict, "10.0.0.2") as c:  # another address: still locked
        r = await _login(c, "erin")
        assert r.status_code == 401 and r.json()["error"] == "invalid user name or password"
    user = (await nbi.get("/users/erin", headers=ADMIN)).json()
    assert user["lockedUntil"] is not None
    # an admin resetting the password lifts the lock
    await nbi.put("/users/erin", json={"password": PW + "!"}, headers=ADMIN)
    async with _client(strict, "10.0.0.3") as c:
        assert (await _login(c, "erin", PW + "!")).status_code == 200


async def test_sign_in_attempts_and_calls_per_token_are_rate_limited(strict):
    async with _client(strict, "10.0.1.1") as c:
        codes = [(await _login(c, "nobody", "wrong password")).status_code for _ in range(7)]
        assert codes[:5] == [401] * 5 and codes[5:] == [429, 429]
        r = await _login(c, "nobody", "wrong password")
        assert int(r.headers["Retry-After"]) >= 1
    async with _client(strict, "10.0.1.2") as c:
        codes = [(await c.get("/whoami", headers=READONLY)).status_code for _ in range(7)]
        assert codes[:5] == [200] * 5 and 429 in codes[5:]
    async with _client(strict, "10.0.1.3") as c:
        codes = [(await c.get("/whoami", headers=bearer(f"guess-{i}"))).status_code for i in range(6)]
        assert codes[:4] == [401] * 4 and codes[4:] == [429, 429]
        # the address is refused even with a valid token until the window passes
        assert (await c.get("/whoami", headers=ADMIN)).status_code == 429
    metrics = strict.state.rt.metrics.exposition().decode()
    for reason in ("login_failed", "login_rate_limited", "rate_limited", "invalid_token", "address_blocked"):
        assert f'acs_nbi_auth_refusals_total{{reason="{reason}"}}' in metrics, reason


async def test_the_sign_in_page_learns_the_methods_without_a_token(nbi):
    r = await nbi.get("/login/methods")
    assert r.status_code == 200
    assert r.json() == {"password": True, "token": True, "sso": False, "ssoPath": None}  # no NBI_OIDC_ISSUER here
