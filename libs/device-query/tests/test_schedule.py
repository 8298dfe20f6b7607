"""Preset schedules: cron fields with an optional window."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from device_query.schedule import Schedule, ScheduleError


def test_schedule_windows():
    s = Schedule("3600 0 2 * * *")
    assert s.active(datetime(2026, 5, 1, 2, 30, tzinfo=UTC))
    assert not Schedule("3600 0 2 * * *").active(datetime(2026, 5, 1, 3, 30, tzinfo=UTC))
    assert Schedule("*/15 * * * 1-5").active(datetime(2026, 5, 1, 9, 15, 20, tzinfo=UTC))  # a Friday
    assert not Schedule("*/15 * * * 0,6").active(datetime(2026, 5, 1, 9, 15, 20, tzinfo=UTC))
    for bad in ("daily", "61 * * * *", "30 0 2 * * *", "* * * *"):
        with pytest.raises(ScheduleError):
            Schedule(bad)


@pytest.mark.parametrize(("text", "message"), [
    ("daily", "five cron fields"),
    ("x * * * *", "invalid cron field 'x'"),
    ("5-1 * * * *", "outside 0-59"),     # a backward range: the NBI once took it, the scheduler refused it
    ("*/0 * * * *", "bad step"),         # likewise a zero step
    ("30 0 2 * * *", "window must be 60"),
])
def test_the_nbi_refuses_what_the_scheduler_cannot_run(text, message):
    """One grammar: a schedule the preset validator takes is one the scheduler can evaluate."""
    from device_query.errors import PresetError
    from device_query.presets import validate_schedule

    with pytest.raises(PresetError, match=message):
        validate_schedule(text)
    with pytest.raises(ScheduleError, match=message):
        Schedule(text)


def test_empty_schedule_is_no_schedule():
    from device_query.presets import validate_schedule

    validate_schedule("  ")  # no schedule: the preset applies at every matching session
