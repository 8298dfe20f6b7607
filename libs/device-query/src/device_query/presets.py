"""Presets and declarations checked once, for the NBI (PUT /presets) and the scheduler (loading).

A preset is stored in GenieACS's shape, extended: ``{_id, weight, channel, schedule, events,
precondition, configurations, declarations}``. ``validate_preset`` returns the normalised
document the NBI stores (events as GenieACS's ``{code: bool}`` when given as a string, the
precondition as its JSON text or the expression as written); the scheduler turns that into its
runtime objects. ``declaration`` checks one desired-state entry (``{"path", "value"?, "type"?,
"refresh"?, "instances"?, "secret"?, "notification"?, "accessList"?}``), from a preset or a
script's ``declare()``. Every refusal is a PresetError saying what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from provision_scripts.expressions import ExpressionError, looks_like_expression, to_query

from . import paths
from .errors import PathError, PresetError, QueryError
from .schedule import Schedule, ScheduleError
from .syntax import parse_query
from .xsd import DECLARATION_TYPES

PRESET_FIELDS = frozenset({"weight", "channel", "schedule", "events", "precondition", "configurations",
                           "declarations", "_id", "_tenant"})  # _tenant: the NBI's tenant_preset
CONFIG_FIELDS = {
    "value": {"name", "value"},
    "age": {"name", "age"},
    "add_tag": {"tag"},
    "delete_tag": {"tag"},
    "provision": {"name", "args"},
    "add_object": {"name", "object"},
    "delete_object": {"name", "object"},
}
PATH_CONFIGS = frozenset({"value", "age", "add_object", "delete_object"})
DECLARATION_FIELDS = frozenset({"path", "value", "type", "refresh", "instances", "secret", "notification",
                                "accessList"})
MAX_INSTANCES = 1024


# --- declarations ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Declaration:
    """A parameter's desired state: its value, how fresh our copy must be, how many instances."""

    path: str
    segs: tuple
    value: Any = None
    has_value: bool = False
    type: str | None = None
    refresh: float | None = None  # seconds; None: whatever the ACS knows is good enough
    since: datetime | None = None  # or an absolute time our copy must be newer than (scripts' timestamps)
    instances: tuple[int, int] | None = None  # (min, max) instances matching ``path``
    secret: bool = False  # the value is set but never stored in the device document
    notification: int | None = None  # wanted notification attribute: 0 off, 1 passive, 2 active (3-6: CWMP 1.4)
    access_list: tuple[str, ...] | None = None  # wanted AccessList attribute (e.g. ("Subscriber",) or ())
    channel: str = "default"
    weight: int = 0


def declaration(d: Any, *, channel: str = "default", weight: int = 0) -> Declaration:
    """One declaration checked and normalised; PresetError saying what is wrong."""
    if not isinstance(d, dict) or not isinstance(d.get("path"), str):
        raise PresetError("a declaration is an object with a path", d)
    extra = set(d) - DECLARATION_FIELDS
    if extra:
        raise PresetError(f"declaration has unknown fields {sorted(extra)}", sorted(DECLARATION_FIELDS))
    try:
        segs = paths.parse(d["path"])
    except PathError as e:
        raise PresetError(e.message, e.detail) from None
    _check_value(d)
    refresh = d.get("refresh")
    if refresh is not None and (isinstance(refresh, bool) or not isinstance(refresh, (int, float)) or refresh < 0):
        raise PresetError("refresh is an age in seconds (a non-negative number)", d)
    if "secret" in d and not isinstance(d["secret"], bool):
        raise PresetError("secret must be true or false", d)
    count = _instances(d, segs)
    notification, access_list = _attributes(d)
    if (notification is not None or access_list is not None) and count is not None:
        raise PresetError("attributes (notification, accessList) are declared on parameters, not instance counts", d)
    if "value" not in d and refresh is None and count is None and notification is None and access_list is None:
        raise PresetError(f"declaration of {d['path']} needs value, refresh, instances, notification or accessList", d)
    return Declaration(path=d["path"], segs=segs, value=d.get("value"), has_value="value" in d, type=d.get("type"),
                       refresh=float(refresh) if refresh is not None else None, instances=count,
                       secret=bool(d.get("secret", False)), notification=notification, access_list=access_list,
                       channel=channel, weight=weight)


def _check_value(d: dict) -> None:
    if "value" in d and (d["value"] is None or isinstance(d["value"], (dict, list))):
        raise PresetError(f"value of {d['path']} must be a string, number or boolean", d)
    xsd = d.get("type")
    if xsd is not None and xsd not in DECLARATION_TYPES:
        raise PresetError(f"unknown type {xsd!r}", sorted(DECLARATION_TYPES))


def _instances(d: dict, segs: tuple[paths.Segment, ...]) -> tuple[int, int] | None:
    """The (min, max) instance count a declaration asks for, or None."""
    instances = d.get("instances")
    if instances is None:
        return None
    if isinstance(instances, int) and not isinstance(instances, bool):
        lo = hi = instances
    elif isinstance(instances, dict) and set(instances) <= {"min", "max"}:
        lo, hi = instances.get("min", 0), instances.get("max", MAX_INSTANCES)
        if not all(isinstance(x, int) and not isinstance(x, bool) for x in (lo, hi)):
            raise PresetError("instances min/max must be integers", d)
    else:
        raise PresetError("instances is a count or {min, max}", d)
    if not 0 <= lo <= hi <= MAX_INSTANCES:
        raise PresetError(f"instances must satisfy 0 <= min <= max <= {MAX_INSTANCES}", d)
    if "value" in d:
        raise PresetError("a declaration sets a value or counts instances, not both", d)
    last = segs[-1]
    if len(segs) < 2 or not (last == paths.WILD or isinstance(last, paths.Alias)):
        raise PresetError("instances needs a path ending with * or an alias, e.g. X.Table.* or X.Table.[Key:v]", d)
    return lo, hi


def _attributes(d: dict) -> tuple[int | None, tuple[str, ...] | None]:
    """The parameter attributes a declaration wants (SetParameterAttributes), checked."""
    notification = d.get("notification")
    if notification is not None and (isinstance(notification, bool) or not isinstance(notification, int)
                                     or not 0 <= notification <= 6):
        raise PresetError("notification is 0 (off), 1 (passive), 2 (active) or 3-6 (CWMP 1.4 lightweight)", d)
    access = d.get("accessList")
    if access is not None and (not isinstance(access, list) or not all(isinstance(a, str) for a in access)):
        raise PresetError('accessList is a list of names, e.g. ["Subscriber"] or []', d)
    return notification, tuple(access) if access is not None else None


# --- GenieACS configurations ---------------------------------------------------------------------

def configuration(c: Any) -> dict[str, Any]:
    """One GenieACS configuration entry (value, age, add_tag, ... provision), checked."""
    if not isinstance(c, dict) or c.get("type") not in CONFIG_FIELDS:
        raise PresetError("configuration needs type " + ", ".join(sorted(CONFIG_FIELDS)), c)
    allowed = CONFIG_FIELDS[c["type"]]
    extra = set(c) - allowed - {"type"}
    if extra:
        raise PresetError(f"{c['type']} configuration has unknown fields {sorted(extra)}", c)
    for key in allowed - {"args", "value", "age", "object"}:
        if not isinstance(c.get(key), str) or not c[key]:
            raise PresetError(f"{c['type']} configuration needs {key}", c)
    if c["type"] in PATH_CONFIGS and not paths.valid_path(c["name"]):
        raise PresetError("invalid parameter path in configuration", c["name"])
    if c["type"] == "age" and (isinstance(c.get("age"), bool) or not isinstance(c.get("age"), (int, str))):
        raise PresetError("age configuration needs age (seconds)", c)
    if c["type"] == "value" and (c.get("value") is None or isinstance(c.get("value"), (dict, list))):
        raise PresetError("value configuration needs a scalar value", c)
    if "args" in c and c["args"] is not None and not isinstance(c["args"], list):
        raise PresetError("provision args must be an array", c)
    return c


# --- schedule, events, precondition ---------------------------------------------------------------

def validate_schedule(text: str) -> None:
    """``[window seconds] minute hour day-of-month month day-of-week`` (empty: no schedule)."""
    if not text.strip():
        return
    try:
        Schedule(text)
    except ScheduleError as e:
        raise PresetError(str(e), text) from None


def events(raw: Any) -> Any:
    """GenieACS's ``{code: bool}`` (a string of codes, as its seeds write, becomes one), or a list
    of codes (any of them triggers)."""
    if isinstance(raw, str):  # "0 BOOTSTRAP": every listed code required
        return {" ".join(c.split()): True for c in raw.split(",") if c.strip()}
    if isinstance(raw, list) and all(isinstance(e, str) and e.strip() for e in raw):
        return raw
    if isinstance(raw, dict) and all(isinstance(v, bool) for v in raw.values()):
        return raw
    raise PresetError("events must map event codes to true/false, or list event codes", raw)


def precondition_query(pre: Any) -> dict[str, Any]:
    """A precondition as a device query: an object, JSON text, or GenieACS 1.2's expression form
    (``DeviceID.ProductClass = "X" AND Tags.lab IS NOT NULL``); empty: every device."""
    if isinstance(pre, dict):
        return pre
    if not isinstance(pre, str):
        raise PresetError("precondition must be a JSON query (object or string) or a GenieACS expression", pre)
    if looks_like_expression(pre):
        try:
            return to_query(pre)
        except ExpressionError as e:
            raise PresetError(f"precondition: {e}", pre) from None
    if not pre.strip():
        return {}
    try:
        return orjson.loads(pre)
    except orjson.JSONDecodeError as e:
        raise PresetError("precondition is not valid JSON", str(e)) from None


def check_precondition(query: Any) -> None:
    """Refuse a precondition no back end could run (the operator whitelist, argument shapes)."""
    try:
        parse_query(query)
    except QueryError as e:
        raise PresetError(f"precondition: {e.message}", e.detail) from None


# --- the preset -----------------------------------------------------------------------------------

def _scalars(body: dict[str, Any]) -> tuple[int, str, str]:
    """Weight, channel and schedule, checked."""
    weight = body.get("weight", 0)
    if isinstance(weight, bool) or not isinstance(weight, int):
        raise PresetError("weight must be an integer", weight)
    channel = body.get("channel", "default")
    if not isinstance(channel, str) or not channel:
        raise PresetError("channel must be a non-empty string", channel)
    schedule = body.get("schedule", "")
    if not isinstance(schedule, str):
        raise PresetError("schedule must be a string", schedule)
    validate_schedule(schedule)
    return weight, channel, schedule


def _array(body: dict[str, Any], key: str) -> list[Any]:
    value = body.get(key, [])
    if not isinstance(value, list):
        raise PresetError(f"{key} must be an array", value)
    return value


def validate_preset(name: Any, body: Any) -> dict[str, Any]:
    """A preset document checked and normalised (what the NBI stores); PresetError otherwise."""
    if not isinstance(body, dict):
        raise PresetError("preset must be a JSON object", body)
    extra = set(body) - PRESET_FIELDS
    if extra:
        raise PresetError(f"unknown preset fields {sorted(extra)}", sorted(PRESET_FIELDS))
    if "_id" in body and body["_id"] != name:
        raise PresetError("_id in body differs from the URL")
    weight, channel, schedule = _scalars(body)
    codes = events(body.get("events", {}))
    pre = body.get("precondition", "")
    query = precondition_query(pre)
    check_precondition(query)
    configurations = _array(body, "configurations")
    declarations = _array(body, "declarations")
    expression = isinstance(pre, str) and looks_like_expression(pre)
    doc = {
        "_id": name, "weight": weight, "channel": channel, "schedule": schedule, "events": codes,
        "precondition": pre.strip() if expression else orjson.dumps(query).decode() if query else "",
        "configurations": [configuration(c) for c in configurations],
    }
    if declarations:
        for d in declarations:
            declaration(d)
        doc["declarations"] = declarations
    return doc
