"""Message dataclasses -> XML text, driven by ``_layout``.

Plain string assembly: every piece of text goes through ``xmlsafe.escape``, every value
through ``values.encode_value``, and element order follows the XSD sequences, so the
output validates against the CWMP schemas while costing a fraction of a tree build.
Child elements are unqualified (the schemas' elementFormDefault), the RPC element uses
the ``cwmp`` prefix bound by the envelope.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from . import messages as m
from ._layout import (
    ARRAY,
    BOOL,
    EVENT,
    INT,
    LAYOUTS,
    OPERATION_TYPES,
    OPERATIONS,
    REPEAT,
    STR,
    STRUCT,
    TIME,
    VALUES,
    Field,
)
from .errors import EncodeError
from .values import STRING, WIRE_TYPE, encode_value, format_datetime, normalize_type
from .xmlsafe import escape, escape_join

UNKNOWN_TIME = "0001-01-01T00:00:00Z"
_QNAME_RE = re.compile(r"(?:[A-Za-z_][\w.\-]*:)?[A-Za-z_][\w.\-]*")
_OPERATION_NAMES = {cls: name for name, cls in OPERATION_TYPES.items()}

Out = list[str]
Emitter = Callable[[Any, Out], None]


def _type_error(f: Field, value: object, expected: str) -> EncodeError:
    return EncodeError(f"{f.tag}: expected {expected}, got {type(value).__name__} {value!r}")


def _str_emitter(f: Field) -> Emitter:
    open_, close = f"<{f.tag}>", f"</{f.tag}>"
    if f.omit_empty:

        def emit_optional(value: Any, out: Out) -> None:
            if value:
                out.append(f"{open_}{escape(value)}{close}")

        return emit_optional

    def emit(value: Any, out: Out) -> None:
        out.append(f"{open_}{escape(value)}{close}")

    return emit


def _int_emitter(f: Field) -> Emitter:
    open_, close = f"<{f.tag}>", f"</{f.tag}>"

    def emit(value: Any, out: Out) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            raise _type_error(f, value, "int")
        out.append(f"{open_}{int(value)}{close}")

    return emit


def _bool_emitter(f: Field) -> Emitter:
    true, false = f"<{f.tag}>1</{f.tag}>", f"<{f.tag}>0</{f.tag}>"

    def emit(value: Any, out: Out) -> None:
        if value is True or value is False or (isinstance(value, int) and value in (0, 1)):
            out.append(true if value else false)
        else:
            raise _type_error(f, value, "bool")

    return emit


def _time_emitter(f: Field) -> Emitter:
    open_, close = f"<{f.tag}>", f"</{f.tag}>"

    def emit(value: Any, out: Out) -> None:
        if value is None:
            out.append(f"{open_}{UNKNOWN_TIME}{close}")
        elif isinstance(value, datetime):
            out.append(f"{open_}{format_datetime(value)}{close}")
        else:
            raise _type_error(f, value, "datetime or None")

    return emit


def _struct_emitter(f: Field) -> Emitter:
    open_, close = f"<{f.tag}>", f"</{f.tag}>"
    cls = f.item

    def emit(value: Any, out: Out) -> None:
        if not isinstance(value, cls):
            raise _type_error(f, value, cls.__name__)
        out.append(open_)
        encode_fields(value, out)
        out.append(close)

    return emit


def _array_emitter(f: Field) -> Emitter:
    close = f"</{f.tag}>"
    head = f'<{f.tag} SOAP-ENC:arrayType="{f.array_type}['
    if f.item is STR:
        sep = f"</{f.item_tag}><{f.item_tag}>"
        item_open, item_close = f"<{f.item_tag}>", f"</{f.item_tag}>"

        def emit_strings(value: Any, out: Out) -> None:
            if not isinstance(value, list):
                raise _type_error(f, value, "list of str")
            if value:
                out.append(f"{head}{len(value)}]\">{item_open}{escape_join(value, sep)}{item_close}{close}")
            else:
                out.append(f'{head}0]"/>')

        return emit_strings

    cls = f.item
    item_open, item_close = f"<{f.item_tag}>", f"</{f.item_tag}>"

    def emit(value: Any, out: Out) -> None:
        if not isinstance(value, list):
            raise _type_error(f, value, f"list of {cls.__name__}")
        out.append(f'{head}{len(value)}]">')
        for item in value:
            if not isinstance(item, cls):
                raise _type_error(f, item, cls.__name__)
            out.append(item_open)
            encode_fields(item, out)
            out.append(item_close)
        out.append(close)

    return emit


def _repeat_emitter(f: Field) -> Emitter:
    open_, close = f"<{f.tag}>", f"</{f.tag}>"
    cls = f.item

    def emit(value: Any, out: Out) -> None:
        if not isinstance(value, list):
            raise _type_error(f, value, f"list of {cls.__name__}")
        for item in value:
            if not isinstance(item, cls):
                raise _type_error(f, item, cls.__name__)
            out.append(open_)
            encode_fields(item, out)
            out.append(close)

    return emit


def _operations_emitter(f: Field) -> Emitter:
    close = f"</{f.tag}>"

    def emit(value: Any, out: Out) -> None:
        if not isinstance(value, list):
            raise _type_error(f, value, "list of operations")
        for op in value:
            name = _OPERATION_NAMES.get(type(op))
            if name is None:
                raise _type_error(f, op, "InstallOpStruct, UpdateOpStruct or UninstallOpStruct")
            out.append(f'<{f.tag} xsi:type="cwmp:{name}">')
            encode_fields(op, out)
            out.append(close)

    return emit


def _wire_type(xsd_type: str) -> tuple[str, str]:
    """(canonical type, xsi:type text) for a ParameterValueStruct type."""
    canonical = normalize_type(xsd_type)
    wire = WIRE_TYPE.get(canonical)
    if wire is None:
        if _QNAME_RE.fullmatch(canonical) is None:
            raise EncodeError(f"{xsd_type!r} is not a usable xsi:type")
        wire = canonical
    return canonical, wire


def _values_emitter(f: Field) -> Emitter:
    close = f"</{f.tag}>"
    head = f'<{f.tag} SOAP-ENC:arrayType="cwmp:ParameterValueStruct['

    def emit(value: Any, out: Out) -> None:
        if not isinstance(value, list):
            raise _type_error(f, value, "list of ParameterValueStruct")
        out.append(f'{head}{len(value)}]">')
        pvs = m.ParameterValueStruct
        for p in value:
            if type(p) is not pvs:
                raise _type_error(f, p, "ParameterValueStruct")
            v = p.value
            if p.type == STRING and type(v) is str:
                text = escape(v)
                wire = STRING
            else:
                canonical, wire = _wire_type(p.type)
                text = escape(encode_value(v, canonical))
            out.append(
                f'<ParameterValueStruct><Name>{escape(p.name)}</Name><Value xsi:type="{wire}">{text}</Value></ParameterValueStruct>'
            )
        out.append(close)

    return emit


_EMITTER_FACTORIES: dict[str, Callable[[Field], Emitter]] = {
    STR: _str_emitter,
    EVENT: _str_emitter,
    INT: _int_emitter,
    BOOL: _bool_emitter,
    TIME: _time_emitter,
    STRUCT: _struct_emitter,
    ARRAY: _array_emitter,
    REPEAT: _repeat_emitter,
    OPERATIONS: _operations_emitter,
    VALUES: _values_emitter,
}

_PLANS: dict[type, tuple[tuple[str, Emitter], ...]] = {
    cls: tuple((f.attr, _EMITTER_FACTORIES[f.kind](f)) for f in fields) for cls, fields in LAYOUTS.items()
}


def encode_fields(obj: Any, out: Out) -> None:
    """Append the child elements of ``obj`` (a message or struct) to ``out``."""
    for attr, emit in _PLANS[type(obj)]:
        emit(getattr(obj, attr), out)


def encode_body(message: m.Message, out: Out) -> None:
    """Append the Body's child element for ``message`` to ``out``."""
    if isinstance(message, m.Fault):
        _encode_fault(message, out)
        return
    plan = _PLANS.get(type(message))
    if plan is None:
        raise EncodeError(f"{type(message).__name__} is not a CWMP message")
    rpc = message.RPC
    if not plan:
        out.append(f"<cwmp:{rpc}/>")
        return
    out.append(f"<cwmp:{rpc}>")
    for attr, emit in plan:
        emit(getattr(message, attr), out)
    out.append(f"</cwmp:{rpc}>")


def _encode_fault(fault: m.Fault, out: Out) -> None:
    faultcode = fault.faultcode or "Server"
    if ":" not in faultcode:
        faultcode = f"SOAP-ENV:{faultcode}"
    if _QNAME_RE.fullmatch(faultcode) is None:
        raise EncodeError(f"faultcode {fault.faultcode!r} is not a QName")
    out.append(f"<SOAP-ENV:Fault><faultcode>{faultcode}</faultcode><faultstring>{escape(fault.faultstring)}</faultstring>")
    if fault.fault_code:
        if not isinstance(fault.fault_code, int) or isinstance(fault.fault_code, bool):
            raise EncodeError(f"FaultCode: expected int, got {fault.fault_code!r}")
        out.append(
            f"<detail><cwmp:Fault><FaultCode>{int(fault.fault_code)}</FaultCode>"
            f"<FaultString>{escape(fault.fault_string)}</FaultString>"
        )
        for spv in fault.set_parameter_values_faults:
            if not isinstance(spv, m.SetParameterValuesFault):
                raise EncodeError(f"SetParameterValuesFault: got {spv!r}")
            out.append("<SetParameterValuesFault>")
            encode_fields(spv, out)
            out.append("</SetParameterValuesFault>")
        out.append("</cwmp:Fault></detail>")
    elif fault.set_parameter_values_faults:
        raise EncodeError("SetParameterValuesFault entries need a fault_code")
    out.append("</SOAP-ENV:Fault>")
