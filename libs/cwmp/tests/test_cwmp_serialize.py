"""message_to_dict / message_from_dict: plain JSON for Kafka, exact inverse."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
from cwmp_samples import representative

from cwmp import messages as m
from cwmp.events import EventCode
from cwmp.serialize import message_from_dict, message_to_dict


@pytest.mark.parametrize("cls", sorted(m.MESSAGE_TYPES.values(), key=lambda c: c.RPC), ids=lambda c: c.RPC)
def test_samples_round_trip(cls: type[m.Message]) -> None:
    message = representative(cls)
    d = message_to_dict(message)
    assert message_from_dict(orjson.loads(orjson.dumps(d))) == message


def test_inform_dict_shape() -> None:
    inform = m.Inform(
        device_id=m.DeviceIdStruct("Acme", "00D09E", "HGW", "S1"),
        events=[m.EventStruct(EventCode.BOOT, "")],
        current_time=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        parameter_list=[
            m.ParameterValueStruct("a", 5, "xsd:unsignedInt"),
            m.ParameterValueStruct("b", datetime(2024, 1, 2), "xsd:dateTime"),
            m.ParameterValueStruct("c", b"\x00\x01", "xsd:base64"),
        ],
    )
    d = message_to_dict(inform)
    assert d == {
        "rpc": "Inform",
        "device_id": {"manufacturer": "Acme", "oui": "00D09E", "product_class": "HGW", "serial_number": "S1"},
        "events": [{"event_code": "1 BOOT", "command_key": ""}],
        "max_envelopes": 1,
        "current_time": "2024-01-02T03:04:05+00:00",
        "retry_count": 0,
        "parameter_list": [
            {"name": "a", "value": 5, "type": "xsd:unsignedInt"},
            {"name": "b", "value": "2024-01-02T00:00:00", "type": "xsd:dateTime"},
            {"name": "c", "value": "AAE=", "type": "xsd:base64"},
        ],
    }
    assert type(d["events"][0]["event_code"]) is str
    back = message_from_dict(d)
    assert back == inform and isinstance(back.events[0].event_code, EventCode)  # type: ignore[attr-defined]


def test_raw_text_under_a_typed_value_keeps_its_kind() -> None:
    odd = [
        m.ParameterValueStruct("a", "2024-01-02T00:00:00", "xsd:dateTime"),  # raw text that looks like a dateTime
        m.ParameterValueStruct("b", "AAE=", "xsd:base64"),
        m.ParameterValueStruct("c", datetime(2024, 1, 2), "xsd:string"),
        m.ParameterValueStruct("d", b"xy", "xsd:string"),
        m.ParameterValueStruct("e", "0000-00-00T00:00:00", "xsd:dateTime"),
    ]
    msg = m.GetParameterValuesResponse(odd)
    d = message_to_dict(msg)
    kinds = [p.get("value_kind") for p in d["parameter_list"]]
    assert kinds == ["str", "str", "datetime", "bytes", None]
    assert message_from_dict(orjson.loads(orjson.dumps(d))) == msg


def test_operations_are_tagged() -> None:
    d = message_to_dict(representative(m.ChangeDUState))
    assert [op["op"] for op in d["operations"]] == ["Install", "Update", "Uninstall", "Install"]


@pytest.mark.parametrize("bad", [{}, {"rpc": "Nope"}, {"rpc": "Reboot", "command_key": 5j}, {"rpc": "ChangeDUState", "operations": [{"op": "Zap"}]}, []])
def test_bad_dicts_raise_value_error(bad: object) -> None:
    with pytest.raises(ValueError):
        message_from_dict(bad)  # type: ignore[arg-type]
