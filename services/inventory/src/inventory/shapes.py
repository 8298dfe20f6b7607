"""Documents as the NBI shows them (GenieACS style): dates, ObjectIds and bytes as JSON, nested lookups."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from bson import ObjectId


def iso(dt: datetime) -> str:
    """GenieACS prints dates as JavaScript's toISOString: UTC, milliseconds, "Z"."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def to_json(value: Any) -> Any:
    """BSON values to JSON ones: dates to ISO strings, ObjectIds to hex, bytes to base64."""
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def dumps(value: Any) -> bytes:
    return orjson.dumps(to_json(value))


def lookup(doc: Mapping[str, Any], path: str) -> Any:
    """The node at a dotted path of a nested device document, or None."""
    node: Any = doc
    for seg in path.rstrip(".").split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(seg)
    return node


def param_value(doc: Mapping[str, Any], *paths: str) -> Any:
    """The ``_value`` of the first of ``paths`` the device document has."""
    for p in paths:
        node = lookup(doc, p)
        if isinstance(node, Mapping) and "_value" in node:
            return node["_value"]
    return None
