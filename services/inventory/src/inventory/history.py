"""KPI history (docs/monitoring.md): a device's samples over time and fleet aggregates.

The telemetry writer keeps samples in ``metrics_history``, one bucket per device per hour; these
routes read the buckets of the asked range (an indexed range on (device, hour) or (hour, model))
and cut them to the asked parameters and times. Down-sampled buckets (older than
TELEMETRY_DOWNSAMPLE_AFTER_H) give one point per parameter and hour with ``min``, ``max``, ``avg``
and ``n``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from device_query.paths import valid_path
from device_query.values import parse_date
from fastapi import APIRouter, Request
from fastapi.responses import Response

from acs_contracts import mongo_collections as mc

from . import auth, scope
from .errors import bad_request
from .shapes import dumps

router = APIRouter(tags=["monitoring"])

MAX_RANGE = timedelta(days=400)
MAX_POINTS = 100_000
_OVER = {">": "$gt", ">=": "$gte", "<": "$lt", "<=": "$lte"}


def parse_time(raw: str | None, default: datetime, what: str) -> datetime:
    """ISO-8601 or unix seconds."""
    if raw is None or raw == "":
        return default
    text = raw.strip()
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        pass
    got = parse_date(text)
    if got is None:
        raise bad_request(f"{what} must be ISO-8601 or unix seconds", raw)
    return got


def time_range(p: Any) -> tuple[datetime, datetime]:
    end = parse_time(p.get("to"), datetime.now(UTC), "to")
    start = parse_time(p.get("from"), end - timedelta(days=1), "from")
    if start >= end:
        raise bad_request("from must be before to", {"from": start.isoformat(), "to": end.isoformat()})
    if end - start > MAX_RANGE:
        raise bad_request(f"at most {MAX_RANGE.days} days at once")
    return start, end


def _hour(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def parameter_list(raw: str | None) -> list[str] | None:
    if not raw:
        return None
    names = [n.strip() for n in raw.split(",") if n.strip()]
    bad = [n for n in names if not valid_path(n, partial=False)]
    if bad:
        raise bad_request("parameters must be comma-separated parameter names", bad)
    return names


@router.get("/devices/{device_id}/history", dependencies=[auth.readonly],
            summary="A device's KPI samples: ?parameters=a,b&from=&to= (ISO-8601 or unix seconds; default the last 24 h)")
async def device_history(device_id: str, request: Request) -> Response:
    rt = request.app.state.rt
    p = request.query_params
    start, end = time_range(p)
    wanted = parameter_list(p.get("parameters"))
    raw_limit = p.get("limit") or str(MAX_POINTS)
    if not raw_limit.isdigit() or not 0 < int(raw_limit) <= MAX_POINTS:
        raise bad_request(f"limit must be 1..{MAX_POINTS}", raw_limit)
    limit = int(raw_limit)
    query: dict[str, Any] = {"device": device_id, "hour": {"$gte": _hour(start), "$lt": end}}
    if wanted:
        query["$or"] = [{"s.p": {"$in": wanted}}, {"agg.p": {"$in": wanted}}]
    series: dict[str, list[dict[str, Any]]] = {}
    count = 0
    async with rt.metrics.mongo("find_history"):
        async for doc in rt.db.db[mc.METRICS_HISTORY].find(query, sort=[("hour", 1)], batch_size=200):
            for pt in _points(doc, set(wanted) if wanted else None, start, end):
                if count >= limit:
                    break
                series.setdefault(pt.pop("parameter"), []).append(pt)
                count += 1
    for points in series.values():
        points.sort(key=lambda x: x["t"])
    return Response(dumps({"device": device_id, "from": start, "to": end, "truncated": count >= limit,
                           "series": series}), media_type="application/json")


def _points(doc: dict[str, Any], wanted: set[str] | None, start: datetime, end: datetime) -> list[dict[str, Any]]:
    out = []
    for s in doc.get("s") or []:
        t = _aware(s["t"])
        if (wanted is None or s["p"] in wanted) and start <= t < end:
            out.append({"parameter": s["p"], "t": t, "value": s["v"]})
    for a in doc.get("agg") or []:
        t = _aware(a["t"])
        if (wanted is None or a["p"] in wanted) and start <= t < end:
            out.append({"parameter": a["p"], "t": t, "value": a["last"], **{k: a[k] for k in ("min", "max", "avg", "n") if k in a}})
    return out


@router.get("/history/aggregate", dependencies=[auth.readonly],
            summary="Fleet aggregate of one KPI per model: devices reporting it, min/max/avg, and with op+value "
                    "how many devices crossed the threshold (?parameter=&op=>&value=&from=&to=)")
async def fleet_aggregate(request: Request) -> Response:
    rt = request.app.state.rt
    p = request.query_params
    start, end = time_range(p)
    parameter = p.get("parameter") or ""
    if not valid_path(parameter, partial=False):
        raise bad_request("parameter must be a parameter name", parameter)
    op, raw = p.get("op"), p.get("value")
    threshold: float | None = None
    if op is not None or raw is not None:
        if op not in _OVER:
            raise bad_request(f"op must be one of {' '.join(_OVER)}", op)
        try:
            threshold = float(raw or "")
        except ValueError:
            raise bad_request("value must be a number", raw) from None
    match: dict[str, Any] = {"hour": {"$gte": _hour(start), "$lt": end}, "s.p": parameter}
    if p.get("model"):
        match["model"] = p["model"]
    match.update(await scope.device_ids(request))  # a scoped caller's devices only
    per_device: dict[str, Any] = {"_id": {"m": "$model", "d": "$device"}, "max": {"$max": "$s.v"}, "min": {"$min": "$s.v"},
                                  "sum": {"$sum": "$s.v"}, "n": {"$sum": 1}}
    per_model: dict[str, Any] = {"_id": "$_id.m", "devices": {"$sum": 1}, "max": {"$max": "$max"}, "min": {"$min": "$min"},
                                 "sum": {"$sum": "$sum"}, "samples": {"$sum": "$n"}}
    if threshold is not None and op is not None:
        extreme = "$max" if op.startswith(">") else "$min"
        per_model["over"] = {"$sum": {"$cond": [{_OVER[op]: [extreme, threshold]}, 1, 0]}}
    pipeline = [
        {"$match": match}, {"$unwind": "$s"},
        {"$match": {"s.p": parameter, "s.t": {"$gte": start, "$lt": end}}},
        {"$group": per_device}, {"$group": per_model}, {"$sort": {"_id": 1}},
    ]
    models = []
    async with rt.metrics.mongo("aggregate_history"):
        async for row in await rt.db.db[mc.METRICS_HISTORY].aggregate(pipeline):
            entry = {"model": row["_id"] or "", "devices": row["devices"], "samples": row["samples"], "min": row.get("min"),
                     "max": row.get("max"), "avg": (row["sum"] / row["samples"]) if row.get("samples") and row.get("sum") is not None else None}
            if "over" in row:
                entry["over"] = row["over"]
            models.append(entry)
    body: dict[str, Any] = {"parameter": parameter, "from": start, "to": end, "models": models}
    if threshold is not None:
        body["threshold"] = {"op": op, "value": threshold}
    return Response(dumps(body), media_type="application/json")
