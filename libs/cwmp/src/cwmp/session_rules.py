"""The rules both ends of a CWMP session share: how a body is classified (request, response,
fault), which RPCs each side may request, the faults each side answers with, and the errors the
two state machines raise. :mod:`cwmp.session` (the ACS side) and :mod:`cwmp.session_cpe` (the
CPE side) both build on this module and on nothing of each other."""

from __future__ import annotations

from typing import Final

from . import messages as m
from .faults import is_acs_fault, is_cpe_fault, make_fault
from .messages import Envelope, Fault, Message

__all__ = [
    "ACS_REQUESTS",
    "CPE_REQUESTS",
    "ProtocolViolation",
    "SessionStateError",
    "acs_fault",
    "cpe_fault",
    "message_kind",
    "response_rpc",
]

# ------------------------------------------------------------------------------------ errors


class ProtocolViolation(Exception):
    """The peer broke the session rules; ``fault_code`` is what the receiving side answers with.

    ``envelope`` is the offending envelope (None for an empty POST/response). ``ends_session``
    is False only for an unsupported method, which is answered with a Fault while the session
    goes on. ``answerable`` says whether a Fault may be sent back at all (SOAP allows a Fault
    only in reply to a request).
    """

    def __init__(
        self,
        fault_code: int,
        message: str,
        *,
        envelope: Envelope | None = None,
        ends_session: bool = True,
    ) -> None:
        super().__init__(f"{fault_code}: {message}")
        self.fault_code = fault_code
        self.message = message
        self.envelope = envelope
        self.ends_session = ends_session

    @property
    def answerable(self) -> bool:
        body = self.envelope.body if self.envelope is not None else None
        return body is not None and message_kind(body) == "request"


class SessionStateError(RuntimeError):
    """The caller used the state machine out of order (a local bug, never the peer's doing)."""


# ------------------------------------------------------------------------------------ faults


def acs_fault(code: int, detail: str | None = None) -> Fault:
    """A Fault the ACS answers a CPE request with (8000-8006, vendor 8800-8899)."""
    if not is_acs_fault(code):
        raise ValueError(f"{code} is not an ACS fault code")
    return make_fault(code, detail)


def cpe_fault(code: int, detail: str | None = None) -> Fault:
    """A Fault the CPE answers an ACS request with (9000-9899)."""
    if not is_cpe_fault(code):
        raise ValueError(f"{code} is not a CPE fault code")
    return make_fault(code, detail)


# ------------------------------------------------------------------------------ classification


def _kind_of_rpc(rpc: str) -> str:
    if rpc == "Fault":
        return "fault"
    return "response" if rpc.endswith("Response") else "request"


def message_kind(message: Message) -> str:
    """"request", "response" or "fault": what a body is, whatever class the codec gave it."""
    return "fault" if isinstance(message, Fault) else _kind_of_rpc(message.RPC)


def _requests(direction: str) -> frozenset[str]:
    return frozenset(
        cls.RPC
        for cls in m.MESSAGE_TYPES.values()
        if cls.DIRECTION in (direction, "both") and _kind_of_rpc(cls.RPC) == "request"
    )


#: Requests a CPE may send to an ACS (Inform, TransferComplete, GetRPCMethods, ...).
CPE_REQUESTS: Final[frozenset[str]] = _requests("cpe")
#: Requests an ACS may send to a CPE (GetParameterValues, Download, GetRPCMethods, ...).
ACS_REQUESTS: Final[frozenset[str]] = _requests("acs")


def response_rpc(request: Message | str) -> str:
    """The RPC name that answers ``request``: its name plus "Response"."""
    rpc = request if isinstance(request, str) else request.RPC
    return rpc + "Response"
