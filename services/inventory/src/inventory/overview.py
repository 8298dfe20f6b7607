"""GET /overview: the fleet at a glance, in one call, for the console's Overview page.

The device search has no count and no grouping, so answering "how many devices are online, stale,
never seen; which firmware and models; how many faults" through it would mean reading the whole
inventory into the browser. Here the database counts (indexed counts for the contact states,
``$group`` for the distributions) and the answer is kept for ``CACHE_S`` seconds per interval, so
a wall of consoles polling every few seconds costs one computation.

Contact states use the exact last contact (``last_informs``, see ``last_informs.py``):
*online* informed within ``interval`` seconds, *stale* informed before that, *never* has no
Inform on record (a device document created by import or pre-provisioning).
``informsLastMinute`` is the number of devices whose last Inform is less than 60 s old: each
device counted once, so it equals the Informs per minute while no device informs twice a minute.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from acs_contracts.mongo_collections import CAMPAIGNS, INFORM_HASH

from . import auth, scope
from .errors import bad_request
from .shapes import dumps

router = APIRouter(tags=["overview"])

CACHE_S = 5.0
TOP = 10  # distribution rows shown; the rest are summed as "other"
DEFAULT_INTERVAL_S = 300
_VERSION_PATHS = ("InternetGatewayDevice.DeviceInfo.SoftwareVersion._value", "Device.DeviceInfo.SoftwareVersion._value")


def parse_interval(raw: str | None) -> int:
    """The online window in seconds: an integer from 10 s to 7 days."""
    if raw is None or raw == "":
        return DEFAULT_INTERVAL_S
    if not raw.isdigit() or not 10 <= int(raw) <= 7 * 86400:
        raise bad_request("interval must be an integer number of seconds from 10 to 604800", raw)
    return int(raw)


def top_rows(rows: list[dict[str, Any]], top: int = TOP) -> list[dict[str, Any]]:
    """``[{value, count}]`` largest first (ties by value), the tail past ``top`` summed as one
    ``{"value": None, "other": True}`` row so the chart's total stays the fleet's."""
    ordered = sorted(rows, key=lambda r: (-r["count"], str(r["value"])))
    head, tail = ordered[:top], ordered[top:]
    if tail:
        head.append({"value": None, "other": True, "count": sum(r["count"] for r in tail)})
    return head


async def _contacted_since(rt: Any, since: datetime, ids: dict[str, Any] | None = None) -> int:
    """Devices whose last contact is at or after ``since``: their last_informs document, or for
    a device without one (no Inform digest: imported) its own ``_lastInform``."""
    db = rt.db
    mine = {"_id": ids["device"]} if ids else {}  # a scoped caller's devices
    with_twin = await db.last_informs.count_documents({"_lastInform": {"$gte": since}, **mine})
    without = await db.devices.count_documents({"_lastInform": {"$gte": since}, INFORM_HASH: {"$exists": False}, **mine})
    return with_twin + without


async def _group(coll: Any, pipeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = await (await coll.aggregate(pipeline)).to_list(None)
    return [{"value": r["_id"], "count": r["n"]} for r in rows]


async def _firmware(rt: Any, devices: dict[str, Any]) -> list[dict[str, Any]]:
    igd, dev = (f"${p}" for p in _VERSION_PATHS)
    return top_rows(await _group(rt.db.devices, [{"$match": devices},
        {"$project": {"v": {"$ifNull": [igd, dev]}}},
        {"$group": {"_id": "$v", "n": {"$sum": 1}}},
    ]))


async def _models(rt: Any, devices: dict[str, Any]) -> list[dict[str, Any]]:
    rows = await _group(rt.db.devices, [{"$match": devices},
        {"$group": {"_id": {"manufacturer": "$_deviceId._Manufacturer", "productClass": "$_deviceId._ProductClass"},
                    "n": {"$sum": 1}}},
    ])
    for r in rows:
        key = r["value"] or {}
        r["value"] = " ".join(str(v) for v in (key.get("manufacturer"), key.get("productClass")) if v) or None
        r["productClass"] = key.get("productClass")  # for a link to the devices of that model
    return top_rows(rows)


async def _fault_codes(rt: Any, ids: dict[str, Any]) -> list[dict[str, Any]]:
    return top_rows(await _group(rt.db.faults, [{"$match": ids}, {"$group": {"_id": "$code", "n": {"$sum": 1}}}]), top=5)


async def _campaigns(rt: Any, owned: dict[str, Any]) -> dict[str, int]:
    rows = await _group(rt.db.db[CAMPAIGNS], [{"$match": owned}, {"$group": {"_id": "$status", "n": {"$sum": 1}}}])
    return {str(r["value"]): r["count"] for r in rows}


async def compute(rt: Any, interval_s: int, devices: dict[str, Any] | None = None, ids: dict[str, Any] | None = None,
                  owned: dict[str, Any] | None = None) -> dict[str, Any]:
    """The overview document, computed now (no cache); the filters narrow it to a scoped caller's
    devices (``devices``: their query, ``ids``: ``{"device": {"$in": [...]}}``) and campaigns."""
    devices, ids, owned = devices or {}, ids or {}, owned or {}
    now = datetime.now(UTC)
    db = rt.db
    async with rt.metrics.mongo("overview"):
        total, never, online, last_minute, faults_open, tasks_pending, firmware, models, codes, campaigns = (
            await asyncio.gather(
                db.devices.count_documents(devices),
                db.devices.count_documents({"$and": [devices, {"_lastInform": None}]} if devices else {"_lastInform": None}),
                _contacted_since(rt, now - timedelta(seconds=interval_s), ids),
                _contacted_since(rt, now - timedelta(seconds=60), ids),
                db.faults.count_documents(ids),
                db.tasks.count_documents({"status": "pending", **ids}),
                _firmware(rt, devices), _models(rt, devices), _fault_codes(rt, ids), _campaigns(rt, owned),
            ))
    online = min(online, total - never)
    return {
        "at": now, "interval": interval_s,
        "devices": {"total": total, "online": online, "stale": max(0, total - never - online), "never": never},
        "informsLastMinute": last_minute,
        "faults": {"open": faults_open, "codes": codes},
        "tasksPending": tasks_pending,
        "firmware": firmware, "models": models,
        "campaigns": campaigns,
    }


class OverviewCache:
    """The last answer per interval, reused for ``ttl_s``; concurrent misses share one computation."""

    def __init__(self, ttl_s: float = CACHE_S) -> None:
        self.ttl_s = ttl_s
        self._entries: dict[int, tuple[float, asyncio.Task[dict[str, Any]]]] = {}

    async def get(self, rt: Any, interval_s: int) -> dict[str, Any]:
        hit = self._entries.get(interval_s)
        now = time.monotonic()
        if hit is None or now - hit[0] > self.ttl_s or (hit[1].done() and hit[1].exception() is not None):
            hit = (now, asyncio.ensure_future(compute(rt, interval_s)))
            self._entries[interval_s] = hit
        return await asyncio.shield(hit[1])


@router.get("/overview", dependencies=[auth.readonly],
            summary="Fleet summary: devices online/stale/never seen, Informs in the last minute, open faults, "
                    "pending tasks, firmware and model distributions, campaigns by status")
async def get_overview(request: Request) -> Response:
    interval_s = parse_interval(request.query_params.get("interval"))
    cache = getattr(request.app.state, "overview_cache", None)
    if cache is None:
        cache = request.app.state.overview_cache = OverviewCache()
    if scope.principal(request).scoped:  # a scoped caller's own fleet: computed for it, not cached
        doc = await compute(request.app.state.rt, interval_s, await scope.devices(request),
                            await scope.device_ids(request), scope.owned(request))
    else:
        doc = await cache.get(request.app.state.rt, interval_s)
    return Response(dumps(doc), media_type="application/json", headers={"Cache-Control": "no-store"})
