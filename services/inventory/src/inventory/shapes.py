"""Documents as the NBI shows them (GenieACS style) and parameter paths as TR-069 writes them."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from bson import ObjectId

from acs_contracts.query_values import parse_date  # noqa: F401  (the NBI's date parsing, shared)

# A path segment: a TR-106 name or an instance number. Paths end with "." for partial paths.
_SEGMENT = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_\-]*|[0-9]+)$")


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


def valid_path(path: Any, *, partial: bool = True, allow_empty: bool = False) -> bool:
    """A TR-069 parameter path; ``partial`` allows a trailing "." (object path)."""
    if not isinstance(path, str):
        return False
    if path == "":
        return allow_empty
    if len(path) > 1024:
        return False
    body = path[:-1] if path.endswith(".") else path
    if path.endswith(".") and not partial:
        return False
    return all(_SEGMENT.match(s) for s in body.split("."))


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
