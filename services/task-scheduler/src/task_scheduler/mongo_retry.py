"""One retry policy for the scheduler's MongoDB writes (tenacity), instead of a loop per caller.

A write the server could not take (unreachable, restarting, a primary stepping down) is kept and
sent again, with a growing pause up to two seconds, for as long as it takes: the writes stand for
CPE events already acknowledged, and the Kafka offsets wait for them. What the server answered
(a rejected write, a duplicate key) is no reason to send the same write again: it goes back to the
caller at once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pymongo.errors import BulkWriteError, PyMongoError, WriteError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_exponential

log = logging.getLogger(__name__)
T = TypeVar("T")


def transient(e: BaseException) -> bool:
    """The write failed for a reason of the server's or the network's (so it may be sent again),
    not one the server answered about the write itself (rejected, duplicate key)."""
    return isinstance(e, PyMongoError) and not isinstance(e, (WriteError, BulkWriteError))


def _log_retry(what: str) -> Callable[[RetryCallState], None]:
    def log_it(state: RetryCallState) -> None:
        if state.attempt_number % 10 == 1:
            log.warning("%s failed (attempt %d), retrying: %s", what, state.attempt_number,
                        state.outcome.exception() if state.outcome else None)

    return log_it


async def until_written(what: str, call: Callable[[], Awaitable[T]]) -> T:
    """``await call()``, again after each transient failure (see module docstring)."""
    async for attempt in AsyncRetrying(retry=retry_if_exception(transient), wait=wait_exponential(multiplier=0.05, max=2.0),
                                       before_sleep=_log_retry(what), reraise=True):
        with attempt:
            return await call()
    raise AssertionError("unreachable: AsyncRetrying retries until it returns or re-raises")
