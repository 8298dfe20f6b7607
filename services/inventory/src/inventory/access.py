"""GET /access: what each NBI role may call, and (for admins) how many static NBI_TOKENS hold each role.

The route table is read from the app's own routes (the role dependency each one declares), so it
cannot drift from what the NBI enforces; the console's Admin page shows it next to the users and
their tokens (/users, /tokens). Static tokens are set at start and cannot be changed through the
NBI; their values are never returned, not even in part.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute

from . import auth
from .shapes import dumps

router = APIRouter(tags=["access"])

_ROLE_OF_DEPENDENCY = {auth.readonly.dependency: "readonly", auth.operator.dependency: "operator",
                       auth.admin.dependency: "admin"}


def _api_routes(routes: list[Any], prefix: str = "") -> list[tuple[str, APIRoute]]:
    """Every APIRoute with its full path, also inside included routers (FastAPI keeps those as
    one entry holding the original router)."""
    out: list[tuple[str, APIRoute]] = []
    for route in routes:
        if isinstance(route, APIRoute):
            out.append((prefix + route.path_format, route))  # {name:path} shown as {name}
        elif (inner := getattr(route, "original_router", None)) is not None:
            context = getattr(route, "include_context", None)
            out.extend(_api_routes(inner.routes, prefix + str(getattr(context, "prefix", "") or "")))
    return out


def route_roles(routes: list[Any]) -> list[dict[str, str]]:
    """``[{method, path, role}]`` for every documented route guarded by a role, by path."""
    out: list[dict[str, str]] = []
    for path, route in _api_routes(routes):
        if not route.include_in_schema:
            continue
        roles = [_ROLE_OF_DEPENDENCY[d.call] for d in route.dependant.dependencies if d.call in _ROLE_OF_DEPENDENCY]
        if not roles:
            continue
        role = max(roles, key=auth.RANK.__getitem__)
        out.extend({"method": m, "path": path, "role": role} for m in sorted((route.methods or set()) - {"HEAD"}))
    return sorted(out, key=lambda r: (r["path"], r["method"]))


@router.get("/access", summary="Roles and the routes each may call; for admins, the number of static "
                               "NBI_TOKENS per role (set at start, not changeable through the NBI)")
async def get_access(request: Request, role: str = auth.readonly) -> Response:
    tokens = request.app.state.settings.tokens
    roles = []
    for name, rank in sorted(auth.RANK.items(), key=lambda kv: kv[1]):
        entry: dict[str, Any] = {"role": name, "rank": rank}
        if role == "admin":
            entry["staticTokens"] = sum(1 for r in tokens.values() if r == name)
        roles.append(entry)
    doc = {
        "role": role,
        "roles": roles,
        "routes": route_roles(request.app.routes),
    }
    return Response(dumps(doc), media_type="application/json", headers={"Cache-Control": "no-store"})
