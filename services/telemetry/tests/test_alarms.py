"""Alarm rules: validation, threshold with hysteresis, rate of change, missing informs, models."""

from __future__ import annotations

import pytest

from acs_contracts.device_id import make_device_id
from telemetry.alarms import Evaluator, Rule
from telemetry.auth import authenticate, device_password

DEV = make_device_id("00259E", "EG8145V5", "SER1")
OTHER = make_device_id("00259E", "HG8245", "SER2")
CPU = "Device.DeviceInfo.ProcessStatus.CPUUsage"


def evaluator(*rules: dict) -> Evaluator:
    ev = Evaluator()
    ev.set_rules(rules)
    return ev


def test_threshold_raises_once_and_clears_past_the_clear_value():
    ev = evaluator({"_id": "cpu-high", "kind": "threshold", "parameter": CPU, "op": ">", "value": 90, "clearValue": 70})
    assert [t.state for t in ev.on_samples(DEV, [(CPU, 1, 50)])] == []
    raised = ev.on_samples(DEV, [(CPU, 2, 95), (CPU, 3, 99)])
    assert [(t.state, t.value, t.alarm_id) for t in raised] == [("raised", 95, f"{DEV}:cpu-high")]
    assert ev.on_samples(DEV, [(CPU, 4, 80)]) == []  # below the limit, above the clear value: still raised
    cleared = ev.on_samples(DEV, [(CPU, 5, 60)])
    assert [(t.state, t.value) for t in cleared] == [("cleared", 60)]
    assert ev.active == {}


def test_rate_rule_uses_consecutive_samples_and_instance_wildcards():
    ev = evaluator({"_id": "wifi-errors", "kind": "rate", "parameter": "Device.WiFi.Radio.*.Stats.ErrorsSent",
                    "op": ">", "value": 1.0})
    p = "Device.WiFi.Radio.2.Stats.ErrorsSent"
    assert ev.on_samples(DEV, [(p, 0, 100), (p, 60, 130)]) == []  # 0.5/s
    assert [t.state for t in ev.on_samples(DEV, [(p, 120, 400)])] == ["raised"]  # 4.5/s
    assert [t.state for t in ev.on_samples(DEV, [(p, 180, 410)])] == ["cleared"]
    assert ev.on_samples(DEV, [("Device.WiFi.Radio.x.Stats.ErrorsSent", 0, 1)]) == []  # not an instance number


def test_model_limits_a_rule_and_strings_are_ignored():
    ev = evaluator({"_id": "cpu", "kind": "threshold", "parameter": CPU, "op": ">=", "value": 90, "model": "EG8145V5"})
    assert ev.on_samples(OTHER, [(CPU, 1, 99)]) == []
    assert ev.on_samples(DEV, [(CPU, 1, "high")]) == []
    assert [t.device for t in ev.on_samples(DEV, [(CPU, 2, 90)])] == [DEV]


def test_missing_informs_raise_on_silence_and_clear_on_inform():
    ev = evaluator({"_id": "silent", "kind": "missing-informs", "missingS": 600, "severity": "critical"})
    assert ev.on_silent(DEV, last_inform=1000, now=1500) == []
    raised = ev.on_silent(DEV, last_inform=1000, now=1700)
    assert [(t.state, t.rule.severity) for t in raised] == [("raised", "critical")]
    assert ev.on_silent(DEV, last_inform=1000, now=1800) == []  # once
    assert [t.state for t in ev.on_inform(DEV, 1900)] == ["cleared"]


@pytest.mark.parametrize(("doc", "message"), [
    ({"_id": "x", "kind": "median"}, "kind"),
    ({"_id": "x", "kind": "threshold", "op": ">"}, "parameter"),
    ({"_id": "x", "kind": "threshold", "parameter": CPU, "op": "~"}, "op"),
    ({"_id": "x", "kind": "threshold", "parameter": CPU, "value": "90"}, "value must be a number"),
    ({"_id": "x", "kind": "missing-informs"}, "missingS"),
])
def test_bad_rules_are_refused(doc, message):
    with pytest.raises(ValueError, match=message):
        Rule.from_doc(doc)
    assert evaluator(doc).rules == []  # skipped by the evaluator, not fatal


def test_device_passwords_authenticate_their_device_only():
    import base64

    secret = b"s3cret"
    pw = device_password(secret, DEV)

    def header(user: str, password: str) -> str:
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    assert authenticate(secret, header(DEV, pw)) == DEV
    assert authenticate(secret, header(OTHER, pw)) is None
    assert authenticate(b"other", header(DEV, pw)) is None
    assert authenticate(b"", header(DEV, device_password(b"", DEV))) is None  # no secret: nobody
    assert authenticate(secret, "Bearer x") is None
