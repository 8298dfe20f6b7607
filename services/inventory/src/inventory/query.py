"""GenieACS-style queries (MongoDB JSON) checked against an operator whitelist and translated.

Device queries name parameters by path (``InternetGatewayDevice.DeviceInfo.SoftwareVersion``);
they match the leaf's ``_value``, and a string like ``"5"`` or ``"true"`` also matches the typed
value (values are stored typed), as GenieACS does. Dates given as strings are compared as dates
on date fields (``_lastInform``, ``..._timestamp``). Anything that could run code or scan
unboundedly (``$where``, ``$expr``, ``$function``...) is refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson
from bson import ObjectId

from acs_contracts.query_values import alternatives, parse_date, ranged

from .errors import ApiError, bad_request
from .shapes import valid_path

LOGICAL = {"$and", "$or", "$nor"}
FIELD_OPS = {
    "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$all",
    "$exists", "$regex", "$options", "$not", "$size", "$type", "$elemMatch",
}
RANGE_OPS = {"$gt", "$gte", "$lt", "$lte"}
LIST_OPS = {"$in", "$nin", "$all"}
MAX_DEPTH = 16

DEVICE_DATE_FIELDS = {"_registered", "_lastInform", "_lastBoot", "_lastBootstrap"}
TASK_DATE_FIELDS = {"timestamp", "expiry", "completedAt", "connectionRequest.at"}
FAULT_DATE_FIELDS = {"timestamp"}
FILE_DATE_FIELDS = {"uploadDate"}

_FIELD_NAME = re.compile(r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*$")


def parse_json(raw: str | None, what: str) -> Any:
    if raw is None or raw == "":
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise bad_request(f"{what} is not valid JSON", str(e)) from None



# --- value conversion ---------------------------------------------------------------------------

def _as_date(v: Any) -> Any:
    d = parse_date(v) if isinstance(v, str) else None
    return d if d is not None else v


def _as_object_id(v: Any) -> Any:
    if isinstance(v, str) and ObjectId.is_valid(v):
        return ObjectId(v)
    return v


# --- translation ----------------------------------------------------------------------------------

class _Translator:
    """Walks a query; ``field_rule(name) -> (stored name, kind)`` says how to treat each field."""

    def __init__(self, field_rule: Callable[[str], tuple[str, str]]) -> None:
        self.field_rule = field_rule

    def query(self, q: Any, depth: int = 0) -> dict[str, Any]:
        if depth > MAX_DEPTH:
            raise bad_request("query nests too deeply")
        if not isinstance(q, dict):
            raise bad_request("query must be a JSON object", q)
        out: dict[str, Any] = {}
        for key, cond in q.items():
            if key in LOGICAL:
                if not isinstance(cond, list) or not cond:
                    raise bad_request(f"{key} needs a non-empty array", cond)
                out[key] = [self.query(c, depth + 1) for c in cond]
            elif key.startswith("$"):
                raise bad_request(f"operator {key} is not allowed here")
            else:
                self._field(out, key, cond, depth)
        return out

    def _field(self, out: dict[str, Any], key: str, cond: Any, depth: int) -> None:
        if not _FIELD_NAME.match(key):
            raise bad_request(f"invalid field name {key!r}")
        stored, kind = self.field_rule(key)
        is_ops = isinstance(cond, dict) and cond and all(k.startswith("$") for k in cond)
        if is_ops and set(cond) == {"$exists"} and kind == "param":
            stored = stored.removesuffix("._value")  # objects have no _value; test the node itself
        if is_ops:
            out[stored] = self._ops(cond, kind, depth)
        elif isinstance(cond, dict):
            if any(k.startswith("$") for k in cond):
                raise bad_request(f"{key}: operators and plain fields mixed")
            out[stored] = cond  # whole sub-document equality
        else:
            out[stored] = self._equal(cond, kind)

    def _convert(self, v: Any, kind: str) -> Any:
        if kind == "date":
            return _as_date(v)
        if kind == "oid":
            return _as_object_id(v)
        return v

    def _equal(self, v: Any, kind: str) -> Any:
        if kind == "param" and not isinstance(v, (list, dict)) and v is not None:
            alts = alternatives(v)
            return {"$in": alts} if len(alts) > 1 else v
        return self._convert(v, kind)

    def _ops(self, cond: dict[str, Any], kind: str, depth: int) -> dict[str, Any]:
        expr: dict[str, Any] = {}
        for op, v in cond.items():
            if op not in FIELD_OPS:
                raise bad_request(f"operator {op} is not allowed", sorted(FIELD_OPS | LOGICAL))
            if op in ("$eq", "$ne"):
                if kind == "param" and not isinstance(v, (list, dict)) and v is not None:
                    alts = alternatives(v)
                    if len(alts) > 1:
                        expr["$in" if op == "$eq" else "$nin"] = alts
                        continue
                expr[op] = self._convert(v, kind)
            elif op in RANGE_OPS:
                if isinstance(v, (dict, list)):
                    raise bad_request(f"{op} needs a scalar", v)
                expr[op] = ranged(v) if kind == "param" else self._convert(v, kind)
            elif op in LIST_OPS:
                if not isinstance(v, list):
                    raise bad_request(f"{op} needs an array", v)
                if kind == "param" and op != "$all":
                    expr[op] = [a for x in v for a in alternatives(x)]
                else:
                    expr[op] = [self._convert(x, kind) for x in v]
            elif op == "$exists":
                if not isinstance(v, (bool, int)):
                    raise bad_request("$exists needs a boolean", v)
                expr[op] = bool(v)
            elif op == "$size":
                if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                    raise bad_request("$size needs a non-negative integer", v)
                expr[op] = v
            elif op == "$type":
                if not isinstance(v, (str, int)) or isinstance(v, bool):
                    raise bad_request("$type needs a type name or number", v)
                expr[op] = v
            elif op == "$regex":
                if not isinstance(v, str) or len(v) > 512:
                    raise bad_request("$regex needs a string (at most 512 characters)", v)
                try:
                    re.compile(v)
                except re.error as e:
                    raise bad_request("$regex does not compile", str(e)) from None
                expr[op] = v
            elif op == "$options":
                if not isinstance(v, str) or not set(v) <= set("imsx"):
                    raise bad_request("$options may only hold i, m, s, x", v)
                expr[op] = v
            elif op == "$not":
                if not isinstance(v, dict) or not v or not all(k.startswith("$") for k in v):
                    raise bad_request("$not needs an operator expression", v)
                expr[op] = self._ops(v, kind, depth + 1)
            elif op == "$elemMatch":
                if not isinstance(v, dict):
                    raise bad_request("$elemMatch needs an object", v)
                if all(k.startswith("$") for k in v):
                    expr[op] = self._ops(v, "plain", depth + 1)
                else:
                    expr[op] = _Translator(lambda k: (k, "plain")).query(v, depth + 1)
        if "$options" in expr and "$regex" not in expr:
            raise bad_request("$options without $regex")
        return expr


def _device_field(key: str) -> tuple[str, str]:
    first = key.split(".", 1)[0]
    last = key.rsplit(".", 1)[-1]
    if first.startswith("_"):
        return key, ("date" if key in DEVICE_DATE_FIELDS else "plain")
    if last.startswith("_"):
        return key, ("date" if last == "_timestamp" else "plain")
    return f"{key}._value", "param"


def _plain_fields(dates: set[str], oid_fields: set[str]) -> Callable[[str], tuple[str, str]]:
    def rule(key: str) -> tuple[str, str]:
        if key in oid_fields:
            return key, "oid"
        return key, ("date" if key in dates else "plain")

    return rule


def device_query(q: Any) -> dict[str, Any]:
    return _Translator(_device_field).query(q if q is not None else {})


def task_query(q: Any) -> dict[str, Any]:
    return _Translator(_plain_fields(TASK_DATE_FIELDS, {"_id"})).query(q if q is not None else {})


def fault_query(q: Any) -> dict[str, Any]:
    return _Translator(_plain_fields(FAULT_DATE_FIELDS, set())).query(q if q is not None else {})


def preset_query(q: Any) -> dict[str, Any]:
    return _Translator(_plain_fields(set(), set())).query(q if q is not None else {})


def file_query(q: Any) -> dict[str, Any]:
    """Files are listed with ``_id`` = file name (GenieACS), stored as ``filename``."""
    q = q if q is not None else {}
    if isinstance(q, dict) and "_id" in q:
        q = {("filename" if k == "_id" else k): v for k, v in q.items()}
    return _Translator(_plain_fields(FILE_DATE_FIELDS, set())).query(q)


def check_precondition(q: Any) -> None:
    """A preset precondition is a device query; refuse one we could not run."""
    device_query(q)


# --- projection, sort, paging -------------------------------------------------------------------

def projection(raw: str | None) -> dict[str, int] | None:
    """``a,b.c`` -> {"_id": 1, "a": 1, "b.c": 1}; a path already covered by its parent is dropped."""
    if not raw:
        return None
    paths = sorted({p.strip().rstrip(".") for p in raw.split(",") if p.strip()})
    for p in paths:
        if not _FIELD_NAME.match(p):
            raise bad_request(f"invalid projection path {p!r}")
    kept: list[str] = []
    for p in paths:  # sorted: a parent comes before its children
        if not any(p == k or p.startswith(k + ".") for k in kept):
            kept.append(p)
    proj = dict.fromkeys(kept, 1)
    proj["_id"] = 1
    return proj


def sort_spec(raw: str | None, *, device: bool) -> list[tuple[str, int]]:
    q = parse_json(raw, "sort")
    if q is None:
        return []
    if not isinstance(q, dict):
        raise bad_request("sort must be a JSON object like {\"_lastInform\": -1}", q)
    out: list[tuple[str, int]] = []
    for key, direction in q.items():
        if direction not in (1, -1) or not _FIELD_NAME.match(key):
            raise bad_request(f"invalid sort {key!r}: {direction!r}")
        out.append((_device_field(key)[0] if device else key, direction))
    return out


def paging(skip: str | None, limit: str | None) -> tuple[int, int]:
    def num(v: str | None, name: str) -> int:
        if v is None or v == "":
            return 0
        if not v.isdigit():
            raise bad_request(f"{name} must be a non-negative integer", v)
        return int(v)

    return num(skip, "skip"), num(limit, "limit")


__all__ = [
    "ApiError", "check_precondition", "device_query", "fault_query", "file_query", "paging",
    "parse_json", "preset_query", "projection", "sort_spec", "task_query", "valid_path",
]
