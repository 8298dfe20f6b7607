"""Typed codec errors, each carrying the CWMP fault code the ACS should answer with.

A session layer turns any ``CwmpError`` into a SOAP Fault with ``fault_code``: 8000 for a
method the ACS does not know, 8003 for arguments it cannot accept, 8002 for anything else
(malformed or hostile XML). ``envelope_id`` and ``cwmp_ns`` are filled in when the header
could be read before the failure, so the Fault can echo the request's cwmp:ID.
"""

from __future__ import annotations


class CwmpError(Exception):
    """Base of every error raised by the codec."""

    fault_code: int = 8002

    def __init__(self, message: str, *, fault_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if fault_code is not None:
            self.fault_code = fault_code
        self.envelope_id: str | None = None
        self.cwmp_ns: str | None = None

    def __str__(self) -> str:
        return self.message


class SoapParseError(CwmpError):
    """The bytes are not a CWMP SOAP envelope the codec can read."""


class InvalidArguments(SoapParseError):
    """A required field is missing or carries a value of the wrong type."""

    fault_code = 8003


class UnknownMethod(SoapParseError):
    """The Body names an RPC this codec does not implement."""

    fault_code = 8000

    def __init__(self, method: str, namespace: str | None = None) -> None:
        where = f" in namespace {namespace!r}" if namespace else ""
        super().__init__(f"method {method!r}{where} is not supported")
        self.method = method
        self.namespace = namespace


class HostileXmlError(SoapParseError):
    """The document uses XML features an ACS must never process (DTD, entities) or exceeds a limit."""


class BodyTooLarge(HostileXmlError):
    """The HTTP body is larger than the configured limit."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"body of {size} bytes exceeds the limit of {limit} bytes")
        self.size = size
        self.limit = limit


class EncodeError(CwmpError, ValueError):
    """A message cannot be written as a valid envelope (wrong value type, illegal character,
    RPC or header not defined in the target CWMP version)."""
