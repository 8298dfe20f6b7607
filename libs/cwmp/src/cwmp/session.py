"""CWMP session state machines (TR-069 Amendment 6, section 3.7 and the HTTP binding), sans-I/O.

A CWMP session is a sequence of HTTP POSTs from the CPE, each answered by the ACS, carrying at
most one SOAP envelope each way. These classes never touch HTTP or XML: they take and return
:class:`~cwmp.messages.Envelope` values and say what happened, h11 style. The caller owns the
transport, timeouts and the decision of *what* to send; the machines own *whether it may be sent
now* and the SOAP headers that tie requests to responses (cwmp:ID, HoldRequests, UseCWMPVersion).

Session shape::

    CPE  POST Inform                 ->  ACS  InformResponse
    CPE  POST TransferComplete ...   ->  ACS  TransferCompleteResponse ...   (the CPE's turn)
    CPE  POST (empty)                ->  ACS  GetParameterValues             (the ACS's turn)
    CPE  POST GetParameterValuesResponse -> ACS ...
    CPE  POST <last response>        ->  ACS  HTTP 204 (no envelope): the session ends

ACS side, :class:`AcsSession` (the task scheduler drives it)::

    s = AcsSession()
    try:
        ev = s.receive(envelope_or_None)      # one call per CPE POST
    except ProtocolViolation as exc:
        reply = s.reject(exc)                 # a Fault envelope, or None: answer 204 and close
    InformReceived      -> s.respond(s.inform_response())
    CpeRequestReceived  -> s.respond(TransferCompleteResponse()) or s.respond(acs_fault(8000))
    CpeTurnEnded / ResponseReceived / FaultReceived
                        -> s.send_request(GetParameterValues([...]))  or  s.end()  (HTTP 204)

Violations raise :class:`ProtocolViolation` carrying the ACS fault code (8000-8006) the ACS
answers with: 8003 for anything out of order (no Inform first, a second Inform, a response with
no request outstanding or of the wrong type or with another cwmp:ID, a CPE request while an ACS
request is outstanding or while HoldRequests is true, an empty POST while an answer is due) and
8006 when the CPE offers no CWMP version the ACS supports. All are fatal (the session is over)
except a request for a method the ACS does not know, which is answered with Fault 8000 while the
session goes on. SOAP forbids a Fault in reply to a response or a fault, so
:meth:`AcsSession.reject` returns ``None`` for those: the caller then answers HTTP 204 and drops
the session. A POST the codec could not read at all (a ``cwmp.errors.CwmpError``) goes to
:meth:`AcsSession.reject_unreadable` with the error's code, message, cwmp:ID and namespace.
Misuse by the caller (receiving twice without answering, sending in the CPE's turn...) raises
:class:`SessionStateError` instead: that is a bug here, not the peer's fault.

Headers the session owns:

* cwmp:ID: answers echo the request's ID; ACS requests get a fresh "<8 hex>-<n>", or
  "<8 hex>-<n>.<tag>" when the caller tags them (``send_request(..., tag=)``: what the request
  is for, e.g. a task id and step, short and in ``[A-Za-z0-9_.:]``; :func:`request_tag` reads it
  back from the ID a CPE echoes). IDs stay under :data:`MAX_REQUEST_ID_LENGTH` characters. A
  missing cwmp:ID in a CPE response is accepted (some CPEs send no SOAP Header at all); a present
  but different one is a violation.
* HoldRequests: while ``hold_requests`` is true every ACS envelope carries HoldRequests=true; the
  first envelope after the release carries an explicit false, later ones omit the header. CPEs
  that read the header per envelope and those that read it as sticky behave the same.
* UseCWMPVersion: when the Inform carries SupportedCWMPVersions (CWMP 1.4), the InformResponse
  names the highest version both sides support and the session speaks it from then on (its
  namespace too: 1.0 and 1.1 have their own, 1.2-1.4 share cwmp-1-2). Otherwise the session
  answers in the Inform's namespace and version.

Offering the first request ahead: in the CPE's turn, :meth:`AcsSession.offer_request` builds
the request the ACS will answer the CPE's empty POST with, without sending it, so whoever holds
the CPE's connection can answer that POST at once. If the CPE's next message answers it, the
empty POST and the request are taken as having happened. If an empty POST or a CPE request comes
instead, the offer did not reach the CPE: it stays in ``offered`` until ``send_request`` sends it.

Resuming another process's request: a session rebuilt elsewhere (a scheduler that never saw it
begin) can take up the request another process sent, with :meth:`AcsSession.resume_request`
(the request and the cwmp:ID it went out with); the CPE's answer is then received as if this
session had sent it. With ``replace=True`` it takes the place of a request this session sent
itself that never reached the CPE (a session rebuilt from a replayed Inform asked again).

``AcsSession.to_dict()``/``from_dict()`` give a JSON-safe snapshot for moving a session between
scheduler instances; the Inform, the outstanding ACS request and an unanswered CPE request are
kept whole in the form of ``cwmp.serialize.message_to_dict``.

The CPE side is :class:`cwmp.session_cpe.CpeSession`; the rules both sides share live in
:mod:`cwmp.session_rules` (re-exported here).
"""

from __future__ import annotations

import enum
import re
import secrets
from dataclasses import dataclass
from typing import Any, Final, NoReturn

from . import messages as m
from .faults import is_acs_fault
from .messages import Envelope, Fault, Inform, InformResponse, Message
from .serialize import message_from_dict, message_to_dict
from .session_rules import (
    ACS_REQUESTS,
    CPE_REQUESTS,
    ProtocolViolation,
    SessionStateError,
    acs_fault,
    cpe_fault,
    message_kind,
    response_rpc,
)
from .versions import VERSIONS, choose_version, namespace_for, version_for_namespace

__all__ = [
    "ACS_REQUESTS",
    "MAX_REQUEST_ID_LENGTH",
    "MAX_TAG_LENGTH",
    "AcsEvent",
    "AcsSession",
    "AcsState",
    "CPE_REQUESTS",
    "CpeRequestReceived",
    "CpeTurnEnded",
    "FaultReceived",
    "InformReceived",
    "ProtocolViolation",
    "ResponseReceived",
    "SessionStateError",
    "acs_fault",
    "cpe_fault",
    "message_kind",
    "request_tag",
    "response_rpc",
]

#: ACS request IDs (cwmp:ID) are shorter than this: a CPE must echo them.
MAX_REQUEST_ID_LENGTH: Final[int] = 64
#: The longest tag an ACS request ID may carry (``send_request(..., tag=)``).
MAX_TAG_LENGTH: Final[int] = 40
_TAG = re.compile(rf"[A-Za-z0-9_.:]{{1,{MAX_TAG_LENGTH}}}")
_TAGGED_ID = re.compile(rf"[0-9a-f]{{1,16}}-[0-9]{{1,12}}\.(?P<tag>{_TAG.pattern})")


def request_tag(request_id: str | None) -> str | None:
    """The tag of an ACS request ID built with ``send_request(..., tag=)`` or
    ``offer_request(..., tag=)`` (as the CPE echoes it in its answer), or None: no ID, an
    untagged one, or one this module did not build."""
    if not request_id or len(request_id) >= MAX_REQUEST_ID_LENGTH:
        return None
    match = _TAGGED_ID.fullmatch(request_id)
    return match.group("tag") if match else None


# ------------------------------------------------------------------------------------ events


@dataclass(slots=True)
class InformReceived:
    """The session's Inform arrived; answer it with ``respond(session.inform_response())``."""

    inform: Inform
    envelope: Envelope


@dataclass(slots=True)
class CpeRequestReceived:
    """A CPE request other than Inform; answer it with ``respond()`` before the next receive."""

    message: Message
    envelope: Envelope


@dataclass(slots=True)
class CpeTurnEnded:
    """The CPE sent an empty POST: it has no more requests and the ACS may now send its own."""


@dataclass(slots=True)
class ResponseReceived:
    """The CPE answered the outstanding ACS request."""

    request: Message
    response: Message
    envelope: Envelope


@dataclass(slots=True)
class FaultReceived:
    """The CPE answered the outstanding ACS request with a Fault (9000-9899)."""

    request: Message
    fault: Fault
    envelope: Envelope


AcsEvent = InformReceived | CpeRequestReceived | CpeTurnEnded | ResponseReceived | FaultReceived


class AcsState(enum.Enum):
    EXPECT_INFORM = "expect_inform"  # nothing received yet (or the Inform awaits its answer)
    CPE_TURN = "cpe_turn"  # InformResponse sent: the CPE sends requests until an empty POST
    ACS_TURN = "acs_turn"  # the CPE has no more requests: the ACS sends its own, one at a time
    ENDED = "ended"


# ---------------------------------------------------------------------------------- ACS side


class AcsSession:
    """The ACS end of one CWMP session. See the module docstring for the call sequence.

    Attributes other parts read: ``state``, ``cwmp_ns``/``cwmp_version`` (learnt from the Inform,
    then from version negotiation), ``inform``, ``outstanding`` (the ACS request awaiting its
    answer), ``hold_requests`` (set it, or pass ``hold_requests=`` to send/respond, to keep the
    CPE from sending requests), ``rpc_count`` (ACS requests sent), ``cpe_request_count``
    (CPE requests received, Inform included), ``fault_count`` (CPE faults received).
    """

    def __init__(self, *, max_envelopes: int = 1, supported_versions: tuple[str, ...] = VERSIONS) -> None:
        self.state = AcsState.EXPECT_INFORM
        self.max_envelopes = max_envelopes
        self.supported_versions = tuple(supported_versions)
        self.cwmp_ns = namespace_for("1.0")
        self.cwmp_version = "1.0"
        self.use_cwmp_version: str | None = None  # set when the CPE sent SupportedCWMPVersions
        self.inform: Inform | None = None
        self.outstanding: Message | None = None
        self.outstanding_id: str | None = None
        self.offered: Message | None = None  # see offer_request()
        self.offered_id: str | None = None
        self.hold_requests = False
        self.rpc_count = 0
        self.cpe_request_count = 0
        self.fault_count = 0
        self.ended_cleanly = False  # end() called with nothing left unanswered
        self._pending: Message | None = None  # CPE request awaiting respond()
        self._pending_id: str | None = None
        self._hold_sent = False  # HoldRequests of the last envelope sent
        self._id_prefix = secrets.token_hex(4)
        self._id_seq = 0

    @property
    def ended(self) -> bool:
        return self.state is AcsState.ENDED

    @property
    def awaiting_answer(self) -> Message | None:
        """The CPE request received and not yet answered with ``respond()``, if any."""
        return self._pending

    # -------------------------------------------------------------- inbound

    def receive(self, envelope: Envelope | None) -> AcsEvent:
        """Take one CPE POST (None or a body-less envelope = an empty POST) and say what it is."""
        if self.state is AcsState.ENDED:
            raise SessionStateError("the session has ended; a new POST starts a new session")
        if self._pending is not None:
            raise SessionStateError(f"answer the CPE's {self._pending.RPC} with respond() first")
        if envelope is None or envelope.body is None:
            return self._receive_empty()
        if self.state is AcsState.EXPECT_INFORM:
            if not isinstance(envelope.body, Inform):
                self._violate(8003, f"the session must start with Inform, got {envelope.body.RPC}", envelope)
            return self._take_inform(envelope.body, envelope)
        if self.state is AcsState.CPE_TURN and self.offered is not None and message_kind(envelope.body) != "request":
            # an answer to the offered request: the CPE's empty POST got it
            self.state = AcsState.ACS_TURN
            self.outstanding, self.outstanding_id = self.offered, self.offered_id
            self.offered = self.offered_id = None
            self.rpc_count += 1
        if self.state is AcsState.CPE_TURN:
            return self._receive_cpe_request(envelope.body, envelope)
        return self._receive_answer(envelope.body, envelope)

    def _receive_empty(self) -> CpeTurnEnded:
        if self.state is AcsState.CPE_TURN:
            self.state = AcsState.ACS_TURN
            return CpeTurnEnded()
        if self.state is AcsState.EXPECT_INFORM:
            self._violate(8003, "the session must start with Inform, got an empty POST", None)
        if self.outstanding is None:
            raise SessionStateError("send_request() or end() before receiving again")
        self._violate(8003, f"empty POST while {self.outstanding.RPC} awaits its response", None)

    def _receive_cpe_request(self, body: Message, envelope: Envelope) -> CpeRequestReceived:
        if message_kind(body) != "request":
            self._violate(8003, f"{body.RPC} received but no ACS request is outstanding", envelope)
        if isinstance(body, Inform):
            self._violate(8003, "a second Inform in the same session", envelope)
        if self._hold_sent:
            self._violate(8003, f"{body.RPC} sent while HoldRequests is true", envelope)
        self._take_request(body, envelope)
        if body.RPC not in CPE_REQUESTS:
            raise ProtocolViolation(
                8000, f"{body.RPC} is not a method the ACS supports", envelope=envelope, ends_session=False
            )
        return CpeRequestReceived(body, envelope)

    def _receive_answer(self, body: Message, envelope: Envelope) -> ResponseReceived | FaultReceived:
        request = self.outstanding
        if request is None:
            raise SessionStateError("send_request() or end() before receiving again")
        kind = message_kind(body)
        if kind == "request":
            self._violate(8003, f"{body.RPC} sent while {request.RPC} awaits its response", envelope)
        if kind == "response" and body.RPC != response_rpc(request):
            self._violate(8003, f"{body.RPC} does not answer {request.RPC}", envelope)
        if envelope.id is not None and self.outstanding_id is not None and envelope.id != self.outstanding_id:
            self._violate(8003, f"cwmp:ID {envelope.id!r} does not echo {self.outstanding_id!r}", envelope)
        self.outstanding = None
        self.outstanding_id = None
        if isinstance(body, Fault):
            self.fault_count += 1
            return FaultReceived(request, body, envelope)
        return ResponseReceived(request, body, envelope)

    def _take_inform(self, inform: Inform, envelope: Envelope) -> InformReceived:
        self.cwmp_ns = envelope.cwmp_ns
        self.cwmp_version = envelope.cwmp_version
        offered = envelope.supported_cwmp_versions or None
        chosen = choose_version(envelope.cwmp_ns, offered, self.supported_versions)
        if chosen is None:
            self.inform = inform
            self.state = AcsState.ENDED
            raise ProtocolViolation(
                8006, f"no CWMP version in common with {offered or envelope.cwmp_ns!r}", envelope=envelope
            )
        if offered is not None:
            # SupportedCWMPVersions (1.4): answer with UseCWMPVersion, the highest common one.
            self.use_cwmp_version = chosen
            self.cwmp_version = chosen
            self.cwmp_ns = namespace_for(chosen)
        self.inform = inform
        self._take_request(inform, envelope)
        return InformReceived(inform, envelope)

    def _take_request(self, message: Message, envelope: Envelope) -> None:
        self._pending = message
        self._pending_id = envelope.id
        self.cpe_request_count += 1

    def _violate(self, code: int, text: str, envelope: Envelope | None) -> NoReturn:
        """Raise a fatal violation; the session is over (reject() still builds the answer)."""
        self.state = AcsState.ENDED
        self._pending = None
        raise ProtocolViolation(code, text, envelope=envelope)

    # ------------------------------------------------------------- outbound

    def inform_response(self) -> InformResponse:
        """The InformResponse this session answers with (MaxEnvelopes from the constructor)."""
        return InformResponse(max_envelopes=self.max_envelopes)

    def respond(self, message: Message, *, hold_requests: bool | None = None) -> Envelope:
        """Answer the CPE request just received: its "...Response" or a Fault (8000-8006)."""
        request = self._pending
        if request is None:
            raise SessionStateError("no CPE request awaits an answer")
        if not isinstance(message, Fault) and message.RPC != response_rpc(request):
            raise SessionStateError(f"{message.RPC} does not answer {request.RPC}")
        envelope = self._envelope(message, self._pending_id, hold_requests)
        if isinstance(request, Inform):
            if self.use_cwmp_version is not None and not isinstance(message, Fault):
                envelope.use_cwmp_version = self.use_cwmp_version
            # A fault to the Inform fails the whole session: the CPE retries later.
            self.state = AcsState.ENDED if isinstance(message, Fault) else AcsState.CPE_TURN
        self._pending = None
        self._pending_id = None
        return envelope

    def send_request(self, message: Message, *, hold_requests: bool | None = None, tag: str | None = None) -> Envelope:
        """Send an ACS request (in the ACS's turn, one at a time) with a fresh cwmp:ID; ``tag``
        (up to ``MAX_TAG_LENGTH`` of ``[A-Za-z0-9_.:]``) is carried in the ID, for
        :func:`request_tag` to read back from the CPE's answer."""
        if self.state is not AcsState.ACS_TURN:
            raise SessionStateError(f"the ACS may send requests only in its turn (state {self.state.name})")
        if self.outstanding is not None:
            raise SessionStateError(f"{self.outstanding.RPC} still awaits its response")
        self._check_request(message)
        request_id = self._next_id(tag)
        self.offered = self.offered_id = None
        self.outstanding = message
        self.outstanding_id = request_id
        self.rpc_count += 1
        return self._envelope(message, request_id, hold_requests)

    def offer_request(self, message: Message, *, tag: str | None = None) -> Envelope:
        """Build, in the CPE's turn, the request that will answer the CPE's empty POST (see the
        module docstring). Nothing is sent: a CPE message answering it sends it retroactively;
        otherwise it waits in ``offered`` for ``send_request``. ``tag`` as for ``send_request``."""
        if self.state is not AcsState.CPE_TURN:
            raise SessionStateError(f"a request is offered in the CPE's turn (state {self.state.name})")
        self._check_request(message)
        self.offered, self.offered_id = message, self._next_id(tag)
        return Envelope(body=message, id=self.offered_id, hold_requests=True if self.hold_requests else None,
                        cwmp_ns=self.cwmp_ns, cwmp_version=self.cwmp_version)

    def resume_request(self, message: Message, request_id: str, *, replace: bool = False) -> None:
        """Take up a request another process sent in this session: ``message`` went out with
        cwmp:ID ``request_id`` (e.g. from a scheduler that gave the session up mid-way) and awaits
        the CPE's answer. For a session rebuilt after its Inform (in the CPE's or the ACS's turn,
        nothing awaiting ``respond()``): it moves to the ACS's turn with that request
        outstanding, counted as sent, so the next ``receive`` takes its response or fault as if
        this session had sent it (a response of another type, or another cwmp:ID, is the usual
        8003). An offered request is dropped (it did not reach the CPE).

        A request of this session's own outstanding is an error, unless ``replace``: then the
        session sent its request to nobody (it was rebuilt from a replayed Inform and asked
        again for what the other process had asked, on an HTTP request nobody waits for any
        more) and ``message`` takes its place, counted once."""
        if self.state not in (AcsState.CPE_TURN, AcsState.ACS_TURN):
            raise SessionStateError(f"a request is resumed after the Inform (state {self.state.name})")
        if self._pending is not None:
            raise SessionStateError(f"answer the CPE's {self._pending.RPC} with respond() first")
        if self.outstanding is not None and not replace:
            raise SessionStateError(f"{self.outstanding.RPC} still awaits its response")
        self._check_request(message)
        if not request_id:
            raise ValueError("the cwmp:ID the request went out with is needed")
        if self.outstanding is None:
            self.rpc_count += 1
        self.state = AcsState.ACS_TURN
        self.offered = self.offered_id = None
        self.outstanding, self.outstanding_id = message, request_id

    def _next_id(self, tag: str | None) -> str:
        if tag is not None and not _TAG.fullmatch(tag):
            raise ValueError(f"a request tag is 1-{MAX_TAG_LENGTH} characters of [A-Za-z0-9_.:], not {tag!r}")
        self._id_seq += 1
        request_id = f"{self._id_prefix}-{self._id_seq}"
        return request_id if tag is None else f"{request_id}.{tag}"

    @staticmethod
    def _check_request(message: Message) -> None:
        if message_kind(message) != "request" or message.RPC not in ACS_REQUESTS:
            raise SessionStateError(f"{message.RPC} is not an ACS request")

    def end(self) -> None:
        """Nothing more to send: the caller answers HTTP 204. Also aborts a broken session."""
        self.ended_cleanly = (
            self.state is AcsState.ACS_TURN and self.outstanding is None and self._pending is None
        )
        self.state = AcsState.ENDED
        self._pending = None
        self.offered = self.offered_id = None

    def reject(self, violation: ProtocolViolation) -> Envelope | None:
        """The answer to a violation ``receive()`` raised: a Fault envelope, or None (HTTP 204).

        For an unsupported method the Fault 8000 answers the request and the session goes on.
        """
        if not violation.ends_session:
            return self.respond(acs_fault(violation.fault_code, violation.message))
        self.state = AcsState.ENDED
        self._pending = None
        if not violation.answerable:
            return None
        offending = violation.envelope
        return Envelope(
            body=acs_fault(violation.fault_code, violation.message),
            id=offending.id if offending is not None else None,
            cwmp_ns=offending.cwmp_ns if offending is not None else self.cwmp_ns,
            cwmp_version=offending.cwmp_version if offending is not None else self.cwmp_version,
        )

    def reject_unreadable(
        self,
        fault_code: int,
        detail: str,
        *,
        envelope_id: str | None = None,
        cwmp_ns: str | None = None,
    ) -> Envelope | None:
        """The answer to a POST the codec could not turn into an Envelope (a ``CwmpError``).

        Pass the error's ``fault_code``, message, ``envelope_id`` and ``cwmp_ns``. In the CPE's
        turn an unknown method (8000) is answered with Fault 8000 and the session goes on, as for
        ``reject()``. Anything else ends the session: with a Fault where the POST could only
        have been a request (before the Inform is answered, or in the CPE's turn), else None
        (HTTP 204), since an unreadable answer to an ACS request must not be faulted.
        """
        if self.state is AcsState.ENDED:
            raise SessionStateError("the session has ended; a new POST starts a new session")
        if self._pending is not None:
            raise SessionStateError(f"answer the CPE's {self._pending.RPC} with respond() first")
        if self.state is AcsState.ACS_TURN and self.outstanding is None:
            raise SessionStateError("send_request() or end() before receiving again")
        code = fault_code if is_acs_fault(fault_code) else 8002
        if self.state is AcsState.ACS_TURN:
            self.end()
            return None
        same_ns = cwmp_ns is None or cwmp_ns == self.cwmp_ns
        envelope = Envelope(
            body=acs_fault(code, detail),
            id=envelope_id,
            cwmp_ns=cwmp_ns or self.cwmp_ns,
            cwmp_version=self.cwmp_version if same_ns else version_for_namespace(cwmp_ns) or "1.0",
        )
        if self.state is AcsState.CPE_TURN and self._hold_sent:
            code, detail = 8003, f"request sent while HoldRequests is true ({detail})"
            envelope.body = acs_fault(code, detail)
        elif code == 8000 and self.state is AcsState.CPE_TURN:
            self.cpe_request_count += 1
            envelope.hold_requests = self._hold_header()
            return envelope
        self.end()
        return envelope

    def _hold_header(self) -> bool | None:
        # True on every envelope while holding; an explicit False once on release, then omitted,
        # so CPEs that read the header as sticky and those that read it per envelope agree.
        if self.hold_requests:
            header: bool | None = True
        else:
            header = False if self._hold_sent else None
        self._hold_sent = self.hold_requests
        return header

    def _envelope(self, body: Message, envelope_id: str | None, hold_requests: bool | None) -> Envelope:
        if hold_requests is not None:
            self.hold_requests = hold_requests
        return Envelope(
            body=body,
            id=envelope_id,
            hold_requests=self._hold_header(),
            cwmp_ns=self.cwmp_ns,
            cwmp_version=self.cwmp_version,
        )

    # -------------------------------------------------------- serialisation

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe snapshot. Messages (the Inform, the outstanding request) are kept whole, in
        the form ``cwmp.serialize.message_to_dict`` gives them, so a ResponseReceived after a
        move still carries the full request."""
        return {
            "v": 1,
            "state": self.state.value,
            "max_envelopes": self.max_envelopes,
            "supported_versions": list(self.supported_versions),
            "cwmp_ns": self.cwmp_ns,
            "cwmp_version": self.cwmp_version,
            "use_cwmp_version": self.use_cwmp_version,
            "inform": _to_json(self.inform),
            "outstanding": _to_json(self.outstanding),
            "outstanding_id": self.outstanding_id,
            "offered": _to_json(self.offered),
            "offered_id": self.offered_id,
            "pending": _to_json(self._pending),
            "pending_id": self._pending_id,
            "hold_requests": self.hold_requests,
            "hold_sent": self._hold_sent,
            "rpc_count": self.rpc_count,
            "cpe_request_count": self.cpe_request_count,
            "fault_count": self.fault_count,
            "ended_cleanly": self.ended_cleanly,
            "id_prefix": self._id_prefix,
            "id_seq": self._id_seq,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "AcsSession":
        if data.get("v") != 1:
            raise ValueError(f"unknown AcsSession snapshot version {data.get('v')!r}")
        session = cls(max_envelopes=data["max_envelopes"], supported_versions=tuple(data["supported_versions"]))
        session.state = AcsState(data["state"])
        session.cwmp_ns = data["cwmp_ns"]
        session.cwmp_version = data["cwmp_version"]
        session.use_cwmp_version = data["use_cwmp_version"]
        inform = _from_json(data["inform"])
        session.inform = inform if isinstance(inform, Inform) else None
        session.outstanding = _from_json(data["outstanding"])
        session.outstanding_id = data["outstanding_id"]
        session.offered = _from_json(data.get("offered"))
        session.offered_id = data.get("offered_id")
        session._pending = _from_json(data["pending"])
        session._pending_id = data["pending_id"]
        session.hold_requests = data["hold_requests"]
        session._hold_sent = data["hold_sent"]
        session.rpc_count = data["rpc_count"]
        session.cpe_request_count = data["cpe_request_count"]
        session.fault_count = data["fault_count"]
        session.ended_cleanly = data["ended_cleanly"]
        session._id_prefix = data["id_prefix"]
        session._id_seq = data["id_seq"]
        return session


# ------------------------------------------------------------------ message <-> JSON (private)


def _to_json(message: Message | None) -> dict[str, Any] | None:
    """The codec's JSON form of a message (the one Kafka events use), kept whole."""
    if message is None:
        return None
    if m.MESSAGE_TYPES.get(message.RPC) is not type(message):
        # Only an unsupported CPE request can be of a class the codec does not know; its name
        # is all the session needs to answer it with Fault 8000.
        return {"rpc": message.RPC, "unknown": True}
    return message_to_dict(message)


def _from_json(data: dict[str, Any] | None) -> Message | None:
    if data is None:
        return None
    if data.get("unknown"):
        opaque: Message = type(data["rpc"], (Message,), {"RPC": data["rpc"], "DIRECTION": "cpe"})()
        return opaque
    return message_from_dict(data)
