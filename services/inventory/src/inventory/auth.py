"""Bearer-token authorisation of the NBI: readonly < operator < admin.

readonly may read (GET); operator may also queue, retry and delete tasks, clear faults and tag
devices; admin may do everything, including files, presets and deleting devices. Tokens come
from NBI_TOKENS; without any, every call but /healthz, /readyz, /metrics and the API's
documentation (/docs, /openapi.json; behind a token too with NBI_DOCS_PUBLIC=false) is refused.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Awaitable, Callable, Mapping

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .errors import ApiError

RANK = {"readonly": 0, "operator": 1, "admin": 2}

bearer = HTTPBearer(auto_error=False, description="NBI_TOKENS token")


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
        return creds.credentials
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


def require(role: str, challenge: str = "Bearer") -> Callable[..., Awaitable[str]]:
    """A FastAPI dependency admitting callers whose token has at least ``role``. ``challenge`` is
    the ``WWW-Authenticate`` of a 401."""

    async def check(request: Request, _credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> str:
        # the Bearer dependency documents the scheme in OpenAPI; the header is read here to accept Basic too
        token = token_from_header(request.headers.get("authorization", ""))
        if token is None:
            raise Unauthenticated("authentication required",
                                  "send Authorization: Bearer <token> (or Basic with the token as password)", challenge)
        have = role_of(request.app.state.settings.tokens, token)
        if have is None:
            raise Unauthenticated("invalid token", None, challenge)
        if RANK[have] < RANK[role]:
            raise ApiError(403, "forbidden", f"needs role {role}, token has {have}")
        return have

    return check


readonly = Depends(require("readonly"))
operator = Depends(require("operator"))
admin = Depends(require("admin"))
# /docs and /openapi.json when NBI_DOCS_PUBLIC=false: a Basic challenge makes a browser ask for
# credentials (any user name, the token as password), so the page still opens in a browser.
docs_reader = Depends(require("readonly", challenge='Basic realm="ACS NBI: any user name, the token as password", charset="UTF-8"'))
