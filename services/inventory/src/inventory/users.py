"""Users (admins manage them) and the console's sign-in: POST /login, POST /logout.

``PUT /users/{name}`` creates or changes a user: role, tenant, scope (a device query), password,
disabled. A tenant's admin manages only its tenant's users (others answer 404) and cannot give
more than its own scope. Disabling a user or changing its password revokes its tokens.

``POST /login`` takes a user name and password and answers a session token that expires
(NBI_SESSION_TTL_S). Attempts are limited per client address (NBI_LOGIN_RATE_PER_MIN), and a
user is locked out for NBI_LOGIN_LOCKOUT_S after NBI_LOGIN_MAX_FAILURES wrong passwords in a
row; a locked or unknown user gets the same answer as a wrong password.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, TypeAdapter
from pymongo.errors import DuplicateKeyError

from . import auth, bodies, scope
from .accounts import now, public_user
from .errors import ApiError, bad_request, not_found
from .principal import RANK, Principal, check_scope_text
from .shapes import dumps, to_json

router = APIRouter(tags=["users"])

NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@\-]{0,127}$")
MIN_PASSWORD = 10


def _json(doc: Any, status: int = 200) -> Response:
    return Response(dumps(to_json(doc)), status_code=status, media_type="application/json",
                    headers={"Cache-Control": "no-store"})


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.app.state.rt.read_body(request)
    try:
        body = orjson.loads(raw or b"{}")
    except orjson.JSONDecodeError as e:
        raise bad_request("body is not JSON", str(e)) from None
    if not isinstance(body, dict):
        raise bad_request("body must be a JSON object")
    return body


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise bad_request("a user name is 1-128 letters, digits, '_', '.', '@' or '-'", name)
    return name


class UserBody(BaseModel):
    """PUT /users/<name>: the fields to set; ``role`` is required when the user is new."""

    model_config = ConfigDict(extra="forbid")

    password: Annotated[StrictStr, Field(min_length=MIN_PASSWORD, max_length=1024)] = bodies.absent()
    role: Literal["readonly", "operator", "admin"] = bodies.absent()
    tenant: Annotated[StrictStr, Field(pattern=NAME.pattern)] | None = Field(
        None, description="a tenant's name, or null for none; a tenant's admin may name only its own")
    scope: Any = Field(None, description="a device query: the devices this user may see")
    disabled: StrictBool = bodies.absent()


_USER = TypeAdapter(UserBody)


def _user_changes(raw: dict[str, Any], caller: Principal, creating: bool) -> dict[str, Any]:
    body = bodies.parse(_USER, raw, "user")
    given = body.model_fields_set
    out: dict[str, Any] = {}
    if "role" in given or creating:
        if body.role is None:
            raise bad_request("role is one of readonly, operator, admin", None)
        out["role"] = body.role
    if "tenant" in given:
        if caller.tenant is not None and body.tenant != caller.tenant:
            raise ApiError(403, "forbidden", "a tenant's admin creates users of its own tenant only")
        out["tenant"] = body.tenant
    elif creating:
        out["tenant"] = caller.tenant
    if "scope" in given or creating:
        text = check_scope_text(body.scope)
        # a scoped admin cannot hand out more than it has: its own queries are AND-ed in
        mine = list(caller.scopes)
        if mine:
            parts = [orjson.loads(s) for s in (*mine, *([text] if text else []))]
            text = orjson.dumps(parts[0] if len(parts) == 1 else {"$and": parts}).decode()
        out["scope"] = text
    if "disabled" in given:
        out["disabled"] = body.disabled
    return out


@router.get("/users", dependencies=[auth.admin], summary="Users (a tenant's admin sees its tenant's)")
async def list_users(request: Request) -> Response:
    accounts = auth.guard_of(request).accounts
    docs = await accounts.users.find(scope.owned(request, "tenant"), {"passwordHash": 0}).sort("_id", 1).to_list(None)
    return _json([public_user(d) for d in docs])


@router.get("/users/{name}", dependencies=[auth.admin], summary="One user")
async def get_user(name: str, request: Request) -> Response:
    doc = await auth.guard_of(request).accounts.users.find_one({"_id": name}, {"passwordHash": 0})
    if doc is None:
        raise not_found(f"no user {name!r}")
    return _json(public_user(doc))


@router.put("/users/{name}", dependencies=[auth.admin], openapi_extra=bodies.openapi_body(_USER),
            summary="Create or change a user: role, tenant, scope (device query), password, disabled")
async def put_user(name: str, request: Request) -> Response:
    check_name(name)
    caller = scope.principal(request)
    accounts = auth.guard_of(request).accounts
    body = await _body(request)
    existing = await accounts.users.find_one({"_id": name}, {"_id": 1})
    changes = _user_changes(body, caller, existing is None)
    if "password" in body:
        from .accounts import hash_password
        changes["passwordHash"] = await hash_password(body["password"])
        changes["failures"] = 0
        changes["lockedUntil"] = None
    changes["updated"] = now()
    if existing is None:
        try:
            await accounts.users.insert_one({"_id": name, "created": now(), "createdBy": caller.user or caller.token,
                                             "source": "local", **changes})
        except DuplicateKeyError:
            raise ApiError(409, "user created meanwhile", name) from None
    else:
        await accounts.users.update_one({"_id": name}, {"$set": changes})
        if changes.get("disabled") or "passwordHash" in changes or "role" in changes or "scope" in changes \
                or "tenant" in changes:
            await accounts.revoke_all(name)
    doc = await accounts.users.find_one({"_id": name}, {"passwordHash": 0})
    return _json(public_user(doc or {}), 201 if existing is None else 200)


@router.delete("/users/{name}", dependencies=[auth.admin], summary="Delete a user and revoke its tokens")
async def delete_user(name: str, request: Request) -> Response:
    accounts = auth.guard_of(request).accounts
    res = await accounts.users.delete_one({"_id": name})
    if not res.deleted_count:
        raise not_found(f"no user {name!r}")
    await accounts.revoke_all(name)
    return Response(status_code=200)


# ---------------------------------------------------------------------------------- sign-in

@router.get("/login/methods", tags=["auth"], summary="How the console may sign in (public: it holds no data)")
async def login_methods(request: Request) -> Response:
    """The sign-in page asks before anyone is signed in: passwords always; single sign-on when an
    OpenID Connect provider is configured (NBI_OIDC_ISSUER), through ``ssoPath`` of this NBI."""
    sso = auth.guard_of(request).oidc is not None
    return _json({"password": True, "token": True, "sso": sso, "ssoPath": "/oidc/login" if sso else None})


@router.post("/login", tags=["auth"], summary="Sign in with a user name and password: an expiring session token")
async def login(request: Request) -> Response:
    guard = auth.guard_of(request)
    sec = guard.settings.security
    metrics = request.app.state.rt.metrics
    _admit_attempt(guard, auth.client_of(request), metrics)
    username, password = _credentials(await _body(request))
    from .accounts import verify_password
    user = await guard.accounts.users.find_one({"_id": username})
    t = now()
    locked = user is not None and user.get("lockedUntil") is not None and user["lockedUntil"] > t
    ok = await verify_password(user.get("passwordHash") if user else None, password)
    if not ok or locked or user is None or user.get("disabled") or user.get("role") not in RANK:
        if user is not None and not ok and not locked:
            await _count_failure(guard, username, user, t)
        metrics.auth_refusals.labels("login_locked" if locked else "login_failed").inc()
        raise auth.Unauthenticated("invalid user name or password")
    await guard.accounts.users.update_one({"_id": username}, {"$set": {"failures": 0, "lockedUntil": None,
                                                                       "lastLogin": t}})
    metrics.sign_ins.labels("password").inc()
    value, doc = await guard.accounts.issue(user, name="console session", kind="session", role=user["role"],
                                            scope=None, lifetime=timedelta(seconds=sec.session_ttl_s))
    return _json({"token": value, "id": doc["id"], "expiresAt": doc["expiresAt"], "user": username,
                  "role": user["role"], "tenant": user.get("tenant"), "scope": user.get("scope")})


def _admit_attempt(guard: auth.Guard, client: str, metrics: Any) -> None:
    """Sign-in attempts are rate limited per client address: refused (429) while blocked, counted otherwise."""
    if wait := guard.logins.blocked(client):
        metrics.auth_refusals.labels("login_rate_limited").inc()
        raise auth.TooManyRequests("too many sign-in attempts from this address", wait)
    guard.logins.add(client)


def _credentials(body: dict) -> tuple[str, str]:
    """The user name and password of a sign-in body, both non-empty strings."""
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
        raise bad_request("send {\"username\": ..., \"password\": ...}")
    return username, password


async def _count_failure(guard: auth.Guard, username: str, user: dict, t: datetime) -> None:
    """A wrong password counts against the user; ``login_max_failures`` in a row lock it for
    ``login_lockout_s`` (and start the count again)."""
    sec = guard.settings.security
    failures = int(user.get("failures") or 0) + 1
    update: dict[str, Any] = {"failures": failures}
    if sec.login_max_failures > 0 and failures >= sec.login_max_failures:
        update.update(failures=0, lockedUntil=t + timedelta(seconds=sec.login_lockout_s))
    await guard.accounts.users.update_one({"_id": username}, {"$set": update})


@router.post("/logout", tags=["auth"], dependencies=[auth.readonly], summary="Revoke the presented session token")
async def logout(request: Request) -> Response:
    p = scope.principal(request)
    if p.source == "session":
        await auth.guard_of(request).accounts.tokens.update_one(
            {"id": p.token, "user": p.user}, {"$set": {"revoked": True, "revokedAt": now()}})
    return Response(status_code=200)
