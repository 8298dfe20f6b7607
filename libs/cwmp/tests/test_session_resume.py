"""Tagged request IDs and a request taken up by another process (AcsSession.resume_request)."""

from __future__ import annotations

import pytest

from cwmp import messages as m
from cwmp.events import EventCode
from cwmp.messages import Envelope
from cwmp.session import (
    MAX_REQUEST_ID_LENGTH,
    MAX_TAG_LENGTH,
    AcsSession,
    AcsState,
    CpeTurnEnded,
    FaultReceived,
    ProtocolViolation,
    ResponseReceived,
    SessionStateError,
    cpe_fault,
    request_tag,
)

NS = "urn:dslforum-org:cwmp-1-0"
TASK_ID = "65f0c0ffee0123456789abcd"
GPV = m.GetParameterValues(["InternetGatewayDevice.DeviceInfo.UpTime"])
GPV_RESPONSE = m.GetParameterValuesResponse(
    [m.ParameterValueStruct("InternetGatewayDevice.DeviceInfo.UpTime", 100, "xsd:unsignedInt")])


def informed(*, acs_turn: bool = True) -> AcsSession:
    """A session past its Inform: in the ACS's turn (after the empty POST) or still the CPE's."""
    s = AcsSession()
    inform = m.Inform(device_id=m.DeviceIdStruct("Acme", "00D09E", "HG8245", "SN0001"),
                      events=[m.EventStruct(EventCode.PERIODIC)])
    s.receive(Envelope(body=inform, id="inform-1", cwmp_ns=NS, cwmp_version="1.0"))
    s.respond(s.inform_response())
    if acs_turn:
        assert isinstance(s.receive(None), CpeTurnEnded)
    return s


def answer(body: m.Message, request_id: str | None) -> Envelope:
    return Envelope(body=body, id=request_id, cwmp_ns=NS, cwmp_version="1.0")


# ------------------------------------------------------------------------------ tagged IDs
def test_a_tag_rides_in_the_request_id_and_is_read_back_from_the_echo():
    s = informed()
    env = s.send_request(GPV, tag=f"{TASK_ID}.0")
    assert env.id.endswith(f".{TASK_ID}.0") and env.id.startswith(s._id_prefix + "-1.")
    assert request_tag(env.id) == f"{TASK_ID}.0"
    event = s.receive(answer(GPV_RESPONSE, env.id))  # the CPE echoes it
    assert isinstance(event, ResponseReceived) and event.request is GPV
    untagged = s.send_request(m.GetRPCMethods())
    assert untagged.id == f"{s._id_prefix}-2" and request_tag(untagged.id) is None


def test_an_offered_request_carries_its_tag_too():
    s = informed(acs_turn=False)
    env = s.offer_request(GPV, tag=f"{TASK_ID}.0")
    assert request_tag(env.id) == f"{TASK_ID}.0" and s.offered_id == env.id
    assert isinstance(s.receive(answer(GPV_RESPONSE, env.id)), ResponseReceived)


@pytest.mark.parametrize("request_id", [None, "", "inform-1", "a1b2c3d4-7", "cpe-1.x", "a1b2c3d4-7.",
                                        "a1b2c3d4-7.bad tag", "A1B2C3D4-7.tag", "a1b2c3d4-x.tag",
                                        "a1b2c3d4-7." + "t" * (MAX_TAG_LENGTH + 1)])
def test_ids_without_a_tag_of_ours_have_none(request_id):
    assert request_tag(request_id) is None


@pytest.mark.parametrize("tag", ["", "with space", "a/b", "é", "t" * (MAX_TAG_LENGTH + 1), "x-y"])
def test_a_bad_tag_is_refused_and_changes_nothing(tag):
    s = informed()
    with pytest.raises(ValueError):
        s.send_request(GPV, tag=tag)
    assert s.outstanding is None and s.rpc_count == 0 and s._id_seq == 0
    assert s.send_request(GPV).id == f"{s._id_prefix}-1"


def test_ids_stay_under_64_characters_with_the_longest_tag():
    s = informed()
    s._id_seq = 10**12 - 2  # the sequence number is never near this
    env = s.send_request(GPV, tag="t" * MAX_TAG_LENGTH)
    assert len(env.id) < MAX_REQUEST_ID_LENGTH == 64
    assert request_tag(env.id) == "t" * MAX_TAG_LENGTH
    # a task's tag (24-hex ObjectId and step) in an ordinary session
    s = informed()
    for step in range(300):
        env = s.send_request(GPV, tag=f"{TASK_ID}.{step}")
        assert len(env.id) < 64 and request_tag(env.id) == f"{TASK_ID}.{step}"
        s.receive(answer(GPV_RESPONSE, env.id))


# ------------------------------------------------------------------------- resume_request
def test_a_request_sent_by_another_process_is_answered_as_if_sent_here():
    first = informed()
    sent = first.send_request(GPV, tag=f"{TASK_ID}.0")  # ... and that process goes away
    s = informed()  # rebuilt elsewhere, in the ACS's turn
    s.resume_request(GPV, sent.id)
    assert s.state is AcsState.ACS_TURN and s.outstanding is GPV and s.outstanding_id == sent.id
    assert s.rpc_count == 1
    event = s.receive(answer(GPV_RESPONSE, sent.id))
    assert isinstance(event, ResponseReceived) and event.request is GPV and event.response == GPV_RESPONSE
    nxt = s.send_request(m.Reboot("k"))  # the session goes on with its own IDs
    assert nxt.id == f"{s._id_prefix}-1" and nxt.id != sent.id and s.rpc_count == 2
    s.receive(answer(m.RebootResponse(), nxt.id))
    s.end()
    assert s.ended_cleanly


def test_a_fault_to_the_resumed_request_is_reported_with_it():
    s = informed()
    s.resume_request(GPV, f"a1b2c3d4-1.{TASK_ID}.0")
    event = s.receive(answer(cpe_fault(9005, "no such parameter"), f"a1b2c3d4-1.{TASK_ID}.0"))
    assert isinstance(event, FaultReceived) and event.request is GPV and event.fault.fault_code == 9005
    assert s.fault_count == 1 and s.outstanding is None


def test_resumed_in_the_cpe_turn_drops_an_offer():
    s = informed(acs_turn=False)
    s.offer_request(m.GetRPCMethods())
    s.resume_request(GPV, "a1b2c3d4-3")
    assert s.state is AcsState.ACS_TURN and s.offered is None and s.offered_id is None
    assert isinstance(s.receive(answer(GPV_RESPONSE, "a1b2c3d4-3")), ResponseReceived)


def test_an_answer_that_does_not_match_the_resumed_request_is_8003():
    s = informed()
    s.resume_request(GPV, "a1b2c3d4-3")
    with pytest.raises(ProtocolViolation) as exc:
        s.receive(answer(m.RebootResponse(), "a1b2c3d4-3"))
    assert exc.value.fault_code == 8003
    s = informed()
    s.resume_request(GPV, "a1b2c3d4-3")
    with pytest.raises(ProtocolViolation) as exc:
        s.receive(answer(GPV_RESPONSE, "a1b2c3d4-4"))
    assert exc.value.fault_code == 8003


def test_resume_request_misuse_raises_session_state_error():
    with pytest.raises(SessionStateError):
        AcsSession().resume_request(GPV, "a1b2c3d4-1")  # no Inform yet
    s = informed()
    s.send_request(GPV)
    with pytest.raises(SessionStateError):
        s.resume_request(GPV, "a1b2c3d4-1")  # a request of its own outstanding
    s = informed(acs_turn=False)
    s.receive(Envelope(body=m.TransferComplete("k"), id="cpe-1", cwmp_ns=NS, cwmp_version="1.0"))
    with pytest.raises(SessionStateError):
        s.resume_request(GPV, "a1b2c3d4-1")  # the CPE's request awaits its answer
    s = informed()
    with pytest.raises(SessionStateError):
        s.resume_request(m.GetParameterValuesResponse([]), "a1b2c3d4-1")  # not an ACS request
    with pytest.raises(ValueError):
        s.resume_request(GPV, "")
    s.end()
    with pytest.raises(SessionStateError):
        s.resume_request(GPV, "a1b2c3d4-1")


def test_a_resumed_request_survives_a_snapshot():
    s = informed()
    s.resume_request(GPV, f"a1b2c3d4-1.{TASK_ID}.0")
    moved = AcsSession.from_dict(s.to_dict())
    event = moved.receive(answer(GPV_RESPONSE, f"a1b2c3d4-1.{TASK_ID}.0"))
    assert isinstance(event, ResponseReceived) and event.request == GPV


def test_replace_takes_the_place_of_a_request_that_reached_nobody():
    s = informed()
    own = s.send_request(GPV, tag=f"{TASK_ID}.0")  # the same request again, after a replayed Inform
    s.resume_request(GPV, f"a1b2c3d4-1.{TASK_ID}.0", replace=True)  # the one the CPE got
    assert s.rpc_count == 1 and s.outstanding_id == f"a1b2c3d4-1.{TASK_ID}.0"
    with pytest.raises(ProtocolViolation):
        AcsSession.from_dict(s.to_dict()).receive(answer(GPV_RESPONSE, own.id))  # not the one outstanding now
    event = s.receive(answer(GPV_RESPONSE, f"a1b2c3d4-1.{TASK_ID}.0"))
    assert isinstance(event, ResponseReceived) and event.request is GPV


def test_resuming_an_offered_request_under_the_id_another_process_gave_it():
    s = informed(acs_turn=False)
    offered = s.offer_request(GPV, tag=f"{TASK_ID}.0")
    s.resume_request(s.offered, f"a1b2c3d4-1.{TASK_ID}.0")
    assert s.offered is None and s.outstanding is GPV and s.rpc_count == 1 and offered.id != s.outstanding_id
    assert isinstance(s.receive(answer(GPV_RESPONSE, f"a1b2c3d4-1.{TASK_ID}.0")), ResponseReceived)
