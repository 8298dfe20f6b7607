"""Tenant assignment at first contact (task_scheduler/tenants.py): rules, order, patterns, the
``$setOnInsert`` that keeps a device's tenant, and refusal of malformed rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cwmp import messages as m
from cwmp.events import EventCode
from task_scheduler.device_record import apply_update, inform_update
from task_scheduler.tenants import assign, parse_rules, tenant_of

TS = datetime(2026, 1, 1, tzinfo=UTC)
RULES = parse_rules('''[
  {"tenant": "acme", "oui": "00259E", "productClass": "HG*"},
  {"tenant": "lab", "username": "lab-*"},
  {"tenant": "isp-b", "path": "/isp-b*"},
  {"tenant": "rest-of-00259E", "oui": "00259E"}
]''')


def _inform(oui: str, pc: str, serial: str = "S1") -> m.Inform:
    return m.Inform(device_id=m.DeviceIdStruct("Vendor", oui, pc, serial), events=[m.EventStruct(EventCode("0 BOOTSTRAP"))],
                    max_envelopes=1, current_time=TS, retry_count=0, parameter_list=[])


@pytest.mark.parametrize("oui, pc, headers, tenant", [
    ("00259E", "HG8245", {}, "acme"),
    ("00259E", "EG8145", {}, "rest-of-00259E"),  # the first rule needs both fields
    ("00259E", "HG8245", {"cpeUsername": "lab-7"}, "acme"),  # the first matching rule wins
    ("112233", "X", {"cpeUsername": "lab-7"}, "lab"),
    ("112233", "X", {"acsPath": "/isp-b/cwmp"}, "isp-b"),
    ("112233", "X", {}, None),
])
def test_the_first_matching_rule_gives_the_tenant(oui, pc, headers, tenant):
    assert tenant_of(_inform(oui, pc), headers, RULES) == tenant


def test_the_tenant_is_written_with_the_first_write_only():
    inform = _inform("00259E", "HG8245")
    update, _ = inform_update(inform, source_ip="10.0.0.1", cwmp_ns="urn:dslforum-org:cwmp-1-2", cwmp_version="1.2", ts=TS)
    assign(update, inform, {}, RULES)
    new = apply_update(None, update, "00259E-HG8245-S1", True)
    assert new is not None and new["_tenant"] == "acme"
    moved = {**new, "_tenant": "moved-by-admin"}
    assert apply_update(moved, update, "00259E-HG8245-S1", True)["_tenant"] == "moved-by-admin"


def test_no_rule_no_tenant():
    inform = _inform("112233", "X")
    update, _ = inform_update(inform, source_ip="", cwmp_ns="urn:dslforum-org:cwmp-1-2", cwmp_version="1.2", ts=TS)
    assign(update, inform, {}, ())
    assert "_tenant" not in (update.get("$setOnInsert") or {})


@pytest.mark.parametrize("text", ['{"tenant": "a"}', '[{"oui": "x"}]', '[{"tenant": "a", "color": "red"}]',
                                  '[{"tenant": "a", "oui": 5}]', "[not json"])
def test_malformed_rules_are_refused(text):
    with pytest.raises(ValueError):
        parse_rules(text)
