"""Presets as the scheduler runs them: compiled once when loaded, so a session only evaluates.

A stored preset (GenieACS's shape, extended with ``declarations``) is checked by
``device_query.presets.validate_preset``, the NBI's own check; here it becomes a ``Preset``:
its precondition a predicate over the device document, GenieACS's configurations (value, age,
add_object, delete_object) declarations like the native ones, its events and schedule ready to
test. A preset that does not compile is skipped with a log line (the NBI refuses such presets,
so only a hand-edited database has them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from device_query.errors import PresetError, QueryError
from device_query.memory import Predicate, compile_query
from device_query.presets import Declaration, declaration, precondition_query, validate_preset
from device_query.schedule import Schedule, ScheduleError


def _from_configuration(c: dict[str, Any], channel: str, weight: int) -> Declaration | None:
    """A GenieACS configuration as the declaration it amounts to (None: not a declaration)."""
    kind = c["type"]
    if kind == "value":
        return declaration({"path": c["name"], "value": c["value"]}, channel=channel, weight=weight)
    if kind == "age":
        try:
            age = float(c["age"])
        except (TypeError, ValueError):
            raise PresetError(f"age configuration needs seconds: {c!r}") from None
        return declaration({"path": c["name"], "refresh": age}, channel=channel, weight=weight)
    if kind in ("add_object", "delete_object"):
        name, obj = c["name"], c.get("object") or ""
        if not isinstance(obj, str):
            raise PresetError(f"{kind} needs name and object: {c!r}")
        path = f"{name.rstrip('.')}.[{obj}]" if ":" in obj else f"{name.rstrip('.')}.*"
        count = {"min": 1} if kind == "add_object" else 0
        return declaration({"path": path, "instances": count}, channel=channel, weight=weight)
    return None


def _events(raw: Any) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(all required, none allowed, any of) from validated events: GenieACS's {code: bool} or a
    list of codes."""
    norm = lambda c: " ".join(str(c).split())  # noqa: E731
    if isinstance(raw, list):
        return frozenset(), frozenset(), frozenset(norm(c) for c in raw)
    return (frozenset(norm(k) for k, v in raw.items() if v), frozenset(norm(k) for k, v in raw.items() if not v),
            frozenset())


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


def _precondition(pre: str) -> Predicate:
    try:
        return compile_query(precondition_query(pre))
    except PresetError:
        raise
    except QueryError as e:
        raise PresetError(f"precondition: {e.message}", e.detail) from None


# Stored fields that are empty (GenieACS writes "" or null) mean their default, as GenieACS reads them.
_EMPTY_MEANS = {"channel": "default", "schedule": "", "events": {}, "precondition": "", "configurations": [],
                "declarations": []}


def compile_preset(doc: dict) -> Preset:
    """A stored preset as the scheduler runs it; PresetError when it cannot be run."""
    doc = {**doc, **{k: v for k, v in _EMPTY_MEANS.items() if k in doc and not doc[k]}}
    valid = validate_preset(doc.get("_id"), doc)
    channel, weight = valid["channel"], valid["weight"]
    schedule = None
    if valid["schedule"].strip():
        try:
            schedule = Schedule(valid["schedule"])
        except ScheduleError as e:
            raise PresetError(f"schedule: {e}") from None
    every, never, any_of = _events(valid["events"])
    preset = Preset(name=str(doc.get("_id")), weight=weight, channel=channel,
                    precondition=_precondition(valid["precondition"]), declarations=[], events_all=every,
                    events_none=never, events_any=any_of, schedule=schedule)
    for c in valid["configurations"]:
        d = _from_configuration(c, channel, weight)
        if d is not None:
            preset.declarations.append(d)
        elif c["type"] == "provision":
            preset.provisions.append((c["name"], list(c.get("args") or [])))
        elif c["type"] == "add_tag":
            preset.add_tags.append(c["tag"])
        else:
            preset.delete_tags.append(c["tag"])
    preset.declarations.extend(declaration(d, channel=channel, weight=weight) for d in valid.get("declarations", []))
    return preset
