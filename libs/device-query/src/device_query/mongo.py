"""The MongoDB back end: a parsed query as a filter over the collections the NBI serves.

Device queries match a parameter leaf's ``_value``, and a string like ``"5"`` or ``"true"``
also matches the typed value (values are stored typed), as GenieACS does. Dates given as
strings are compared as dates on date fields (``_lastInform``, ``..._timestamp``); ``_id``
strings of tasks are ObjectIds. A field rule says, per field name, where it is stored and
which of these conversions apply.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from bson import ObjectId

from .syntax import Field, Logical, Ops, Query, parse_query
from .values import alternatives, parse_date, ranged

Kind = Literal["param", "date", "oid", "plain"]
FieldRule = Callable[[str], tuple[str, Kind]]  # field name -> (stored name, kind)

DEVICE_DATE_FIELDS = frozenset({"_registered", "_lastInform", "_lastBoot", "_lastBootstrap"})
TASK_DATE_FIELDS = frozenset({"timestamp", "expiry", "completedAt", "connectionRequest.at"})
FAULT_DATE_FIELDS = frozenset({"timestamp"})
FILE_DATE_FIELDS = frozenset({"uploadDate"})


def _as_date(v: Any) -> Any:
    d = parse_date(v) if isinstance(v, str) else None
    return d if d is not None else v


def _as_object_id(v: Any) -> Any:
    if isinstance(v, str) and ObjectId.is_valid(v):
        return ObjectId(v)
    return v


def _convert(v: Any, kind: Kind) -> Any:
    if kind == "date":
        return _as_date(v)
    if kind == "oid":
        return _as_object_id(v)
    return v


def _typed(v: Any, kind: Kind) -> bool:
    """Whether a value is matched with its typed alternatives ("5" also matches 5)."""
    return kind == "param" and not isinstance(v, (list, dict)) and v is not None


class _Filter:
    """Writes a parsed query as a MongoDB filter under one field rule."""

    def __init__(self, rule: FieldRule) -> None:
        self.rule = rule

    def query(self, q: Query) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for node in q:
            if isinstance(node, Logical):
                out[node.op] = [self.query(part) for part in node.parts]
            else:
                self._field(out, node)
        return out

    def _field(self, out: dict[str, Any], f: Field) -> None:
        stored, kind = self.rule(f.name)
        if f.kind == "ops":
            if kind == "param" and f.value.names() == {"$exists"}:
                stored = stored.removesuffix("._value")  # objects have no _value; test the node itself
            out[stored] = self.ops(f.value, kind)
        elif f.kind == "document":
            out[stored] = f.value  # whole sub-document equality
        elif _typed(f.value, kind):
            alts = alternatives(f.value)
            out[stored] = {"$in": alts} if len(alts) > 1 else f.value
        else:
            out[stored] = _convert(f.value, kind)

    def ops(self, ops: Ops, kind: Kind) -> dict[str, Any]:
        expr: dict[str, Any] = {}
        for op, v in ops.items:
            _WRITERS.get(op, _as_is)(self, expr, op, v, kind)
        return expr


Writer = Callable[[_Filter, dict[str, Any], str, Any, Kind], None]


def _equality(f: _Filter, expr: dict[str, Any], op: str, v: Any, kind: Kind) -> None:
    if _typed(v, kind):
        alts = alternatives(v)
        if len(alts) > 1:
            expr["$in" if op == "$eq" else "$nin"] = alts
            return
    expr[op] = _convert(v, kind)


def _range(f: _Filter, expr: dict[str, Any], op: str, v: Any, kind: Kind) -> None:
    expr[op] = ranged(v) if kind == "param" else _convert(v, kind)


def _list(f: _Filter, expr: dict[str, Any], op: str, v: Any, kind: Kind) -> None:
    if kind == "param" and op != "$all":
        expr[op] = [a for x in v for a in alternatives(x)]
    else:
        expr[op] = [_convert(x, kind) for x in v]


def _not(f: _Filter, expr: dict[str, Any], op: str, v: Any, kind: Kind) -> None:
    expr[op] = f.ops(v, kind)


def _elem_match(f: _Filter, expr: dict[str, Any], op: str, v: Any, kind: Kind) -> None:
    expr[op] = f.ops(v, "plain") if isinstance(v, Ops) else _Filter(_plain_fields(frozenset(), frozenset())).query(v)


def _as_is(f: _Filter, expr: dict[str, Any], op: str, v: Any, kind: Kind) -> None:
    expr[op] = v


_WRITERS: dict[str, Writer] = {
    "$eq": _equality, "$ne": _equality, "$gt": _range, "$gte": _range, "$lt": _range, "$lte": _range,
    "$in": _list, "$nin": _list, "$all": _list, "$not": _not, "$elemMatch": _elem_match,
}


def device_field(key: str) -> tuple[str, Kind]:
    """Where a device query's field is stored: a parameter's ``_value``, or the field itself."""
    first = key.split(".", 1)[0]
    last = key.rsplit(".", 1)[-1]
    if first.startswith("_"):
        return key, ("date" if key in DEVICE_DATE_FIELDS else "plain")
    if last.startswith("_"):
        return key, ("date" if last == "_timestamp" else "plain")
    return f"{key}._value", "param"


def _plain_fields(dates: frozenset[str], oid_fields: frozenset[str]) -> FieldRule:
    def rule(key: str) -> tuple[str, Kind]:
        if key in oid_fields:
            return key, "oid"
        return key, ("date" if key in dates else "plain")

    return rule


def to_filter(q: Any, rule: FieldRule) -> dict[str, Any]:
    """A query object (None: everything) as a MongoDB filter; QueryError when refused."""
    return _Filter(rule).query(parse_query(q if q is not None else {}))


def device_query(q: Any) -> dict[str, Any]:
    return to_filter(q, device_field)


def task_query(q: Any) -> dict[str, Any]:
    return to_filter(q, _plain_fields(TASK_DATE_FIELDS, frozenset({"_id"})))


def fault_query(q: Any) -> dict[str, Any]:
    return to_filter(q, _plain_fields(FAULT_DATE_FIELDS, frozenset()))


def preset_query(q: Any) -> dict[str, Any]:
    return to_filter(q, _plain_fields(frozenset(), frozenset()))


def file_query(q: Any) -> dict[str, Any]:
    """Files are listed with ``_id`` = file name (GenieACS), stored as ``filename``."""
    q = q if q is not None else {}
    if isinstance(q, dict) and "_id" in q:
        q = {("filename" if k == "_id" else k): v for k, v in q.items()}
    return to_filter(q, _plain_fields(FILE_DATE_FIELDS, frozenset()))
