"""Waiting for a condition with a deadline, for tests against real servers.

A test that sleeps a fixed time either wastes it or, on a loaded machine, is too short; polling
the condition ends as soon as it holds and fails with a clear message only past a generous
deadline. ``check`` returns the value to wait for: anything truthy ends the wait and is returned.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


def _timed_out(what: str | None, check: object, timeout: float, last: object) -> AssertionError:
    return AssertionError(f"{what or check}: not within {timeout} s (last: {last!r})")


async def eventually(check: Callable[[], T | Awaitable[T]], timeout: float = 30.0, interval: float = 0.05,
                     what: str | None = None) -> T:
    """Await until ``check()`` (a plain or a coroutine function) returns something truthy; that
    value is returned. Past ``timeout`` seconds an AssertionError names ``what`` (or ``check``)."""
    deadline = time.monotonic() + timeout
    while True:
        result: Any = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise _timed_out(what, check, timeout, result)
        await asyncio.sleep(interval)


def wait_until(check: Callable[[], T], timeout: float = 30.0, interval: float = 0.05, what: str | None = None) -> T:
    """The blocking twin of :func:`eventually`, for synchronous tests and threads."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise _timed_out(what, check, timeout, result)
        time.sleep(interval)
