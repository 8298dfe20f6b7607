"""acs_contracts.kafka_topics: every topic's message survives encode/decode, and a message of
another topic, another version, or with a field of the wrong type is refused with SchemaError
(a consumer then skips it instead of carrying a bad value into the session)."""

from __future__ import annotations

import orjson
import pytest

from acs_contracts import kafka_topics as kt

SAMPLES: list[kt.TopicMessage] = [
    kt.SessionEvent(device_id="00D09E-IGD-SN1", session_id="s1", kind="message", request_id="r1",
                    reply_to="10.0.0.1:7548", received_at=1700000000.25, cwmp_ns="urn:dslforum-org:cwmp-1-2",
                    cwmp_version="1.2", source_ip="192.0.2.7", body={"rpc": "GetParameterValuesResponse"},
                    headers={"id": "abc-1", kt.REPLY_WAIT: 20.0}, gateway_id="gw-1"),
    kt.DeviceInformed(device_id="00D09E-IGD-SN1", timestamp=1700000000.0, event_codes=["2 PERIODIC"],
                      manufacturer="Acme", oui="00D09E", product_class="IGD", serial_number="SN1"),
    kt.ParameterChanges(device_id="00D09E-IGD-SN1", timestamp=1700000000.0, source="inform",
                        changes=[{"name": "Device.X", "value": 1, "type": "xsd:int", "previous": None}]),
    kt.TaskResult(task_id="t1", device_id="00D09E-IGD-SN1", name="reboot", status="fault", timestamp=1.0,
                  fault={"code": "cwmp.9002", "message": "Internal error", "detail": None}),
    kt.SessionEnded(device_id="00D09E-IGD-SN1", session_id="s1", timestamp=2.0, outcome="ok", rpc_count=3,
                    duration_s=0.5, event_codes=["1 BOOT"]),
    kt.MetricSamples(device_id="00D09E-IGD-SN1", timestamp=3.0, source="bulkdata",
                     samples=[{"name": "Device.DeviceInfo.ProcessStatus.CPUUsage", "value": 42, "t": 2.5}],
                     report_format="NameValuePair"),
    kt.AlarmEvent(alarm_id="00D09E-IGD-SN1:cpu", device_id="00D09E-IGD-SN1", rule="cpu", kind="threshold",
                  severity="major", state="raised", timestamp=4.0, parameter="Device.X", value=95.5),
    kt.AuditRecord(id="65f0c0ffee", timestamp="2026-12-07T12:00:00.000Z",
                   actor={"token": "3f2a9c01b7de", "role": "admin", "client": "acs-cli/1"}, source_ip="10.0.0.9",
                   method="PUT", path="/presets/wifi", action="PUT /presets/{name}", status=200,
                   before={"weight": 1}, after={"weight": 2}, result=None),
    kt.SessionMessage(device_id="00D09E-IGD-SN1", session_id="s1", kind="empty", request_id="r2",
                      reply_to="10.0.0.1:7548", received_at=1700000000.5, cwmp_ns="urn:dslforum-org:cwmp-1-2",
                      cwmp_version="1.2", headers={kt.REPLY_WAIT: 20.0}, inform_partition=3, inform_offset=41),
]


def test_every_topic_has_a_sample():
    assert {m.TOPIC for m in SAMPLES} == set(kt.ALL_TOPICS)


@pytest.mark.parametrize("message", SAMPLES, ids=lambda m: type(m).__name__)
def test_round_trip(message):
    data = message.encode()
    envelope = orjson.loads(data)
    assert envelope["schema"] == message.TOPIC and envelope["v"] == message.VERSION
    assert type(message).decode(data) == message


@pytest.mark.parametrize("message", SAMPLES, ids=lambda m: type(m).__name__)
def test_another_topics_message_is_refused(message):
    other = next(m for m in SAMPLES if m.TOPIC != message.TOPIC)
    with pytest.raises(kt.SchemaError, match="wrong schema"):
        type(message).decode(other.encode())


def test_another_version_is_refused():
    doc = orjson.loads(SAMPLES[1].encode())
    doc["v"] = 2
    with pytest.raises(kt.SchemaError, match="unsupported version 2"):
        kt.DeviceInformed.decode(orjson.dumps(doc))


@pytest.mark.parametrize("field, value", [
    ("timestamp", "yesterday"), ("rpc_count", "3"), ("event_codes", "1 BOOT"), ("outcome", None),
])
def test_a_field_of_the_wrong_type_is_refused(field, value):
    doc = orjson.loads(SAMPLES[4].encode())
    doc[field] = value
    with pytest.raises(kt.SchemaError, match=field):
        kt.SessionEnded.decode(orjson.dumps(doc))


def test_a_missing_required_field_is_refused():
    doc = orjson.loads(SAMPLES[3].encode())
    del doc["status"]
    with pytest.raises(kt.SchemaError, match="status"):
        kt.TaskResult.decode(orjson.dumps(doc))


def test_unknown_fields_from_a_newer_producer_are_ignored():
    doc = orjson.loads(SAMPLES[2].encode())
    doc["added_later"] = {"x": 1}
    assert kt.ParameterChanges.decode(orjson.dumps(doc)) == SAMPLES[2]


@pytest.mark.parametrize("data", [b"", b"not json", b"[1, 2]", b'"text"'])
def test_what_is_not_a_json_object_is_refused(data):
    with pytest.raises(kt.SchemaError):
        kt.SessionEvent.decode(data)


def test_an_event_is_stale_only_once_the_gateway_stopped_waiting():
    event = SAMPLES[0]
    assert not event.is_stale(event.received_at + 19.9)
    assert event.is_stale(event.received_at + 20.1)
    inform = kt.SessionEvent.decode(event.encode())
    inform.reply_to = None  # an Inform: the gateway waits for nobody's reply
    assert not inform.is_stale(inform.received_at + 1000)


def test_a_session_message_says_where_its_inform_lies_and_defaults_to_unknown():
    """An in-session message carries its Inform's partition and offset; one without them (from a
    gateway of the previous release) decodes with -1, "unknown": handled as soon as read."""
    message = SAMPLES[-1]
    assert isinstance(message, kt.SessionMessage)
    assert (message.inform_partition, message.inform_offset) == (3, 41)
    doc = orjson.loads(message.encode())
    del doc["inform_partition"], doc["inform_offset"]
    old = kt.SessionMessage.decode(orjson.dumps(doc))
    assert (old.inform_partition, old.inform_offset) == (-1, -1) and old.kind == "empty"
    doc["inform_offset"] = "41"
    with pytest.raises(kt.SchemaError, match="inform_offset"):
        kt.SessionMessage.decode(orjson.dumps(doc))
