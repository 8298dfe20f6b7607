"""acs_contracts.retrying: back-off that waits out an outage, logs each wait, lets cancellation through."""

from __future__ import annotations

import asyncio
import logging

import pytest

from acs_contracts.retrying import until_back

log = logging.getLogger("test-retrying")


async def test_retries_until_the_operation_succeeds_with_growing_waits(caplog):
    calls, dropped = [], []

    async def drop_client() -> None:
        dropped.append(len(calls))

    caplog.set_level(logging.WARNING, logger="test-retrying")
    async for attempt in until_back("writing", log, first_s=0.001, max_s=0.004, before_sleep=drop_client):
        with attempt:
            calls.append(asyncio.get_running_loop().time())
            if len(calls) < 5:
                raise ConnectionError(f"down {len(calls)}")
    assert len(calls) == 5 and dropped == [1, 2, 3, 4]
    waits = [float(r.getMessage().split("retrying in ")[1].split(" s")[0]) for r in caplog.records]
    assert waits == [0.001, 0.002, 0.004, 0.004]  # doubling, then held at the ceiling
    assert caplog.records[0].getMessage() == "writing failed (attempt 1); retrying in 0.001 s: down 1"


async def test_an_error_it_does_not_retry_goes_through():
    calls = 0
    with pytest.raises(KeyError):
        async for attempt in until_back("reading", log, first_s=0.001, max_s=0.01, retry_on=ConnectionError):
            with attempt:
                calls += 1
                raise KeyError("not an outage")
    assert calls == 1


async def test_cancellation_is_not_retried():
    started = asyncio.Event()

    async def forever() -> None:
        async for attempt in until_back("waiting", log, first_s=0.001, max_s=0.001):
            with attempt:
                started.set()
                await asyncio.sleep(3600)

    task = asyncio.create_task(forever())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_only_the_errors_it_is_told_are_the_servers_are_retried_and_every_nth_is_logged(caplog):
    from acs_contracts.retrying import call_until_back

    class Answered(ConnectionError):
        """The server answered: sending the same again would get the same answer."""

    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 12:
            raise ConnectionError("away")
        return "written"

    caplog.set_level(logging.WARNING, logger="test-retrying")
    policy = {"first_s": 0.0001, "max_s": 0.0001, "retry_if": lambda e: not isinstance(e, Answered), "log_every": 10}
    assert await call_until_back("bulk write", log, flaky, **policy) == "written"
    assert calls == 12
    assert [r.getMessage().split(";")[0] for r in caplog.records] == ["bulk write failed (attempt 1)", "bulk write failed (attempt 11)"]

    async def answered() -> None:
        raise Answered("duplicate key")

    with pytest.raises(Answered):
        await call_until_back("bulk write", log, answered, **policy)
