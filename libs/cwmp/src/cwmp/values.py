"""Parameter values: wire text <-> Python value, by the value's xsd type.

Decoding is tolerant because CPEs are not: a value that does not fit its declared type is
kept as its raw text (stripped), never an exception, so nothing a CPE reports is lost.
Encoding is strict because the ACS must be: a value that does not fit its type raises
``EncodeError``. A missing xsi:type means xsd:string.

Python forms: str (xsd:string and unknown types), int (int, unsignedInt, long,
unsignedLong), bool (boolean), datetime (dateTime; naive when the text has no zone),
bytes (base64, hexBinary). Type names are kept with the "xsd:" prefix.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

from .errors import EncodeError
from .messages import Value

STRING = "xsd:string"
INT = "xsd:int"
UNSIGNED_INT = "xsd:unsignedInt"
LONG = "xsd:long"
UNSIGNED_LONG = "xsd:unsignedLong"
BOOLEAN = "xsd:boolean"
DATETIME = "xsd:dateTime"
BASE64 = "xsd:base64"
HEX_BINARY = "xsd:hexBinary"

XSD_TYPES: tuple[str, ...] = (STRING, INT, UNSIGNED_INT, LONG, UNSIGNED_LONG, BOOLEAN, DATETIME, BASE64, HEX_BINARY)

# How each type is written in xsi:type. XML Schema has no "base64" type: the SOAP encoding
# schema's SOAP-ENC:base64 is the valid spelling of what data models call base64.
WIRE_TYPE: dict[str, str] = {t: t for t in XSD_TYPES}
WIRE_TYPE[BASE64] = "SOAP-ENC:base64"

INT_RANGES: dict[str, tuple[int, int]] = {
    INT: (-(2**31), 2**31 - 1),
    UNSIGNED_INT: (0, 2**32 - 1),
    LONG: (-(2**63), 2**63 - 1),
    UNSIGNED_LONG: (0, 2**64 - 1),
}

# Every xsd type a northbound caller may name for a value to set (GenieACS's list), and the
# range of each integer among them: what the ACS checks before it agrees to send a value. The
# codec itself decodes only CWMP's own types (XSD_TYPES, INT_RANGES); the others travel as text.
SCHEMA_TYPES: tuple[str, ...] = (
    *XSD_TYPES, "xsd:byte", "xsd:unsignedByte", "xsd:short", "xsd:unsignedShort",
    "xsd:decimal", "xsd:double", "xsd:float", "xsd:integer",
)
SCHEMA_INT_RANGES: dict[str, tuple[int, int]] = {
    **INT_RANGES,
    "xsd:byte": (-128, 127), "xsd:unsignedByte": (0, 255),
    "xsd:short": (-(2**15), 2**15 - 1), "xsd:unsignedShort": (0, 2**16 - 1),
    "xsd:integer": (-(2**63), 2**64 - 1),
}

# Lower-cased local names CPEs use, to the canonical type name.
_CANONICAL: dict[str, str] = {t.split(":")[1].lower(): t for t in XSD_TYPES}
_CANONICAL["base64binary"] = BASE64
_CANONICAL["integer"] = LONG  # unbounded in XSD; long is the widest CWMP type
_CANONICAL["unsignedint"] = UNSIGNED_INT
_type_cache: dict[str | None, str] = {None: STRING, "": STRING}

_INT_RE = re.compile(r"[+-]?[0-9]+")
_MAX_INT_CHARS = 64  # leading zeros allowed, but no unbounded digit strings
_HEX_RE = re.compile(r"(?:[0-9A-Fa-f]{2})*")
_DATETIME_RE = re.compile(
    r"(-?[0-9]{4,})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?(Z|[+-][0-9]{2}:[0-9]{2})?"
)
_MAX_OFFSET = timedelta(hours=14)

_FAIL = object()  # sentinel: "does not decode under this type"


def normalize_type(xsd_type: str | None) -> str:
    """"xsd:unsignedInt", "xs:unsignedInt", "unsignedint", "SOAP-ENC:base64" -> the canonical name.

    Unknown types are returned as given (stripped), so a vendor type survives a round trip.
    """
    cached = _type_cache.get(xsd_type)
    if cached is not None:
        return cached
    assert xsd_type is not None  # None is in the cache
    text = xsd_type.strip()
    local = text.rpartition(":")[2]
    result = _CANONICAL.get(local.lower(), text) if local else STRING
    if len(_type_cache) < 1024:  # bounded: types come from untrusted input
        _type_cache[xsd_type] = result
    return result


# ---------------------------------------------------------------- decoding
def parse_int(text: str) -> int | None:
    """An xsd integer ("42", " +007 ", "-1"), or None. Bounded: no 4000-digit int() calls."""
    s = text.strip()
    if len(s) > _MAX_INT_CHARS or _INT_RE.fullmatch(s) is None:
        return None
    return int(s)


def _int_decoder(xsd_type: str) -> Callable[[str], object]:
    lo, hi = INT_RANGES[xsd_type]

    def decode(text: str) -> object:
        if len(text) < 21 and text.isdigit() and text.isascii():  # the common case: plain digits
            v = int(text)
        else:
            parsed = parse_int(text)
            if parsed is None:
                return _FAIL
            v = parsed
        return v if lo <= v <= hi else _FAIL

    return decode


def decode_boolean(text: str) -> object:
    s = text.strip().lower()
    if s == "1" or s == "true":
        return True
    if s == "0" or s == "false":
        return False
    return _FAIL


def parse_datetime(text: str) -> datetime | None:
    """An xsd:dateTime, naive when the text carries no zone; None when it is not one
    (including year 0000, which some CPEs send for "clock not set")."""
    s = text.strip()
    m = _DATETIME_RE.fullmatch(s)
    if m is None:
        return None
    if len(s) <= 32:  # the C parser takes every XSD form the pattern lets through, but long fractions
        try:
            return datetime.fromisoformat(s)
        except ValueError:
            pass
    year, month, day, hour, minute, second, frac, zone = m.groups()
    try:
        tz = None
        if zone is not None:
            if zone == "Z":
                tz = UTC
            else:
                delta = timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
                tz = UTC if not delta else timezone(-delta if zone[0] == "-" else delta)
        micro = int((frac + "00000")[:6]) if frac else 0
        return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tz)
    except (ValueError, OverflowError):  # year 0, month 13, hour 24, offset >= 24h, year 10**30 ...
        return None


def _decode_datetime(text: str) -> object:
    value = parse_datetime(text)
    return _FAIL if value is None else value


def _decode_base64(text: str) -> object:
    compact = "".join(text.split())
    if not compact.isascii():
        return _FAIL
    try:
        return binascii.a2b_base64(compact, strict_mode=True)
    except (binascii.Error, ValueError):
        return _FAIL


def _decode_hex(text: str) -> object:
    s = text.strip()
    if _HEX_RE.fullmatch(s) is None:
        return _FAIL
    return bytes.fromhex(s)


_DECODERS: dict[str, Callable[[str], object]] = {
    INT: _int_decoder(INT),
    UNSIGNED_INT: _int_decoder(UNSIGNED_INT),
    LONG: _int_decoder(LONG),
    UNSIGNED_LONG: _int_decoder(UNSIGNED_LONG),
    BOOLEAN: decode_boolean,
    DATETIME: _decode_datetime,
    BASE64: _decode_base64,
    HEX_BINARY: _decode_hex,
}


# The spellings of the standard types that CPEs write in xsi:type.
TYPE_SPELLINGS: frozenset[str] = frozenset(
    f"{prefix}:{t.split(':')[1]}" for prefix in ("xsd", "xs", "SOAP-ENC", "soapenc", "soap-enc") for t in XSD_TYPES
) | {"SOAP-ENC:base64", "soapenc:base64", "soap-enc:base64", "xsd:base64Binary", "xs:base64Binary"}


def decode_value(text: str | None, xsd_type: str | None) -> tuple[Value, str]:
    """Wire text and xsi:type -> (Python value, canonical type name). Never raises."""
    t = _type_cache.get(xsd_type) or normalize_type(xsd_type)
    if text is None:
        text = ""
    decoder = _DECODERS.get(t)
    if decoder is None:
        return text, t
    value = decoder(text)
    if value is _FAIL:
        return text.strip(), t
    return value, t  # type: ignore[return-value]


# ---------------------------------------------------------------- encoding
def format_datetime(value: datetime) -> str:
    """xsd:dateTime text: "Z" for UTC, "+hh:mm" for other zones, no zone for naive values."""
    text = (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
        f"T{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    )
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    offset = value.utcoffset()
    if offset is None:
        return text
    if not offset:
        return text + "Z"
    seconds = int(offset.total_seconds())
    if seconds % 60 or abs(offset) > _MAX_OFFSET:
        raise EncodeError(f"time zone offset {offset} cannot be written as xsd:dateTime")
    sign = "-" if seconds < 0 else "+"
    hours, minutes = divmod(abs(seconds) // 60, 60)
    return f"{text}{sign}{hours:02d}:{minutes:02d}"


def _bad(value: object, xsd_type: str) -> EncodeError:
    return EncodeError(f"{value!r} is not a valid {xsd_type} value")


def _encode_int(value: Value, xsd_type: str) -> str:
    if isinstance(value, int):  # bool included: True -> 1
        v = int(value)
    elif isinstance(value, str):
        decoded = _DECODERS[xsd_type](value)
        if decoded is _FAIL:
            raise _bad(value, xsd_type)
        return value.strip()
    else:
        raise _bad(value, xsd_type)
    lo, hi = INT_RANGES[xsd_type]
    if not lo <= v <= hi:
        raise _bad(value, xsd_type)
    return str(v)


def _encode_boolean(value: Value, xsd_type: str) -> str:
    if isinstance(value, bool) or (isinstance(value, int) and value in (0, 1)):
        return "true" if value else "false"
    if isinstance(value, str) and decode_boolean(value) is not _FAIL:
        return value.strip()
    raise _bad(value, xsd_type)


def _encode_datetime(value: Value, xsd_type: str) -> str:
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, str) and parse_datetime(value) is not None:
        return value.strip()
    raise _bad(value, xsd_type)


def _encode_base64(value: Value, xsd_type: str) -> str:
    if isinstance(value, (bytes, bytearray)):
        return binascii.b2a_base64(value, newline=False).decode("ascii")
    if isinstance(value, str) and _decode_base64(value) is not _FAIL:
        return "".join(value.split())
    raise _bad(value, xsd_type)


def _encode_hex(value: Value, xsd_type: str) -> str:
    if isinstance(value, (bytes, bytearray)):
        return value.hex().upper()
    if isinstance(value, str) and _decode_hex(value) is not _FAIL:
        return value.strip()
    raise _bad(value, xsd_type)


def _encode_string(value: Value, xsd_type: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, (bytes, bytearray)):
        return binascii.b2a_base64(value, newline=False).decode("ascii")
    raise _bad(value, xsd_type)


_ENCODERS: dict[str, Callable[[Value, str], str]] = {
    INT: _encode_int,
    UNSIGNED_INT: _encode_int,
    LONG: _encode_int,
    UNSIGNED_LONG: _encode_int,
    BOOLEAN: _encode_boolean,
    DATETIME: _encode_datetime,
    BASE64: _encode_base64,
    HEX_BINARY: _encode_hex,
}


def encode_value(value: Value, xsd_type: str) -> str:
    """Python value -> wire text (not yet XML-escaped). Raises ``EncodeError`` if it does not fit.

    A str is accepted for any type when it is a valid lexical form of that type, and is
    then sent as given (stripped), so "1" stays "1" for a boolean.
    """
    t = _type_cache.get(xsd_type) or normalize_type(xsd_type)
    if type(value) is str and t == STRING:
        return value
    return _ENCODERS.get(t, _encode_string)(value, t)


def infer_type(value: Value) -> str:
    """The xsd type a Python value is naturally sent as (int picks the narrowest that fits)."""
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        for t in (INT, UNSIGNED_INT, LONG, UNSIGNED_LONG):
            lo, hi = INT_RANGES[t]
            if lo <= value <= hi:
                return t
        raise EncodeError(f"integer {value} is outside every CWMP integer type")
    if isinstance(value, datetime):
        return DATETIME
    if isinstance(value, (bytes, bytearray)):
        return BASE64
    if isinstance(value, str):
        return STRING
    raise EncodeError(f"no CWMP type for a {type(value).__name__} value")
