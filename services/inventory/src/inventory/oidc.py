"""OpenID Connect single sign-on for the console and the NBI.

Bearer JWTs (ID tokens, or JWT access tokens) from the configured issuer are accepted as NBI
tokens: the signature is checked against the issuer's JWKS (found by discovery, fetched again
when a token names an unknown key, as after a key rotation), and so are ``iss``, ``aud``
(NBI_OIDC_AUDIENCE) and ``exp``. The IdP groups in the token (NBI_OIDC_GROUPS_CLAIM) map to a role,
tenant and scope (NBI_OIDC_GROUPS); a token whose groups map to nothing is refused.

The console signs in through the NBI with the authorization code flow and PKCE (S256):
``GET /oidc/login`` sends the browser to the IdP; ``GET /oidc/callback`` exchanges the code,
checks the ID token (nonce included), records the user (``source: "oidc"``, role and tenant
from its groups at this sign-in) and sends the browser to the console (NBI_OIDC_CONSOLE_URL)
with a session token in the URL fragment (``#token=...``), which never reaches a server log.
JWT checks use joserfc; the state of a sign-in in progress is kept in MongoDB (``oidcLogins``),
single use and valid for ten minutes, so any NBI replica may receive the callback.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from bson import ObjectId
from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from pymongo.errors import PyMongoError

from . import auth
from .accounts import fingerprint, now
from .errors import ApiError, bad_request
from .principal import RANK, Principal
from .security_settings import SecuritySettings

log = logging.getLogger(__name__)

LOGINS = "oidcLogins"
LOGIN_TTL = timedelta(minutes=10)
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
JWKS_REFRESH_MIN_S = 30.0  # an unknown key refetches the JWKS at most this often


class OidcError(Exception):
    pass


def s256(verifier: str) -> str:
    """The PKCE code challenge of a verifier (RFC 7636, S256)."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def grants(settings: SecuritySettings, groups: Any) -> dict[str, Any] | None:
    """The role, tenant and scope IdP groups map to (the highest role wins), or None."""
    if isinstance(groups, str):
        groups = [groups]
    if not isinstance(groups, list):
        return None
    best: dict[str, Any] | None = None
    for group in sorted(g for g in groups if isinstance(g, str)):
        m = settings.oidc_groups.get(group)
        if m is None or m.get("role") not in RANK:
            continue
        if best is None or RANK[m["role"]] > RANK[best["role"]]:
            best = {"role": m["role"], "tenant": m.get("tenant"), "scope": m.get("scope")}
    return best


class Verifier:
    """The issuer's metadata and keys, and checks of its JWTs."""

    def __init__(self, settings: SecuritySettings) -> None:
        self.s = settings
        self._meta: dict[str, Any] | None = None
        self._keys: KeySet | None = None
        self._keys_at = 0.0
        self._lock = asyncio.Lock()

    async def metadata(self) -> dict[str, Any]:
        if self._meta is None:
            async with httpx.AsyncClient(timeout=5.0) as c:
                r = await c.get(f"{self.s.oidc_issuer}/.well-known/openid-configuration")
                r.raise_for_status()
                meta = r.json()
            if meta.get("issuer", "").rstrip("/") != self.s.oidc_issuer:
                raise OidcError(f"discovery names issuer {meta.get('issuer')!r}, not {self.s.oidc_issuer!r}")
            self._meta = meta
        return self._meta

    async def keys(self, refresh: bool = False) -> KeySet:
        async with self._lock:
            stale = refresh and time.monotonic() - self._keys_at > JWKS_REFRESH_MIN_S
            if self._keys is None or stale:
                meta = await self.metadata()
                async with httpx.AsyncClient(timeout=5.0) as c:
                    r = await c.get(meta["jwks_uri"])
                    r.raise_for_status()
                self._keys = KeySet.import_key_set(r.json())
                self._keys_at = time.monotonic()
            return self._keys

    async def claims(self, token: str, audience: str, nonce: str | None = None) -> dict[str, Any]:
        """The checked claims of a JWT from the issuer; OidcError when it does not hold."""
        try:
            try:
                decoded = jwt.decode(token, await self.keys(), algorithms=ALGORITHMS)
            except (ValueError, JoseError):  # perhaps a key the cached set does not have yet
                decoded = jwt.decode(token, await self.keys(refresh=True), algorithms=ALGORITHMS)
            checks: dict[str, Any] = {"iss": {"essential": True, "value": self.s.oidc_issuer},
                                      "aud": {"essential": True, "value": audience},
                                      "exp": {"essential": True}, "sub": {"essential": True}}
            if nonce is not None:
                checks["nonce"] = {"essential": True, "value": nonce}
            jwt.JWTClaimsRegistry(leeway=30, **checks).validate(decoded.claims)
        except (ValueError, JoseError) as e:
            raise OidcError(f"{type(e).__name__}: {e}") from None
        return dict(decoded.claims)

    def username(self, claims: dict[str, Any]) -> str:
        return str(claims.get(self.s.oidc_username_claim) or claims["sub"])

    async def principal(self, token: str) -> Principal | None:
        """The principal of a bearer JWT, or None (bad token, IdP away, groups mapping to nothing)."""
        try:
            claims = await self.claims(token, self.s.oidc_audience)
        except (OidcError, httpx.HTTPError, KeyError) as e:
            log.info("OIDC bearer token refused: %s", e)
            return None
        g = grants(self.s, claims.get(self.s.oidc_groups_claim))
        if g is None:
            return None
        return Principal(role=g["role"], token=fingerprint(token), source="oidc", user=self.username(claims),
                         tenant=g["tenant"], scopes=(g["scope"],) if g["scope"] else ())


# ------------------------------------------------------------------------------ sign-in flow

router = APIRouter(tags=["auth"])


def _verifier(request: Request) -> Verifier:
    v = auth.guard_of(request).oidc
    if v is None:
        raise ApiError(404, "single sign-on is not configured", "set NBI_OIDC_ISSUER")
    return v


@router.get("/oidc/login", summary="Single sign-on: redirects the browser to the OpenID Connect provider")
async def oidc_login(request: Request) -> Response:
    v = _verifier(request)
    meta = await v.metadata()
    state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48)
    await auth.guard_of(request).accounts.users.database[LOGINS].insert_one(
        {"_id": state, "nonce": nonce, "verifier": verifier, "created": now()})
    query = urlencode({"response_type": "code", "client_id": v.s.oidc_client_id, "redirect_uri": v.s.oidc_redirect_uri,
                       "scope": v.s.oidc_scopes, "state": state, "nonce": nonce,
                       "code_challenge": s256(verifier), "code_challenge_method": "S256"})
    return RedirectResponse(f"{meta['authorization_endpoint']}?{query}", status_code=302,
                            headers={"Cache-Control": "no-store"})


@router.get("/oidc/callback", summary="Single sign-on: the provider's redirect; ends at the console with a session")
async def oidc_callback(request: Request, code: str | None = Query(None), state: str | None = Query(None),
                        error: str | None = Query(None)) -> Response:
    v = _verifier(request)
    guard = auth.guard_of(request)
    if error:
        raise auth.Unauthenticated("sign-in refused by the identity provider", error)
    if not code or not state:
        raise bad_request("code and state are required")
    pending = await guard.accounts.users.database[LOGINS].find_one_and_delete({"_id": state})
    if pending is None or now() - pending["created"] > LOGIN_TTL:
        raise auth.Unauthenticated("unknown or expired sign-in", "start again at /oidc/login")
    meta = await v.metadata()
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": v.s.oidc_redirect_uri,
            "code_verifier": pending["verifier"], "client_id": v.s.oidc_client_id}
    async with httpx.AsyncClient(timeout=10.0) as c:
        if v.s.oidc_client_secret:  # a confidential client (client_secret_basic); else a public one, PKCE only
            r = await c.post(meta["token_endpoint"], data=form, auth=(v.s.oidc_client_id, v.s.oidc_client_secret))
        else:
            r = await c.post(meta["token_endpoint"], data=form)
    if r.status_code != 200 or "id_token" not in r.json():
        raise auth.Unauthenticated("the identity provider refused the code", r.text[:500])
    tokens = r.json()
    try:
        claims = await v.claims(tokens["id_token"], v.s.oidc_client_id, nonce=pending["nonce"])
    except OidcError as e:
        raise auth.Unauthenticated("ID token refused", str(e)) from None
    if v.s.oidc_groups_claim not in claims and tokens.get("access_token") and meta.get("userinfo_endpoint"):
        async with httpx.AsyncClient(timeout=10.0) as c:  # some IdPs give groups from userinfo only
            info = await c.get(meta["userinfo_endpoint"], headers={"Authorization": f"Bearer {tokens['access_token']}"})
        if info.status_code == 200 and info.json().get("sub") == claims["sub"]:
            claims.setdefault(v.s.oidc_groups_claim, info.json().get(v.s.oidc_groups_claim))
    g = grants(v.s, claims.get(v.s.oidc_groups_claim))
    if g is None:
        raise ApiError(403, "forbidden", "none of your identity provider groups is given a role (NBI_OIDC_GROUPS)")
    name = v.username(claims)
    users = guard.accounts.users
    existing = await users.find_one({"_id": name}, {"source": 1, "disabled": 1})
    if existing is not None and (existing.get("source") != "oidc" or existing.get("disabled")):
        raise ApiError(403, "forbidden", "a local or disabled user has this name")
    t = now()
    user = {"role": g["role"], "tenant": g["tenant"], "scope": g["scope"], "source": "oidc", "updated": t,
            "lastLogin": t, "subject": claims["sub"]}
    await users.update_one({"_id": name}, {"$set": user, "$setOnInsert": {"created": t}}, upsert=True)
    value, doc = await guard.accounts.issue({"_id": name, **user}, name="console session (OIDC)", kind="session",
                                            role=g["role"], scope=None,
                                            lifetime=timedelta(seconds=guard.settings.security.session_ttl_s))
    request.app.state.rt.metrics.sign_ins.labels("oidc").inc()
    await _audit_sign_in(request, doc["id"], name, g)
    fragment = urlencode({"token": value, "expiresAt": doc["expiresAt"].isoformat(), "user": name})
    return RedirectResponse(f"{v.s.oidc_console_url}#{fragment}", status_code=302, headers={"Cache-Control": "no-store"})


async def _audit_sign_in(request: Request, token_id: str, user: str, g: dict[str, Any]) -> None:
    """A sign-in through the IdP is a GET (the browser's redirect), which the audit middleware
    does not record: it is recorded here, as the session it created."""
    client = request.client.host if request.client else ""
    record = {"_id": ObjectId(), "timestamp": datetime.now(UTC),
              "actor": {"token": token_id, "role": g["role"], "client": request.headers.get("user-agent", "")[:200],
                        "user": user, **({"tenant": g["tenant"]} if g["tenant"] else {}), "via": "oidc"},
              "sourceIp": client, "forwardedFor": request.headers.get("x-forwarded-for") or None, "method": "GET",
              "path": "/oidc/callback", "action": "GET /oidc/callback", "query": None, "devices": [],
              "deviceQuery": None, "before": None, "after": None, "status": 302, "result": {"user": user}}
    try:
        await request.app.state.rt.audit.append(record)
    except PyMongoError as e:
        log.error("audit record of an OIDC sign-in not stored (%s): %s", type(e).__name__, user)
