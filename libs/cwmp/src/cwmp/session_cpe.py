"""The CPE end of a CWMP session (TR-069 section 3.7), sans-I/O, for the CPE simulator.

One :class:`CpeSession` per session. The caller POSTs what the session hands out and feeds back
what the ACS answered; the session keeps the order, the cwmp:IDs and the HoldRequests and
UseCWMPVersion headers right::

    s = CpeSession(inform, cwmp_ns="urn:dslforum-org:cwmp-1-2", cwmp_version="1.4",
                   supported_cwmp_versions="1.0,1.1,1.2,1.3,1.4",
                   requests=[TransferComplete(command_key="fw1")])
    post = s.start()                          # the Inform envelope
    while True:
        answer = http_post(post)              # Envelope, or None for HTTP 204 / empty body
        try:
            event = s.receive(answer)
        except ProtocolViolation as exc:
            s.reject(exc)                     # Fault 9000 queued for an unknown method, or ended
            if s.ended: break
            post = s.next_post(); continue
        if isinstance(event, AcsRequestReceived):
            s.respond(handle(event.message))  # the "...Response" or cpe_fault(9005, ...)
        elif isinstance(event, SessionEnded):
            break
        post = s.next_post()                  # a CPE request, a response, or None (empty POST)

Events: :class:`InformAcknowledged` (the InformResponse; ``cwmp_version``/``cwmp_ns`` now hold
the negotiated version), :class:`AcsResponseReceived` (the answer to one of ``requests``),
:class:`AcsFaultReceived` (the ACS faulted the Inform, which ends the session, or a later request,
which does not), :class:`AcsRequestReceived` (answer it with :meth:`CpeSession.respond` before
:meth:`CpeSession.next_post`), :class:`SessionEnded` (the ACS answered with no envelope).

The CPE sends its own requests only in its turn, after the InformResponse and before its empty
POST, and none while the ACS's most recent envelope carried HoldRequests=true. Requests it could
not send stay in ``pending_requests`` for the next session. Violations by the ACS raise
:class:`~cwmp.session_rules.ProtocolViolation` with the CPE fault code (9000 for an unknown method,
which does not end the session; 9003 for anything out of order, which does).
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NoReturn

from .messages import Envelope, Fault, Inform, InformResponse, Message
from .session_rules import ACS_REQUESTS, ProtocolViolation, SessionStateError, cpe_fault, message_kind, response_rpc
from .versions import VERSIONS, namespace_for, parse_version_list, version_key

__all__ = [
    "AcsFaultReceived",
    "AcsRequestReceived",
    "AcsResponseReceived",
    "CpeEvent",
    "CpeSession",
    "CpeState",
    "InformAcknowledged",
    "SessionEnded",
]


@dataclass(slots=True)
class InformAcknowledged:
    response: InformResponse
    envelope: Envelope | None = None


@dataclass(slots=True)
class AcsResponseReceived:
    """The ACS answered a CPE request (TransferCompleteResponse, GetRPCMethodsResponse...)."""

    request: Message
    response: Message
    envelope: Envelope | None = None


@dataclass(slots=True)
class AcsRequestReceived:
    """An ACS request; answer it with ``respond()``."""

    message: Message
    envelope: Envelope


@dataclass(slots=True)
class AcsFaultReceived:
    """The ACS answered a CPE request (``request``) with a Fault (8000-8006)."""

    fault: Fault
    request: Message | None = None
    envelope: Envelope | None = None


@dataclass(slots=True)
class SessionEnded:
    """The ACS answered with no envelope (HTTP 204): the session is over."""


CpeEvent = InformAcknowledged | AcsResponseReceived | AcsRequestReceived | AcsFaultReceived | SessionEnded


class CpeState(enum.Enum):
    IDLE = "idle"  # start() not called yet
    AWAIT_INFORM_RESPONSE = "await_inform_response"
    CPE_TURN = "cpe_turn"  # next_post() sends a request or the empty POST
    AWAIT_RESPONSE = "await_response"  # a CPE request awaits the ACS's answer
    ACS_TURN = "acs_turn"  # the CPE posted a response or the empty POST: the ACS sends or ends
    RESPONDING = "responding"  # an ACS request awaits respond() and next_post()
    ENDED = "ended"


class CpeSession:
    """The CPE end of one CWMP session; see the module docstring."""

    def __init__(
        self,
        inform: Inform,
        *,
        cwmp_ns: str,
        cwmp_version: str,
        supported_cwmp_versions: str | None = None,
        requests: Iterable[Message] = (),
    ) -> None:
        self.inform = inform
        self.cwmp_ns = cwmp_ns
        self.cwmp_version = cwmp_version
        self.supported_cwmp_versions = supported_cwmp_versions
        self.pending_requests: list[Message] = list(requests)
        for request in self.pending_requests:
            _check_cpe_request(request)
        self.state = CpeState.IDLE
        self.hold_requests = False  # as the ACS's most recent envelope said
        self.inform_acknowledged = False
        self.outstanding: Message | None = None  # CPE request awaiting the ACS's answer
        self.outstanding_id: str | None = None
        self.current_request: Message | None = None  # ACS request being answered
        self.current_request_id: str | None = None
        self.rpc_count = 0  # ACS requests answered
        self._response: Message | None = None
        self._id_seq = secrets.randbelow(1_000_000_000)

    @property
    def ended(self) -> bool:
        return self.state is CpeState.ENDED

    def queue_request(self, message: Message) -> None:
        """Add a request to send in this session's CPE turn (or the next session's)."""
        _check_cpe_request(message)
        self.pending_requests.append(message)

    # -------------------------------------------------------------- outbound

    def start(self) -> Envelope:
        """The Inform to POST first."""
        if self.state is not CpeState.IDLE:
            raise SessionStateError("start() opens the session once")
        self.state = CpeState.AWAIT_INFORM_RESPONSE
        self.outstanding = self.inform
        self.outstanding_id = self._next_id()
        envelope = self._envelope(self.inform, self.outstanding_id)
        envelope.supported_cwmp_versions = self.supported_cwmp_versions
        return envelope

    def respond(self, message: Message) -> None:
        """The answer to the ACS request just received: its "...Response" or a Fault (9000-9899)."""
        if self.state is not CpeState.RESPONDING or self.current_request is None:
            raise SessionStateError("no ACS request awaits an answer")
        if self._response is not None:
            raise SessionStateError("the ACS request is already answered; call next_post()")
        if not isinstance(message, Fault) and message.RPC != response_rpc(self.current_request):
            raise SessionStateError(f"{message.RPC} does not answer {self.current_request.RPC}")
        self._response = message

    def next_post(self) -> Envelope | None:
        """What to POST next: a CPE request, the pending response, or None for an empty POST."""
        if self.state is CpeState.RESPONDING:
            if self._response is None:
                raise SessionStateError("respond() to the ACS request first")
            envelope = self._envelope(self._response, self.current_request_id)
            self._response = None
            self.current_request = None
            self.current_request_id = None
            self.rpc_count += 1
            self.state = CpeState.ACS_TURN
            return envelope
        if self.state is not CpeState.CPE_TURN:
            raise SessionStateError(f"nothing to POST in state {self.state.name}; receive() first")
        if self.pending_requests and not self.hold_requests:
            self.outstanding = self.pending_requests.pop(0)
            self.outstanding_id = self._next_id()
            self.state = CpeState.AWAIT_RESPONSE
            return self._envelope(self.outstanding, self.outstanding_id)
        self.state = CpeState.ACS_TURN
        return None

    def reject(self, violation: ProtocolViolation) -> None:
        """Handle a violation ``receive()`` raised: queue Fault 9000 for an unknown method, else end."""
        if not violation.ends_session and self.state is CpeState.RESPONDING:
            self.respond(cpe_fault(violation.fault_code, violation.message))
            return
        self.state = CpeState.ENDED

    def abort(self) -> None:
        """Give up on the session (timeout, connection lost)."""
        self.state = CpeState.ENDED

    # --------------------------------------------------------------- inbound

    def receive(self, envelope: Envelope | None) -> CpeEvent:
        """What the ACS answered the last POST with; None (or no body) is an HTTP 204."""
        if self.state in (CpeState.IDLE, CpeState.CPE_TURN, CpeState.RESPONDING, CpeState.ENDED):
            raise SessionStateError(f"no POST awaits an answer in state {self.state.name}")
        if envelope is None or envelope.body is None:
            if self.state is CpeState.ACS_TURN:
                self.state = CpeState.ENDED
                return SessionEnded()
            self._violate(f"empty answer to {self.outstanding.RPC if self.outstanding else 'a request'}", None)
        self.hold_requests = bool(envelope.hold_requests)  # each ACS envelope says it anew
        if self.state is CpeState.ACS_TURN:
            return self._receive_acs_request(envelope.body, envelope)
        return self._receive_answer(envelope.body, envelope)

    def _receive_answer(self, body: Message, envelope: Envelope) -> CpeEvent:
        request = self.outstanding
        assert request is not None
        kind = message_kind(body)
        if kind == "request":
            self._violate(f"{body.RPC} sent while {request.RPC} awaits its response", envelope)
        if kind == "response" and body.RPC != response_rpc(request):
            self._violate(f"{body.RPC} does not answer {request.RPC}", envelope)
        if envelope.id is not None and envelope.id != self.outstanding_id:
            self._violate(f"cwmp:ID {envelope.id!r} does not echo {self.outstanding_id!r}", envelope)
        self.outstanding = None
        self.outstanding_id = None
        if isinstance(body, Fault):
            # A faulted Inform fails the session; a faulted later request does not.
            self.state = CpeState.ENDED if isinstance(request, Inform) else CpeState.CPE_TURN
            return AcsFaultReceived(body, request, envelope)
        self.state = CpeState.CPE_TURN
        if isinstance(body, InformResponse):
            self._adopt_version(envelope)
            self.inform_acknowledged = True
            return InformAcknowledged(body, envelope)
        return AcsResponseReceived(request, body, envelope)

    def _receive_acs_request(self, body: Message, envelope: Envelope) -> AcsRequestReceived:
        if message_kind(body) != "request":
            self._violate(f"{body.RPC} received but no CPE request is outstanding", envelope)
        self.state = CpeState.RESPONDING
        self.current_request = body
        self.current_request_id = envelope.id
        if body.RPC not in ACS_REQUESTS:
            raise ProtocolViolation(
                9000, f"{body.RPC} is not a method the CPE supports", envelope=envelope, ends_session=False
            )
        return AcsRequestReceived(body, envelope)

    def _adopt_version(self, envelope: Envelope) -> None:
        use = envelope.use_cwmp_version
        if use:
            offered = parse_version_list(self.supported_cwmp_versions or self.cwmp_version)
            if use not in offered or use not in VERSIONS:
                self._violate(f"UseCWMPVersion {use!r} was not offered", envelope)
            self.cwmp_version = use
            self.cwmp_ns = namespace_for(use)
        elif (envelope.cwmp_version in VERSIONS and self.cwmp_version in VERSIONS
              and version_key(envelope.cwmp_version) < version_key(self.cwmp_version)):
            # An ACS that does not negotiate speaks the version of its namespace; never go higher.
            self.cwmp_version = envelope.cwmp_version
            self.cwmp_ns = envelope.cwmp_ns

    def _violate(self, text: str, envelope: Envelope | None) -> NoReturn:
        self.state = CpeState.ENDED
        raise ProtocolViolation(9003, text, envelope=envelope)

    def _next_id(self) -> str:
        self._id_seq += 1
        return str(self._id_seq)

    def _envelope(self, body: Message, envelope_id: str | None) -> Envelope:
        return Envelope(body=body, id=envelope_id, cwmp_ns=self.cwmp_ns, cwmp_version=self.cwmp_version)


def _check_cpe_request(message: Message) -> None:
    if message_kind(message) != "request" or isinstance(message, Inform):
        raise SessionStateError(f"{message.RPC} is not a CPE request to queue")
