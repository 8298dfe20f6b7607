"""Preset schedules: a five-field cron expression (minute hour day-of-month month day-of-week),
optionally preceded by a window in seconds: ``"3600 0 2 * * *"`` means "within one hour after
02:00 every day". Without a window, 60 s. Day of week 0 is Sunday.

A scheduled preset applies only to sessions inside a window; the answer is cached per minute,
so checking it costs nothing per session.

One grammar for both sides: the NBI validates a preset's schedule with it (``presets.validate_schedule``)
and the scheduler evaluates it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_RANGES = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 6)]
_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$")
MAX_WINDOW_S = 7 * 86400


class ScheduleError(ValueError):
    """A schedule that is not one."""


def _field(text: str, lo: int, hi: int) -> frozenset[int]:
    if not _FIELD.match(text):
        raise ScheduleError(f"invalid cron field {text!r}")
    out: set[int] = set()
    for part in text.split(","):
        rng, _, step_s = part.partition("/")
        step = int(step_s) if step_s else 1
        if step < 1:
            raise ScheduleError(f"bad step in {text!r}")
        if rng == "*":
            a, b = lo, hi
        elif "-" in rng:
            a_s, b_s = rng.split("-", 1)
            a, b = int(a_s), int(b_s)
        else:
            a = b = int(rng)
        if not (lo <= a <= b <= hi):
            raise ScheduleError(f"{text!r} is outside {lo}-{hi}")
        out.update(range(a, b + 1, step))
    return frozenset(out)


class Schedule:
    """A parsed schedule; ``ScheduleError`` if ``text`` is not one."""

    def __init__(self, text: str) -> None:
        parts = text.split()
        window = 60
        if len(parts) == 6:
            if not parts[0].isdigit():
                raise ScheduleError("a schedule is [window seconds] followed by five cron fields")
            window, parts = int(parts[0]), parts[1:]
        if len(parts) != 5:
            raise ScheduleError("a schedule is [window seconds] followed by five cron fields")
        if not 60 <= window <= MAX_WINDOW_S:
            raise ScheduleError(f"the window must be 60 to {MAX_WINDOW_S} seconds")
        try:
            fields = [_field(p, lo, hi) for p, (lo, hi) in zip(parts, _RANGES, strict=True)]
        except ValueError as e:
            raise ScheduleError(str(e)) from None
        self.text = text
        self.window = window
        self.minute, self.hour, self.dom, self.month, self.dow = [frozenset(f) for f in fields]
        self._cache: tuple[int, bool] = (-1, False)

    def _tick(self, t: datetime) -> bool:
        return (t.minute in self.minute and t.hour in self.hour and t.day in self.dom
                and t.month in self.month and (t.isoweekday() % 7) in self.dow)

    def active(self, now: datetime | None = None) -> bool:
        """Whether a cron tick happened within the window before ``now``."""
        now = now or datetime.now(UTC)
        key = int(now.timestamp() // 60)
        if self._cache[0] == key:
            return self._cache[1]
        start = now.replace(second=0, microsecond=0)
        steps = self.window // 60
        result = any(self._tick(start - timedelta(minutes=i)) for i in range(steps + 1)
                     if (now - (start - timedelta(minutes=i))).total_seconds() <= self.window)
        self._cache = (key, result)
        return result
