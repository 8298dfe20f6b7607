"""Single sign-on against a real OpenID Connect provider (the npm package oidc-provider, started
here with node on a free port, installed with ``npm ci`` from tests/security/oidc's lock).

The console's sign-in: the browser (an HTTP client keeping cookies) starts at the NBI's
/oidc/login, signs in at the provider, consents, comes back to /oidc/callback and lands on the
console with a session token whose role and tenant come from its IdP groups. And the NBI takes
the provider's JWTs as bearer tokens: checked signature, issuer, audience; groups mapped; a token
altered or from a group without a role is refused.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlparse

import httpx
import pytest
from sec_support import STATIC_ADMIN, inventory_env

from acs_devstack.servers import Server, free_port, new_workdir

pytestmark = pytest.mark.e2e

HERE = Path(__file__).resolve().parent / "oidc"
CLIENT_ID, CLIENT_SECRET = "acs-console", "acs-console-secret-for-tests"
TEST_REDIRECT = "http://127.0.0.1:9/test-callback"  # the test's own client redirect (never fetched)
ACCOUNTS = {"alice": {"groups": ["acs-admins", "staff"]}, "bob": {"groups": ["red-operators"]},
            "mallory": {"groups": ["staff"]}}
GROUPS = {"acs-admins": {"role": "admin"}, "red-operators": {"role": "operator", "tenant": "red"}}


def _node_modules() -> None:
    if (HERE / "node_modules" / "oidc-provider").is_dir():
        return
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("node and npm are needed to run the OpenID Connect provider (oidc-provider)")
    done = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        pytest.skip(f"npm ci of oidc-provider failed (no registry?): {done.stderr[-500:]}")


@pytest.fixture(scope="module")
def nbi_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def provider(nbi_port: int) -> Iterator[str]:
    _node_modules()
    port = free_port()
    workdir = new_workdir("acs-oidc-")
    config = {"clients": [{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                           "redirect_uris": [f"http://127.0.0.1:{nbi_port}/oidc/callback", TEST_REDIRECT],
                           "grant_types": ["authorization_code"], "response_types": ["code"]}],
              "accounts": ACCOUNTS}
    (workdir / "config.json").write_text(json.dumps(config))
    server = Server("oidc-provider", ["node", str(HERE / "provider.mjs"), str(port), str(workdir / "config.json")],
                    port, workdir / "oidc-provider.log")
    server.start(60)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="module")
def sso_nbi(provider: str, nbi_port: int, sec_settings) -> Iterator[str]:
    """The inventory as its own process, with single sign-on through ``provider``."""
    base = f"http://127.0.0.1:{nbi_port}"
    env = inventory_env(sec_settings, nbi_port, free_port(), NBI_OIDC_ISSUER=provider, NBI_OIDC_CLIENT_ID=CLIENT_ID,
                        NBI_OIDC_CLIENT_SECRET=CLIENT_SECRET, NBI_OIDC_REDIRECT_URI=f"{base}/oidc/callback",
                        NBI_OIDC_GROUPS=json.dumps(GROUPS), NBI_OIDC_CONSOLE_URL=f"{base}/console-landing")
    workdir = new_workdir("acs-oidc-nbi-")
    server = Server("inventory", [sys.executable, "-m", "inventory"], nbi_port, workdir / "inventory.log", env=env)
    server.start(60)
    try:
        yield base
    finally:
        server.stop()


def _sign_in_at_provider(browser: httpx.Client, start: str, login: str, stop_at: str) -> httpx.Response:
    """Follows redirects from ``start`` through the provider's login and consent forms until a
    redirect to ``stop_at``, which is returned unfollowed."""
    r = browser.get(start)
    for _ in range(20):
        if r.status_code in (302, 303):
            target = urljoin(str(r.url), r.headers["location"])
            if target.startswith(stop_at):
                return r
            r = browser.get(target)
            continue
        assert r.status_code == 200, (r.status_code, r.text[:500])
        action = urljoin(str(r.url), re.search(r'<form[^>]*action="([^"]+)"', r.text).group(1))  # type: ignore[union-attr]
        prompt = re.search(r'name="prompt" value="([^"]+)"', r.text).group(1)  # type: ignore[union-attr]
        form = {"prompt": prompt, "login": login, "password": "any"} if prompt == "login" else {"prompt": prompt}
        r = browser.post(action, data=form)
    raise AssertionError("the provider's sign-in did not come back")


def _console_sign_in(sso_nbi: str, login: str) -> httpx.Response:
    with httpx.Client(timeout=30) as browser:
        back = _sign_in_at_provider(browser, f"{sso_nbi}/oidc/login", login, f"{sso_nbi}/oidc/callback")
        return browser.get(urljoin(str(back.url), back.headers["location"]))


def test_console_sign_in_through_the_provider_gives_a_session_with_the_groups_role(sso_nbi):
    methods = httpx.get(f"{sso_nbi}/login/methods").json()  # what the sign-in page offers
    assert methods["sso"] is True and methods["ssoPath"] == "/oidc/login"
    landing = _console_sign_in(sso_nbi, "alice")
    assert landing.status_code == 302, landing.text
    location = landing.headers["location"]
    assert location.startswith(f"{sso_nbi}/console-landing#")
    fragment = parse_qs(urlparse(location).fragment)
    token = fragment["token"][0]
    who = httpx.get(f"{sso_nbi}/whoami", headers={"Authorization": f"Bearer {token}"}).json()
    assert who["user"] == "alice" and who["role"] == "admin" and who["tenant"] is None and who["kind"] == "session"
    admin = {"Authorization": f"Bearer {STATIC_ADMIN}"}
    user = httpx.get(f"{sso_nbi}/users/alice", headers=admin).json()
    assert user["source"] == "oidc" and user["role"] == "admin"
    audit = httpx.get(f"{sso_nbi}/audit", headers=admin, params={"query": json.dumps({"actor.user": "alice"})}).json()
    assert audit and audit[0]["action"] == "GET /oidc/callback" and audit[0]["actor"]["via"] == "oidc"
    assert token not in json.dumps(audit)

    bob = parse_qs(urlparse(_console_sign_in(sso_nbi, "bob").headers["location"]).fragment)["token"][0]
    who = httpx.get(f"{sso_nbi}/whoami", headers={"Authorization": f"Bearer {bob}"}).json()
    assert who["role"] == "operator" and who["tenant"] == "red"


def test_a_user_whose_groups_give_no_role_is_refused(sso_nbi):
    r = _console_sign_in(sso_nbi, "mallory")
    assert r.status_code == 403 and "NBI_OIDC_GROUPS" in r.text


def test_a_replayed_or_forged_callback_is_refused(sso_nbi):
    r = httpx.get(f"{sso_nbi}/oidc/callback", params={"code": "x", "state": "never-issued"})
    assert r.status_code == 401


def _id_token(provider: str, login: str) -> str:
    """An ID token for ``login``, got by the test as a client of its own (code flow with PKCE)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    meta = httpx.get(f"{provider}/.well-known/openid-configuration").json()
    start = str(httpx.URL(meta["authorization_endpoint"], params={
        "response_type": "code", "client_id": CLIENT_ID, "redirect_uri": TEST_REDIRECT, "scope": "openid profile groups",
        "state": "s", "nonce": "n", "code_challenge": challenge, "code_challenge_method": "S256"}))
    with httpx.Client(timeout=30) as browser:
        back = _sign_in_at_provider(browser, start, login, TEST_REDIRECT)
    code = parse_qs(urlparse(back.headers["location"]).query)["code"][0]
    r = httpx.post(meta["token_endpoint"], auth=(CLIENT_ID, CLIENT_SECRET), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": TEST_REDIRECT, "code_verifier": verifier})
    assert r.status_code == 200, r.text
    return r.json()["id_token"]


def test_the_providers_jwts_are_bearer_tokens_of_the_nbi(provider, sso_nbi):
    token = _id_token(provider, "bob")
    r = httpx.get(f"{sso_nbi}/whoami", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "operator" and r.json()["tenant"] == "red" and r.json()["kind"] == "oidc"
    assert httpx.get(f"{sso_nbi}/users", headers={"Authorization": f"Bearer {token}"}).status_code == 403
    head, body, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["groups"] = ["acs-admins"]  # a raised role, signature unchanged
    forged_body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    forged = f"{head}.{forged_body}.{sig}"
    assert httpx.get(f"{sso_nbi}/whoami", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    mallory = _id_token(provider, "mallory")  # signed, but no group with a role
    assert httpx.get(f"{sso_nbi}/whoami", headers={"Authorization": f"Bearer {mallory}"}).status_code == 401
