"""Presets, stored in GenieACS shape: weight, channel, schedule, events, precondition, configurations,
plus ``declarations`` (desired state: a path pattern with its value, refresh age or instance count).

The precondition is a device query (JSON, stored as its string as GenieACS does); it is checked
with the same rules as GET /devices so a preset never holds a query the ACS cannot run. Path
patterns, schedules and declarations are checked here too, and a preset that would fight another
one (same weight, same path, another value) is refused: the scheduler never sees a bad preset.
POST /presets/{name}/apply asks the matching devices to connect now, at a bounded rate.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from provision_scripts.expressions import ExpressionError, looks_like_expression, to_query

from . import auth, last_informs, scope
from .errors import ApiError, bad_request, not_found
from .principal import and_
from .query import check_precondition, device_query, paging, parse_json, preset_query, projection, sort_spec
from .shapes import valid_path

router = APIRouter(tags=["presets"])

FIELDS = {"weight", "channel", "schedule", "events", "precondition", "configurations", "declarations", "_id",
          "_tenant"}  # _tenant: see tenant_preset
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


XSD_TYPES = {"xsd:string", "xsd:int", "xsd:unsignedInt", "xsd:long", "xsd:unsignedLong", "xsd:boolean",
             "xsd:dateTime", "xsd:base64", "xsd:hexBinary"}
DECLARATION_FIELDS = {"path", "value", "type", "refresh", "instances", "secret", "notification", "accessList"}
MAX_INSTANCES = 1024
_NAME = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_\-]*|[0-9]+)$")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*(\.[A-Za-z_][A-Za-z0-9_\-]*)*$")
_CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$")
_CRON_RANGES = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 6)]


def pattern_segments(path: Any) -> list[str]:
    """A path pattern's segments (names, instance numbers, ``*``, ``[Key:value,...]`` aliases),
    or ApiError(400)."""
    if not isinstance(path, str) or not path or len(path) > 1024:
        raise bad_request("invalid parameter path", path)
    body = path[:-1] if path.endswith(".") else path
    segs, buf, depth = [], "", 0
    for ch in body:
        depth += (ch == "[") - (ch == "]")
        if depth < 0 or depth > 1:
            raise bad_request("unbalanced [ ] in parameter path", path)
        if ch == "." and depth == 0:
            segs.append(buf)
            buf = ""
        else:
            buf += ch
    segs.append(buf)
    if depth:
        raise bad_request("unbalanced [ ] in parameter path", path)
    for i, seg in enumerate(segs):
        if seg == "*" and i:
            continue
        if seg.startswith("[") and seg.endswith("]") and i:
            for item in seg[1:-1].split(","):
                key, sep, _ = item.partition(":")
                if not sep or not _KEY.match(key.strip()):
                    raise bad_request(f"invalid alias {seg!r} in parameter path", path)
            continue
        if not _NAME.match(seg) or (i == 0 and seg.isdigit()):
            raise bad_request(f"invalid segment {seg!r} in parameter path", path)
    return segs


def _declaration(d: Any) -> dict[str, Any]:
    if not isinstance(d, dict) or "path" not in d:
        raise bad_request("a declaration is an object with a path", d)
    extra = set(d) - DECLARATION_FIELDS
    if extra:
        raise bad_request(f"declaration has unknown fields {sorted(extra)}", sorted(DECLARATION_FIELDS))
    segs = pattern_segments(d["path"])
    if "value" in d and (d["value"] is None or isinstance(d["value"], (dict, list))):
        raise bad_request("declaration value must be a string, number or boolean", d)
    if d.get("type") is not None and d["type"] not in XSD_TYPES:
        raise bad_request(f"unknown type {d['type']!r}", sorted(XSD_TYPES))
    r = d.get("refresh")
    if r is not None and (isinstance(r, bool) or not isinstance(r, (int, float)) or r < 0):
        raise bad_request("refresh is an age in seconds (a non-negative number)", d)
    if "secret" in d and not isinstance(d["secret"], bool):
        raise bad_request("secret must be true or false", d)
    inst = d.get("instances")
    if inst is not None:
        if isinstance(inst, bool):
            raise bad_request("instances is a count or {min, max}", d)
        if isinstance(inst, int):
            lo = hi = inst
        elif isinstance(inst, dict) and set(inst) <= {"min", "max"} and all(
                isinstance(v, int) and not isinstance(v, bool) for v in inst.values()):
            lo, hi = inst.get("min", 0), inst.get("max", MAX_INSTANCES)
        else:
            raise bad_request("instances is a count or {min, max}", d)
        if not 0 <= lo <= hi <= MAX_INSTANCES:
            raise bad_request(f"instances must satisfy 0 <= min <= max <= {MAX_INSTANCES}", d)
        if "value" in d:
            raise bad_request("a declaration sets a value or counts instances, not both", d)
        if len(segs) < 2 or not (segs[-1] == "*" or segs[-1].startswith("[")):
            raise bad_request("instances needs a path ending with * or an alias, e.g. X.Table.[Key:v]", d)
    n, access = d.get("notification"), d.get("accessList")
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= 6):
        raise bad_request("notification is 0 (off), 1 (passive), 2 (active) or 3-6 (CWMP 1.4 lightweight)", d)
    if access is not None and (not isinstance(access, list) or not all(isinstance(a, str) for a in access)):
        raise bad_request('accessList is a list of names, e.g. ["Subscriber"] or []', d)
    if (n is not None or access is not None) and inst is not None:
        raise bad_request("attributes (notification, accessList) are declared on parameters, not instance counts", d)
    if "value" not in d and r is None and inst is None and n is None and access is None:
        raise bad_request(f"declaration of {d['path']} needs value, refresh, instances, notification or accessList", d)
    return d


def validate_schedule(text: str) -> None:
    """``[window seconds] minute hour day-of-month month day-of-week`` (empty: no schedule)."""
    if not text.strip():
        return
    parts = text.split()
    if len(parts) == 6:
        if not parts[0].isdigit() or not 60 <= int(parts[0]) <= 7 * 86400:
            raise bad_request("schedule window must be 60 to 604800 seconds", text)
        parts = parts[1:]
    if len(parts) != 5:
        raise bad_request("schedule is [window seconds] followed by five cron fields", text)
    for part, (lo, hi) in zip(parts, _CRON_RANGES, strict=True):
        if not _CRON_FIELD.match(part):
            raise bad_request(f"invalid cron field {part!r}", text)
        for n in re.findall(r"(?<![/\d])\d+", part):
            if not lo <= int(n) <= hi:
                raise bad_request(f"cron field {part!r} is outside {lo}-{hi}", text)


def _events(events: Any) -> Any:
    if isinstance(events, str):  # GenieACS's own seeds write "0 BOOTSTRAP": every listed code required
        return {" ".join(c.split()): True for c in events.split(",") if c.strip()}
    if isinstance(events, list) and all(isinstance(e, str) and e.strip() for e in events):
        return events
    if isinstance(events, dict) and all(isinstance(v, bool) for v in events.values()):
        return events
    raise bad_request("events must map event codes to true/false, or list event codes", events)


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


def precondition_query(pre: str) -> dict[str, Any]:
    """A stored precondition as a device query: JSON, or GenieACS 1.2's expression form
    (``DeviceID.ProductClass = "X" AND Tags.lab IS NOT NULL``), kept as written."""
    if looks_like_expression(pre):
        try:
            return to_query(pre)
        except ExpressionError as e:
            raise bad_request(f"precondition: {e}", pre) from None
    return parse_json(pre, "precondition") if pre.strip() else {}


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
    validate_schedule(schedule)
    events = _events(body.get("events", {}))
    pre = body.get("precondition", "")
    expression = isinstance(pre, str) and looks_like_expression(pre)
    if isinstance(pre, dict):
        query = pre
    elif isinstance(pre, str):
        query = precondition_query(pre)
    else:
        raise bad_request("precondition must be a JSON query (object or string) or a GenieACS expression", pre)
    check_precondition(query)
    configurations = body.get("configurations", [])
    if not isinstance(configurations, list):
        raise bad_request("configurations must be an array", configurations)
    declarations = body.get("declarations", [])
    if not isinstance(declarations, list):
        raise bad_request("declarations must be an array", declarations)
    doc = {
        "_id": name, "weight": weight, "channel": channel, "schedule": schedule, "events": events,
        "precondition": pre.strip() if expression else orjson.dumps(query).decode() if query else "",
        "configurations": [_configuration(c) for c in configurations],
    }
    if declarations:
        doc["declarations"] = [_declaration(d) for d in declarations]
    return doc


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
