"""Preset schedules: cron fields with an optional window."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from task_scheduler.provisioning.schedule import Schedule, ScheduleError


def test_schedule_windows():
    s = Schedule("3600 0 2 * * *")
    assert s.active(datetime(2026, 5, 1, 2, 30, tzinfo=UTC))
    assert not Schedule("3600 0 2 * * *").active(datetime(2026, 5, 1, 3, 30, tzinfo=UTC))
    assert Schedule("*/15 * * * 1-5").active(datetime(2026, 5, 1, 9, 15, 20, tzinfo=UTC))  # a Friday
    assert not Schedule("*/15 * * * 0,6").active(datetime(2026, 5, 1, 9, 15, 20, tzinfo=UTC))
    for bad in ("daily", "61 * * * *", "30 0 2 * * *", "* * * *"):
        with pytest.raises(ScheduleError):
            Schedule(bad)
