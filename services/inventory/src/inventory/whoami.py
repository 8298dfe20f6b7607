"""``GET /whoami``: the role of the presented token, so a client (the console's sign-in) can
check a token and offer only what its role may do. Any valid token may ask; no data is read."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from . import auth

router = APIRouter(tags=["auth"])


@router.get("/whoami", summary="The role (readonly, operator or admin) of the presented token")
async def whoami(role: str = Depends(auth.require("readonly"))) -> dict[str, str]:
    return {"role": role}
