"""A real SecantusDB for the storage tests (one per test module, a database of its own per test),
and a recorder of the commands a test's client sends (what a write cost in round trips)."""

from __future__ import annotations

import itertools
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient, monitoring

from acs_contracts.mongo_collections import ensure_indexes
from acs_devstack.servers import Server, mongo_server, mongo_uri, new_workdir
from task_scheduler.batch_writer import BatchWriter

_DATABASES = itertools.count()


class Commands(monitoring.CommandListener):
    """The names of the commands sent on the test's database, in order (``clear`` forgets them)."""

    def __init__(self) -> None:
        self.database = ""
        self.sent: list[tuple[str, dict]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.database_name == self.database:
            self.sent.append((event.command_name, dict(event.command)))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.sent]

    def clear(self) -> None:
        self.sent.clear()


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def storage_server() -> AsyncIterator[Server]:
    if shutil.which("secantusd-py") is None and not Path(sys.executable).with_name("secantusd-py").exists():
        pytest.skip("secantusd-py (SecantusDB) is not installed")
    srv = mongo_server(new_workdir("acs-sched-storage-")).start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def commands() -> Commands:
    return Commands()


@pytest_asyncio.fixture(loop_scope="session")
async def db(storage_server: Server, commands: Commands) -> AsyncIterator:
    client: AsyncMongoClient = AsyncMongoClient(mongo_uri(storage_server.port), serverSelectionTimeoutMS=20000,
                                                tz_aware=True, event_listeners=[commands])
    database = client[f"t{next(_DATABASES)}"]  # a database of its own per test
    await ensure_indexes(database)  # collections and indexes before any write (SecantusDB)
    commands.database = database.name
    commands.clear()
    try:
        yield database
    finally:
        await client.close()


@pytest_asyncio.fixture(loop_scope="session")
async def writer(db) -> AsyncIterator[BatchWriter]:
    w = BatchWriter(db, 500, 0.002)
    w.start()
    try:
        yield w
    finally:
        await w.stop()
