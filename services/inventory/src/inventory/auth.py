"""Bearer-token authorisation of the NBI: readonly < operator < admin, within a scope.

readonly may read (GET); operator may also queue, retry and delete tasks, clear faults and tag
devices; admin may do everything, including files, presets, users and deleting devices. A token
is one of NBI_TOKENS (static, unscoped: bootstrap and automation), a user's API token or console
session (inventory/accounts.py, scoped by the user's tenant and query), or a JWT from the
configured OpenID Connect issuer (inventory/oidc.py). Without any, every call but /healthz,
/readyz, /metrics, /login and the API's documentation (/docs, /openapi.json; behind a token too
with NBI_DOCS_PUBLIC=false) is refused.

Each call is also rate-limited per token (NBI_RATE_PER_S, NBI_RATE_BURST), and a client address
sending too many invalid tokens is answered 429 for a while (NBI_AUTH_FAILURES_PER_MIN).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .accounts import Accounts, fingerprint
from .errors import ApiError
from .principal import RANK, Principal
from .ratelimit import TokenBuckets, Window

bearer = HTTPBearer(auto_error=False, description="NBI_TOKENS token, a user's API token or session, or an OIDC JWT")


def role_of(tokens: Mapping[str, str], token: str) -> str | None:
    """Compare against every token in constant time so timing does not reveal a prefix."""
    found = None
    for known, role in tokens.items():
        if hmac.compare_digest(known.encode(), token.encode()):
            found = role
    return found


def _token_of(creds: HTTPAuthorizationCredentials | None) -> str | None:
    """The token from ``Bearer <token>``, or from HTTP Basic with the token as password: GenieACS
    integrations usually reach an NBI behind a Basic-auth proxy and keep working unchanged."""
    if creds is None:
        return None
    if creds.scheme.lower() == "bearer":
        return creds.credentials or None
    if creds.scheme.lower() == "basic":
        try:
            return base64.b64decode(creds.credentials, validate=True).decode("utf-8").partition(":")[2] or None
        except (binascii.Error, UnicodeDecodeError):
            return None
    return None


def token_from_header(header: str) -> str | None:
    """The token an ``Authorization`` header carries (Bearer, or Basic with it as password)."""
    scheme, _sep, value = header.partition(" ")
    return _token_of(HTTPAuthorizationCredentials(scheme=scheme, credentials=value.strip())) if scheme else None


class Unauthenticated(ApiError):
    """A 401 with its own ``WWW-Authenticate`` challenge (the NBI's routes answer ``Bearer``)."""

    def __init__(self, error: str, detail: object = None, challenge: str = "Bearer") -> None:
        super().__init__(401, error, detail)
        self.challenge = challenge


class TooManyRequests(ApiError):
    def __init__(self, error: str, retry_after: float) -> None:
        seconds = max(1, math.ceil(retry_after))
        super().__init__(429, error, {"retryAfter": seconds})
        self.headers = {"Retry-After": str(seconds)}


class Guard:
    """Per app: the accounts store, the rate limits and the OIDC verifier."""

    def __init__(self, request: Request) -> None:
        settings = request.app.state.settings
        sec = settings.security
        self.settings = settings
        self.accounts = Accounts(request.app.state.rt.db.db)
        self.calls = TokenBuckets(sec.rate_per_s, sec.rate_burst)
        self.bad_tokens = Window(sec.auth_failures_per_min)
        self.logins = Window(sec.login_rate_per_min)
        self.oidc: Any = None
        if sec.oidc_issuer:
            from .oidc import Verifier
            self.oidc = Verifier(sec)

    async def principal(self, token: str) -> Principal | None:
        role = role_of(self.settings.tokens, token)
        if role is not None:
            return Principal(role=role, token=fingerprint(token))
        if self.oidc is not None and token.count(".") == 2:
            return await self.oidc.principal(token)
        return await self.accounts.principal(token)


def guard_of(request: Request) -> Guard:
    state = request.app.state
    guard = getattr(state, "guard", None)
    if guard is None:
        guard = state.guard = Guard(request)
    return guard


def client_of(request: Request) -> str:
    return request.client.host if request.client else ""


async def authenticate(request: Request, challenge: str = "Bearer") -> Principal:
    """The caller's principal (cached on the request), or 401/429."""
    known = getattr(request.state, "principal", None)
    if known is not None:
        return known
    guard = guard_of(request)
    client = client_of(request)
    metrics = request.app.state.rt.metrics
    if wait := guard.bad_tokens.blocked(client):
        metrics.auth_refusals.labels("address_blocked").inc()
        raise TooManyRequests("too many invalid tokens from this address", wait)
    token = token_from_header(request.headers.get("authorization", ""))
    if token is None:
        raise Unauthenticated("authentication required",
                              "send Authorization: Bearer <token> (or Basic with the token as password)", challenge)
    principal = await guard.principal(token)
    if principal is None:
        guard.bad_tokens.add(client)
        metrics.auth_refusals.labels("invalid_token").inc()
        raise Unauthenticated("invalid token", None, challenge)
    if wait := guard.calls.take(principal.token):
        metrics.auth_refusals.labels("rate_limited").inc()
        raise TooManyRequests("rate limit of this token exceeded", wait)
    request.state.principal = principal
    return principal


def require(role: str, challenge: str = "Bearer") -> Callable[..., Awaitable[str]]:
    """A FastAPI dependency admitting callers whose token has at least ``role`` and, for a scoped
    caller, naming only objects in its scope (404 otherwise). ``challenge`` is the
    ``WWW-Authenticate`` of a 401. Returns the role."""

    async def check(request: Request, _credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> str:
        # the Bearer dependency documents the scheme in OpenAPI; the header is read here to accept Basic too
        principal = await authenticate(request, challenge)
        if RANK[principal.role] < RANK[role]:
            raise ApiError(403, "forbidden", f"needs role {role}, token has {principal.role}")
        if principal.scoped:
            from .scope import check_path
            await check_path(request, principal)
        return principal.role

    return check


def principal_of(request: Request) -> Principal:
    """The principal a role dependency admitted (routes call this after ``auth.readonly`` etc.)."""
    p = getattr(request.state, "principal", None)
    if p is None:  # a route without a role dependency: never for NBI routes (tests/security checks)
        raise ApiError(500, "route has no role dependency")
    return p


readonly = Depends(require("readonly"))
operator = Depends(require("operator"))
admin = Depends(require("admin"))
# /docs and /openapi.json when NBI_DOCS_PUBLIC=false: a Basic challenge makes a browser ask for
# credentials (any user name, the token as password), so the page still opens in a browser.
docs_reader = Depends(require("readonly", challenge='Basic realm="ACS NBI: any user name, the token as password", charset="UTF-8"'))
