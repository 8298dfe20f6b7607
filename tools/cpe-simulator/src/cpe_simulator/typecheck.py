"""SetParameterValues value checks, returning the CPE fault a real device would give.

9006 when the sent xsd type belongs to another family than the parameter's (a boolean for an
unsignedInt), 9007 when the type fits but the value does not (out of range, unparsable text, a value
outside a known enumeration). Integer types are accepted for one another when the value fits, as
devices do.
"""

from __future__ import annotations

from datetime import datetime

from cwmp.messages import Value
from cwmp.values import INT_RANGES

from .datamodel import normalise_type

INVALID_PARAMETER_TYPE = 9006
INVALID_PARAMETER_VALUE = 9007

_FAMILY = {
    "xsd:string": "string",
    "xsd:boolean": "boolean",
    "xsd:dateTime": "dateTime",
    "xsd:base64": "binary",
    "xsd:hexBinary": "binary",
    **dict.fromkeys(INT_RANGES, "integer"),
}
MAX_STRING_LENGTH = 65535

# Enumerations the simulator acts on; other strings are free text.
_ENUMERATIONS = {
    "DiagnosticsState": frozenset({"None", "Requested", "Canceled"}),
}
_MINIMUM = {"PeriodicInformInterval": 1}


class ValueFault(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def check_value(path: str, parameter_type: str, value: Value, sent_type: str) -> Value:
    """The value to store, converted to ``parameter_type``; raises :class:`ValueFault`."""
    sent = normalise_type(sent_type) if sent_type else parameter_type
    family = _FAMILY.get(parameter_type, "string")
    if _FAMILY.get(sent, "string") != family:
        raise ValueFault(INVALID_PARAMETER_TYPE, f"{path} is {parameter_type}, got {sent}")
    leaf = path[path.rfind(".") + 1 :]
    if family == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueFault(INVALID_PARAMETER_VALUE, f"{path}: {value!r} is not an integer")
        low, high = INT_RANGES[parameter_type]
        low = max(low, _MINIMUM.get(leaf, low))
        if not low <= value <= high:
            raise ValueFault(INVALID_PARAMETER_VALUE, f"{path}: {value} outside {low}..{high}")
        return value
    if family == "boolean":
        if not isinstance(value, bool):
            raise ValueFault(INVALID_PARAMETER_VALUE, f"{path}: {value!r} is not a boolean")
        return value
    if family == "dateTime":
        if not isinstance(value, datetime):
            raise ValueFault(INVALID_PARAMETER_VALUE, f"{path}: {value!r} is not a dateTime")
        return value
    if family == "binary":
        if not isinstance(value, (bytes, bytearray)):
            raise ValueFault(INVALID_PARAMETER_VALUE, f"{path}: {value!r} is not binary")
        return bytes(value)
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_STRING_LENGTH:
        raise ValueFault(INVALID_PARAMETER_VALUE, f"{path}: string longer than {MAX_STRING_LENGTH}")
    allowed = _ENUMERATIONS.get(leaf)
    if allowed is not None and text not in allowed:
        raise ValueFault(INVALID_PARAMETER_VALUE, f"{path}: {text!r} not one of {sorted(allowed)}")
    return text
