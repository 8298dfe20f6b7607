"""The NBI's own query-string parameters: JSON parsing, projection, sort and paging.

The queries themselves (operator whitelist, GenieACS value matching, the MongoDB filter) are
``device_query.mongo``'s, shared with the scheduler; a refused one is answered 400 (app.py).
"""

from __future__ import annotations

from typing import Any

import orjson
from device_query.mongo import device_field
from device_query.syntax import FIELD_NAME

from .errors import bad_request


def parse_json(raw: str | None, what: str) -> Any:
    if raw is None or raw == "":
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise bad_request(f"{what} is not valid JSON", str(e)) from None


def projection(raw: str | None) -> dict[str, int] | None:
    """``a,b.c`` -> {"_id": 1, "a": 1, "b.c": 1}; a path already covered by its parent is dropped."""
    if not raw:
        return None
    paths = sorted({p.strip().rstrip(".") for p in raw.split(",") if p.strip()})
    for p in paths:
        if not FIELD_NAME.match(p):
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
        if direction not in (1, -1) or not FIELD_NAME.match(key):
            raise bad_request(f"invalid sort {key!r}: {direction!r}")
        out.append((device_field(key)[0] if device else key, direction))
    return out


def paging(skip: str | None, limit: str | None) -> tuple[int, int]:
    def num(v: str | None, name: str) -> int:
        if v is None or v == "":
            return 0
        if not v.isdigit():
            raise bad_request(f"{name} must be a non-negative integer", v)
        return int(v)

    return num(skip, "skip"), num(limit, "limit")
