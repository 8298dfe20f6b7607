"""Every service's settings against docs/configuration.md: each variable its section lists is a
settings field, and a value of the wrong type (a number, a switch, an enumeration) stops the
service with the variable's name. The services' own spellings, units and lists are tested next
to each service (``test_*_settings.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from acs_contracts.settings import EnvSettings, documented
from inventory.config import Settings as InventorySettings
from session_gateway.config import Settings as GatewaySettings
from task_scheduler.config import Settings as SchedulerSettings
from telemetry.config import Settings as TelemetrySettings

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
SERVICES: dict[str, type[EnvSettings]] = {
    "session-gateway": GatewaySettings, "task-scheduler": SchedulerSettings,
    "inventory": InventorySettings, "telemetry": TelemetrySettings,
}
# documented in a service's section, read elsewhere: by the bulkdata_profile provision function
# (services/telemetry/provisions), which runs inside the scheduler
READ_ELSEWHERE = {"task-scheduler": {"TELEMETRY_BULKDATA_SECRET"}}


def _documented(section: str) -> set[str]:
    return documented(DOC.read_text(), section) - READ_ELSEWHERE.get(section, set())


@pytest.mark.parametrize("section", sorted(SERVICES))
def test_every_documented_variable_is_a_field(section: str):
    assert _documented(section), "the section lists no variables"
    assert sorted(_documented(section) - SERVICES[section].variables().keys()) == []


@pytest.mark.parametrize(("section", "var"), sorted((s, v) for s, cls in SERVICES.items()
                                                    for v in _documented(s) & cls.typed_variables()))
def test_a_bad_value_names_its_variable(section: str, var: str):
    with pytest.raises(ValueError, match=var):
        SERVICES[section].from_env({var: "not-a-value"})
