"""GenieACS-style queries (MongoDB JSON) parsed once and checked against an operator whitelist.

A query names fields: parameter paths (``InternetGatewayDevice.DeviceInfo.SoftwareVersion``,
matched on the leaf's ``_value``) or the document's own fields (``_tags``, ``_deviceId._OUI``,
``_lastInform``). Anything that could run code or scan unboundedly (``$where``, ``$expr``,
``$function``...) is refused here, with one set of messages, whichever back end then runs the
query: ``mongo`` (a filter for the NBI) or ``memory`` (a predicate for the scheduler).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from .errors import QueryError

LOGICAL = frozenset({"$and", "$or", "$nor"})
FIELD_OPS = frozenset({
    "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$all",
    "$exists", "$regex", "$options", "$not", "$size", "$type", "$elemMatch",
})
RANGE_OPS = frozenset({"$gt", "$gte", "$lt", "$lte"})
LIST_OPS = frozenset({"$in", "$nin", "$all"})
REGEX_FLAGS = frozenset("imsx")
MAX_REGEX = 512
MAX_DEPTH = 16

FIELD_NAME = re.compile(r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*$")


@dataclass(frozen=True, slots=True)
class Ops:
    """An operator expression, arguments checked: ``$not``'s is an Ops, ``$elemMatch``'s an Ops
    or a Query, ``$exists``'s a bool; the others as written."""

    items: tuple[tuple[str, Any], ...]

    def names(self) -> frozenset[str]:
        return frozenset(op for op, _ in self.items)


@dataclass(frozen=True, slots=True)
class Field:
    """One field's condition: a value to equal, a whole sub-document to equal, or operators."""

    name: str
    kind: Literal["equal", "document", "ops"]
    value: Any  # the value, the sub-document, or an Ops


@dataclass(frozen=True, slots=True)
class Logical:
    op: str  # $and, $or, $nor
    parts: tuple[Query, ...]


Node = Field | Logical
Query = tuple[Node, ...]  # every node must hold (an implicit $and), in the order written


def parse_query(q: Any, depth: int = 0) -> Query:
    """The parsed form of a query object; QueryError for anything not allowed."""
    if depth > MAX_DEPTH:
        raise QueryError("query nests too deeply")
    if not isinstance(q, dict):
        raise QueryError("query must be a JSON object", q)
    return tuple(_node(key, cond, depth) for key, cond in q.items())


def _node(key: str, cond: Any, depth: int) -> Node:
    if key in LOGICAL:
        if not isinstance(cond, list) or not cond:
            raise QueryError(f"{key} needs a non-empty array", cond)
        return Logical(key, tuple(parse_query(c, depth + 1) for c in cond))
    if key.startswith("$"):
        raise QueryError(f"operator {key} is not allowed here")
    if not FIELD_NAME.match(key):
        raise QueryError(f"invalid field name {key!r}")
    if _is_ops(cond):
        return Field(key, "ops", parse_ops(cond, depth))
    if isinstance(cond, dict):
        if any(k.startswith("$") for k in cond):
            raise QueryError(f"{key}: operators and plain fields mixed")
        return Field(key, "document", cond)
    return Field(key, "equal", cond)


def _is_ops(cond: Any) -> bool:
    return isinstance(cond, dict) and bool(cond) and all(k.startswith("$") for k in cond)


def parse_ops(cond: dict[str, Any], depth: int) -> Ops:
    """An operator expression (``{"$gt": 5, "$lt": 9}``) with its arguments checked."""
    if depth > MAX_DEPTH:
        raise QueryError("query nests too deeply")
    items = []
    for op, arg in cond.items():
        if op not in FIELD_OPS:
            raise QueryError(f"operator {op} is not allowed", sorted(FIELD_OPS | LOGICAL))
        items.append((op, _ARGUMENT[op](op, arg, depth)))
    if "$options" in cond and "$regex" not in cond:
        raise QueryError("$options without $regex")
    return Ops(tuple(items))


# --- operator arguments: each checker returns the argument as the back ends take it --------------

def _any(op: str, v: Any, depth: int) -> Any:
    return v


def _scalar(op: str, v: Any, depth: int) -> Any:
    if isinstance(v, (dict, list)):
        raise QueryError(f"{op} needs a scalar", v)
    return v


def _array(op: str, v: Any, depth: int) -> Any:
    if not isinstance(v, list):
        raise QueryError(f"{op} needs an array", v)
    return v


def _exists(op: str, v: Any, depth: int) -> bool:
    if not isinstance(v, (bool, int)):
        raise QueryError("$exists needs a boolean", v)
    return bool(v)


def _size(op: str, v: Any, depth: int) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise QueryError("$size needs a non-negative integer", v)
    return v


def _type(op: str, v: Any, depth: int) -> Any:
    if not isinstance(v, (str, int)) or isinstance(v, bool):
        raise QueryError("$type needs a type name or number", v)
    return v


def _regex(op: str, v: Any, depth: int) -> str:
    if not isinstance(v, str) or len(v) > MAX_REGEX:
        raise QueryError(f"$regex needs a string (at most {MAX_REGEX} characters)", v)
    try:
        re.compile(v)
    except re.error as e:
        raise QueryError("$regex does not compile", str(e)) from None
    return v


def _options(op: str, v: Any, depth: int) -> str:
    if not isinstance(v, str) or not set(v) <= REGEX_FLAGS:
        raise QueryError("$options may only hold i, m, s, x", v)
    return v


def _not(op: str, v: Any, depth: int) -> Ops:
    if not _is_ops(v):
        raise QueryError("$not needs an operator expression", v)
    return parse_ops(v, depth + 1)


def _elem_match(op: str, v: Any, depth: int) -> Ops | Query:
    if not isinstance(v, dict):
        raise QueryError("$elemMatch needs an object", v)
    if all(k.startswith("$") for k in v):
        return parse_ops(v, depth + 1)
    return parse_query(v, depth + 1)


_ARGUMENT: dict[str, Callable[[str, Any, int], Any]] = {
    "$eq": _any, "$ne": _any, **dict.fromkeys(RANGE_OPS, _scalar), **dict.fromkeys(LIST_OPS, _array),
    "$exists": _exists, "$size": _size, "$type": _type, "$regex": _regex, "$options": _options,
    "$not": _not, "$elemMatch": _elem_match,
}

