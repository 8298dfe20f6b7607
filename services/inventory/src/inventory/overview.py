"""GET /overview: the fleet at a glance, in one call, for the console's Overview page.

The device search has no count and no grouping, so answering "how many devices are online, stale,
never seen; which firmware and models; how many faults" through it would mean reading the whole
inventory into the browser. Here the database counts (indexed counts for the contact states,
``$group`` for the distributions) and the answer is kept for ``CACHE_S`` seconds per interval, so
a wall of consoles polling every few seconds costs one computation. The firmware and model
distributions need a pass over every device document; they are kept for ``DIST_CACHE_S`` and
refreshed in the background (``distributionsAt`` says when they were computed).

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
DIST_CACHE_S = 60.0  # firmware and models: a pass over every device, refreshed in the background
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


async def counts(rt: Any, interval_s: int, devices: dict[str, Any] | None = None, ids: dict[str, Any] | None = None,
                 owned: dict[str, Any] | None = None) -> dict[str, Any]:
    """The cheap part: indexed counts (and the small faults and campaigns groupings)."""
    devices, ids, owned = devices or {}, ids or {}, owned or {}
    now = datetime.now(UTC)
    db = rt.db
    # the whole fleet's size from the collection's metadata: counting documents is a scan
    total_of = db.devices.count_documents(devices) if devices else db.devices.estimated_document_count()
    async with rt.metrics.mongo("overview_counts"):
        total, never, online, last_minute, faults_open, tasks_pending, codes, campaigns = await asyncio.gather(
            total_of,
            db.devices.count_documents({"$and": [devices, {"_lastInform": None}]} if devices else {"_lastInform": None}),
            _contacted_since(rt, now - timedelta(seconds=interval_s), ids),
            _contacted_since(rt, now - timedelta(seconds=60), ids),
            db.faults.count_documents(ids),
            db.tasks.count_documents({"status": "pending", **ids}),
            _fault_codes(rt, ids), _campaigns(rt, owned),
        )
    online = min(online, total - never)
    return {
        "at": now, "interval": interval_s,
        "devices": {"total": total, "online": online, "stale": max(0, total - never - online), "never": never},
        "informsLastMinute": last_minute,
        "faults": {"open": faults_open, "codes": codes},
        "tasksPending": tasks_pending,
        "campaigns": campaigns,
    }


async def distributions(rt: Any, devices: dict[str, Any] | None = None) -> dict[str, Any]:
    """The costly part: firmware and models, a pass over every device document."""
    devices = devices or {}
    now = datetime.now(UTC)
    async with rt.metrics.mongo("overview_distributions"):
        firmware, models = await asyncio.gather(_firmware(rt, devices), _models(rt, devices))
    return {"distributionsAt": now, "firmware": firmware, "models": models}


async def compute(rt: Any, interval_s: int, devices: dict[str, Any] | None = None, ids: dict[str, Any] | None = None,
                  owned: dict[str, Any] | None = None) -> dict[str, Any]:
    """The overview document, computed now (no cache); the filters narrow it to a scoped caller's
    devices (``devices``: their query, ``ids``: ``{"device": {"$in": [...]}}``) and campaigns."""
    c, d = await asyncio.gather(counts(rt, interval_s, devices, ids, owned), distributions(rt, devices))
    return {**c, **d}


class OverviewCache:
    """Counts per interval reused for ``ttl_s``; the distributions for ``dist_ttl_s``, and once
    those are older a refresh starts in the background while the last ones are served, so only
    the very first request waits for the pass over the devices. Concurrent misses share one
    computation."""

    def __init__(self, ttl_s: float = CACHE_S, dist_ttl_s: float = DIST_CACHE_S) -> None:
        self.ttl_s = ttl_s
        self.dist_ttl_s = dist_ttl_s
        self._counts: dict[int, tuple[float, asyncio.Task[dict[str, Any]]]] = {}
        self._dist: tuple[float, asyncio.Task[dict[str, Any]]] | None = None
        self._last_dist: dict[str, Any] | None = None

    @staticmethod
    def _usable(entry: tuple[float, asyncio.Task[Any]] | None, ttl: float) -> bool:
        if entry is None:
            return False
        task = entry[1]
        failed = task.done() and (task.cancelled() or task.exception() is not None)
        return not failed and time.monotonic() - entry[0] <= ttl

    async def _distributions(self, rt: Any) -> dict[str, Any]:
        entry = self._dist
        if entry is not None and entry[1].done() and not entry[1].cancelled() and entry[1].exception() is None:
            self._last_dist = entry[1].result()  # a finished refresh: its answer is the one to serve
        if not self._usable(entry, self.dist_ttl_s) and (entry is None or entry[1].done()):
            self._dist = entry = (time.monotonic(), asyncio.ensure_future(distributions(rt)))
        if self._last_dist is None:  # nothing to serve yet: wait for the first pass (a failure raises)
            assert entry is not None
            self._last_dist = await asyncio.shield(entry[1])
        return self._last_dist

    async def get(self, rt: Any, interval_s: int) -> dict[str, Any]:
        hit = self._counts.get(interval_s)
        if hit is None or not self._usable(hit, self.ttl_s):
            hit = (time.monotonic(), asyncio.ensure_future(counts(rt, interval_s)))
            self._counts[interval_s] = hit
        c, d = await asyncio.gather(asyncio.shield(hit[1]), self._distributions(rt))
        return {**c, **d}


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
