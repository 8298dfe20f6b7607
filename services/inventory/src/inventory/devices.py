"""Device search (GenieACS query, projection, sort, paging), tags and device deletion."""

from __future__ import annotations

import re

from device_query.mongo import device_query
from fastapi import APIRouter, Request
from fastapi.responses import Response

from . import auth, last_informs, scope
from .errors import bad_request, not_found
from .principal import and_
from .query import paging, parse_json, projection, sort_spec

router = APIRouter(tags=["devices"])

_TAG = re.compile(r"^[^.$\x00-\x1f]{1,128}$")


@router.get("/devices/", dependencies=[auth.readonly],
            summary="Search devices: query (MongoDB JSON on parameter paths), projection, sort, skip, limit")
@router.get("/devices", dependencies=[auth.readonly], include_in_schema=False)
async def list_devices(request: Request) -> Response:
    rt = request.app.state.rt
    p = request.query_params
    q = await last_informs.resolve(rt.db.last_informs, device_query(parse_json(p.get("query"), "query")))
    q = and_(q, await scope.devices(request))  # a scoped caller lists its devices only
    skip, limit = paging(p.get("skip"), p.get("limit"))
    proj = projection(p.get("projection"))
    return await rt.stream(
        rt.db.devices, q, proj, sort_spec(p.get("sort"), device=True), skip, limit, "find_devices",
        enrich=lambda docs: last_informs.overlay(rt.db.last_informs, docs, proj),
    )


@router.delete("/devices/{device_id}", dependencies=[auth.admin],
               summary="Delete a device with its tasks, faults and in-flight operations")
async def delete_device(device_id: str, request: Request) -> Response:
    rt = request.app.state.rt
    async with rt.metrics.mongo("delete_device"):
        result = await rt.db.devices.delete_one({"_id": device_id})
    if result.deleted_count == 0:
        raise not_found(f"no device {device_id!r}")
    async with rt.metrics.mongo("delete_device_related"):
        await rt.db.tasks.delete_many({"device": device_id})
        await rt.db.faults.delete_many({"device": device_id})
        await rt.db.last_informs.delete_one({"_id": device_id})
    return Response(status_code=200)


def _check_tag(tag: str) -> str:
    if not _TAG.match(tag):
        raise bad_request("a tag is 1-128 characters without '.', '$' or control characters", tag)
    return tag


@router.post("/devices/{device_id}/tags/{tag}", dependencies=[auth.operator], summary="Tag a device")
async def add_tag(device_id: str, tag: str, request: Request) -> Response:
    rt = request.app.state.rt
    async with rt.metrics.mongo("update_device"):
        result = await rt.db.devices.update_one({"_id": device_id}, {"$addToSet": {"_tags": _check_tag(tag)}})
    if result.matched_count == 0:
        raise not_found(f"no device {device_id!r}")
    return Response(status_code=200)


@router.delete("/devices/{device_id}/tags/{tag}", dependencies=[auth.operator], summary="Untag a device")
async def remove_tag(device_id: str, tag: str, request: Request) -> Response:
    rt = request.app.state.rt
    async with rt.metrics.mongo("update_device"):
        result = await rt.db.devices.update_one({"_id": device_id}, {"$pull": {"_tags": tag}})
    if result.matched_count == 0:
        raise not_found(f"no device {device_id!r}")
    return Response(status_code=200)
