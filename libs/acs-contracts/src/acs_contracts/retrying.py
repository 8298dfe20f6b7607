"""Retrying an operation until a server that went away (MongoDB, the broker) is back.

Every service waits out an outage the same way: retry with exponential back-off up to a ceiling,
log the waits, never give up (the service's readiness says it is not ready meanwhile), and let
cancellation through at once. One definition on tenacity, instead of a loop per service.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_exponential

T = TypeVar("T")


def until_back(what: str, log: logging.Logger, *, first_s: float, max_s: float,
               retry_on: type[BaseException] | tuple[type[BaseException], ...] = Exception,
               retry_if: Callable[[BaseException], bool] | None = None, log_every: int = 1,
               before_sleep: Callable[[], Awaitable[None]] | None = None) -> AsyncRetrying:
    """An ``AsyncRetrying`` that retries ``what`` on ``retry_on`` (and, if given, only where
    ``retry_if`` says the error is the server's being away) after ``first_s``, doubling to
    ``max_s``, for ever. Attempts 1, 1 + ``log_every``... are logged; ``before_sleep`` (async)
    runs before each wait, e.g. to drop a client that must be built afresh. Use it as
    ``async for attempt in until_back(...): with attempt: ...``, or ``call_until_back``."""

    def worth_retrying(e: BaseException) -> bool:
        return isinstance(e, retry_on) and (retry_if is None or retry_if(e))

    async def note(state: RetryCallState) -> None:
        if state.attempt_number % log_every == 1 % log_every:
            delay = state.next_action.sleep if state.next_action else 0.0
            error = state.outcome.exception() if state.outcome else None
            log.warning("%s failed (attempt %d); retrying in %.3g s: %s", what, state.attempt_number, delay, error)
        if before_sleep is not None:
            await before_sleep()

    return AsyncRetrying(retry=retry_if_exception(worth_retrying), wait=wait_exponential(multiplier=first_s, max=max_s),
                         before_sleep=note, reraise=True)


async def call_until_back(what: str, log: logging.Logger, call: Callable[[], Awaitable[T]], **policy) -> T:
    """``await call()``, again after each failure ``until_back(what, log, **policy)`` retries."""
    async for attempt in until_back(what, log, **policy):
        with attempt:
            return await call()
    raise AssertionError("unreachable: until_back retries until the call returns or raises")
