"""CWMP session state machines: both ends driving each other with Envelopes, and every wrong order."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from cwmp import messages as m
from cwmp.events import EventCode
from cwmp.messages import Envelope
from cwmp.session import (
    ACS_REQUESTS,
    CPE_REQUESTS,
    AcsSession,
    AcsState,
    CpeRequestReceived,
    CpeTurnEnded,
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
    CpeSession,
    CpeState,
    InformAcknowledged,
    SessionEnded,
)

NS10 = "urn:dslforum-org:cwmp-1-0"
NS11 = "urn:dslforum-org:cwmp-1-1"
NS12 = "urn:dslforum-org:cwmp-1-2"
ALL_VERSIONS = "1.0,1.1,1.2,1.3,1.4"


def make_inform(*codes: str) -> m.Inform:
    return m.Inform(
        device_id=m.DeviceIdStruct("Acme", "00D09E", "HG8245", "SN0001"),
        events=[m.EventStruct(EventCode(code)) for code in codes or ("2 PERIODIC",)],
        current_time=datetime(2026, 11, 26, 6, 0, tzinfo=UTC),
        parameter_list=[
            m.ParameterValueStruct("Device.DeviceInfo.SoftwareVersion", "1.2.3"),
            m.ParameterValueStruct("Device.ManagementServer.PeriodicInformInterval", 300, "xsd:unsignedInt"),
        ],
    )


def cpe_session(*, requests=(), ns=NS12, version="1.2", supported=None, codes=()) -> CpeSession:
    return CpeSession(
        make_inform(*codes), cwmp_ns=ns, cwmp_version=version, supported_cwmp_versions=supported, requests=requests
    )


def answer_ok(request: m.Message) -> m.Message:
    """A plausible CPE answer to each ACS request used in these tests."""
    match request:
        case m.GetParameterValues(parameter_names=names):
            return m.GetParameterValuesResponse([m.ParameterValueStruct(n + "X", "v") for n in names])
        case m.SetParameterValues():
            return m.SetParameterValuesResponse(status=0)
        case m.AddObject():
            return m.AddObjectResponse(instance_number=3)
        case m.Reboot():
            return m.RebootResponse()
        case m.GetRPCMethods():
            return m.GetRPCMethodsResponse(sorted(ACS_REQUESTS))
        case m.Download():
            return m.DownloadResponse(status=1)
    raise AssertionError(f"no canned answer for {request.RPC}")


def acs_answer(request: m.Message) -> m.Message:
    match request:
        case m.TransferComplete():
            return m.TransferCompleteResponse()
        case m.GetRPCMethods():
            return m.GetRPCMethodsResponse(sorted(CPE_REQUESTS))
        case m.Kicked():
            return m.KickedResponse(next_url="http://cpe/next")
    raise AssertionError(f"no canned answer for {request.RPC}")


def run_session(
    acs: AcsSession,
    cpe: CpeSession,
    acs_requests: list[m.Message] = (),
    answer: Callable[[m.Message], m.Message] = answer_ok,
    *,
    wire: list[tuple[str, Envelope | None]] | None = None,
):
    """Drive both ends to the end of the session, returning each side's events in order."""
    acs_events, cpe_events = [], []
    todo = list(acs_requests)
    post = cpe.start()
    while True:
        if wire is not None:
            wire.append(("cpe", post))
        event = acs.receive(post)
        acs_events.append(event)
        if isinstance(event, InformReceived):
            reply = acs.respond(acs.inform_response())
        elif isinstance(event, CpeRequestReceived):
            reply = acs.respond(acs_answer(event.message))
        elif todo:
            reply = acs.send_request(todo.pop(0))
        else:
            acs.end()
            reply = None
        if wire is not None:
            wire.append(("acs", reply))
        cpe_event = cpe.receive(reply)
        cpe_events.append(cpe_event)
        if isinstance(cpe_event, SessionEnded):
            return acs_events, cpe_events
        if isinstance(cpe_event, AcsRequestReceived):
            cpe.respond(answer(cpe_event.message))
        post = cpe.next_post()


def kinds(events) -> list[str]:
    return [type(e).__name__ for e in events]


def to_acs_turn(acs: AcsSession, inform: Envelope | None = None) -> None:
    """Inform, InformResponse, empty POST: the ACS may send."""
    inform = inform or Envelope(make_inform(), id="1", cwmp_ns=NS12, cwmp_version="1.2")
    acs.receive(inform)
    acs.respond(acs.inform_response())
    assert isinstance(acs.receive(None), CpeTurnEnded)


# ------------------------------------------------------------------------------ happy sessions


def test_periodic_session_with_nothing_to_do():
    acs, cpe = AcsSession(), cpe_session()
    wire: list = []
    acs_events, cpe_events = run_session(acs, cpe, wire=wire)
    assert kinds(acs_events) == ["InformReceived", "CpeTurnEnded"]
    assert kinds(cpe_events) == ["InformAcknowledged", "SessionEnded"]
    assert acs_events[0].inform.events[0].event_code == EventCode.PERIODIC
    (_, inform), (_, inform_response), (_, empty_post), (_, no_content) = wire
    assert inform_response.id == inform.id and inform.id is not None
    assert inform_response.body == m.InformResponse(max_envelopes=1)
    assert inform_response.cwmp_ns == NS12 and inform_response.hold_requests is None
    assert inform_response.use_cwmp_version is None  # the CPE sent no SupportedCWMPVersions
    assert empty_post is None and no_content is None
    assert acs.ended and acs.ended_cleanly and cpe.ended
    assert (acs.rpc_count, acs.cpe_request_count, acs.fault_count) == (0, 1, 0)
    assert acs.inform is cpe.inform


def test_cpe_sends_transfer_complete_and_get_rpc_methods():
    done = m.TransferComplete(
        command_key="fw-7",
        start_time=datetime(2026, 11, 26, 5, 0, tzinfo=UTC),
        complete_time=datetime(2026, 11, 26, 5, 1, tzinfo=UTC),
    )
    acs, cpe = AcsSession(), cpe_session(requests=[done, m.GetRPCMethods()], codes=("7 TRANSFER COMPLETE", "M Download"))
    wire: list = []
    acs_events, cpe_events = run_session(acs, cpe, wire=wire)
    assert kinds(acs_events) == ["InformReceived", "CpeRequestReceived", "CpeRequestReceived", "CpeTurnEnded"]
    assert acs_events[1].message == done and acs_events[2].message == m.GetRPCMethods()
    assert kinds(cpe_events) == ["InformAcknowledged", "AcsResponseReceived", "AcsResponseReceived", "SessionEnded"]
    assert cpe_events[1].request == done and cpe_events[1].response == m.TransferCompleteResponse()
    assert "TransferComplete" in cpe_events[2].response.method_list
    # every ACS answer echoes the cwmp:ID of the CPE request it answers, and CPE IDs are fresh
    cpe_ids = [env.id for side, env in wire[0:6:2]]
    assert [env.id for side, env in wire[1:6:2]] == cpe_ids and len(set(cpe_ids)) == 3
    assert cpe.pending_requests == [] and acs.cpe_request_count == 3


def test_several_acs_rpcs_pair_each_response_with_its_request():
    requests = [
        m.GetParameterValues(["Device.DeviceInfo."]),
        m.SetParameterValues([m.ParameterValueStruct("Device.X", True, "xsd:boolean")], parameter_key="pk1"),
        m.AddObject("Device.NAT.PortMapping."),
        m.GetRPCMethods(),
        m.Reboot(command_key="rb"),
    ]
    acs, cpe = AcsSession(), cpe_session()
    wire: list = []
    acs_events, cpe_events = run_session(acs, cpe, requests, wire=wire)
    assert kinds(acs_events) == ["InformReceived", "CpeTurnEnded"] + ["ResponseReceived"] * 5
    for request, event in zip(requests, acs_events[2:], strict=True):
        assert event.request is request and event.response == answer_ok(request)
    assert [e.message for e in cpe_events[1:-1]] == requests
    acs_ids = [env.id for side, env in wire if side == "acs" and env is not None and env.body.RPC in ACS_REQUESTS]
    cpe_ids = [env.id for side, env in wire if side == "cpe" and env is not None and env.body.RPC.endswith("Response")]
    assert acs_ids == cpe_ids and len(set(acs_ids)) == 5
    assert acs.rpc_count == 5 and cpe.rpc_count == 5 and acs.ended_cleanly


def test_cpe_faults_are_reported_with_their_request_and_the_session_goes_on():
    spv = m.SetParameterValues(
        [m.ParameterValueStruct("Device.A", "x"), m.ParameterValueStruct("Device.B", "y")], parameter_key="k"
    )
    gpv = m.GetParameterValues(["Device.Nope."])
    spv_fault = cpe_fault(9003)
    spv_fault.set_parameter_values_faults = [
        m.SetParameterValuesFault("Device.A", 9008, "not writable"),
        m.SetParameterValuesFault("Device.B", 9007, "bad value"),
    ]

    def answer(request: m.Message) -> m.Message:
        if request is gpv or request == gpv:
            return cpe_fault(9005, "Invalid parameter name")
        if isinstance(request, m.SetParameterValues):
            return spv_fault
        return answer_ok(request)

    acs, cpe = AcsSession(), cpe_session()
    acs_events, _ = run_session(acs, cpe, [gpv, spv, m.Reboot()], answer)
    assert kinds(acs_events[2:]) == ["FaultReceived", "FaultReceived", "ResponseReceived"]
    first, second = acs_events[2], acs_events[3]
    assert first.request == gpv and first.fault.fault_code == 9005 and first.fault.faultcode == "Client"
    assert second.request == spv and second.fault.fault_code == 9003
    assert [(f.parameter_name, f.fault_code) for f in second.fault.set_parameter_values_faults] == [
        ("Device.A", 9008),
        ("Device.B", 9007),
    ]
    assert acs.fault_count == 2 and acs.rpc_count == 3 and acs.ended_cleanly


def test_acs_fault_to_a_cpe_request_does_not_end_the_session():
    acs, cpe = AcsSession(), cpe_session(requests=[m.Kicked("cmd", "ref", "arg", "next"), m.GetRPCMethods()])
    post = cpe.start()
    acs.receive(post)
    cpe.receive(acs.respond(acs.inform_response()))
    event = acs.receive(cpe.next_post())
    assert isinstance(event, CpeRequestReceived) and event.message.RPC == "Kicked"
    reply = acs.respond(acs_fault(8000))  # this ACS does not implement Kicked
    assert reply.body.fault_code == 8000 and reply.body.fault_string == "Method not supported"
    cpe_event = cpe.receive(reply)
    assert isinstance(cpe_event, AcsFaultReceived) and cpe_event.request.RPC == "Kicked"
    assert cpe.state is CpeState.CPE_TURN
    assert isinstance(acs.receive(cpe.next_post()), CpeRequestReceived)  # GetRPCMethods follows


def test_acs_fault_to_inform_ends_both_ends():
    acs, cpe = AcsSession(), cpe_session()
    acs.receive(cpe.start())
    reply = acs.respond(acs_fault(8005))
    assert acs.ended and not acs.ended_cleanly and reply.body.fault_code == 8005
    event = cpe.receive(reply)
    assert isinstance(event, AcsFaultReceived) and event.fault.fault_code == 8005 and cpe.ended
    assert not cpe.inform_acknowledged


# ------------------------------------------------------------------------ ACS: wrong orders


def post(body: m.Message | None, id: str | None = "c1", **headers) -> Envelope:
    return Envelope(body, id=id, cwmp_ns=NS12, cwmp_version="1.2", **headers)


def violation(acs: AcsSession, envelope: Envelope | None) -> ProtocolViolation:
    with pytest.raises(ProtocolViolation) as caught:
        acs.receive(envelope)
    return caught.value


@pytest.mark.parametrize(
    "first, answerable",
    [
        (None, False),
        (post(None), False),
        (post(m.TransferComplete("k")), True),
        (post(m.GetRPCMethods()), True),
        (post(m.GetParameterValuesResponse([])), False),
        (post(m.Fault(9002)), False),
    ],
)
def test_anything_but_inform_first_is_8003(first, answerable):
    acs = AcsSession()
    exc = violation(acs, first)
    assert exc.fault_code == 8003 and exc.ends_session and acs.ended
    reply = acs.reject(exc)
    if answerable:
        assert reply.body.fault_code == 8003 and reply.id == "c1" and reply.cwmp_ns == NS12
    else:
        assert reply is None  # SOAP allows no Fault in answer to a response: HTTP 204 and close
    with pytest.raises(SessionStateError):
        acs.receive(post(make_inform()))


def test_second_inform_in_cpe_turn_is_8003():
    acs = AcsSession()
    acs.receive(post(make_inform(), id="i1"))
    acs.respond(acs.inform_response())
    exc = violation(acs, post(make_inform(), id="i2"))
    assert exc.fault_code == 8003 and "second Inform" in exc.message
    reply = acs.reject(exc)
    assert reply.id == "i2" and reply.body.fault_code == 8003 and acs.ended


def test_second_inform_while_acs_request_outstanding_is_8003():
    acs = AcsSession()
    to_acs_turn(acs)
    acs.send_request(m.GetRPCMethods())
    exc = violation(acs, post(make_inform(), id="i2"))
    assert exc.fault_code == 8003 and exc.answerable


def test_response_in_cpe_turn_is_8003_without_fault():
    acs = AcsSession()
    acs.receive(post(make_inform()))
    acs.respond(acs.inform_response())
    exc = violation(acs, post(m.RebootResponse()))
    assert exc.fault_code == 8003 and acs.reject(exc) is None and acs.ended


def test_cpe_request_while_acs_request_outstanding_is_8003():
    acs = AcsSession()
    to_acs_turn(acs)
    acs.send_request(m.GetParameterValues(["Device."]))
    exc = violation(acs, post(m.TransferComplete("k"), id="c9"))
    assert exc.fault_code == 8003
    reply = acs.reject(exc)
    assert reply.body.fault_code == 8003 and reply.id == "c9" and acs.ended


def test_empty_post_while_acs_request_outstanding_is_8003():
    acs = AcsSession()
    to_acs_turn(acs)
    acs.send_request(m.GetParameterValues(["Device."]))
    exc = violation(acs, None)
    assert exc.fault_code == 8003 and acs.reject(exc) is None


def test_response_of_the_wrong_type_is_8003():
    acs = AcsSession()
    to_acs_turn(acs)
    request = acs.send_request(m.GetParameterValues(["Device."]))
    exc = violation(acs, post(m.GetParameterNamesResponse([]), id=request.id))
    assert exc.fault_code == 8003 and "does not answer" in exc.message and acs.reject(exc) is None


@pytest.mark.parametrize("body", [m.GetParameterValuesResponse([]), m.Fault(9002)])
def test_cwmp_id_mismatch_is_8003(body):
    acs = AcsSession()
    to_acs_turn(acs)
    request = acs.send_request(m.GetParameterValues(["Device."]))
    exc = violation(acs, post(body, id=request.id + "x"))
    assert exc.fault_code == 8003 and "cwmp:ID" in exc.message and acs.ended


def test_missing_cwmp_id_in_a_response_is_accepted():
    acs = AcsSession()
    to_acs_turn(acs)
    acs.send_request(m.GetParameterValues(["Device."]))
    event = acs.receive(post(m.GetParameterValuesResponse([]), id=None))
    assert isinstance(event, ResponseReceived) and acs.state is AcsState.ACS_TURN


class VendorProbe(m.Message):
    """A body the codec could hand over for a method no table knows."""

    RPC = "X_ACME_Probe"
    DIRECTION = "cpe"


@pytest.mark.parametrize("body", [m.Reboot(), m.GetParameterValues(["Device."]), VendorProbe()])
def test_unsupported_cpe_method_is_8000_and_the_session_goes_on(body):
    acs = AcsSession()
    acs.receive(post(make_inform()))
    acs.respond(acs.inform_response())
    exc = violation(acs, post(body, id="u1"))
    assert exc.fault_code == 8000 and not exc.ends_session and not acs.ended
    reply = acs.reject(exc)
    assert reply.id == "u1" and reply.body.fault_code == 8000 and reply.body.faultcode == "Server"
    assert isinstance(acs.receive(None), CpeTurnEnded)


def test_cpe_request_while_hold_requests_is_8003():
    acs = AcsSession()
    acs.receive(post(make_inform()))
    reply = acs.respond(acs.inform_response(), hold_requests=True)
    assert reply.hold_requests is True
    exc = violation(acs, post(m.TransferComplete("k")))
    assert exc.fault_code == 8003 and "HoldRequests" in exc.message


def test_no_common_version_is_8006():
    acs = AcsSession(supported_versions=("1.2", "1.3", "1.4"))
    inform = Envelope(make_inform(), id="7", cwmp_ns=NS11, cwmp_version="1.1", supported_cwmp_versions="1.0,1.1")
    exc = violation(acs, inform)
    assert exc.fault_code == 8006
    reply = acs.reject(exc)
    assert reply.body.fault_code == 8006 and reply.id == "7" and reply.cwmp_ns == NS11 and acs.ended


def test_unknown_namespace_version_without_negotiation_is_8006():
    acs = AcsSession(supported_versions=("1.2", "1.3", "1.4"))
    exc = violation(acs, Envelope(make_inform(), id="7", cwmp_ns=NS10, cwmp_version="1.0"))
    assert exc.fault_code == 8006


# ---------------------------------------------------------------------- ACS: caller mistakes


def test_caller_mistakes_raise_session_state_error():
    acs = AcsSession()
    with pytest.raises(SessionStateError):
        acs.respond(m.InformResponse())  # nothing to answer yet
    acs.receive(post(make_inform()))
    with pytest.raises(SessionStateError):
        acs.receive(None)  # the Inform is not answered yet
    with pytest.raises(SessionStateError):
        acs.respond(m.TransferCompleteResponse())  # wrong answer type
    acs.respond(acs.inform_response())
    with pytest.raises(SessionStateError):
        acs.send_request(m.GetRPCMethods())  # still the CPE's turn
    acs.receive(None)
    with pytest.raises(SessionStateError):
        acs.receive(None)  # the ACS must send or end first
    with pytest.raises(SessionStateError):
        acs.send_request(m.TransferComplete("k"))  # not an ACS request
    with pytest.raises(SessionStateError):
        acs.send_request(m.RebootResponse())
    acs.send_request(m.Reboot())
    with pytest.raises(SessionStateError):
        acs.send_request(m.Reboot())  # one outstanding request at a time
    acs.end()
    assert acs.ended and not acs.ended_cleanly
    with pytest.raises(SessionStateError):
        acs.receive(post(m.RebootResponse()))
    with pytest.raises(ValueError):
        acs_fault(9000)
    with pytest.raises(ValueError):
        cpe_fault(8000)


# ------------------------------------------------------------------------------- HoldRequests


def test_hold_requests_defers_cpe_requests_to_the_next_session():
    done = m.TransferComplete("fw-1")
    acs, cpe = AcsSession(), cpe_session(requests=[done])
    acs.receive(cpe.start())
    cpe.receive(acs.respond(acs.inform_response(), hold_requests=True))
    assert cpe.hold_requests
    assert cpe.next_post() is None  # held: the empty POST instead of TransferComplete
    assert isinstance(acs.receive(None), CpeTurnEnded)
    first = acs.send_request(m.GetParameterValues(["Device."]))
    assert first.hold_requests is True  # repeated on every envelope while holding
    cpe.receive(first)
    cpe.respond(answer_ok(first.body))
    acs.receive(cpe.next_post())
    second = acs.send_request(m.Reboot(), hold_requests=False)
    assert second.hold_requests is False  # the release is said once, explicitly
    cpe.receive(second)
    assert not cpe.hold_requests
    cpe.respond(m.RebootResponse())
    acs.receive(cpe.next_post())
    third = acs.send_request(m.GetRPCMethods())
    assert third.hold_requests is None  # then omitted
    cpe.receive(third)
    cpe.respond(answer_ok(third.body))
    acs.receive(cpe.next_post())
    acs.end()
    assert isinstance(cpe.receive(None), SessionEnded)
    assert cpe.pending_requests == [done]  # the simulator carries it into the next session


def test_hold_requests_set_in_answer_to_a_cpe_request_stops_the_next_one():
    acs, cpe = AcsSession(), cpe_session(requests=[m.TransferComplete("a"), m.GetRPCMethods()])
    acs.receive(cpe.start())
    cpe.receive(acs.respond(acs.inform_response()))
    acs.receive(cpe.next_post())
    acs.hold_requests = True
    cpe.receive(acs.respond(m.TransferCompleteResponse()))
    assert cpe.next_post() is None
    assert isinstance(acs.receive(None), CpeTurnEnded)
    assert [r.RPC for r in cpe.pending_requests] == ["GetRPCMethods"]


# -------------------------------------------------------------------- version negotiation


def test_cwmp_1_4_negotiation_picks_the_highest_common_version():
    acs, cpe = AcsSession(), cpe_session(version="1.4", supported=ALL_VERSIONS)
    inform = cpe.start()
    assert inform.supported_cwmp_versions == ALL_VERSIONS
    acs.receive(inform)
    reply = acs.respond(acs.inform_response())
    assert reply.use_cwmp_version == "1.4" and reply.cwmp_ns == NS12 and acs.cwmp_version == "1.4"
    assert isinstance(cpe.receive(reply), InformAcknowledged) and cpe.cwmp_version == "1.4"
    assert cpe.next_post() is None
    acs.receive(None)
    request = acs.send_request(m.GetRPCMethods())
    assert request.use_cwmp_version is None and request.cwmp_version == "1.4"


def test_negotiation_with_an_acs_limited_to_1_2():
    acs = AcsSession(supported_versions=("1.0", "1.1", "1.2"))
    cpe = cpe_session(version="1.4", supported="1.2, 1.3,1.4", requests=[m.GetRPCMethods()])
    acs.receive(cpe.start())
    reply = acs.respond(acs.inform_response())
    assert reply.use_cwmp_version == "1.2"
    cpe.receive(reply)
    assert (cpe.cwmp_version, cpe.cwmp_ns) == ("1.2", NS12)
    request = cpe.next_post()
    assert request.cwmp_version == "1.2"
    assert acs.receive(request).envelope.cwmp_version == acs.cwmp_version == "1.2"


def test_negotiation_down_to_another_namespace():
    acs = AcsSession(supported_versions=("1.0", "1.1"))
    cpe = cpe_session(version="1.4", supported=ALL_VERSIONS, requests=[m.GetRPCMethods()])
    acs.receive(cpe.start())
    reply = acs.respond(acs.inform_response())
    assert (reply.use_cwmp_version, reply.cwmp_ns) == ("1.1", NS11)
    cpe.receive(reply)
    assert cpe.next_post().cwmp_ns == NS11


def test_acs_answers_in_the_namespace_the_cpe_used():
    acs, cpe = AcsSession(), cpe_session(ns=NS10, version="1.0")
    wire: list = []
    run_session(acs, cpe, [m.GetRPCMethods()], wire=wire)
    assert {env.cwmp_ns for _, env in wire if env is not None} == {NS10}
    assert all(env.use_cwmp_version is None for _, env in wire if env is not None)


def test_cpe_rejects_a_version_it_did_not_offer():
    cpe = cpe_session(version="1.2", supported="1.0,1.1,1.2")
    inform = cpe.start()
    with pytest.raises(ProtocolViolation) as caught:
        cpe.receive(Envelope(m.InformResponse(), id=inform.id, cwmp_ns=NS12, cwmp_version="1.4", use_cwmp_version="1.4"))
    assert caught.value.fault_code == 9003 and cpe.ended


def test_cpe_follows_an_acs_that_does_not_negotiate_to_an_older_namespace():
    cpe = cpe_session(version="1.4", supported=ALL_VERSIONS, requests=[m.GetRPCMethods()])
    inform = cpe.start()
    cpe.receive(Envelope(m.InformResponse(), id=inform.id, cwmp_ns=NS10, cwmp_version="1.0"))
    assert (cpe.cwmp_version, cpe.cwmp_ns) == ("1.0", NS10)
    assert cpe.next_post().cwmp_ns == NS10


# ------------------------------------------------------------------------------ serialisation


def roundtrip(acs: AcsSession) -> AcsSession:
    snapshot = json.loads(json.dumps(acs.to_dict()))
    again = AcsSession.from_dict(snapshot)
    assert again.to_dict() == snapshot
    return again


def test_to_dict_round_trip_mid_session_at_every_step():
    """Move the ACS end to a fresh instance after every single step; the session must not notice."""
    spv = m.SetParameterValues(
        [
            m.ParameterValueStruct("Device.Time", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "xsd:dateTime"),
            m.ParameterValueStruct("Device.Blob", b"\x00\xffcert", "xsd:base64"),
            m.ParameterValueStruct("Device.Enable", False, "xsd:boolean"),
            m.ParameterValueStruct("Device.Count", 42, "xsd:unsignedInt"),
        ],
        parameter_key="pk",
    )
    cdu = m.ChangeDUState([m.InstallOpStruct(url="http://x/du.ipk"), m.UninstallOpStruct(uuid="u-1")], "ck")
    requests = [spv, cdu, m.Reboot("r")]
    cpe = cpe_session(version="1.4", supported=ALL_VERSIONS, requests=[m.TransferComplete("fw")])
    acs = AcsSession()
    events: list[str] = []
    todo = list(requests)
    envelope = cpe.start()
    while True:
        acs = roundtrip(acs)
        event = acs.receive(envelope)
        events.append(type(event).__name__)
        acs = roundtrip(acs)
        if isinstance(event, InformReceived):
            assert acs.inform.events[0].event_code == EventCode.PERIODIC
            assert isinstance(acs.inform.events[0].event_code, EventCode)
            assert acs.inform.current_time == datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
            reply = acs.respond(acs.inform_response())
        elif isinstance(event, CpeRequestReceived):
            reply = acs.respond(acs_answer(event.message))
        elif isinstance(event, ResponseReceived):
            assert event.request == requests[len(requests) - len(todo) - 1]
            reply = acs.send_request(todo.pop(0)) if todo else None
        else:
            reply = acs.send_request(todo.pop(0))
        if reply is None:
            acs.end()
        else:
            acs = roundtrip(acs)
            if acs.outstanding is not None:
                assert acs.outstanding == reply.body
        event = cpe.receive(reply)
        if isinstance(event, SessionEnded):
            break
        if isinstance(event, AcsRequestReceived):
            response = m.ChangeDUStateResponse() if event.message.RPC == "ChangeDUState" else answer_ok(event.message)
            cpe.respond(response)
        envelope = cpe.next_post()
    assert events == ["InformReceived", "CpeRequestReceived", "CpeTurnEnded"] + ["ResponseReceived"] * 3
    assert acs.rpc_count == 3 and acs.cwmp_version == "1.4" and acs.ended_cleanly


def test_from_dict_refuses_an_unknown_snapshot_version():
    snapshot = AcsSession().to_dict()
    snapshot["v"] = 99
    with pytest.raises(ValueError):
        AcsSession.from_dict(snapshot)


def test_fresh_ids_stay_unique_across_a_move():
    acs = AcsSession()
    to_acs_turn(acs)
    first = acs.send_request(m.GetRPCMethods())
    acs.receive(post(m.GetRPCMethodsResponse([]), id=first.id))
    acs = roundtrip(acs)
    second = acs.send_request(m.GetRPCMethods())
    assert second.id != first.id


# --------------------------------------------------------------------------- CPE: wrong orders


def cpe_after_inform(requests=()) -> tuple[CpeSession, Envelope]:
    cpe = cpe_session(requests=requests)
    return cpe, cpe.start()


def acs_env(body: m.Message | None, id: str | None = None, **headers) -> Envelope:
    return Envelope(body, id=id, cwmp_ns=NS12, cwmp_version="1.2", **headers)


@pytest.mark.parametrize(
    "answer",
    [None, acs_env(None), acs_env(m.GetRPCMethods(), id="a1"), acs_env(m.TransferCompleteResponse())],
)
def test_cpe_wants_an_inform_response_first(answer):
    cpe, inform = cpe_after_inform()
    with pytest.raises(ProtocolViolation) as caught:
        cpe.receive(answer)
    assert caught.value.fault_code == 9003 and cpe.ended


def test_cpe_checks_the_inform_response_id():
    cpe, inform = cpe_after_inform()
    with pytest.raises(ProtocolViolation):
        cpe.receive(acs_env(m.InformResponse(), id=inform.id + "0"))


def test_cpe_answers_an_unknown_acs_method_with_9000():
    cpe, inform = cpe_after_inform()
    cpe.receive(acs_env(m.InformResponse(), id=inform.id))
    assert cpe.next_post() is None
    with pytest.raises(ProtocolViolation) as caught:
        cpe.receive(acs_env(m.TransferComplete("k"), id="a7"))
    assert caught.value.fault_code == 9000 and not caught.value.ends_session
    cpe.reject(caught.value)
    reply = cpe.next_post()
    assert reply.id == "a7" and reply.body.fault_code == 9000 and not cpe.ended
    assert isinstance(cpe.receive(None), SessionEnded)


def test_cpe_refuses_a_response_in_the_acs_turn():
    cpe, inform = cpe_after_inform()
    cpe.receive(acs_env(m.InformResponse(), id=inform.id))
    cpe.next_post()
    with pytest.raises(ProtocolViolation) as caught:
        cpe.receive(acs_env(m.RebootResponse()))
    assert caught.value.fault_code == 9003 and not caught.value.answerable and cpe.ended


def test_cpe_gets_a_wrong_response_to_its_request():
    cpe, inform = cpe_after_inform(requests=[m.TransferComplete("k")])
    cpe.receive(acs_env(m.InformResponse(), id=inform.id))
    request = cpe.next_post()
    with pytest.raises(ProtocolViolation) as caught:
        cpe.receive(acs_env(m.KickedResponse(), id=request.id))
    assert caught.value.fault_code == 9003


def test_cpe_caller_mistakes_raise_session_state_error():
    cpe, inform = cpe_after_inform()
    with pytest.raises(SessionStateError):
        cpe.start()
    with pytest.raises(SessionStateError):
        cpe.next_post()  # still waiting for the InformResponse
    cpe.receive(acs_env(m.InformResponse(), id=inform.id))
    with pytest.raises(SessionStateError):
        cpe.receive(None)  # it must POST first
    cpe.next_post()
    cpe.receive(acs_env(m.GetRPCMethods(), id="a1"))
    with pytest.raises(SessionStateError):
        cpe.next_post()  # not answered yet
    with pytest.raises(SessionStateError):
        cpe.respond(m.RebootResponse())
    cpe.respond(m.GetRPCMethodsResponse([]))
    with pytest.raises(SessionStateError):
        cpe.respond(m.GetRPCMethodsResponse([]))
    assert cpe.next_post().id == "a1"
    with pytest.raises(SessionStateError):
        cpe.queue_request(make_inform())
    with pytest.raises(SessionStateError):
        CpeSession(make_inform(), cwmp_ns=NS12, cwmp_version="1.2", requests=[m.RebootResponse()])


# ------------------------------------------------------------------- POSTs the codec could not read


def test_unreadable_unknown_method_in_cpe_turn_is_8000_and_the_session_goes_on():
    acs = AcsSession()
    acs.receive(post(make_inform()))
    acs.respond(acs.inform_response())
    reply = acs.reject_unreadable(8000, "method 'X_Vendor' is not supported", envelope_id="v1", cwmp_ns=NS12)
    assert reply.body.fault_code == 8000 and reply.id == "v1" and reply.cwmp_ns == NS12
    assert acs.state is AcsState.CPE_TURN and acs.cpe_request_count == 2
    assert isinstance(acs.receive(None), CpeTurnEnded)


def test_unreadable_inform_is_faulted_and_ends_the_session():
    acs = AcsSession()
    reply = acs.reject_unreadable(8003, "DeviceId missing", envelope_id="9", cwmp_ns=NS10)
    assert reply.body.fault_code == 8003 and reply.id == "9"
    assert (reply.cwmp_ns, reply.cwmp_version) == (NS10, "1.0") and acs.ended


def test_unreadable_post_while_hold_requests_is_8003():
    acs = AcsSession()
    acs.receive(post(make_inform()))
    acs.respond(acs.inform_response(), hold_requests=True)
    reply = acs.reject_unreadable(8000, "unknown", envelope_id="v2")
    assert reply.body.fault_code == 8003 and acs.ended


def test_unreadable_answer_to_an_acs_request_ends_without_a_fault():
    acs = AcsSession()
    to_acs_turn(acs)
    acs.send_request(m.GetParameterValues(["Device."]))
    assert acs.reject_unreadable(8002, "malformed XML", envelope_id=None) is None
    assert acs.ended and not acs.ended_cleanly
    with pytest.raises(SessionStateError):
        acs.reject_unreadable(8002, "again")


def test_unreadable_post_before_the_acs_has_answered_is_a_caller_mistake():
    acs = AcsSession()
    to_acs_turn(acs)
    with pytest.raises(SessionStateError):
        acs.reject_unreadable(8002, "malformed XML")
    assert acs.state is AcsState.ACS_TURN and acs.send_request(m.Reboot()).body == m.Reboot()


def test_unreadable_vendor_code_falls_back_to_internal_error():
    acs = AcsSession()
    reply = acs.reject_unreadable(1234, "odd", envelope_id="1")
    assert reply.body.fault_code == 8002


def test_unsupported_request_survives_a_move_before_it_is_answered():
    acs = AcsSession()
    acs.receive(post(make_inform()))
    acs.respond(acs.inform_response())
    exc = violation(acs, post(VendorProbe(), id="p1"))
    moved = roundtrip(acs)
    assert moved.awaiting_answer.RPC == "X_ACME_Probe"
    reply = moved.reject(exc)
    assert reply.id == "p1" and reply.body.fault_code == 8000 and moved.state is AcsState.CPE_TURN


# ------------------------------------------------------------------ a request offered ahead


def _after_inform() -> AcsSession:
    acs = AcsSession()
    acs.receive(Envelope(body=make_inform(), id="1", cwmp_ns=NS12, cwmp_version="1.2"))
    acs.respond(acs.inform_response())
    return acs


def test_an_offered_request_answered_counts_as_sent_after_an_empty_post():
    acs = _after_inform()
    gpv = m.GetParameterValues(parameter_names=["Device."])
    env = acs.offer_request(gpv)
    assert env.body is gpv and env.id and acs.state is AcsState.CPE_TURN and acs.rpc_count == 0
    ev = acs.receive(Envelope(body=m.GetParameterValuesResponse(parameter_list=[]), id=env.id, cwmp_ns=NS12))
    assert isinstance(ev, ResponseReceived) and ev.request is gpv
    assert acs.rpc_count == 1 and acs.offered is None and acs.state is AcsState.ACS_TURN
    acs.end()
    assert acs.ended_cleanly


def test_an_offered_request_that_missed_the_cpe_waits_for_send_request():
    acs = _after_inform()
    gpv = m.GetParameterValues(parameter_names=["Device."])
    offered = acs.offer_request(gpv)
    # the CPE asks something first: the offer was not delivered, the CPE's turn goes on
    ev = acs.receive(Envelope(body=m.GetRPCMethods(), id="r1", cwmp_ns=NS12))
    assert isinstance(ev, CpeRequestReceived) and acs.offered is gpv
    acs.respond(m.GetRPCMethodsResponse(method_list=["Inform"]))
    assert isinstance(acs.receive(None), CpeTurnEnded)
    sent = acs.send_request(acs.offered)
    assert sent.id != offered.id and acs.offered is None and acs.rpc_count == 1
    with pytest.raises(ProtocolViolation):  # an answer echoing the undelivered offer's cwmp:ID
        acs.receive(Envelope(body=m.GetParameterValuesResponse(parameter_list=[]), id=offered.id, cwmp_ns=NS12))


def test_a_fault_answering_an_offer_and_the_offer_in_a_snapshot():
    acs = _after_inform()
    env = acs.offer_request(m.Reboot(command_key="k"))
    moved = AcsSession.from_dict(json.loads(json.dumps(acs.to_dict())))
    assert isinstance(moved.offered, m.Reboot) and moved.offered_id == env.id
    ev = moved.receive(Envelope(body=cpe_fault(9001), id=env.id, cwmp_ns=NS12))
    assert ev.fault.fault_code == 9001 and moved.fault_count == 1
    with pytest.raises(SessionStateError):  # only in the CPE's turn
        moved.offer_request(m.Reboot(command_key="k"))
    with pytest.raises(SessionStateError):
        _after_inform().offer_request(m.GetRPCMethodsResponse(method_list=[]))
