"""``POST /credentials/rekey``: every stored CPE secret re-encrypted with the first key of
``ACS_CREDENTIALS_KEYS`` (plaintext ones sealed), so an old key can be dropped from the list.

Rotating the key is: put a new key first in every service's ``ACS_CREDENTIALS_KEYS`` (the old
one after it: both decrypt), restart them, call this once, then remove the old key. The secrets
never leave the inventory: the answer holds counts only. Each document is rewritten only if it
still holds what was read (a session rotating the device's credentials meanwhile wins, and its
new values are already sealed with the new key)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pymongo import UpdateOne

from acs_contracts.cpe_secrets import CredentialKeyError

from . import auth
from .errors import ApiError

router = APIRouter()

# Where a credentials document keeps passwords (acs_contracts.cpe_secrets sealed values).
SECRET_PATHS = ("cpe.password", "cpe.pending.password", "cpe.previous.password",
                "connectionRequest.password", "connectionRequest.pending.password")
BATCH = 500


def _at(doc: Mapping[str, Any], path: str) -> Any:
    node: Any = doc
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


@router.post("/credentials/rekey", dependencies=[auth.admin],
             summary="Re-encrypt every stored CPE secret with the first ACS_CREDENTIALS_KEYS key (counts only)")
async def rekey(request: Request) -> JSONResponse:
    rt = request.app.state.rt
    sealed = rt.cr.secrets
    if not sealed.enabled:
        raise ApiError(409, "no_key", "ACS_CREDENTIALS_KEYS is not set on the inventory: nothing to encrypt with")
    scanned = rewritten = changed_meanwhile = 0
    unreadable: list[str] = []
    batch: list[UpdateOne] = []

    async def flush() -> None:
        nonlocal rewritten, changed_meanwhile
        if batch:
            async with rt.metrics.mongo("rekey_credentials"):
                result = await rt.db.credentials.bulk_write(batch, ordered=False)
            rewritten += result.modified_count
            changed_meanwhile += len(batch) - result.matched_count
            batch.clear()

    cursor = rt.db.credentials.find({}, dict.fromkeys(SECRET_PATHS, 1))
    async for doc in cursor:
        scanned += 1
        old = {p: v for p in SECRET_PATHS if (v := _at(doc, p)) is not None}
        try:
            new = {p: v if sealed.is_current(v) else sealed.rotate(v) for p, v in old.items()}
        except CredentialKeyError:
            unreadable.append(str(doc["_id"]))
            continue
        if new != old:
            batch.append(UpdateOne({"_id": doc["_id"], **old}, {"$set": new}))
        if len(batch) >= BATCH:
            await flush()
    await flush()
    return JSONResponse({"scanned": scanned, "rewritten": rewritten, "changedMeanwhile": changed_meanwhile,
                         "unreadable": len(unreadable), "unreadableDevices": unreadable[:100]})
