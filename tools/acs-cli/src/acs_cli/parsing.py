"""What the operator types, checked and turned into what the NBI takes: parameter values with
their types, rate limits, durations, device queries and token files. Pure functions; every
mistake is a :class:`UsageError` with a message that says what was expected."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cwmp import values
from cwmp.errors import EncodeError


class UsageError(ValueError):
    """Bad input on the command line (exit code 2)."""


XSD_TYPES = values.SCHEMA_TYPES  # what a value may be typed as (cwmp.values: the NBI checks the same)
_XSD_BY_LOWER = {t.lower(): t for t in XSD_TYPES}
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
_SEGMENT = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_\-]*|[0-9]+)$")


# --- parameter paths and values -----------------------------------------------------------------

def check_path(path: str, *, partial: bool = True) -> str:
    """A TR-069 parameter path (``A.B.1.C``); a partial path ends with ``.`` when ``partial``."""
    body = path[:-1] if partial and path.endswith(".") else path
    if not body or not all(_SEGMENT.match(s) for s in body.split(".")):
        raise UsageError(f"{path!r} is not a parameter path (like InternetGatewayDevice.DeviceInfo.SoftwareVersion)")
    return path


@dataclass(frozen=True, slots=True)
class ParameterValue:
    name: str
    value: Any
    type: str | None  # None: the device's own type, as the NBI knows it

    def as_nbi(self) -> list[Any]:
        """``[name, value]`` or ``[name, value, type]``, as GenieACS's setParameterValues takes them."""
        return [self.name, self.value] if self.type is None else [self.name, self.value, self.type]


def _typed(raw: str, xsd: str, name: str) -> Any:
    """The value as sent for ``xsd``, checked by cwmp.values' rules (the scheduler's codec's)."""
    convert = _TYPED.get(xsd)
    return convert(raw, xsd, name) if convert is not None else raw


def _integer(raw: str, xsd: str, name: str) -> int:
    value = values.parse_int(raw)
    if value is None:
        raise UsageError(f"{name}: {raw!r} is not an integer ({xsd})")
    lo, hi = values.SCHEMA_INT_RANGES[xsd]
    if not lo <= value <= hi:
        raise UsageError(f"{name}: {value} is outside {xsd} ({lo}..{hi})")
    return value


def _boolean(raw: str, xsd: str, name: str) -> bool:
    """true/false, 1/0, and the command line's yes/no, on/off: sent as a JSON boolean."""
    word = raw.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise UsageError(f"{name}: {raw!r} is not a boolean (true/false, 1/0)")


def _number(raw: str, xsd: str, name: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise UsageError(f"{name}: {raw!r} is not a number ({xsd})") from None


_LEXICAL = {values.DATETIME: "a dateTime (2025-01-31T12:00:00Z)", values.HEX_BINARY: "hexBinary"}


def _lexical(raw: str, xsd: str, name: str) -> str:
    """Text in the type's lexical form, sent as typed."""
    try:
        values.encode_value(raw, xsd)
    except EncodeError:
        raise UsageError(f"{name}: {raw!r} is not {_LEXICAL[xsd]}") from None
    return raw


_TYPED: dict[str, Callable[[str, str, str], Any]] = {
    **dict.fromkeys(values.SCHEMA_INT_RANGES, _integer), values.BOOLEAN: _boolean,
    **dict.fromkeys(("xsd:decimal", "xsd:double", "xsd:float"), _number), **dict.fromkeys(_LEXICAL, _lexical),
}


def parse_assignment(text: str) -> ParameterValue:
    """``Path=value`` or ``Path=value:xsd:type``. The type suffix is recognised only when it names
    an xsd type (case-insensitive), so a value may hold colons (``url=http://x:80/``); a value
    that itself ends in ``:xsd:<type>`` is written with the type given twice. The value is sent
    as typed: integers for integer types, true/false for xsd:boolean, text otherwise; without a
    type, as text, and the device's type applies."""
    name, sep, rest = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise UsageError(f"{text!r}: expected Path=value or Path=value:xsd:type")
    check_path(name, partial=False)
    xsd = None
    cut = rest.lower().rfind(":xsd:")
    if cut >= 0:
        tail = rest[cut + 5:]
        known = _XSD_BY_LOWER.get("xsd:" + tail.lower())
        if known is None:
            raise UsageError(f"{name}: unknown type xsd:{tail} (one of {', '.join(XSD_TYPES)})")
        rest, xsd = rest[:cut], known
    return ParameterValue(name, _typed(rest, xsd, name) if xsd else rest, xsd)


# --- rates and durations --------------------------------------------------------------------------

_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:/\s*(s|sec|second|m|min|minute|h|hour))?\s*$", re.I)
_PER = {"s": 1.0, "sec": 1.0, "second": 1.0, "m": 60.0, "min": 60.0, "minute": 60.0, "h": 3600.0, "hour": 3600.0}


def parse_rate(text: str | None) -> float | None:
    """``50/s``, ``3000/min``, ``10/h``, ``20`` (per second) -> per second; ``0``, ``none``,
    ``unlimited`` -> None (no limit)."""
    if text is None or text.strip().lower() in ("", "0", "none", "unlimited", "inf"):
        return None
    m = _RATE.match(text)
    if not m:
        raise UsageError(f"rate {text!r}: expected N/s, N/min or N/h (e.g. 50/s), or 'unlimited'")
    per_s = float(m.group(1)) / _PER[(m.group(2) or "s").lower()]
    if per_s <= 0:
        return None
    return per_s


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?\s*$", re.I)
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """``30s``, ``1500ms``, ``2m``, ``45`` (seconds) -> seconds."""
    m = _DURATION.match(text)
    if not m:
        raise UsageError(f"duration {text!r}: expected e.g. 30s, 1500ms, 2m")
    return float(m.group(1)) * _UNIT_S[(m.group(2) or "s").lower()]


# --- queries ---------------------------------------------------------------------------------------

_OPS = {"!=": "$ne", ">=": "$gte", "<=": "$lte", "=~": "$regex", ">": "$gt", "<": "$lt", "=": None}
# the field, then the first operator after it (a value may hold operators: Path=a>b)
_CONDITION = re.compile(r"^\s*([^=!<>~\s]+)\s*(!=|>=|<=|=~|>|<|=)(.*)$", re.S)
_FIELD = re.compile(r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*$")


def _scalar(text: str) -> Any:
    """A shorthand value: "quoted" stays text, true/false, integers and decimals become JSON ones
    (the NBI matches a number against its text form too), anything else is text."""
    t = text.strip()
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "\"'":
        return t[1:-1]
    if t in ("true", "false"):
        return t == "true"
    if re.fullmatch(r"[+-]?\d+", t):
        return int(t)
    if re.fullmatch(r"[+-]?\d+\.\d+", t):
        return float(t)
    return t


def _json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise UsageError(f"{what} is not valid JSON: {e}") from None


def parse_query(text: str | None) -> dict[str, Any] | None:
    """A device (or task, fault...) query: GenieACS's JSON (``{"_tags": "lab"}``), or the
    shorthand ``Path=value and Path2>=3`` with ``=``, ``!=``, ``>``, ``>=``, ``<``, ``<=`` and
    ``=~`` (regular expression), conditions joined by `` and ``. None for no query."""
    if text is None or not text.strip():
        return None
    t = text.strip()
    if t.startswith("{"):
        q = _json(t, "query")
        if not isinstance(q, dict):
            raise UsageError("query must be a JSON object")
        return q
    out: dict[str, Any] = {}
    for cond in re.split(r"\s+and\s+", t, flags=re.I):
        m = _CONDITION.match(cond)
        if not m:
            raise UsageError(f"query condition {cond!r}: expected Path=value, Path!=value, Path>value ... "
                             "or a JSON query such as '{\"_tags\": \"lab\"}'")
        field, op, value = m.group(1), _OPS[m.group(2)], m.group(3)
        if not _FIELD.match(field):
            raise UsageError(f"query condition {cond!r}: {field!r} is not a field path")
        v = value.strip() if op == "$regex" else _scalar(value)
        expr = v if op is None else {op: v}
        if field in out:
            if isinstance(out[field], dict) and isinstance(expr, dict) and not set(out[field]) & set(expr):
                out[field] = {**out[field], **expr}
                continue
            raise UsageError(f"query: {field} is given twice; write a JSON query for that")
        out[field] = expr
    return out


# --- token files -----------------------------------------------------------------------------------

_ROLE_SUFFIX = re.compile(r"^(.+):(readonly|operator|admin)$")


def read_token_file(path: str | Path) -> str:
    """The token in ``path``: the file's text, its first line that is neither empty nor a comment
    (``#``), a JSON object's ``"token"``, or an ``NBI_TOKENS``-style ``<token>:<role>``."""
    p = Path(path).expanduser()
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise UsageError(f"token file {p}: {e.strerror or e}") from None
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            doc = json.loads(stripped)
        except json.JSONDecodeError:
            raise UsageError(f"token file {p}: not valid JSON") from None
        token = doc.get("token") if isinstance(doc, dict) else None
        if not isinstance(token, str) or not token:
            raise UsageError(f"token file {p}: no \"token\" in it")
        return token
    for line in stripped.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            m = _ROLE_SUFFIX.match(line)
            return m.group(1) if m else line
    raise UsageError(f"token file {p} is empty")


def parse_sort(text: str | None) -> dict[str, int] | None:
    """``-_lastInform`` or ``_deviceId._SerialNumber,-_lastInform`` (a leading ``-``: descending),
    or GenieACS's JSON (``{"_lastInform": -1}``)."""
    if text is None or not text.strip():
        return None
    t = text.strip()
    if t.startswith("{"):
        s = _json(t, "sort")
        if not isinstance(s, dict) or not all(v in (1, -1) for v in s.values()):
            raise UsageError('sort must be like {"_lastInform": -1}')
        return s
    out: dict[str, int] = {}
    for item in t.split(","):
        item = item.strip()
        field = item.lstrip("+-")
        if not _FIELD.match(field):
            raise UsageError(f"sort: {item!r} is not a field path")
        out[field] = -1 if item.startswith("-") else 1
    return out
