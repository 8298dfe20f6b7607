"""Which of the scheduler's MongoDB write failures are retried, on the services' one retry policy.

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

from acs_contracts.retrying import call_until_back

log = logging.getLogger(__name__)
T = TypeVar("T")


def transient(e: BaseException) -> bool:
    """The write failed for a reason of the server's or the network's (so it may be sent again),
    not one the server answered about the write itself (rejected, duplicate key)."""
    return isinstance(e, PyMongoError) and not isinstance(e, (WriteError, BulkWriteError))


async def until_written(what: str, call: Callable[[], Awaitable[T]]) -> T:
    """``await call()``, again after each transient failure (see module docstring), on the
    services' one retry policy (``acs_contracts.retrying``)."""
    return await call_until_back(what, log, call, first_s=0.05, max_s=2.0, retry_if=transient, log_every=10)
