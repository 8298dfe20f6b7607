"""The scheduler's settings: units, lists and switches, tenant rules (the documented variables are
checked for every service in tests/test_settings_documented.py)."""

from __future__ import annotations

import pytest

from task_scheduler.config import Settings


def test_units_lists_and_switches():
    s = Settings.from_env({"SCHEDULER_WRITE_BATCH_MS": "2.5", "SCHEDULER_MAX_ACTIVE_SESSIONS": "0",
                           "SCHEDULER_PARTIAL_PATH_VALUES": "off", "SCHEDULER_BOOTSTRAP_DEFAULTS": "TRUE",
                           "ACS_TENANT_RULES": '[{"tenant": "t1", "oui": "00*"}]', "SCHEDULER_CPE_CREDENTIALS": "Per-Device"})
    assert (s.write_batch_ms, s.max_active_sessions, s.partial_path_values, s.bootstrap_defaults) == (2.5, 1, False, True)
    assert [r.tenant for r in s.tenant_rules] == ["t1"] and s.cpe_credentials == "per-device"
    with pytest.raises(ValueError, match="ACS_TENANT_RULES: .* has no tenant"):
        Settings.from_env({"ACS_TENANT_RULES": '[{"oui": "00*"}]'})
