"""acs_devstack.polling: what the tests' waits rely on (the value comes back, a timeout names what
was awaited, a coroutine check is awaited)."""

from __future__ import annotations

import itertools

import pytest

from acs_devstack.polling import eventually, wait_until


def _truthy_on(n: int):
    """A check that answers falsy values until its ``n``-th call, then that call's number."""
    calls = itertools.count(1)
    return lambda: (c if (c := next(calls)) >= n else 0)


def test_wait_until_returns_the_first_truthy_value():
    assert wait_until(_truthy_on(3), interval=0) == 3


def test_wait_until_past_its_deadline_names_what_and_the_last_value():
    with pytest.raises(AssertionError, match=r"the thing: not within 0.01 s \(last: \[\]\)"):
        wait_until(list, timeout=0.01, interval=0, what="the thing")


async def test_eventually_takes_plain_and_coroutine_checks():
    assert await eventually(_truthy_on(2), interval=0) == 2
    plain = _truthy_on(4)

    async def check() -> int:
        return plain()

    assert await eventually(check, interval=0) == 4


async def test_eventually_past_its_deadline_raises():
    async def never() -> None:
        return None

    with pytest.raises(AssertionError, match="stored: not within 0.01 s"):
        await eventually(never, timeout=0.01, interval=0, what="stored")
