"""Presets as the scheduler runs them: compiled once when loaded, so a session only evaluates.

Stored shape (GenieACS's, extended): ``{_id, weight, channel, schedule, events, precondition,
configurations, declarations}``. ``configurations`` keeps GenieACS's entries (value, age,
add_tag, delete_tag, provision, add_object, delete_object); ``declarations`` is the native form:
``{"path", "value"?, "type"?, "refresh"?, "instances"?, "notification"?, "accessList"?}``. A preset that does not compile is
skipped with a log line (the NBI refuses such presets, so only a hand-edited database has them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from provision_scripts.expressions import ExpressionError, looks_like_expression, to_query

from . import paths
from .query import Predicate, QueryError, compile_query
from .schedule import Schedule, ScheduleError

XSD_TYPES = {"xsd:string", "xsd:int", "xsd:unsignedInt", "xsd:long", "xsd:unsignedLong", "xsd:boolean",
             "xsd:dateTime", "xsd:base64", "xsd:hexBinary"}
MAX_INSTANCES = 1024


class PresetError(ValueError):
    """A preset or declaration that cannot be run."""


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
    if not isinstance(d, dict) or not isinstance(d.get("path"), str):
        raise PresetError(f"a declaration is an object with a path: {d!r}")
    extra = set(d) - {"path", "value", "type", "refresh", "instances", "secret", "notification", "accessList"}
    if extra:
        raise PresetError(f"declaration has unknown fields {sorted(extra)}")
    try:
        segs = paths.parse(d["path"])
    except paths.PathError as e:
        raise PresetError(str(e)) from None
    value = d.get("value")
    if "value" in d and (value is None or isinstance(value, (dict, list))):
        raise PresetError(f"value of {d['path']} must be a string, number or boolean")
    xsd = d.get("type")
    if xsd is not None and xsd not in XSD_TYPES:
        raise PresetError(f"unknown type {xsd!r}")
    refresh = d.get("refresh")
    if refresh is not None and (isinstance(refresh, bool) or not isinstance(refresh, (int, float)) or refresh < 0):
        raise PresetError("refresh is an age in seconds (a non-negative number)")
    instances = d.get("instances")
    count: tuple[int, int] | None = None
    if instances is not None:
        if isinstance(instances, bool):
            raise PresetError("instances is a count or {min, max}")
        if isinstance(instances, int):
            count = (instances, instances)
        elif isinstance(instances, dict) and set(instances) <= {"min", "max"}:
            lo, hi = instances.get("min", 0), instances.get("max", MAX_INSTANCES)
            if not all(isinstance(x, int) and not isinstance(x, bool) for x in (lo, hi)):
                raise PresetError("instances min/max must be integers")
            count = (lo, hi)
        else:
            raise PresetError("instances is a count or {min, max}")
        if not 0 <= count[0] <= count[1] <= MAX_INSTANCES:
            raise PresetError(f"instances must satisfy 0 <= min <= max <= {MAX_INSTANCES}")
        if "value" in d:
            raise PresetError("a declaration sets a value or counts instances, not both")
        last = segs[-1]
        if len(segs) < 2 or not (last == paths.WILD or isinstance(last, paths.Alias)):
            raise PresetError("instances needs a path ending with * or an alias, e.g. X.Table.* or X.Table.[Key:v]")
    notification, access_list = _attributes(d)
    if (notification is not None or access_list is not None) and instances is not None:
        raise PresetError("attributes (notification, accessList) are declared on parameters, not instance counts")
    if "value" not in d and refresh is None and instances is None and notification is None and access_list is None:
        raise PresetError(f"declaration of {d['path']} needs value, refresh, instances, notification or accessList")
    return Declaration(path=d["path"], segs=segs, value=value, has_value="value" in d, type=xsd,
                       refresh=float(refresh) if refresh is not None else None, instances=count,
                       secret=bool(d.get("secret", False)), notification=notification, access_list=access_list,
                       channel=channel, weight=weight)


def _attributes(d: dict) -> tuple[int | None, tuple[str, ...] | None]:
    """The parameter attributes a declaration wants (SetParameterAttributes), checked."""
    notification = d.get("notification")
    if notification is not None and (isinstance(notification, bool) or not isinstance(notification, int)
                                     or not 0 <= notification <= 6):
        raise PresetError("notification is 0 (off), 1 (passive), 2 (active) or 3-6 (CWMP 1.4 lightweight)")
    access = d.get("accessList")
    if access is not None and (not isinstance(access, list) or not all(isinstance(a, str) for a in access)):
        raise PresetError('accessList is a list of names, e.g. ["Subscriber"] or []')
    return notification, tuple(access) if access is not None else None


def _from_configuration(c: Any, channel: str, weight: int) -> Declaration | None:
    kind = c.get("type") if isinstance(c, dict) else None
    if kind == "value":
        return declaration({"path": c.get("name"), "value": c.get("value")}, channel=channel, weight=weight)
    if kind == "age":
        age = c.get("age")
        try:
            age = float(age)
        except (TypeError, ValueError):
            raise PresetError(f"age configuration needs seconds: {c!r}") from None
        return declaration({"path": c.get("name"), "refresh": age}, channel=channel, weight=weight)
    if kind in ("add_object", "delete_object"):
        name, obj = c.get("name"), c.get("object") or ""
        if not isinstance(name, str) or not isinstance(obj, str):
            raise PresetError(f"{kind} needs name and object: {c!r}")
        path = f"{name.rstrip('.')}.[{obj}]" if ":" in obj else f"{name.rstrip('.')}.*"
        count = {"min": 1} if kind == "add_object" else 0
        return declaration({"path": path, "instances": count}, channel=channel, weight=weight)
    if kind in ("add_tag", "delete_tag", "provision"):
        return None
    raise PresetError(f"unknown configuration type {kind!r}")


def _events(raw: Any) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(all required, none allowed, any of) from GenieACS's {code: bool} or a list of codes."""
    norm = lambda c: " ".join(str(c).split())  # noqa: E731
    if raw in (None, "", {}, []):
        return frozenset(), frozenset(), frozenset()
    if isinstance(raw, str):  # GenieACS's seeds write "0 BOOTSTRAP": every listed code required
        return frozenset(norm(c) for c in raw.split(",") if c.strip()), frozenset(), frozenset()
    if isinstance(raw, list):
        return frozenset(), frozenset(), frozenset(norm(c) for c in raw)
    if isinstance(raw, dict) and all(isinstance(v, bool) for v in raw.values()):
        return (frozenset(norm(k) for k, v in raw.items() if v), frozenset(norm(k) for k, v in raw.items() if not v),
                frozenset())
    raise PresetError("events maps event codes to true/false, or lists event codes")


@dataclass
class Preset:
    name: str
    weight: int
    channel: str
    precondition: Predicate
    declarations: list[Declaration]
    provisions: list[tuple[str, list]] = field(default_factory=list)
    add_tags: list[str] = field(default_factory=list)
    delete_tags: list[str] = field(default_factory=list)
    events_all: frozenset[str] = frozenset()
    events_none: frozenset[str] = frozenset()
    events_any: frozenset[str] = frozenset()
    schedule: Schedule | None = None

    def triggered_by(self, event_codes: list[str]) -> bool:
        codes = set(event_codes)
        if not self.events_all <= codes or self.events_none & codes:
            return False
        if self.events_any and not self.events_any & codes:
            return False
        return self.schedule is None or self.schedule.active()


def compile_preset(doc: dict) -> Preset:
    name = str(doc.get("_id"))
    weight = doc.get("weight", 0)
    if isinstance(weight, bool) or not isinstance(weight, int):
        raise PresetError("weight must be an integer")
    channel = doc.get("channel") or "default"
    if not isinstance(channel, str):
        raise PresetError("channel must be a string")
    pre = doc.get("precondition") or ""
    if isinstance(pre, str) and looks_like_expression(pre):  # GenieACS 1.2's expression form
        try:
            pre = to_query(pre)
        except ExpressionError as e:
            raise PresetError(f"precondition: {e}") from None
    elif isinstance(pre, str):
        try:
            pre = orjson.loads(pre) if pre.strip() else {}
        except orjson.JSONDecodeError as e:
            raise PresetError(f"precondition is not JSON: {e}") from None
    try:
        predicate = compile_query(pre)
    except QueryError as e:
        raise PresetError(f"precondition: {e}") from None
    schedule = None
    if doc.get("schedule"):
        try:
            schedule = Schedule(str(doc["schedule"]))
        except ScheduleError as e:
            raise PresetError(f"schedule: {e}") from None
    every, never, any_of = _events(doc.get("events"))
    decls: list[Declaration] = []
    provisions: list[tuple[str, list]] = []
    add_tags: list[str] = []
    delete_tags: list[str] = []
    for c in doc.get("configurations") or []:
        d = _from_configuration(c, channel, weight)
        if d is not None:
            decls.append(d)
        elif c["type"] == "provision":
            if not isinstance(c.get("name"), str) or not c["name"]:
                raise PresetError("provision configuration needs a name")
            provisions.append((c["name"], list(c.get("args") or [])))
        elif c["type"] == "add_tag":
            add_tags.append(str(c.get("tag")))
        else:
            delete_tags.append(str(c.get("tag")))
    for d in doc.get("declarations") or []:
        decls.append(declaration(d, channel=channel, weight=weight))
    return Preset(name=name, weight=weight, channel=channel, precondition=predicate, declarations=decls,
                  provisions=provisions, add_tags=add_tags, delete_tags=delete_tags, events_all=every,
                  events_none=never, events_any=any_of, schedule=schedule)
