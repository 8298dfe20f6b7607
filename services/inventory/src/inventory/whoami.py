"""``GET /whoami``: who the presented token stands for, so a client (the console's sign-in) can
check a token and offer only what it may do. Any valid token may ask; no device data is read.
``role`` is kept as it always was; user, tenant, scope and kind were added with users."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from . import auth, scope

router = APIRouter(tags=["auth"])


@router.get("/whoami", summary="The role (readonly, operator or admin), user, tenant and scope of the presented token")
async def whoami(request: Request, role: str = Depends(auth.require("readonly"))) -> dict[str, Any]:
    p = scope.principal(request)
    return {"role": role, "user": p.user, "tenant": p.tenant, "scope": list(p.scopes), "kind": p.source,
            "token": p.token}
