"""Alarm rules (admin) and alarms (read, acknowledge), docs/monitoring.md.

Rules are evaluated by the telemetry writer as samples arrive (it reloads them every
TELEMETRY_RULES_REFRESH_S); alarms are what it raised and cleared, one document per device and
rule (``<device id>:<rule>``). A rule is refused here with the reason if the writer could not
evaluate it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from acs_contracts import mongo_collections as mc

from . import auth, scope
from .errors import bad_request, not_found
from .principal import and_
from .query import paging, parse_json
from .shapes import dumps

router = APIRouter(tags=["monitoring"])

KINDS = ("threshold", "rate", "missing-informs")
OPS = (">", ">=", "<", "<=", "==", "!=")
SEVERITIES = ("critical", "major", "minor", "warning")
_FIELDS = {"kind", "parameter", "op", "value", "clearValue", "missingS", "severity", "model", "enabled", "description"}
_PARAMETER = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*(\.([A-Za-z_][A-Za-z0-9_\-]*|[0-9]+|\*))*$")
_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def validate_rule(name: str, body: Any) -> dict[str, Any]:
    """The rule document to store, or a 400 naming what is wrong."""
    if not _NAME.match(name):
        raise bad_request("a rule name is 1-64 letters, digits, '_', '-' or '.'", name)
    if not isinstance(body, dict):
        raise bad_request("a rule is a JSON object")
    unknown = sorted(set(body) - _FIELDS - {"_id"})
    if unknown:
        raise bad_request("unknown rule fields", unknown)
    kind = body.get("kind")
    if kind not in KINDS:
        raise bad_request(f"kind must be one of {', '.join(KINDS)}", kind)
    if kind == "missing-informs":
        if not _number(body.get("missingS")) or body["missingS"] <= 0:
            raise bad_request("missingS (seconds without an Inform) must be a positive number", body.get("missingS"))
    else:
        if not isinstance(body.get("parameter"), str) or not _PARAMETER.match(body["parameter"]):
            raise bad_request("parameter must be a parameter name ('*' for any instance number)", body.get("parameter"))
        if body.get("op", ">") not in OPS:
            raise bad_request(f"op must be one of {' '.join(OPS)}", body.get("op"))
        if not _number(body.get("value")):
            raise bad_request("value must be a number", body.get("value"))
        if "clearValue" in body and not _number(body["clearValue"]):
            raise bad_request("clearValue must be a number", body["clearValue"])
    if body.get("severity", "major") not in SEVERITIES:
        raise bad_request(f"severity must be one of {', '.join(SEVERITIES)}", body.get("severity"))
    if "enabled" in body and not isinstance(body["enabled"], bool):
        raise bad_request("enabled must be true or false", body["enabled"])
    if "model" in body and not isinstance(body["model"], str):
        raise bad_request("model must be a product class", body["model"])
    doc = {k: v for k, v in body.items() if k in _FIELDS}
    doc.setdefault("op", ">")
    doc.setdefault("severity", "major")
    doc["_id"] = name
    return doc


@router.get("/alarm-rules", dependencies=[auth.readonly], summary="Alarm rules")
async def list_rules(request: Request) -> Response:
    rt = request.app.state.rt
    async with rt.metrics.mongo("find_alarm_rules"):
        rules = [d async for d in rt.db.db[mc.ALARM_RULES].find().sort("_id", 1)]
    return Response(dumps(rules), media_type="application/json")


@router.put("/alarm-rules/{name}", dependencies=[auth.admin],
            summary="Create or replace an alarm rule: threshold, rate or missing-informs")
async def put_rule(name: str, request: Request) -> Response:
    rt = request.app.state.rt
    doc = validate_rule(name, parse_json((await rt.read_body(request)).decode("utf-8", "replace"), "body"))
    async with rt.metrics.mongo("put_alarm_rule"):
        await rt.db.db[mc.ALARM_RULES].replace_one({"_id": name}, doc, upsert=True)
    return Response(dumps(doc), media_type="application/json")


@router.delete("/alarm-rules/{name}", dependencies=[auth.admin],
               summary="Delete an alarm rule (its raised alarms stay until cleared or acknowledged)")
async def delete_rule(name: str, request: Request) -> Response:
    rt = request.app.state.rt
    async with rt.metrics.mongo("delete_alarm_rule"):
        res = await rt.db.db[mc.ALARM_RULES].delete_one({"_id": name})
    if not res.deleted_count:
        raise not_found(f"no alarm rule {name!r}")
    return Response(status_code=200)


@router.get("/alarms", dependencies=[auth.readonly],
            summary="Alarms, newest first: ?state=raised|cleared&device=&rule=&severity=&acknowledged=&skip=&limit=")
async def list_alarms(request: Request) -> Response:
    rt = request.app.state.rt
    p = request.query_params
    q: dict[str, Any] = {}
    for key in ("state", "device", "rule", "severity"):
        if p.get(key):
            q[key] = p[key]
    if p.get("acknowledged") in ("true", "false"):
        q["acknowledged"] = p["acknowledged"] == "true"
    skip, limit = paging(p.get("skip"), p.get("limit"))
    q = and_(q, await scope.device_ids(request))  # a scoped caller's devices only
    return await rt.stream(rt.db.db[mc.ALARMS], q, None, [("raisedAt", -1)], skip, limit or 1000, "find_alarms")


@router.post("/alarms/{alarm_id}/ack", dependencies=[auth.operator], summary="Acknowledge an alarm (<device id>:<rule>)")
async def acknowledge(alarm_id: str, request: Request) -> Response:
    rt = request.app.state.rt
    async with rt.metrics.mongo("ack_alarm"):
        res = await rt.db.db[mc.ALARMS].update_one({"_id": alarm_id},
                                                   {"$set": {"acknowledged": True, "ackedAt": datetime.now(UTC)}})
    if not res.matched_count:
        raise not_found(f"no alarm {alarm_id!r}")
    return Response(status_code=200)
