"""Messages <-> JSON-safe dicts, the form CWMP messages take inside Kafka events.

``message_to_dict`` gives plain JSON types (orjson-ready): field names as in the
dataclasses, ``"rpc"`` = the RPC name, datetimes as ISO 8601 strings, bytes as base64,
EventCodes as plain strings, ChangeDUState operations tagged with ``"op"``
("Install"/"Update"/"Uninstall"). ``message_from_dict`` is its exact inverse.

A ParameterValueStruct value is read back by its ``type`` (an xsd:dateTime string becomes
a datetime, base64/hexBinary text becomes bytes). In the rare case where that would not
give back the original Python value (e.g. a CPE's unparsable dateTime kept as text), the
dict also carries ``"value_kind"``: "str", "datetime" or "bytes".
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import types
import typing
from collections.abc import Callable
from datetime import datetime
from typing import Any

from . import messages as m
from .events import EventCode
from .values import BASE64, DATETIME, HEX_BINARY, normalize_type

_OP_NAMES: dict[type, str] = {m.InstallOpStruct: "Install", m.UpdateOpStruct: "Update", m.UninstallOpStruct: "Uninstall"}
_OP_TYPES: dict[str, type] = {name: cls for cls, name in _OP_NAMES.items()}

Conv = Callable[[Any], Any]


# ---------------------------------------------------------------- parameter values
def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _value_from_json(j: Any, xsd_type: str, kind: str | None) -> Any:
    if kind is not None:
        if kind == "str":
            return j
        if kind == "datetime":
            return datetime.fromisoformat(j)
        if kind == "bytes":
            return base64.b64decode(j, validate=True)
        raise ValueError(f"unknown value_kind {kind!r}")
    if isinstance(j, str):
        t = normalize_type(xsd_type)
        if t == DATETIME:
            try:
                return datetime.fromisoformat(j)
            except ValueError:
                return j
        if t in (BASE64, HEX_BINARY):
            try:
                return base64.b64decode(j, validate=True)
            except (binascii.Error, ValueError):
                return j
    return j


def _pvs_to_dict(p: m.ParameterValueStruct) -> dict[str, Any]:
    v = p.value
    if isinstance(v, datetime):
        j: Any = v.isoformat()
        kind = "datetime"
    elif isinstance(v, (bytes, bytearray)):
        j = _b64(bytes(v))
        kind = "bytes"
    else:
        j = v
        kind = "str"
    out = {"name": p.name, "value": j, "type": p.type}
    back = _value_from_json(j, p.type, None)
    if type(back) is not type(v) or back != v:
        out["value_kind"] = kind
    return out


def _pvs_from_dict(d: dict[str, Any]) -> m.ParameterValueStruct:
    name, typ, value = d["name"], d.get("type", "xsd:string"), d["value"]
    if type(name) is not str or type(typ) is not str or not isinstance(value, (str, int)):
        raise ValueError(f"bad ParameterValueStruct {d!r:.120}")
    return m.ParameterValueStruct(name, _value_from_json(value, typ, d.get("value_kind")), typ)


# ---------------------------------------------------------------- generic dataclass conversion
def _identity(v: Any) -> Any:
    return v


def _dt_to(v: datetime | None) -> str | None:
    return None if v is None else v.isoformat()


def _dt_from(v: str | None) -> datetime | None:
    if v is None:
        return None
    if not isinstance(v, str):
        raise ValueError(f"expected an ISO 8601 string, got {v!r:.80}")
    return datetime.fromisoformat(v)


def _checked(kind: type) -> Conv:
    def check(v: Any) -> Any:
        if type(v) is not kind:
            raise ValueError(f"expected {kind.__name__}, got {type(v).__name__} {v!r:.80}")
        return v

    return check


_CHECKED = {str: _checked(str), int: _checked(int), bool: _checked(bool)}


def _converters(hint: Any) -> tuple[Conv, Conv]:
    """(to_json, from_json) for one field type."""
    if hint is str or hint is int or hint is bool:
        return _identity, _CHECKED[hint]
    if hint is EventCode:
        return str, EventCode
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if set(args) == {datetime, type(None)}:
            return _dt_to, _dt_from
        if set(args) == set(_OP_NAMES):
            return _op_to, _op_from
    if origin is list:
        to_item, from_item = _converters(args[0])

        def from_list(v: Any) -> list[Any]:
            if not isinstance(v, list):
                raise ValueError(f"expected a list, got {type(v).__name__}")
            return [from_item(x) for x in v]

        if to_item is _identity:
            return list, from_list
        return (lambda v: [to_item(x) for x in v]), from_list
    if dataclasses.is_dataclass(hint):
        if hint is m.ParameterValueStruct:
            return _pvs_to_dict, _pvs_from_dict
        return (lambda v: _to_dict(v)), (lambda v, cls=hint: _from_dict(cls, v))
    raise TypeError(f"no JSON form for {hint!r}")


_FIELDS: dict[type, tuple[tuple[str, Conv, Conv], ...]] = {}


def _plan(cls: type) -> tuple[tuple[str, Conv, Conv], ...]:
    plan = _FIELDS.get(cls)
    if plan is None:
        hints = typing.get_type_hints(cls)
        plan = tuple((f.name, *_converters(hints[f.name])) for f in dataclasses.fields(cls))
        _FIELDS[cls] = plan
    return plan


def _to_dict(obj: Any) -> dict[str, Any]:
    return {name: to(getattr(obj, name)) for name, to, _ in _plan(type(obj))}


def _from_dict(cls: type, d: dict[str, Any]) -> Any:
    if not isinstance(d, dict):
        raise ValueError(f"{cls.__name__}: expected an object, got {type(d).__name__}")
    kwargs = {name: frm(d[name]) for name, _, frm in _plan(cls) if name in d}
    return cls(**kwargs)


def _op_to(op: Any) -> dict[str, Any]:
    out = _to_dict(op)
    out["op"] = _OP_NAMES[type(op)]
    return out


def _op_from(d: dict[str, Any]) -> Any:
    cls = _OP_TYPES.get(d.get("op", ""))
    if cls is None:
        raise ValueError(f"operation needs \"op\" of {sorted(_OP_TYPES)}, got {d.get('op')!r}")
    return _from_dict(cls, {k: v for k, v in d.items() if k != "op"})


# ---------------------------------------------------------------- public
def message_to_dict(msg: m.Message) -> dict[str, Any]:
    """A JSON-safe dict for ``msg`` with ``"rpc"`` = its RPC name."""
    out: dict[str, Any] = {"rpc": msg.RPC}
    out.update(_to_dict(msg))
    return out


def message_from_dict(d: dict[str, Any]) -> m.Message:
    """The message ``message_to_dict`` made ``d`` from. Raises ValueError for a bad dict."""
    try:
        cls = m.MESSAGE_TYPES[d["rpc"]]
    except (KeyError, TypeError):
        raise ValueError(f"not a CWMP message dict (unknown or missing \"rpc\"): {d!r:.200}") from None
    body = {k: v for k, v in d.items() if k != "rpc"}
    try:
        return _from_dict(cls, body)
    except (KeyError, TypeError, AttributeError, binascii.Error) as err:
        raise ValueError(f"bad {cls.__name__} dict: {err}") from None
