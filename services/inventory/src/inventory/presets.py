"""Presets, stored in GenieACS shape: weight, channel, schedule, events, precondition, configurations,
plus ``declarations`` (desired state: a path pattern with its value, refresh age or instance count).

A preset is checked by ``device_query.presets.validate_preset``, the same check the scheduler
applies when it loads presets, so the scheduler never sees a preset the NBI let through and then
refuses. What is the NBI's own: a preset that would fight another one (same weight, same path,
another value) is refused, a tenant's preset is confined to its devices, and
POST /presets/{name}/apply asks the matching devices to connect now, at a bounded rate.
"""

from __future__ import annotations

from typing import Any

import orjson
from device_query.mongo import device_query, preset_query
from device_query.presets import precondition_query, validate_preset
from fastapi import APIRouter, Request
from fastapi.responses import Response

from . import auth, last_informs, scope
from .errors import ApiError, bad_request, not_found
from .principal import and_
from .query import paging, parse_json, projection, sort_spec

router = APIRouter(tags=["presets"])


def desired_values(preset: dict[str, Any]) -> dict[str, Any]:
    """Path -> value a preset declares (declarations and GenieACS value configurations)."""
    out = {c["name"]: c.get("value") for c in preset.get("configurations") or [] if c.get("type") == "value"}
    out.update({d["path"]: d["value"] for d in preset.get("declarations") or [] if "value" in d})
    return out


async def check_conflicts(rt: Any, doc: dict[str, Any]) -> None:
    """Refuse a preset that sets a path another preset of the same weight sets to another value:
    neither would win, and devices would flip between them."""
    mine = desired_values(doc)
    if not mine:
        return
    async with rt.metrics.mongo("find_presets"):
        others = await rt.db.presets.find({"_id": {"$ne": doc["_id"]}, "weight": doc["weight"]}).to_list(None)
    for other in others:
        theirs = desired_values(other)
        clash = sorted(p for p in mine.keys() & theirs.keys() if str(mine[p]) != str(theirs[p]))
        if clash:
            raise ApiError(409, f"conflicts with preset {other['_id']!r} of the same weight", {
                "preset": other["_id"], "paths": clash, "hint": "give one of them another weight"})


def tenant_preset(request: Request, doc: dict[str, Any], asked: Any = None) -> dict[str, Any]:
    """A tenant's preset is owned by it and applies to its devices only: ``_tenant`` is AND-ed
    into the precondition as stored (the scheduler matches presets against every device). A
    tenant's user always writes its tenant's; an unscoped admin may name one (``_tenant``)."""
    tenant = scope.principal(request).tenant
    if tenant is None and isinstance(asked, str) and asked:
        tenant = asked
    if tenant is None:
        return doc
    pre = doc.get("precondition") or ""
    query = precondition_query(pre) if pre else {}
    mine = {"_tenant": tenant}
    if query != mine and mine not in (query.get("$and") or []):
        doc["precondition"] = orjson.dumps(and_(query, mine)).decode()
    doc["_tenant"] = tenant
    return doc


@router.get("/presets/", dependencies=[auth.readonly], summary="Search presets")
@router.get("/presets", dependencies=[auth.readonly], include_in_schema=False)
async def list_presets(request: Request) -> Response:
    rt = request.app.state.rt
    p = request.query_params
    q = and_(preset_query(parse_json(p.get("query"), "query")), scope.owned(request))  # a tenant's own
    skip, limit = paging(p.get("skip"), p.get("limit"))
    return await rt.stream(rt.db.presets, q, projection(p.get("projection")), sort_spec(p.get("sort"), device=False), skip, limit, "find_presets")


@router.get("/presets/{name}", dependencies=[auth.readonly], summary="One preset")
async def get_preset(name: str, request: Request) -> Response:
    rt = request.app.state.rt
    async with rt.metrics.mongo("find_preset"):
        doc = await rt.db.presets.find_one({"_id": name})
    if doc is None:
        raise not_found(f"no preset {name!r}")
    return Response(orjson.dumps(doc), media_type="application/json")


@router.put("/presets/{name}", dependencies=[auth.admin], summary="Create or replace a preset")
async def put_preset(name: str, request: Request) -> Response:
    rt = request.app.state.rt
    body = parse_json((await rt.read_body(request)).decode("utf-8", "replace"), "preset")
    doc = tenant_preset(request, validate_preset(name, body), body.get("_tenant"))
    await check_conflicts(rt, doc)
    async with rt.metrics.mongo("replace_preset"):
        await rt.db.presets.replace_one({"_id": name}, doc, upsert=True)
    return Response(status_code=200)


@router.delete("/presets/{name}", dependencies=[auth.admin], summary="Delete a preset")
async def delete_preset(name: str, request: Request) -> Response:
    rt = request.app.state.rt
    async with rt.metrics.mongo("delete_preset"):
        result = await rt.db.presets.delete_one({"_id": name})
    if result.deleted_count == 0:
        raise not_found(f"no preset {name!r}")
    return Response(status_code=200)


@router.post("/presets/{name}/apply", dependencies=[auth.operator], status_code=202,
             summary="Re-apply now: send connection requests to the devices matching the precondition, "
                     "at most `rate` per second (the preset must be triggered by 6 CONNECTION REQUEST or by any event)")
async def apply_preset(name: str, request: Request) -> Response:
    from .campaigns import ConnectionRequestPacer

    rt = request.app.state.rt
    raw = request.query_params.get("rate", "20")
    if not raw.isdigit() or not 1 <= int(raw) <= 10000:
        raise bad_request("rate must be an integer from 1 to 10000 per second", raw)
    async with rt.metrics.mongo("find_preset"):
        preset = await rt.db.presets.find_one({"_id": name})
    if preset is None:
        raise not_found(f"no preset {name!r}")
    pre = preset.get("precondition") or ""
    query = device_query(precondition_query(pre) if isinstance(pre, str) else (pre or {}))
    async with rt.metrics.mongo("find_devices"):
        query = and_(await last_informs.resolve(rt.db.last_informs, query), await scope.devices(request))
        ids = [d["_id"] for d in await rt.db.devices.find(query, {"_id": 1}).to_list(None)]
    ConnectionRequestPacer.for_runtime(rt).submit(ids, rate=int(raw))
    return Response(orjson.dumps({"preset": name, "devices": len(ids)}), status_code=202, media_type="application/json")
