"""Bearer-token authorisation of the NBI: readonly < operator < admin.

readonly may read (GET); operator may also queue, retry and delete tasks, clear faults and tag
devices; admin may do everything, including files, presets and deleting devices. Tokens come
from NBI_TOKENS; without any, every call but /healthz, /readyz and /metrics is refused.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping

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


def require(role: str) -> Callable[..., str]:
    """A FastAPI dependency admitting callers whose token has at least ``role``."""

    async def check(
        request: Request, creds: HTTPAuthorizationCredentials | None = Depends(bearer)
    ) -> str:
        if creds is None or creds.scheme.lower() != "bearer":
            raise ApiError(401, "authentication required", "send Authorization: Bearer <token>")
        have = role_of(request.app.state.settings.tokens, creds.credentials)
        if have is None:
            raise ApiError(401, "invalid token")
        if RANK[have] < RANK[role]:
            raise ApiError(403, "forbidden", f"needs role {role}, token has {have}")
        return have

    return check


readonly = Depends(require("readonly"))
operator = Depends(require("operator"))
admin = Depends(require("admin"))
