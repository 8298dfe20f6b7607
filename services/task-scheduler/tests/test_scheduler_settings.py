"""The scheduler's settings against docs/configuration.md: every variable its section documents is a
settings field, and a value of the wrong type stops the service with the variable's name."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args, get_origin

import pytest
from pydantic import BaseModel

from acs_contracts.settings import documented
from task_scheduler.config import Settings

DOC = Path(__file__).resolve().parents[3] / "docs" / "configuration.md"
SECTION = "task-scheduler"
# read by the bulkdata_profile provision function (services/telemetry/provisions), not the scheduler
PROVISION_FUNCTION = {"TELEMETRY_BULKDATA_SECRET"}


def _documented() -> set[str]:
    return documented(DOC.read_text(), SECTION) - PROVISION_FUNCTION


def _scalar(var: str) -> bool:
    """Whether the variable's field is a number, a switch or an enumeration (text is never wrong)."""
    model: type[BaseModel] = Settings
    *outer, name = Settings.variables()[var].split(".")
    for part in outer:
        model = next(t for t in (model.model_fields[part].annotation, *get_args(model.model_fields[part].annotation))
                     if isinstance(t, type) and issubclass(t, BaseModel))
    t = model.model_fields[name].annotation
    return t in (int, float, bool) or get_origin(t) is Literal or (int in get_args(t))


def test_every_documented_variable_is_a_field():
    assert _documented(), "the section lists no variables"
    assert sorted(_documented() - Settings.variables().keys()) == []


@pytest.mark.parametrize("var", sorted(v for v in _documented() if _scalar(v)))
def test_a_bad_value_names_its_variable(var: str):
    with pytest.raises(ValueError, match=var):
        Settings.from_env({var: "not-a-value"})


def test_units_lists_and_switches():
    s = Settings.from_env({"SCHEDULER_MAX_PARKED_MB": "16", "SCHEDULER_MAX_ACTIVE_SESSIONS": "0",
                           "SCHEDULER_PARTIAL_PATH_VALUES": "off", "SCHEDULER_BOOTSTRAP_DEFAULTS": "TRUE",
                           "ACS_TENANT_RULES": '[{"tenant": "t1", "oui": "00*"}]', "SCHEDULER_CPE_CREDENTIALS": "Per-Device"})
    assert (s.max_parked_bytes, s.max_active_sessions, s.partial_path_values, s.bootstrap_defaults) == (16 << 20, 1, False, True)
    assert [r.tenant for r in s.tenant_rules] == ["t1"] and s.cpe_credentials == "per-device"
    with pytest.raises(ValueError, match="ACS_TENANT_RULES: .* has no tenant"):
        Settings.from_env({"ACS_TENANT_RULES": '[{"oui": "00*"}]'})
