"""The in-memory back end: a parsed query as a predicate over one device document.

Preset preconditions run this way in the scheduler, with the NBI's semantics: parameter paths
match the leaf's ``_value``, ``_tags`` matches any tag, ``_deviceId._OUI`` and the other
top-level fields match as stored, and ``"5"``/``"true"`` also match the typed values 5/True.
``compile_query`` refuses what this evaluator cannot run (``$all``, ``$size``, ``$type``,
``$elemMatch``, sub-document equality), so a bad preset is refused when it is loaded, never
half-applied in a session.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .errors import QueryError
from .paths import node_at
from .syntax import Field, Logical, Ops, Query, parse_query
from .values import alternatives, ranged

SUPPORTED = frozenset({"$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$regex", "$options",
                       "$not"})

Predicate = Callable[[dict], bool]
Test = Callable[[list[Any], bool], bool]  # of a field's (values, whether it exists)


def compile_query(q: Any) -> Predicate:
    """A predicate over device documents (None or "": always true); QueryError for anything
    refused or unsupported."""
    if q is None or q == "":
        return lambda doc: True
    return _query(parse_query(q))


def _query(q: Query) -> Predicate:
    parts = [_logical(n) if isinstance(n, Logical) else _field(n) for n in q]
    return lambda doc: all(p(doc) for p in parts)


def _logical(node: Logical) -> Predicate:
    subs = [_query(part) for part in node.parts]
    if node.op == "$and":
        return lambda d: all(p(d) for p in subs)
    if node.op == "$or":
        return lambda d: any(p(d) for p in subs)
    return lambda d: not any(p(d) for p in subs)  # $nor


def _field(f: Field) -> Predicate:
    if f.kind == "document":
        raise QueryError(f"{f.name}: sub-document equality is not supported in preconditions")
    test = _ops(f.value) if f.kind == "ops" else _equal(f.value)
    key = f.name
    return lambda d: test(*_field_values(d, key))


def _field_values(doc: dict, key: str) -> tuple[list[Any], bool]:
    """The values a field condition tests, and whether the field exists at all."""
    first, last = key.split(".", 1)[0], key.rsplit(".", 1)[-1]
    node = node_at(doc, key)
    if first.startswith("_") or last.startswith("_"):
        if node is None:
            return [], False
        return (list(node) if isinstance(node, list) else [node]), True
    if isinstance(node, dict):
        if "_value" in node:
            return [node["_value"]], True
        return [], True  # an object: exists, has no value
    return [], False


# --- value comparison ---------------------------------------------------------------------------

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


# --- operators ------------------------------------------------------------------------------------

def _equal(arg: Any) -> Test:
    if arg is None:
        return lambda vs, ex: not ex
    return lambda vs, ex: _equal_any(vs, arg)


def _not_equal(arg: Any) -> Test:
    if arg is None:
        return lambda vs, ex: ex
    return lambda vs, ex: not _equal_any(vs, arg)


def _range(op: str, arg: Any) -> Test:
    target = ranged(arg)
    return lambda vs, ex: any(_compare(op, v, target) for v in vs)


def _in(arg: list[Any]) -> Test:
    return lambda vs, ex: any(_equal_any(vs, x) for x in arg)


def _not_in(arg: list[Any]) -> Test:
    return lambda vs, ex: not any(_equal_any(vs, x) for x in arg)


def _exists(want: bool) -> Test:
    return lambda vs, ex: ex == want


def _regex(pattern: str, flags: str) -> Test:
    re_flags = 0
    for f, bit in (("i", re.I), ("m", re.M), ("s", re.S), ("x", re.X)):
        if f in flags:
            re_flags |= bit
    try:
        rx = re.compile(pattern, re_flags)
    except re.error as e:
        raise QueryError("$regex does not compile", str(e)) from None
    return lambda vs, ex: any(isinstance(v, str) and bool(rx.search(v)) for v in vs)


def _negation(inner: Test) -> Test:
    return lambda vs, ex: not inner(vs, ex)


def _op(op: str, arg: Any, flags: str) -> Test | None:
    """One operator of an expression (None for $options, which only modifies $regex)."""
    makers: dict[str, Callable[[], Test]] = {
        "$eq": lambda: _equal(arg), "$ne": lambda: _not_equal(arg), "$in": lambda: _in(arg),
        "$nin": lambda: _not_in(arg), "$exists": lambda: _exists(arg), "$regex": lambda: _regex(arg, flags),
        "$not": lambda: _negation(_ops(arg)),
    }
    if op in makers:
        return makers[op]()
    if op in ("$gt", "$gte", "$lt", "$lte"):
        return _range(op, arg)
    return None


def _ops(ops: Ops) -> Test:
    """Compile an operator expression into a test of (values, exists)."""
    flags = dict(ops.items).get("$options", "")
    tests: list[Test] = []
    for op, arg in ops.items:
        if op not in SUPPORTED:
            raise QueryError(f"operator {op} is not supported in preconditions")
        test = _op(op, arg, flags)
        if test is not None:
            tests.append(test)
    return lambda vs, ex: all(t(vs, ex) for t in tests)
