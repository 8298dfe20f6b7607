"""The NBI's view of a device's last contact: ``_lastInform`` and ``_acs.lastEvents`` come from the
small ``last_informs`` document the scheduler rewrites at every Inform, not from the device
document, which a periodic Inform that repeats the last one leaves alone
(acs_contracts.mongo_collections). Device documents returned by the NBI carry the exact values,
and queries on those fields are answered from ``last_informs``.
"""

from __future__ import annotations

import logging
from typing import Any

from acs_contracts.mongo_collections import HOT_DEVICE_FIELDS, INFORM_HASH

from .shapes import lookup

log = logging.getLogger(__name__)

# Above this many matching devices a condition on a last-contact field is evaluated on the device
# documents' own copy instead (a list of ids that long makes a poor query); that copy is the time
# of the last Inform that changed the document.
MAX_RESOLVED_IDS = 100_000
_LOGICAL = ("$and", "$or", "$nor")


async def resolve(last_informs: Any, query: dict[str, Any]) -> dict[str, Any]:
    """``query`` (already translated for the devices collection) with every condition on a
    last-contact field replaced by the ids of the devices that meet it."""
    out: dict[str, Any] = {}
    hot: dict[str, Any] = {}
    for key, cond in query.items():
        if key in _LOGICAL:
            out[key] = [await resolve(last_informs, sub) for sub in cond]
        elif key in HOT_DEVICE_FIELDS:
            hot[key] = cond
        else:
            out[key] = cond
    if not hot:
        return out
    ids = [d["_id"] async for d in last_informs.find(hot, {"_id": 1}, limit=MAX_RESOLVED_IDS + 1)]
    if len(ids) > MAX_RESOLVED_IDS:
        log.info("a last-contact condition matches over %d devices: evaluated on the device documents", MAX_RESOLVED_IDS)
        return {**out, **hot}
    # A document the scheduler wrote carries the Inform digest and has a last_informs twin; one
    # without (imported, or older than last_informs) is judged on its own fields.
    hot_cond = {"$or": [{"_id": {"$in": ids}}, {INFORM_HASH: {"$exists": False}, **hot}]}
    return {"$and": [out, hot_cond]} if out else hot_cond


def _wanted(proj: dict[str, int] | None) -> list[str]:
    if proj is None:
        return list(HOT_DEVICE_FIELDS)
    return [f for f in HOT_DEVICE_FIELDS if any(f == k or f.startswith(k + ".") for k in proj)]


async def overlay(last_informs: Any, docs: list[dict[str, Any]], proj: dict[str, int] | None) -> None:
    """Put each device's exact last-contact fields into its document (in place)."""
    fields = _wanted(proj)
    if not fields or not docs:
        return
    found = {d["_id"]: d async for d in last_informs.find({"_id": {"$in": [d["_id"] for d in docs]}})}
    for doc in docs:
        li = found.get(doc["_id"])
        if li is None:
            continue
        mine, theirs = doc.get("_lastInform"), li.get("_lastInform")
        if mine is not None and theirs is not None and mine > theirs:
            continue  # the device document is the newer one (it is written in the same session)
        for f in fields:
            value = lookup(li, f)
            if value is None:
                continue
            node = doc
            *parents, leaf = f.split(".")
            for seg in parents:
                node = node.setdefault(seg, {})
            node[leaf] = value
