"""API tokens of users: ``POST /tokens`` (the value is in that answer only), ``GET /tokens``,
``DELETE /tokens/{id}`` (revoke). A token may narrow its user's role and scope, and always
expires (at most NBI_TOKEN_MAX_DAYS). Callers list and revoke their own; admins also those of
the users they manage (``?user=``). Static NBI_TOKENS are not users: they cannot hold tokens.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, Strict, StrictStr, TypeAdapter

from . import auth, bodies, scope
from .accounts import now, public_token
from .errors import ApiError, bad_request, not_found
from .principal import RANK, Principal, check_scope_text
from .users import _body, _json

router = APIRouter(tags=["tokens"])


class TokenBody(BaseModel):
    """POST /tokens: a token may narrow its user's role and scope; it always expires."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[StrictStr, Field(max_length=128)] = ""
    role: Literal["readonly", "operator", "admin"] = bodies.absent(description="default: the user's role")
    scope: Any = Field(None, description="a device query narrowing the user's scope")
    expiresInDays: Annotated[float, Strict(), Field(gt=0, description="at most NBI_TOKEN_MAX_DAYS")] = 90


_TOKEN = TypeAdapter(TokenBody)


async def _target_user(request: Request, p: Principal, user: str | None) -> dict[str, Any]:
    """The user whose tokens are meant: the caller's own, or (admins) one they manage."""
    accounts = auth.guard_of(request).accounts
    name = user or p.user
    if name is None:
        raise ApiError(403, "forbidden", "a static NBI_TOKENS token has no user: name one with ?user=")
    if name != p.user and RANK[p.role] < RANK["admin"]:
        raise not_found(f"no user {name!r}")
    doc = await accounts.users.find_one({"_id": name, **p.owned("tenant")} if name != p.user else {"_id": name},
                                        {"passwordHash": 0})
    if doc is None or doc.get("disabled"):
        raise not_found(f"no user {name!r}")
    return doc


@router.get("/tokens", dependencies=[auth.readonly], summary="Your API tokens (admins: ?user=)")
async def list_tokens(request: Request, user: str | None = Query(None)) -> Response:
    p = scope.principal(request)
    target = await _target_user(request, p, user)
    docs = await auth.guard_of(request).accounts.tokens.find({"user": target["_id"]}).sort("created", -1).to_list(None)
    return _json([public_token(d) for d in docs])


@router.post("/tokens", dependencies=[auth.readonly], status_code=201, openapi_extra=bodies.openapi_body(_TOKEN),
             summary="Create an API token: {name, role?, scope?, expiresInDays?}; its value is shown this once")
async def create_token(request: Request, user: str | None = Query(None)) -> Response:
    p = scope.principal(request)
    target = await _target_user(request, p, user)
    body = bodies.parse(_TOKEN, await _body(request), "token")
    role = body.role if body.role is not None else target["role"]
    if RANK[role] > RANK[p.role]:
        raise ApiError(403, "forbidden", f"a token cannot have more than the caller's role {p.role}")
    max_days = auth.guard_of(request).settings.security.token_max_days
    days = body.expiresInDays
    if days > max_days:
        raise bad_request(f"expiresInDays is a number of days, more than 0 and at most {max_days}", days)
    text = check_scope_text(body.scope)
    value, doc = await auth.guard_of(request).accounts.issue(
        target, name=body.name, kind="api", role=role, scope=text, lifetime=timedelta(days=days))
    return _json({**public_token(doc), "token": value}, 201)


@router.delete("/tokens/{token_id}", dependencies=[auth.readonly], summary="Revoke a token (its id)")
async def revoke_token(token_id: str, request: Request, user: str | None = Query(None)) -> Response:
    p = scope.principal(request)
    target = await _target_user(request, p, user)
    res = await auth.guard_of(request).accounts.tokens.update_one(
        {"id": token_id, "user": target["_id"]}, {"$set": {"revoked": True, "revokedAt": now()}})
    if not res.matched_count:
        raise not_found(f"no token {token_id!r}")
    return Response(status_code=200)
