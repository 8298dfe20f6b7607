"""Property tests: random legal and illegal CWMP sessions against an independent model of the rules.

The model below restates TR-069 section 3.7 in a few lines; the state machines must agree with it
on every step, never crash, and raise ProtocolViolation with an ACS code (8000-8006) or a CPE code
(9000/9003) for every illegal step.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from cwmp import messages as m
from cwmp.events import EventCode
from cwmp.messages import Envelope
from cwmp.session import (
    AcsSession,
    AcsState,
    CpeRequestReceived,
    CpeTurnEnded,
    FaultReceived,
    InformReceived,
    ProtocolViolation,
    ResponseReceived,
    SessionStateError,
    acs_fault,
    cpe_fault,
)
from cwmp.session_cpe import (
    AcsFaultReceived,
    AcsRequestReceived,
    AcsResponseReceived,
    CpeSession,
    CpeState,
    InformAcknowledged,
    SessionEnded,
)

NS12 = "urn:dslforum-org:cwmp-1-2"


def make_inform() -> m.Inform:
    return m.Inform(
        device_id=m.DeviceIdStruct("Acme", "00D09E", "HG8245", "SN0001"),
        events=[m.EventStruct(EventCode.BOOT), m.EventStruct(EventCode.M_REBOOT, "rb")],
        parameter_list=[m.ParameterValueStruct("Device.DeviceInfo.UpTime", 12, "xsd:unsignedInt")],
    )


# What the ACS may ask, with a matching CPE answer.
ACS_CALLS: dict[str, tuple[m.Message, m.Message]] = {
    "GetParameterValues": (m.GetParameterValues(["Device."]), m.GetParameterValuesResponse([])),
    "SetParameterValues": (
        m.SetParameterValues([m.ParameterValueStruct("Device.A", "1")], "k"),
        m.SetParameterValuesResponse(0),
    ),
    "GetRPCMethods": (m.GetRPCMethods(), m.GetRPCMethodsResponse(["Inform"])),
    "Download": (m.Download("c", "1 Firmware Upgrade Image", "http://fw"), m.DownloadResponse(1)),
    "Reboot": (m.Reboot("r"), m.RebootResponse()),
}
# What the CPE may ask, with a matching ACS answer.
CPE_CALLS: dict[str, tuple[m.Message, m.Message]] = {
    "TransferComplete": (m.TransferComplete("fw"), m.TransferCompleteResponse()),
    "GetRPCMethods": (m.GetRPCMethods(), m.GetRPCMethodsResponse(["GetParameterValues"])),
    "Kicked": (m.Kicked("c", "r", "a", "n"), m.KickedResponse("http://n")),
    "RequestDownload": (m.RequestDownload("1 Firmware Upgrade Image"), m.RequestDownloadResponse()),
}

POST_KINDS = [
    "inform",
    "inform_1_4",
    "cpe_request",
    "unsupported",
    "empty",
    "right_response",
    "wrong_response",
    "fault",
]


@dataclass
class AcsModel:
    """The rules, restated: where the session is and what the ACS last said."""

    phase: str = "new"  # new, inform_pending, cpe_turn, cpe_pending, acs_turn, acs_wait, ended
    hold: bool = False
    hold_sent: bool = False
    out_rpc: str | None = None
    out_id: str | None = None
    pending_id: str | None = None
    pending_rpc: str | None = None
    rpcs: int = 0
    ids: set[str] = field(default_factory=set)


STATE_OF_PHASE = {
    "new": AcsState.EXPECT_INFORM,
    "inform_pending": AcsState.EXPECT_INFORM,
    "cpe_turn": AcsState.CPE_TURN,
    "cpe_pending": AcsState.CPE_TURN,
    "acs_turn": AcsState.ACS_TURN,
    "acs_wait": AcsState.ACS_TURN,
    "ended": AcsState.ENDED,
}


class AcsSessionMachine(RuleBasedStateMachine):
    """One rule per HTTP round trip: the CPE posts, the ACS answers as the caller would.

    Between the two, the session may move to a fresh instance or the caller may misuse it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.acs = AcsSession()
        self.model = AcsModel()
        self.seq = 0

    # ---------------------------------------------------------------- helpers

    def check_hold_header(self, envelope: Envelope) -> None:
        if self.model.hold:
            assert envelope.hold_requests is True
        elif self.model.hold_sent:
            assert envelope.hold_requests is False
        else:
            assert envelope.hold_requests is None
        self.model.hold_sent = self.model.hold

    def build_post(self, kind: str, rpc: str, id_mode: str) -> Envelope | None:
        self.seq += 1
        if kind == "empty":
            return None
        request_id = f"c{self.seq}"
        if kind in ("right_response", "wrong_response", "fault"):
            request_id = {"echo": self.model.out_id, "other": "not-mine", "none": None}[id_mode]
        supported = None
        if kind == "inform":
            body: m.Message = make_inform()
        elif kind == "inform_1_4":
            body, supported = make_inform(), "1.0,1.1,1.2,1.3,1.4"
        elif kind == "cpe_request":
            body = CPE_CALLS[rpc][0]
        elif kind == "unsupported":
            body = m.FactoryReset()  # an ACS method; the ACS implements no such thing
        elif kind == "right_response":
            body = ACS_CALLS[self.model.out_rpc or "Reboot"][1]
        elif kind == "wrong_response":
            body = m.ScheduleInformResponse()  # answers nothing the ACS here ever asks
        else:
            body = cpe_fault(9002)
        return Envelope(body, id=request_id, cwmp_ns=NS12, cwmp_version="1.2", supported_cwmp_versions=supported)

    def legal_posts(self) -> list[tuple[str, str]]:
        """(kind, id_mode) pairs that the rules allow now: most draws take one of these."""
        phase = self.model.phase
        if phase == "new":
            return [("inform", "echo"), ("inform_1_4", "echo")]
        if phase == "cpe_turn":
            return [("empty", "echo")] + ([] if self.model.hold_sent else [("cpe_request", "echo")] * 2)
        return [("right_response", "echo"), ("right_response", "none"), ("fault", "echo")]

    def expected(self, kind: str, id_mode: str) -> tuple[str, int | None]:
        """(event name or "violation", fault code) per the rules."""
        phase, is_request = self.model.phase, kind in ("inform", "inform_1_4", "cpe_request", "unsupported")
        if phase == "new":
            return ("InformReceived", None) if kind.startswith("inform") else ("violation", 8003)
        if phase == "cpe_turn":
            if kind == "empty":
                return "CpeTurnEnded", None
            if not is_request or kind.startswith("inform") or self.model.hold_sent:
                return "violation", 8003
            return ("violation", 8000) if kind == "unsupported" else ("CpeRequestReceived", None)
        assert phase == "acs_wait"
        if kind == "empty" or is_request or kind == "wrong_response" or id_mode == "other":
            return "violation", 8003
        return ("FaultReceived" if kind == "fault" else "ResponseReceived"), None

    def move(self) -> None:
        snapshot = json.loads(json.dumps(self.acs.to_dict()))
        self.acs = AcsSession.from_dict(snapshot)
        assert self.acs.to_dict() == snapshot

    def caller_mistake(self) -> None:
        """A call the state machine must refuse without changing anything."""
        before = self.acs.to_dict()
        phase = self.model.phase
        try:
            if phase in ("ended", "inform_pending", "cpe_pending", "acs_turn"):
                self.acs.receive(None)
            elif phase in ("new", "cpe_turn"):
                self.acs.send_request(m.Reboot())
            else:
                self.acs.respond(m.TransferCompleteResponse())
        except SessionStateError:
            pass
        else:
            raise AssertionError(f"misuse accepted in {phase}")
        assert self.acs.to_dict() == before

    def acs_answers(self, fault: int | None) -> None:
        if self.model.pending_rpc == "Inform":
            answer: m.Message = self.acs.inform_response()
        else:
            answer = CPE_CALLS[self.model.pending_rpc][1]
        reply = self.acs.respond(acs_fault(fault) if fault else answer)
        assert reply.id == self.model.pending_id
        self.check_hold_header(reply)
        if self.model.pending_rpc == "Inform":
            assert reply.use_cwmp_version == (None if fault else self.acs.use_cwmp_version)
            self.model.phase = "ended" if fault else "cpe_turn"
        else:
            self.model.phase = "cpe_turn"

    def acs_sends_or_ends(self, rpc: str | None, hold: bool | None) -> None:
        if rpc is None:
            self.acs.end()
            assert self.acs.ended_cleanly
            self.model.phase = "ended"
            return
        if hold is not None:
            self.model.hold = hold
        reply = self.acs.send_request(ACS_CALLS[rpc][0], hold_requests=hold)
        self.check_hold_header(reply)
        assert reply.id not in self.model.ids
        self.model.ids.add(reply.id)
        self.model.phase, self.model.out_rpc, self.model.out_id = "acs_wait", rpc, reply.id
        self.model.rpcs += 1

    # ------------------------------------------------------------------ rules

    @precondition(lambda self: self.model.phase in ("new", "cpe_turn", "acs_wait"))
    @rule(
        legal=st.integers(0, 9),
        pick=st.integers(0, 100),
        kind=st.sampled_from(POST_KINDS),
        rpc=st.sampled_from(sorted(CPE_CALLS)),
        id_mode=st.sampled_from(["echo", "other", "none"]),
        between=st.sampled_from(["nothing"] * 4 + ["move", "mistake"]),
        fault=st.sampled_from([None] * 8 + [8001, 8005]),
        next_rpc=st.sampled_from(sorted(ACS_CALLS) + [None]),
        hold=st.sampled_from([None] * 4 + [True, False]),
    )
    def round_trip(self, legal, pick, kind, rpc, id_mode, between, fault, next_rpc, hold) -> None:
        if legal < 8:  # mostly a legal step, so that sessions get deep before something breaks them
            choices = self.legal_posts()
            kind, id_mode = choices[pick % len(choices)]
        self.exchange(kind, rpc, id_mode, between, fault, next_rpc, hold)

    @precondition(lambda self: self.model.phase == "acs_wait")
    @rule(kind=st.sampled_from(["right_response", "fault"]))
    def cpe_answers_with_a_foreign_id(self, kind: str) -> None:
        self.exchange(kind, "GetRPCMethods", "other", "nothing", None, None, None)

    def exchange(self, kind, rpc, id_mode, between, fault, next_rpc, hold) -> None:
        envelope = self.build_post(kind, rpc, id_mode)
        outcome, code = self.expected(kind, id_mode)
        try:
            event = self.acs.receive(envelope)
        except ProtocolViolation as exc:
            assert outcome == "violation", f"{kind} in {self.model.phase}: unexpected {exc}"
            self.rejected(exc, code, kind, envelope, between)
            return
        assert outcome == type(event).__name__, f"{kind} in {self.model.phase}: got {event}"
        self.model_follows(event, envelope, rpc)
        self.agrees_with_the_model()
        if between == "move":
            self.move()
        elif between == "mistake":
            self.caller_mistake()
        if self.model.phase in ("inform_pending", "cpe_pending"):
            self.acs_answers(fault)
        else:
            self.acs_sends_or_ends(next_rpc, hold)

    def rejected(self, exc: ProtocolViolation, code: int, kind: str, envelope: Envelope | None, between: str) -> None:
        """The ACS refused the POST with the expected fault: the session ends, or the CPE keeps its turn."""
        assert exc.fault_code == code and 8000 <= exc.fault_code <= 8006
        if between == "move" and not exc.ends_session:
            self.move()
        reply = self.acs.reject(exc)
        if exc.ends_session:
            self.ended_by(exc, reply, code, kind, envelope)
        else:
            assert code == 8000 and reply.body.fault_code == 8000 and reply.id == envelope.id
            self.check_hold_header(reply)
            self.model.phase = "cpe_turn"

    def ended_by(self, exc: ProtocolViolation, reply: Envelope | None, code: int, kind: str, envelope: Envelope | None) -> None:
        """A violation that ends the session: answered with its fault when it can be."""
        assert self.acs.ended and not self.acs.ended_cleanly
        self.model.phase = "ended"
        if exc.answerable:
            assert reply.body.fault_code == code and reply.id == envelope.id
        else:
            assert reply is None and (envelope is None or kind not in ("inform", "cpe_request", "unsupported"))

    def model_follows(self, event: object, envelope: Envelope | None, rpc: str) -> None:
        """The model's phase after an accepted POST."""
        if isinstance(event, InformReceived):
            self.model.phase, self.model.pending_id, self.model.pending_rpc = "inform_pending", envelope.id, "Inform"
        elif isinstance(event, CpeRequestReceived):
            self.model.phase, self.model.pending_id, self.model.pending_rpc = "cpe_pending", envelope.id, rpc
        elif isinstance(event, CpeTurnEnded):
            self.model.phase = "acs_turn"
        else:
            assert isinstance(event, (ResponseReceived, FaultReceived))
            assert event.request == ACS_CALLS[self.model.out_rpc][0]
            self.model.phase, self.model.out_rpc, self.model.out_id = "acs_turn", None, None

    @rule(hold=st.booleans())
    def acs_sets_hold(self, hold: bool) -> None:
        self.acs.hold_requests = hold
        self.model.hold = hold

    @rule()
    def session_moves(self) -> None:
        self.move()

    @rule()
    def misuse(self) -> None:
        self.caller_mistake()

    @precondition(lambda self: self.model.phase == "ended")
    @rule()
    def next_session(self) -> None:
        self.acs, self.model = AcsSession(), AcsModel()

    @invariant()
    def agrees_with_the_model(self) -> None:
        assert self.acs.state is STATE_OF_PHASE[self.model.phase]
        assert self.acs.rpc_count == self.model.rpcs
        if self.model.phase != "ended":
            assert (self.acs.outstanding is not None) == (self.model.phase == "acs_wait")
            assert (self.acs.awaiting_answer is not None) == (self.model.phase in ("inform_pending", "cpe_pending"))


TestAcsSessionMachine = AcsSessionMachine.TestCase
TestAcsSessionMachine.settings = settings(max_examples=200, stateful_step_count=40, deadline=None)


# --------------------------------------------------------------------------- CPE side machine

ACS_REPLY_KINDS = ["inform_response", "right_response", "acs_request", "unknown_request", "empty", "fault", "wrong_response"]


class CpeSessionMachine(RuleBasedStateMachine):
    """Random ACS answers to a CPE: agree with the rules or raise 9000/9003, never crash."""

    def __init__(self) -> None:
        super().__init__()
        self.new_session()

    def new_session(self) -> None:
        self.cpe = CpeSession(
            make_inform(), cwmp_ns=NS12, cwmp_version="1.2",
            requests=[CPE_CALLS["TransferComplete"][0], CPE_CALLS["Kicked"][0]],
        )
        self.last_post = self.cpe.start()
        self.waiting_for: str | None = "Inform"  # the CPE request awaiting the ACS's answer

    @precondition(lambda self: self.cpe.state in (CpeState.AWAIT_INFORM_RESPONSE, CpeState.AWAIT_RESPONSE, CpeState.ACS_TURN))
    @rule(kind=st.sampled_from(ACS_REPLY_KINDS), echo=st.booleans(), hold=st.sampled_from([None, True, False]))
    def acs_replies(self, kind: str, echo: bool, hold: bool | None) -> None:
        request_id = self.last_post.id if (echo and self.last_post is not None) else "acs-other"
        body = self.acs_body(kind)
        envelope = None if body is None else Envelope(body, id=request_id, cwmp_ns=NS12, cwmp_version="1.2", hold_requests=hold)
        legal = self.is_legal(kind, echo, body)
        try:
            event = self.cpe.receive(envelope)
        except ProtocolViolation as exc:
            self.cpe_rejects(exc, kind, legal, request_id)
            return
        assert legal and kind != "unknown_request", f"{kind} accepted while waiting for {self.waiting_for}"
        if envelope is not None:
            assert self.cpe.hold_requests is bool(hold)
        if isinstance(event, (InformAcknowledged, AcsResponseReceived, AcsFaultReceived)):
            self.answered(event)
        elif isinstance(event, AcsRequestReceived):
            self.cpe.respond(m.GetParameterValuesResponse([]))
            self.last_post = self.cpe.next_post()
            assert self.last_post.id == request_id
        else:
            assert isinstance(event, SessionEnded) and self.cpe.ended

    def acs_body(self, kind: str) -> m.Message | None:
        return {
            "inform_response": m.InformResponse(),
            "right_response": CPE_CALLS[self.waiting_for][1] if self.waiting_for in CPE_CALLS else m.InformResponse(),
            "acs_request": m.GetParameterValues(["Device."]),
            "unknown_request": m.TransferComplete("x"),
            "empty": None,
            "fault": acs_fault(8005),
            "wrong_response": m.GetParameterValuesResponse([]),
        }[kind]

    def is_legal(self, kind: str, echo: bool, body: m.Message | None) -> bool:
        """While the CPE waits for an answer: the right one (or a fault) with its ID; otherwise
        a request of the ACS or the end of the session."""
        if self.waiting_for is not None:
            right = kind in ("right_response", "fault") or (kind == "inform_response" and self.waiting_for == "Inform")
            return right and (echo or body is None)
        return kind in ("acs_request", "empty", "unknown_request")

    def cpe_rejects(self, exc: ProtocolViolation, kind: str, legal: bool, request_id: str) -> None:
        """9000 answers an unknown request and goes on; 9003 ends the session."""
        assert not legal or kind == "unknown_request"
        assert exc.fault_code in (9000, 9003)
        self.cpe.reject(exc)
        if exc.fault_code == 9000:
            assert kind == "unknown_request" and not self.cpe.ended
            reply = self.cpe.next_post()
            assert reply.body.fault_code == 9000 and reply.id == request_id
            self.last_post = reply
        else:
            assert self.cpe.ended

    def answered(self, event: object) -> None:
        """The ACS answered the CPE's request: its next one goes out, unless a faulted Inform ended the session."""
        faulted_inform = isinstance(event, AcsFaultReceived) and self.waiting_for == "Inform"
        if not isinstance(event, InformAcknowledged):
            assert event.request.RPC == self.waiting_for
        self.waiting_for = None
        assert self.cpe.ended == faulted_inform  # a faulted Inform fails the session, nothing else
        if faulted_inform:
            assert not self.cpe.inform_acknowledged
            return
        self.last_post = self.cpe.next_post()
        if self.last_post is not None:
            assert not self.cpe.hold_requests
            self.waiting_for = self.last_post.body.RPC

    @precondition(lambda self: self.cpe.ended)
    @rule()
    def next_session(self) -> None:
        self.new_session()


TestCpeSessionMachine = CpeSessionMachine.TestCase
TestCpeSessionMachine.settings = settings(max_examples=150, stateful_step_count=25, deadline=None)


# ------------------------------------------------------------------- both ends, legal sessions


@settings(max_examples=150, deadline=None)
@given(
    cpe_requests=st.lists(st.sampled_from(["TransferComplete", "GetRPCMethods", "Kicked", "RequestDownload"]), max_size=4),
    acs_requests=st.lists(st.sampled_from(sorted(ACS_CALLS)), max_size=6),
    cpe_faults=st.lists(st.booleans(), min_size=6, max_size=6),
    hold_after_inform=st.booleans(),
    supported=st.sampled_from([None, "1.0,1.1,1.2,1.3,1.4", "1.2,1.3"]),
    moves=st.booleans(),
)
def test_legal_sessions_run_to_the_end(cpe_requests, acs_requests, cpe_faults, hold_after_inform, supported, moves):
    cpe = CpeSession(
        make_inform(), cwmp_ns=NS12, cwmp_version="1.2", supported_cwmp_versions=supported,
        requests=[CPE_CALLS[name][0] for name in cpe_requests],
    )
    acs = AcsSession()
    todo = list(acs_requests)
    answered: list[str] = []
    results: list[str] = []
    envelope = cpe.start()
    while True:
        if moves:
            acs = AcsSession.from_dict(json.loads(json.dumps(acs.to_dict())))
        event = acs.receive(envelope)
        if isinstance(event, InformReceived):
            reply = acs.respond(acs.inform_response(), hold_requests=hold_after_inform or None)
        elif isinstance(event, CpeRequestReceived):
            answered.append(event.message.RPC)
            reply = acs.respond(CPE_CALLS[event.message.RPC][1])
        else:
            if isinstance(event, (ResponseReceived, FaultReceived)):
                results.append(type(event).__name__)
            reply = acs.send_request(ACS_CALLS[todo.pop(0)][0]) if todo else None
            if reply is None:
                acs.end()
        event = cpe.receive(reply)
        if isinstance(event, SessionEnded):
            break
        if isinstance(event, AcsRequestReceived):
            index = cpe.rpc_count
            cpe.respond(cpe_fault(9002) if cpe_faults[index] else ACS_CALLS[event.message.RPC][1])
        envelope = cpe.next_post()
    assert acs.ended_cleanly and cpe.ended
    assert answered == ([] if hold_after_inform else cpe_requests)
    assert len(cpe.pending_requests) == (len(cpe_requests) if hold_after_inform else 0)
    assert results == ["FaultReceived" if cpe_faults[i] else "ResponseReceived" for i in range(len(acs_requests))]
    assert acs.rpc_count == cpe.rpc_count == len(acs_requests)
    assert acs.cwmp_version == cpe.cwmp_version == ("1.3" if supported == "1.2,1.3" else "1.4" if supported else "1.2")
