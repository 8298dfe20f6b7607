"""GenieACS 1.2's precondition expressions, as the MongoDB-style device queries the ACS runs.

GenieACS's UI writes a preset's precondition as an expression such as
``DeviceID.ProductClass = "HG8245" AND Tags.lab IS NOT NULL``; older presets hold a JSON query.
``to_query`` turns the expression into the JSON query form, which the NBI validates and the
scheduler evaluates, so both forms behave alike. Supported: ``AND``, ``OR``, ``NOT``,
parentheses, ``= <> > >= < <=``, ``[NOT] LIKE`` (``%`` any text, ``_`` one character),
``IS [NOT] NULL``, strings, numbers, ``true``/``false``/``null``; parameter paths, ``Tags.<tag>``,
``DeviceID.<field>`` and ``Events.<event>``. Anything else is an ExpressionError naming it.
"""

from __future__ import annotations

import re
from typing import Any

DEVICE_ID = {"ID": "_id", "Manufacturer": "_deviceId._Manufacturer", "OUI": "_deviceId._OUI",
             "ProductClass": "_deviceId._ProductClass", "SerialNumber": "_deviceId._SerialNumber"}
EVENTS = {"Inform": "_lastInform", "1_BOOT": "_lastBoot", "0_BOOTSTRAP": "_lastBootstrap", "Registered": "_registered"}
KEYWORDS = {"AND", "OR", "NOT", "IS", "NULL", "LIKE", "TRUE", "FALSE"}
COMPARE = {"=": "$eq", "<>": "$ne", ">": "$gt", ">=": "$gte", "<": "$lt", "<=": "$lte"}
FLIP = {"=": "=", "<>": "<>", ">": "<", ">=": "<=", "<": ">", "<=": ">="}

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<number>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
    | (?P<op><>|>=|<=|=|>|<|!=)
    | (?P<paren>[()])
    | (?P<word>[A-Za-z_][A-Za-z0-9_\-]*(?:\.(?:[A-Za-z0-9_\-]+|\*|\[[^\]]*\]))*)
    )""", re.VERBOSE)


class ExpressionError(ValueError):
    """An expression that is not one, or uses what the ACS does not evaluate."""


def looks_like_expression(text: str) -> bool:
    """A precondition string that is not a JSON query (GenieACS 1.2's UI form)."""
    s = text.strip()
    return bool(s) and not s.startswith("{")


def _tokens(text: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ExpressionError(f"unexpected {text[pos:].strip()[:20]!r} at position {pos}")
        pos = m.end()
        kind = m.lastgroup
        raw = m.group(kind or "")
        if kind == "string":
            out.append(("lit", re.sub(r"\\(.)", r"\1", raw[1:-1])))
        elif kind == "number":
            out.append(("lit", float(raw) if any(c in raw for c in ".eE") else int(raw)))
        elif kind == "op":
            out.append(("op", "<>" if raw == "!=" else raw))
        elif kind == "paren":
            out.append((raw, raw))
        elif raw.upper() in KEYWORDS:
            word = raw.upper()
            out.append(("lit", word == "TRUE") if word in ("TRUE", "FALSE") else ("kw", word))
        else:
            out.append(("path", raw))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self, kind: str, value: Any = None) -> bool:
        if self.i >= len(self.toks):
            return False
        k, v = self.toks[self.i]
        return k == kind and (value is None or v == value)

    def take(self, kind: str, value: Any = None) -> Any:
        if not self.peek(kind, value):
            got = self.toks[self.i][1] if self.i < len(self.toks) else "the end"
            raise ExpressionError(f"expected {value or kind}, found {got!r}")
        self.i += 1
        return self.toks[self.i - 1][1]

    def parse(self) -> dict[str, Any]:
        q = self.or_()
        if self.i != len(self.toks):
            raise ExpressionError(f"unexpected {self.toks[self.i][1]!r}")
        return q

    def or_(self) -> dict[str, Any]:
        parts = [self.and_()]
        while self.peek("kw", "OR"):
            self.i += 1
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else {"$or": parts}

    def and_(self) -> dict[str, Any]:
        parts = [self.not_()]
        while self.peek("kw", "AND"):
            self.i += 1
            parts.append(self.not_())
        return parts[0] if len(parts) == 1 else {"$and": parts}

    def not_(self) -> dict[str, Any]:
        if self.peek("kw", "NOT"):
            self.i += 1
            return {"$nor": [self.not_()]}
        return self.comparison()

    def operand(self) -> tuple[str, Any]:
        if self.peek("path"):
            return "path", self.take("path")
        if self.peek("lit"):
            return "lit", self.take("lit")
        if self.peek("kw", "NULL"):
            self.i += 1
            return "lit", None
        got = self.toks[self.i][1] if self.i < len(self.toks) else "the end"
        raise ExpressionError(f"expected a parameter or a value, found {got!r}")

    def comparison(self) -> dict[str, Any]:
        if self.peek("("):
            self.i += 1
            q = self.or_()
            self.take(")")
            return q
        kind, left = self.operand()
        if self.peek("kw", "IS"):
            self.i += 1
            negate = self.peek("kw", "NOT")
            self.i += negate
            self.take("kw", "NULL")
            return _is_null(_need_path(kind, left), not negate)
        negate = self.peek("kw", "NOT")
        if negate or self.peek("kw", "LIKE"):
            self.i += negate
            self.take("kw", "LIKE")
            rkind, pattern = self.operand()
            if rkind != "lit" or not isinstance(pattern, str):
                raise ExpressionError("LIKE takes a string pattern")
            q = _compare(_need_path(kind, left), "$regex", _like(pattern))
            return {"$nor": [q]} if negate else q
        if not self.peek("op"):
            if kind == "path":  # a bare parameter: true when it is set and truthy, as GenieACS reads it
                return _compare(left, "$eq", True)
            raise ExpressionError(f"a value alone is not a condition: {left!r}")
        op = self.take("op")
        rkind, right = self.operand()
        if kind == "lit" and rkind == "path":
            kind, left, rkind, right, op = rkind, right, kind, left, FLIP[op]
        if kind != "path" or rkind != "lit":
            raise ExpressionError("a comparison is between a parameter and a value")
        if right is None:
            return _is_null(left, op == "=") if op in ("=", "<>") else {"$and": [{"_id": {"$exists": False}}]}
        return _compare(left, COMPARE[op], right)


def _need_path(kind: str, value: Any) -> str:
    if kind != "path":
        raise ExpressionError(f"{value!r} is not a parameter")
    return str(value)


def _like(pattern: str) -> str:
    out = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return f"^{out}$"


def _field(path: str) -> str:
    root, _, rest = path.partition(".")
    if root == "DeviceID":
        if rest not in DEVICE_ID:
            raise ExpressionError(f"unknown DeviceID field {rest!r}")
        return DEVICE_ID[rest]
    if root == "Events":
        if rest not in EVENTS:
            raise ExpressionError(f"unknown event {rest!r}")
        return EVENTS[rest]
    if "*" in path or "[" in path:
        raise ExpressionError(f"a precondition names one parameter, not a pattern: {path!r}")
    return path


def _is_null(path: str, null: bool) -> dict[str, Any]:
    if path.startswith("Tags."):
        tag = path[5:]
        return {"_tags": {"$ne": tag}} if null else {"_tags": tag}
    return {_field(path): {"$exists": not null}}


def _compare(path: str, op: str, value: Any) -> dict[str, Any]:
    if path.startswith("Tags."):
        tag = path[5:]
        if op == "$eq" and value is True or op == "$ne" and value is False:
            return {"_tags": tag}
        if op == "$eq" and value is False or op == "$ne" and value is True:
            return {"_tags": {"$ne": tag}}
        raise ExpressionError(f"a tag is compared with true or false: {path}")
    field = _field(path)
    if op == "$eq":
        return {field: value}
    return {field: {op: value}}


def to_query(text: str) -> dict[str, Any]:
    """The JSON query of a GenieACS expression (``{}`` for an empty one)."""
    if not isinstance(text, str):
        raise ExpressionError("an expression is text")
    if not text.strip():
        return {}
    return _Parser(text).parse()
