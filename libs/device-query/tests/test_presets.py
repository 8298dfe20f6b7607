"""Preset and declaration validation: what the NBI's PUT /presets stores and what the scheduler
loads are checked by the same function."""

from __future__ import annotations

import pytest
from device_query import paths
from device_query.errors import PresetError
from device_query.presets import declaration, precondition_query, validate_preset

SSID = "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.SSID"

DECLARATIVE = {
    "weight": 5,
    "channel": "wifi",
    "events": ["0 BOOTSTRAP", "2 PERIODIC"],
    "schedule": "3600 0 2 * * *",
    "precondition": {"VirtualParameters.SoftwareVersion": {"$regex": "^V1"}},
    "configurations": [{"type": "provision", "name": "inform", "args": None},
                       {"type": "value", "name": "InternetGatewayDevice.ManagementServer.PeriodicInformInterval",
                        "value": 300}],
    "declarations": [
        {"path": "InternetGatewayDevice.LANDevice.*.WLANConfiguration.*.SSID", "value": "acs"},
        {"path": "InternetGatewayDevice.DeviceInfo.UpTime", "refresh": 600},
        {"path": "InternetGatewayDevice.WANDevice.1.WANConnectionDevice.1.WANIPConnection.[AddressingType:Static]",
         "instances": {"min": 1, "max": 1}},
        {"path": "InternetGatewayDevice.X_Vendor.[Name:a.b.c,Port:80]", "instances": 0},
        {"path": "InternetGatewayDevice.ManagementServer.ConnectionRequestPassword", "value": "s3cret", "secret": True,
         "type": "xsd:string"},
    ],
}


def test_a_valid_preset_is_normalised():
    doc = validate_preset("decl", DECLARATIVE)
    assert doc["_id"] == "decl" and doc["weight"] == 5 and doc["channel"] == "wifi"
    assert doc["declarations"] == DECLARATIVE["declarations"] and doc["events"] == DECLARATIVE["events"]
    assert doc["precondition"] == '{"VirtualParameters.SoftwareVersion":{"$regex":"^V1"}}'
    assert doc["configurations"] == DECLARATIVE["configurations"]


def test_genieacs_forms_are_normalised():
    doc = validate_preset("seed", {"events": "0 BOOTSTRAP, 1 BOOT", "precondition": ""})
    assert doc["events"] == {"0 BOOTSTRAP": True, "1 BOOT": True} and doc["precondition"] == ""
    assert doc["channel"] == "default" and doc["weight"] == 0 and "declarations" not in doc
    expr = 'DeviceID.ProductClass = "BM632w" AND Tags.lab IS NOT NULL'
    assert validate_preset("x", {"precondition": f" {expr} "})["precondition"] == expr  # kept as written
    assert precondition_query(expr) == precondition_query(validate_preset("x", {"precondition": expr})["precondition"])


@pytest.mark.parametrize("change, error", [
    ({"declarations": [{"path": "A..B", "value": 1}]}, "segment"),
    ({"declarations": [{"path": "A.[B].C", "value": 1}]}, "alias"),
    ({"declarations": [{"path": "A.[B:1.C", "value": 1}]}, "unbalanced"),
    ({"declarations": [{"path": "*.A", "value": 1}]}, "segment"),
    ({"declarations": [{"path": "A.B", "instances": 1}]}, "ending with"),
    ({"declarations": [{"path": "A.*", "instances": 1, "value": 2}]}, "not both"),
    ({"declarations": [{"path": "A.*", "instances": {"min": 3, "max": 1}}]}, "min <= max"),
    ({"declarations": [{"path": "A.B"}]}, "needs value"),
    ({"declarations": [{"path": "A.B", "value": [1]}]}, "string, number"),
    ({"declarations": [{"path": "A.B", "refresh": -1}]}, "refresh"),
    ({"declarations": [{"path": "A.B", "value": 1, "type": "xsd:float128"}]}, "unknown type"),
    ({"declarations": [{"path": "A.B", "value": 1, "colour": "red"}]}, "unknown fields"),
    ({"declarations": [{"path": "A.B", "value": 1, "secret": "yes"}]}, "secret"),
    ({"declarations": {"path": "A.B"}}, "array"),
    ({"configurations": [{"type": "zap"}]}, "configuration needs type"),
    ({"configurations": [{"type": "value", "name": "A..B", "value": 1}]}, "invalid parameter path"),
    ({"configurations": [{"type": "provision", "name": "p", "args": 3}]}, "args must be an array"),
    ({"schedule": "daily"}, "cron"),
    ({"schedule": "0 25 * * *"}, "outside"),
    ({"schedule": "10 0 2 * * *"}, "window"),
    ({"events": ["2 PERIODIC", 3]}, "events"),
    ({"weight": True}, "weight"),
    ({"channel": ""}, "channel"),
    ({"precondition": {"x": {"$where": "1"}}}, "not allowed"),
    ({"precondition": "{bad"}, "not valid JSON"),
    ({"precondition": "Tags.lab IS NOT"}, "precondition"),
    ({"precondition": 5}, "precondition"),
    ({"colour": "red"}, "unknown preset fields"),
    ({"_id": "other"}, "differs"),
])
def test_invalid_presets_are_refused(change, error):
    with pytest.raises(PresetError) as e:
        validate_preset("bad", {**DECLARATIVE, **change})
    assert error in e.value.message + repr(e.value.detail)


def test_a_declaration_is_normalised():
    d = declaration({"path": "A.T.[K:v]", "instances": {"min": 1}}, channel="c", weight=3)
    assert d.instances == (1, 1024) and d.segs == ("A", "T", paths.Alias((("K", "v"),)))
    assert (d.channel, d.weight, d.has_value, d.refresh) == ("c", 3, False, None)
    d = declaration({"path": SSID, "value": "x", "refresh": 5, "accessList": ["Subscriber"]})
    assert d.has_value and d.refresh == 5.0 and d.access_list == ("Subscriber",) and d.notification is None


@pytest.mark.parametrize("bad, message", [
    ({"notification": 7}, "notification is 0"), ({"notification": True}, "notification is 0"),
    ({"accessList": "Subscriber"}, "accessList is a list"), ({"instances": 1, "notification": 1, "path": "A.*"}, "not instance counts"),
])
def test_bad_attribute_declarations_are_refused(bad, message):
    with pytest.raises(PresetError, match=message):
        declaration({"path": SSID, **bad})
