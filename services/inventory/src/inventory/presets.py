"""Presets, stored in GenieACS shape: weight, channel, schedule, events, precondition, configurations.

The precondition is a device query (JSON, stored as its string as GenieACS does); it is checked
with the same rules as GET /devices so a preset never holds a query the ACS cannot run.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from . import auth
from .errors import bad_request, not_found
from .query import check_precondition, paging, parse_json, preset_query, projection, sort_spec
from .shapes import valid_path

router = APIRouter(tags=["presets"])

FIELDS = {"weight", "channel", "schedule", "events", "precondition", "configurations", "_id"}
CONFIG_FIELDS = {
    "value": {"name", "value"},
    "age": {"name", "age"},
    "add_tag": {"tag"},
    "delete_tag": {"tag"},
    "provision": {"name", "args"},
    "add_object": {"name", "object"},
    "delete_object": {"name", "object"},
}
PATH_CONFIGS = {"value", "age", "add_object", "delete_object"}


def _configuration(c: Any) -> dict[str, Any]:
    if not isinstance(c, dict) or c.get("type") not in CONFIG_FIELDS:
        raise bad_request("configuration needs type " + ", ".join(sorted(CONFIG_FIELDS)), c)
    allowed = CONFIG_FIELDS[c["type"]]
    extra = set(c) - allowed - {"type"}
    if extra:
        raise bad_request(f"{c['type']} configuration has unknown fields {sorted(extra)}", c)
    for key in allowed - {"args", "value", "age", "object"}:
        if not isinstance(c.get(key), str) or not c[key]:
            raise bad_request(f"{c['type']} configuration needs {key}", c)
    if c["type"] in PATH_CONFIGS and not valid_path(c["name"]):
        raise bad_request("invalid parameter path in configuration", c["name"])
    if c["type"] == "age" and (isinstance(c.get("age"), bool) or not isinstance(c.get("age"), (int, str))):
        raise bad_request("age configuration needs age (seconds)", c)
    if c["type"] == "value" and (c.get("value") is None or isinstance(c.get("value"), (dict, list))):
        raise bad_request("value configuration needs a scalar value", c)
    if "args" in c and c["args"] is not None and not isinstance(c["args"], list):
        raise bad_request("provision args must be an array", c)
    return c


def validate_preset(name: str, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_request("preset must be a JSON object", body)
    extra = set(body) - FIELDS
    if extra:
        raise bad_request(f"unknown preset fields {sorted(extra)}", sorted(FIELDS))
    if "_id" in body and body["_id"] != name:
        raise bad_request("_id in body differs from the URL")
    weight = body.get("weight", 0)
    if isinstance(weight, bool) or not isinstance(weight, int):
        raise bad_request("weight must be an integer", weight)
    channel = body.get("channel", "default")
    if not isinstance(channel, str) or not channel:
        raise bad_request("channel must be a non-empty string", channel)
    schedule = body.get("schedule", "")
    if not isinstance(schedule, str):
        raise bad_request("schedule must be a string", schedule)
    events = body.get("events", {})
    if not isinstance(events, dict) or not all(isinstance(v, bool) for v in events.values()):
        raise bad_request("events must map event codes to true/false", events)
    pre = body.get("precondition", "")
    if isinstance(pre, dict):
        query = pre
    elif isinstance(pre, str):
        query = parse_json(pre, "precondition") if pre.strip() else {}
    else:
        raise bad_request("precondition must be a JSON query (object or string)", pre)
    check_precondition(query)
    configurations = body.get("configurations", [])
    if not isinstance(configurations, list):
        raise bad_request("configurations must be an array", configurations)
    return {
        "_id": name, "weight": weight, "channel": channel, "schedule": schedule, "events": events,
        "precondition": orjson.dumps(query).decode() if query else "",
        "configurations": [_configuration(c) for c in configurations],
    }


@router.get("/presets/", dependencies=[auth.readonly], summary="Search presets")
@router.get("/presets", dependencies=[auth.readonly], include_in_schema=False)
async def list_presets(request: Request) -> Response:
    rt = request.app.state.rt
    p = request.query_params
    q = preset_query(parse_json(p.get("query"), "query"))
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
    doc = validate_preset(name, parse_json((await rt.read_body(request)).decode("utf-8", "replace"), "preset"))
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
