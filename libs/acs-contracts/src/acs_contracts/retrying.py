"""Retrying an operation until a server that went away (MongoDB, the broker) is back.

Every service waits out an outage the same way: retry with exponential back-off up to a ceiling,
log each wait, never give up (the service's readiness says it is not ready meanwhile), and let
cancellation through at once. One definition on tenacity, instead of a loop per service.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential


def until_back(what: str, log: logging.Logger, *, first_s: float, max_s: float,
               retry_on: type[BaseException] | tuple[type[BaseException], ...] = Exception,
               before_sleep: Callable[[], Awaitable[None]] | None = None) -> AsyncRetrying:
    """An ``AsyncRetrying`` that retries ``what`` on ``retry_on`` after ``first_s``, doubling to
    ``max_s``, for ever; ``before_sleep`` (async) runs before each wait, e.g. to drop a client
    that must be built afresh. Use it as ``async for attempt in until_back(...): with attempt: ...``."""

    async def note(state: RetryCallState) -> None:
        delay = state.next_action.sleep if state.next_action else 0.0
        error = state.outcome.exception() if state.outcome else None
        log.warning("%s failed (%s); retrying in %.3g s", what, error, delay)
        if before_sleep is not None:
            await before_sleep()

    return AsyncRetrying(retry=retry_if_exception_type(retry_on), wait=wait_exponential(multiplier=first_s, max=max_s),
                         before_sleep=note, reraise=True)
