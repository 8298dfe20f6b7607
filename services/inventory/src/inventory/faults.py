"""Faults: search and clear. Clearing a task's fault deletes that task, as GenieACS does."""

from __future__ import annotations

from bson import ObjectId
from device_query.mongo import fault_query
from fastapi import APIRouter, Request
from fastapi.responses import Response

from . import auth, scope
from .errors import not_found
from .principal import and_
from .query import paging, parse_json, projection, sort_spec

router = APIRouter(tags=["faults"])


@router.get("/faults/", dependencies=[auth.readonly], summary="Search faults")
@router.get("/faults", dependencies=[auth.readonly], include_in_schema=False)
async def list_faults(request: Request) -> Response:
    rt = request.app.state.rt
    p = request.query_params
    q = and_(fault_query(parse_json(p.get("query"), "query")), await scope.device_ids(request))  # in scope only
    skip, limit = paging(p.get("skip"), p.get("limit"))
    return await rt.stream(rt.db.faults, q, projection(p.get("projection")), sort_spec(p.get("sort"), device=False), skip, limit, "find_faults")


@router.delete("/faults/{fault_id}", dependencies=[auth.operator],
               summary="Clear a fault (<device>:<channel>); a task_<id> channel also deletes the task")
async def delete_fault(fault_id: str, request: Request) -> Response:
    rt = request.app.state.rt
    async with rt.metrics.mongo("delete_fault"):
        fault = await rt.db.faults.find_one_and_delete({"_id": fault_id})
    if fault is None:
        raise not_found(f"no fault {fault_id!r}")
    channel = str(fault.get("channel") or fault_id.rsplit(":", 1)[-1])
    task_id = channel.removeprefix("task_")
    if channel.startswith("task_") and ObjectId.is_valid(task_id):
        async with rt.metrics.mongo("delete_task"):
            await rt.db.tasks.delete_one({"_id": ObjectId(task_id)})
    return Response(status_code=200)
