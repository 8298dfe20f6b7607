"""Alarm rules (admin) and alarms (read, acknowledge), docs/monitoring.md.

Rules are evaluated by the telemetry writer as samples arrive (it reloads them every
TELEMETRY_RULES_REFRESH_S); alarms are what it raised and cleared, one document per device and
rule (``<device id>:<rule>``). A rule is refused here with the reason if the writer could not
evaluate it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, TypeAdapter, model_validator

from acs_contracts import mongo_collections as mc

from . import auth, bodies, scope
from .errors import bad_request, not_found
from .principal import and_
from .query import paging, parse_json
from .shapes import dumps

router = APIRouter(tags=["monitoring"])

_PARAMETER = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*(\.([A-Za-z_][A-Za-z0-9_\-]*|[0-9]+|\*))*$")
_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


class AlarmRule(BaseModel):
    """PUT /alarm-rules/<name>: a threshold or rate rule on a parameter, or missing Informs (docs/monitoring.md)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: Any = Field(None, alias="_id", exclude=True, description="ignored: the URL names the rule")
    kind: Literal["threshold", "rate", "missing-informs"]
    parameter: Annotated[StrictStr, Field(pattern=_PARAMETER.pattern), bodies.worded(
        "must be a parameter name ('*' for any instance number)")] = bodies.absent()
    op: Literal[">", ">=", "<", "<=", "==", "!="] = ">"
    value: bodies.Number = bodies.absent()
    clearValue: bodies.Number = bodies.absent()
    missingS: Annotated[bodies.Number, Field(gt=0)] = bodies.absent(description="seconds without an Inform")
    severity: Literal["critical", "major", "minor", "warning"] = "major"
    model: Annotated[StrictStr, bodies.worded("must be a product class")] = bodies.absent()
    enabled: Annotated[StrictBool, bodies.worded("must be true or false")] = bodies.absent()
    description: Any = None

    @model_validator(mode="after")
    def _complete(self) -> AlarmRule:
        if self.kind == "missing-informs":
            if self.missingS is None:
                raise bodies.problem("missingS (seconds without an Inform) must be a positive number")
        elif self.parameter is None:
            raise bodies.problem("parameter must be a parameter name ('*' for any instance number)")
        elif self.value is None:
            raise bodies.problem("value must be a number")
        return self


_RULE = TypeAdapter(AlarmRule)


def validate_rule(name: str, body: Any) -> dict[str, Any]:
    """The rule document to store, or a 400 naming what is wrong."""
    if not _NAME.match(name):
        raise bad_request("a rule name is 1-64 letters, digits, '_', '-' or '.'", name)
    rule = bodies.parse(_RULE, body, "rule")
    doc = rule.model_dump(exclude_unset=True)
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


@router.put("/alarm-rules/{name}", dependencies=[auth.admin], openapi_extra=bodies.openapi_body(_RULE),
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
        who = auth.principal_of(request)  # the console shows who acknowledged (the audit log has it too)
        by = {"token": who.token, "role": who.role, **who.actor()}
        res = await rt.db.db[mc.ALARMS].update_one({"_id": alarm_id},
                                                   {"$set": {"acknowledged": True, "ackedAt": datetime.now(UTC), "ackedBy": by}})
    if not res.matched_count:
        raise not_found(f"no alarm {alarm_id!r}")
    return Response(status_code=200)
