"""Sans-I/O CWMP (TR-069, CWMP 1.0-1.4) codec.

``parse`` turns an HTTP body from a peer into an ``Envelope`` (or None for the empty POST),
``build`` / ``build_message`` turn messages into envelope bytes. Messages are the
dataclasses of ``cwmp.messages``; errors are the typed ``cwmp.errors``.
"""

from . import errors, faults, messages, serialize, values, versions
from .errors import (
    BodyTooLarge,
    CwmpError,
    EncodeError,
    HostileXmlError,
    InvalidArguments,
    SoapParseError,
    UnknownMethod,
)
from .events import EventCode
from .faults import FaultCode, fault_string, make_fault
from .messages import MESSAGE_TYPES, Envelope, Message
from .serialize import message_from_dict, message_to_dict
from .soap import build, build_message, parse

__all__ = [
    "BodyTooLarge",
    "CwmpError",
    "EncodeError",
    "Envelope",
    "EventCode",
    "FaultCode",
    "HostileXmlError",
    "InvalidArguments",
    "MESSAGE_TYPES",
    "Message",
    "SoapParseError",
    "UnknownMethod",
    "build",
    "build_message",
    "errors",
    "fault_string",
    "faults",
    "make_fault",
    "message_from_dict",
    "message_to_dict",
    "messages",
    "parse",
    "serialize",
    "values",
    "versions",
]
