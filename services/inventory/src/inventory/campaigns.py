"""Firmware campaigns: one file rolled out to the devices a query selects, in waves.

A campaign snapshots its devices at creation (``campaign_devices``, one document per device, in
device id order). The controller loop of the inventory process then, every tick:

* syncs the devices whose download task finished (``tasks`` status done/fault) to done/failed;
* pauses the campaign when the failed share of the current wave passes ``failureThreshold``
  (after a resume, that wave is accepted as it is);
* when the current wave has nothing queued or downloading, starts the next one: a first canary of
  ``canaryPercent`` of the devices, then waves ``waveGrowth`` times larger than the previous;
* keeps at most ``maxConcurrent`` downloads in flight: creates their download tasks and asks the
  devices to connect, at most ``connectionRequestRate`` per second (a device that does not answer
  gets its task at its next periodic Inform).

Per device: pending (not in a wave yet) -> queued (in the current wave) -> downloading (task
created) -> done | failed; cancelled when the campaign is aborted before its turn. Progress is
served by GET /campaigns/{id} and the gauge ``acs_campaign_devices{campaign,state}``. Several
inventory replicas may run the loop: a lease on the campaign document lets one drive it at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import orjson
from bson import ObjectId
from device_query.mongo import device_query
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, StrictInt, StrictStr, TypeAdapter, field_validator
from pymongo import UpdateOne

from acs_contracts.mongo_collections import TASKS

from . import auth, bodies, last_informs, scope
from .cr_pacing import Pacer
from .errors import ApiError, bad_request, not_found
from .principal import and_
from .query import parse_json
from .shapes import dumps

log = logging.getLogger(__name__)

from acs_contracts.mongo_collections import CAMPAIGN_DEVICES, CAMPAIGNS  # noqa: E402

STATES = ("pending", "queued", "downloading", "done", "failed", "cancelled")
STATUSES = ("running", "paused", "aborted", "done")
LEASE_S = 15.0
_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


def _now() -> datetime:
    return datetime.now(UTC)


# --- connection requests at a bounded rate ------------------------------------------------------

# Paced through the MongoDB queue every inventory replica sends from (cr_pacing).
ConnectionRequestPacer = Pacer


# --- the campaign model -------------------------------------------------------------------------

def _whole(v: Any) -> Any:
    return int(v) if isinstance(v, float) and v.is_integer() else v  # 3.0 is the integer 3


Whole = Annotated[StrictInt, BeforeValidator(_whole)]
Real = Annotated[float, Strict()]


class CampaignBody(BaseModel):
    """POST /campaigns: what to download, to which devices, and how fast (defaults as in docs/campaigns.md)."""

    model_config = ConfigDict(extra="forbid")

    name: StrictStr | None = Field(None, description="1-64 letters, digits, '_', '-', '.'; generated when left out")
    fileName: Annotated[StrictStr, Field(min_length=1, max_length=256, description="a file of the file server")]
    fileType: Annotated[StrictStr, Field(pattern=r"^(?:[1-9][0-9]* .+|X [0-9A-Fa-f]{6} .+)$")] = "1 Firmware Upgrade Image"
    query: Any = Field(description="a device query (an object, or its JSON text); {} selects every device")
    canaryPercent: Annotated[Real, Field(ge=0.01, le=100)] = 5.0
    waveGrowth: Annotated[Real, Field(ge=1, le=100)] = 2.0
    minWaveSize: Annotated[Whole, Field(ge=1, le=1_000_000)] = 1
    maxConcurrent: Annotated[Whole, Field(ge=1, le=100_000)] = 50
    failureThreshold: Annotated[Real, Field(ge=0, le=1)] = 0.1
    connectionRequestRate: Annotated[Real, Field(ge=0.1, le=10_000)] = 20.0
    deviceTimeoutS: Annotated[Real, Field(ge=0, le=30 * 86400)] = 0.0

    @field_validator("name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        if v and not _NAME.match(v):
            raise ValueError("1-64 letters, digits, '_', '-', '.'")
        return v


_CAMPAIGN = TypeAdapter(CampaignBody)
FIELDS = set(CampaignBody.model_fields)


def validate_campaign(body: Any) -> dict[str, Any]:
    """The campaign document to store (its devices are added by the route), or a 400."""
    c = bodies.parse(_CAMPAIGN, body, "campaign", lambda: sorted(FIELDS))
    q = parse_json(c.query, "query") if isinstance(c.query, str) else c.query
    device_query(q)  # refused here when the NBI could not run it
    return {"_id": c.name or f"campaign-{secrets.token_hex(4)}",
            **c.model_dump(exclude={"name", "query"}), "query": orjson.dumps(q or {}).decode()}


def wave_size(c: dict[str, Any], wave: int, total: int, previous: int) -> int:
    """The canary is canaryPercent of all devices; each later wave waveGrowth times the previous."""
    if wave == 0:
        size = math.ceil(total * c["canaryPercent"] / 100)
    else:
        size = math.ceil(previous * c["waveGrowth"])
    return max(int(c.get("minWaveSize", 1)), size)


async def state_counts(db: Any, campaign_id: str) -> tuple[dict[str, int], dict[int, dict[str, int]]]:
    """Devices per state, over the whole campaign and per wave."""
    rows = await (await db[CAMPAIGN_DEVICES].aggregate([
        {"$match": {"campaign": campaign_id}},
        {"$group": {"_id": {"state": "$state", "wave": "$wave"}, "n": {"$sum": 1}}},
    ])).to_list(None)
    total = dict.fromkeys(STATES, 0)
    waves: dict[int, dict[str, int]] = {}
    for r in rows:
        state, wave, n = r["_id"]["state"], r["_id"].get("wave"), r["n"]
        total[state] = total.get(state, 0) + n
        if wave is not None:
            waves.setdefault(int(wave), dict.fromkeys(STATES, 0))[state] += n
    return total, waves


class CampaignController:
    """The loop that drives every running campaign; one per inventory process."""

    def __init__(self, rt: Any, interval_s: float = 0.5) -> None:
        self.rt = rt
        self.db = rt.db.db
        self.interval_s = interval_s
        self.owner = secrets.token_hex(8)
        self.task: asyncio.Task | None = None
        self.pacer = ConnectionRequestPacer.for_runtime(rt)

    def start(self) -> None:
        if self.task is None:
            self.task = asyncio.create_task(self._loop(), name="campaign-controller")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
            self.task = None
        await self.pacer.stop()

    async def _loop(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the next tick retries; the API keeps serving
                log.exception("campaign controller tick failed")
            await asyncio.sleep(self.interval_s)

    async def tick(self) -> None:
        active = await self.db[CAMPAIGNS].find({"status": {"$in": ["running", "paused", "aborted"]}, "settled": {"$ne": True}},
                                               {"_id": 1}).to_list(None)
        for c in active:
            campaign = await self._lease(c["_id"])
            if campaign is not None:
                await self.step(campaign)

    async def _lease(self, cid: str) -> dict[str, Any] | None:
        now = _now()
        return await self.db[CAMPAIGNS].find_one_and_update(
            {"_id": cid, "$or": [{"lease.owner": self.owner}, {"lease.until": {"$lt": now}}, {"lease": None}]},
            {"$set": {"lease": {"owner": self.owner, "until": now + timedelta(seconds=LEASE_S)}}},
            return_document=True)

    async def step(self, c: dict[str, Any]) -> None:
        cid = c["_id"]
        await self._sync(c)
        counts, waves = await state_counts(self.db, cid)
        update: dict[str, Any] = {}
        wave = int(c.get("currentWave", -1))
        status = c["status"]
        if status == "running" and wave >= 0:
            w = waves.get(wave, {})
            size = sum(w.values())
            if size and wave > int(c.get("acceptedWave", -1)) and w.get("failed", 0) / size > c["failureThreshold"]:
                status = "paused"
                update.update({"status": "paused", "pausedAt": _now(), "reason": {
                    "code": "failure_threshold", "wave": wave, "failed": w["failed"], "size": size,
                    "ratio": round(w["failed"] / size, 4), "threshold": c["failureThreshold"]}})
        if status == "running":
            w = waves.get(wave, {}) if wave >= 0 else {}
            if not w.get("queued") and not w.get("downloading"):
                if counts["pending"] == 0:
                    status = "done"
                    update.update({"status": "done", "finishedAt": _now()})
                else:
                    previous = sum(waves.get(wave, {}).values()) if wave >= 0 else 0
                    size = wave_size(c, wave + 1, int(c.get("total", 0)), previous)
                    started = await self._start_wave(cid, wave + 1, size)
                    wave += 1
                    update["currentWave"] = wave
                    update[f"waves.{wave}"] = {"size": started, "startedAt": _now()}
            if status == "running":
                await self._dispatch(c, wave, counts)
        if status != "running" and counts["downloading"] == 0:
            update["settled"] = status in ("aborted", "done")
        if update:
            update["updated"] = _now()
            await self.db[CAMPAIGNS].update_one({"_id": cid}, {"$set": update})
        counts, _ = await state_counts(self.db, cid)
        for state, n in counts.items():
            self.rt.metrics.campaign_devices.labels(cid, state).set(n)

    async def _sync(self, c: dict[str, Any]) -> None:
        """Downloading devices whose task ended become done or failed; with ``deviceTimeoutS``, so
        do devices that did not finish in time (their task is withdrawn if no CPE started it)."""
        cid = c["_id"]
        rows = await self.db[CAMPAIGN_DEVICES].find({"campaign": cid, "state": "downloading"},
                                                    {"_id": 1, "task": 1, "updated": 1}).to_list(None)
        if not rows:
            return
        tasks = {t["_id"]: t for t in await self.db[TASKS].find(
            {"_id": {"$in": [r["task"] for r in rows]}}, {"status": 1, "fault": 1, "attempts": 1, "transfer": 1}).to_list(None)}
        timeout = float(c.get("deviceTimeoutS") or 0)
        cutoff = _now() - timedelta(seconds=timeout) if timeout else None
        ops = []
        for r in rows:
            t = tasks.get(r["task"])
            updated = r.get("updated")
            if updated is not None and updated.tzinfo is None:
                updated = updated.replace(tzinfo=UTC)
            if t is not None and t.get("status") == "pending" and cutoff is not None and updated is not None and updated < cutoff:
                await self.db[TASKS].delete_one({"_id": t["_id"], "status": "pending", "attempts": {"$exists": False}})
                ops.append(UpdateOne({"_id": r["_id"]}, {"$set": {"state": "failed", "updated": _now(), "fault": {
                    "code": "timeout", "message": f"no result within {timeout:g} s"}}}))
            elif t is None:
                ops.append(UpdateOne({"_id": r["_id"]}, {"$set": {"state": "failed", "fault": {"code": "task_deleted"}, "updated": _now()}}))
            elif t.get("status") == "done":
                ops.append(UpdateOne({"_id": r["_id"]}, {"$set": {"state": "done", "updated": _now()}}))
            elif t.get("status") == "fault":
                ops.append(UpdateOne({"_id": r["_id"]}, {"$set": {"state": "failed", "fault": t.get("fault"), "updated": _now()}}))
        if ops:
            await self.db[CAMPAIGN_DEVICES].bulk_write(ops, ordered=False)

    async def _start_wave(self, cid: str, wave: int, size: int) -> int:
        rows = await self.db[CAMPAIGN_DEVICES].find({"campaign": cid, "state": "pending"}, {"_id": 1}).sort(
            "device", 1).limit(size).to_list(None)
        if rows:
            await self.db[CAMPAIGN_DEVICES].update_many({"_id": {"$in": [r["_id"] for r in rows]}},
                                                        {"$set": {"state": "queued", "wave": wave, "updated": _now()}})
        log.info("campaign %s: wave %d with %d devices", cid, wave, len(rows))
        return len(rows)

    async def _dispatch(self, c: dict[str, Any], wave: int, counts: dict[str, int]) -> None:
        room = int(c["maxConcurrent"]) - counts.get("downloading", 0)
        if room <= 0:
            return
        rows = await self.db[CAMPAIGN_DEVICES].find({"campaign": c["_id"], "state": "queued", "wave": wave},
                                                    {"_id": 1, "device": 1}).sort("device", 1).limit(room).to_list(None)
        if not rows:
            return
        now = _now()
        tasks = [{"_id": ObjectId(), "device": r["device"], "name": "download", "timestamp": now,
                  "fileType": c["fileType"], "fileName": c["fileName"], "status": "pending", "retries": 0,
                  "expiry": None, "fault": None, "result": None, "completedAt": None, "campaign": c["_id"]}
                 for r in rows]
        await self.db[TASKS].insert_many(tasks, ordered=False)
        await self.db[CAMPAIGN_DEVICES].bulk_write([
            UpdateOne({"_id": r["_id"]}, {"$set": {"state": "downloading", "task": t["_id"], "updated": now}})
            for r, t in zip(rows, tasks, strict=True)], ordered=False)
        self.pacer.submit([r["device"] for r in rows], rate=float(c["connectionRequestRate"]))


# --- routes ---------------------------------------------------------------------------------------

router = APIRouter(tags=["campaigns"])


def _json(doc: Any, status: int = 200) -> Response:
    return Response(dumps(doc), status_code=status, media_type="application/json")


async def _view(db: Any, c: dict[str, Any]) -> dict[str, Any]:
    counts, waves = await state_counts(db, c["_id"])
    c = {k: v for k, v in c.items() if k not in ("lease", "settled")}
    c["counts"] = counts
    c["waveCounts"] = {str(k): v for k, v in sorted(waves.items())}
    return c


@router.post("/campaigns", dependencies=[auth.operator], status_code=201,
             openapi_extra=bodies.openapi_body(_CAMPAIGN, {"fileName": "fw-2.0.bin", "query": {"_tags": "pilot"}}),
             summary="Start a firmware campaign: fileName to the devices matching query, in waves")
async def create_campaign(request: Request) -> Response:
    rt = request.app.state.rt
    c = validate_campaign(parse_json((await rt.read_body(request)).decode("utf-8", "replace"), "campaign"))
    if await scope.file_meta(request)(c["fileName"]) is None:
        raise bad_request(f"no file named {c['fileName']!r}")
    scope.stamp(request, c)  # a tenant's campaign, over its devices only
    db = rt.db.db
    if await db[CAMPAIGNS].find_one({"_id": c["_id"]}, {"_id": 1}) is not None:
        raise ApiError(409, f"campaign {c['_id']!r} exists")
    async with rt.metrics.mongo("find_devices"):
        query = await last_informs.resolve(rt.db.last_informs, device_query(orjson.loads(c["query"])))
        query = and_(query, await scope.devices(request))
        ids = sorted(d["_id"] for d in await rt.db.devices.find(query, {"_id": 1}).to_list(None))
    if not ids:
        raise bad_request("the query selects no device", orjson.loads(c["query"]))
    now = _now()
    for i in range(0, len(ids), 1000):
        await db[CAMPAIGN_DEVICES].insert_many([
            {"_id": f"{c['_id']}:{d}", "campaign": c["_id"], "device": d, "state": "pending", "wave": None,
             "task": None, "updated": now} for d in ids[i : i + 1000]], ordered=False)
    c.update({"status": "running", "total": len(ids), "currentWave": -1, "acceptedWave": -1, "waves": {},
              "created": now, "updated": now, "reason": None})
    await db[CAMPAIGNS].insert_one(c)
    return _json(await _view(db, c), 201)


@router.get("/campaigns", dependencies=[auth.readonly], summary="Campaigns with their progress")
async def list_campaigns(request: Request) -> Response:
    db = request.app.state.rt.db.db
    docs = await db[CAMPAIGNS].find(scope.owned(request)).sort("created", -1).to_list(None)
    return _json([await _view(db, c) for c in docs])


@router.get("/campaigns/{cid}", dependencies=[auth.readonly], summary="One campaign: status, counts per state and wave")
async def get_campaign(cid: str, request: Request) -> Response:
    db = request.app.state.rt.db.db
    c = await db[CAMPAIGNS].find_one({"_id": cid})
    if c is None:
        raise not_found(f"no campaign {cid!r}")
    return _json(await _view(db, c))


async def _transition(request: Request, cid: str, allowed: tuple[str, ...], update: dict[str, Any]) -> dict[str, Any]:
    db = request.app.state.rt.db.db
    c = await db[CAMPAIGNS].find_one_and_update({"_id": cid, "status": {"$in": list(allowed)}},
                                                {"$set": {**update, "updated": _now()}}, return_document=True)
    if c is None:
        if await db[CAMPAIGNS].find_one({"_id": cid}, {"_id": 1}) is None:
            raise not_found(f"no campaign {cid!r}")
        raise ApiError(409, f"campaign {cid!r} is not {' or '.join(allowed)}")
    return c


@router.post("/campaigns/{cid}/pause", dependencies=[auth.operator], summary="Pause: no new downloads start")
async def pause_campaign(cid: str, request: Request) -> Response:
    c = await _transition(request, cid, ("running",), {"status": "paused", "pausedAt": _now(),
                                                       "reason": {"code": "operator"}})
    return _json(await _view(request.app.state.rt.db.db, c))


@router.post("/campaigns/{cid}/resume", dependencies=[auth.operator],
             summary="Resume a paused campaign; the wave that tripped the threshold is accepted as it is")
async def resume_campaign(cid: str, request: Request) -> Response:
    db = request.app.state.rt.db.db
    current = await db[CAMPAIGNS].find_one({"_id": cid}, {"currentWave": 1})
    wave = int((current or {}).get("currentWave", -1))
    c = await _transition(request, cid, ("paused",), {"status": "running", "acceptedWave": wave, "reason": None})
    return _json(await _view(db, c))


@router.post("/campaigns/{cid}/abort", dependencies=[auth.operator],
             summary="Abort: devices not yet downloading are cancelled and their tasks removed")
async def abort_campaign(cid: str, request: Request) -> Response:
    db = request.app.state.rt.db.db
    c = await _transition(request, cid, ("running", "paused"), {"status": "aborted", "abortedAt": _now()})
    # tasks the CPE has not started yet are withdrawn; transfers under way finish and are counted
    not_started = await db[TASKS].find({"campaign": cid, "status": "pending", "transfer": {"$exists": False},
                                          "attempts": {"$exists": False}}, {"_id": 1}).to_list(None)
    ids = [t["_id"] for t in not_started]
    if ids:
        await db[CAMPAIGN_DEVICES].update_many({"campaign": cid, "task": {"$in": ids}},
                                               {"$set": {"state": "cancelled", "updated": _now()}})
        await db[TASKS].delete_many({"_id": {"$in": ids}, "status": "pending", "attempts": {"$exists": False}})
    await db[CAMPAIGN_DEVICES].update_many({"campaign": cid, "state": {"$in": ["pending", "queued"]}},
                                           {"$set": {"state": "cancelled", "updated": _now()}})
    return _json(await _view(db, c))
