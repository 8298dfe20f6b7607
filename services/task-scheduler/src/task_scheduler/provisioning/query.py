"""Preset preconditions evaluated in memory against one device document.

The same query language as the NBI's device queries (MongoDB JSON, GenieACS style): parameter
paths match the leaf's ``_value``, ``_tags`` matches any tag, ``_deviceId._OUI`` and the other
top-level fields match as stored, and ``"5"``/``"true"`` also match the typed values 5/True.
``compile_query`` refuses what this evaluator cannot run, so a bad preset is rejected when it is
loaded, never half-applied in a session.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from acs_contracts.query_values import alternatives, ranged

LOGICAL = {"$and", "$or", "$nor"}
OPERATORS = {"$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$regex", "$options", "$not"}
MAX_DEPTH = 16

Predicate = Callable[[dict], bool]
Test = Callable[[list[Any], bool], bool]  # of a field's (values, whether it exists)


class QueryError(ValueError):
    """A precondition this evaluator cannot run."""


def lookup(doc: Any, path: str) -> Any:
    node = doc
    for seg in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(seg)
    return node


def _field_values(doc: dict, key: str) -> tuple[list[Any], bool]:
    """The values a field condition tests, and whether the field exists at all."""
    first, last = key.split(".", 1)[0], key.rsplit(".", 1)[-1]
    node = lookup(doc, key)
    if first.startswith("_") or last.startswith("_"):
        if node is None:
            return [], False
        return (list(node) if isinstance(node, list) else [node]), True
    if isinstance(node, dict):
        if "_value" in node:
            return [node["_value"]], True
        return [], True  # an object: exists, has no value
    return [], False


def _aware(v: Any) -> Any:
    if isinstance(v, datetime) and v.tzinfo is None:
        return v.replace(tzinfo=UTC)
    return v


def _same(a: Any, b: Any) -> bool:
    a, b = _aware(a), _aware(b)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return a == b


def _comparable(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return False
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return True
    return type(_aware(a)) is type(_aware(b)) and isinstance(a, (str, datetime))


def _compare(op: str, value: Any, target: Any) -> bool:
    value, target = _aware(value), _aware(target)
    if not _comparable(value, target):
        return False
    if op == "$gt":
        return value > target
    if op == "$gte":
        return value >= target
    if op == "$lt":
        return value < target
    return value <= target


def _equal_any(values: list[Any], target: Any) -> bool:
    alts = alternatives(target) if not isinstance(target, (list, dict)) else [target]
    return any(_same(v, a) for v in values for a in alts)


def _ops(cond: dict, depth: int) -> Test:
    """Compile an operator expression into a test of (values, exists)."""
    if depth > MAX_DEPTH:
        raise QueryError("query nests too deeply")
    tests: list[Test] = []
    flags = cond.get("$options", "")
    if "$options" in cond and ("$regex" not in cond or not isinstance(flags, str) or not set(flags) <= set("imsx")):
        raise QueryError("$options needs $regex and may only hold i, m, s, x")
    for op, arg in cond.items():
        if op not in OPERATORS:
            raise QueryError(f"operator {op} is not supported")
        test = _op(op, arg, flags, depth)
        if test is not None:
            tests.append(test)
    return lambda vs, ex: all(t(vs, ex) for t in tests)


def _op(op: str, arg: Any, flags: str, depth: int) -> Test | None:
    """One operator of an expression (None for $options, which only modifies $regex)."""
    if op == "$eq":
        return lambda vs, ex: _equal_any(vs, arg) if arg is not None else not ex
    if op == "$ne":
        return lambda vs, ex: not _equal_any(vs, arg) if arg is not None else ex
    if op in ("$gt", "$gte", "$lt", "$lte"):
        if isinstance(arg, (dict, list)):
            raise QueryError(f"{op} needs a scalar")
        target = ranged(arg)
        return lambda vs, ex: any(_compare(op, v, target) for v in vs)
    if op in ("$in", "$nin"):
        if not isinstance(arg, list):
            raise QueryError(f"{op} needs an array")
        if op == "$in":
            return lambda vs, ex: any(_equal_any(vs, x) for x in arg)
        return lambda vs, ex: not any(_equal_any(vs, x) for x in arg)
    if op == "$exists":
        if not isinstance(arg, (bool, int)):
            raise QueryError("$exists needs a boolean")
        want = bool(arg)
        return lambda vs, ex: ex == want
    if op == "$regex":
        if not isinstance(arg, str) or len(arg) > 512:
            raise QueryError("$regex needs a string of at most 512 characters")
        re_flags = 0
        for f, bit in (("i", re.I), ("m", re.M), ("s", re.S), ("x", re.X)):
            if f in flags:
                re_flags |= bit
        try:
            rx = re.compile(arg, re_flags)
        except re.error as e:
            raise QueryError(f"$regex does not compile: {e}") from None
        return lambda vs, ex: any(isinstance(v, str) and rx.search(v) for v in vs)
    if op == "$not":
        if not isinstance(arg, dict) or not arg or not all(k.startswith("$") for k in arg):
            raise QueryError("$not needs an operator expression")
        inner = _ops(arg, depth + 1)
        return lambda vs, ex: not inner(vs, ex)
    return None


_FIELD = re.compile(r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*$")


def compile_query(q: Any, depth: int = 0) -> Predicate:
    """A predicate over device documents; QueryError for anything unsupported."""
    if depth > MAX_DEPTH:
        raise QueryError("query nests too deeply")
    if q is None or q == "":
        return lambda doc: True
    if not isinstance(q, dict):
        raise QueryError("a query is a JSON object")
    parts: list[Predicate] = []
    for key, cond in q.items():
        if key in LOGICAL:
            if not isinstance(cond, list) or not cond:
                raise QueryError(f"{key} needs a non-empty array")
            parts.append(_logical(key, [compile_query(c, depth + 1) for c in cond]))
            continue
        if key.startswith("$"):
            raise QueryError(f"operator {key} is not allowed here")
        if not _FIELD.match(key):
            raise QueryError(f"invalid field name {key!r}")
        if isinstance(cond, dict) and cond and all(k.startswith("$") for k in cond):
            test = _ops(cond, depth + 1)
        elif isinstance(cond, dict):
            raise QueryError(f"{key}: sub-document equality is not supported in preconditions")
        else:
            test = _ops({"$eq": cond}, depth + 1)
        parts.append(_on_field(key, test))
    return lambda doc: all(p(doc) for p in parts)


def _logical(op: str, subs: list[Predicate]) -> Predicate:
    if op == "$and":
        return lambda d: all(p(d) for p in subs)
    if op == "$or":
        return lambda d: any(p(d) for p in subs)
    return lambda d: not any(p(d) for p in subs)  # $nor


def _on_field(key: str, test: Test) -> Predicate:
    return lambda d: test(*_field_values(d, key))


def fields(q: Any) -> set[str]:
    """Every field name a query tests (to know which need the device document)."""
    out: set[str] = set()
    if isinstance(q, dict):
        for key, cond in q.items():
            if key in LOGICAL and isinstance(cond, list):
                for c in cond:
                    out |= fields(c)
            elif not key.startswith("$"):
                out.add(key)
    return out
