"""A real SecantusDB for the scheduler's tests (one per test module, a database of its own per
test), and a recorder of the commands a test's client sends (what a write cost in round trips)."""

from __future__ import annotations

import itertools
import shutil
import sys
from collections.abc import AsyncIterator
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from bson import CodecOptions
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


_COMMANDS = {"find": "find", "insert": "insert", "update": "update", "delete": "delete", "distinct": "distinct"}


class Database:
    """The test's own database on a real SecantusDB, with the reads the tests make and the round
    trips the scheduler made (``trips``: (collection, command), from a pymongo command listener)."""

    def __init__(self, db, commands: Any) -> None:
        self.db, self.commands = db, commands
        self._read = db.with_options(codec_options=CodecOptions(tz_aware=True, tzinfo=UTC))  # dates as written

    def __getitem__(self, name: str):
        return self.db[name]

    async def doc(self, coll: str, _id: Any) -> dict | None:
        return await self._read[coll].find_one({"_id": _id})

    async def doc_where(self, coll: str, _id: Any, check) -> dict | None:
        """The document once ``check`` holds for it, else None."""
        doc = await self.doc(coll, _id)
        return doc if doc is not None and check(doc) else None

    @property
    def trips(self) -> list[tuple[str, str]]:
        return [(c[name], "find_one" if name == "find" and c.get("limit") == 1 else _COMMANDS[name])
                for name, c in self.commands.sent if name in _COMMANDS and c.get(name) != "fs.files"]

    def clear_trips(self) -> None:
        self.commands.clear()


@pytest_asyncio.fixture(loop_scope="session")
async def database(storage_server, commands) -> AsyncIterator[Database]:
    """A database of the test's own (the scheduler's client reads dates as the app's does)."""
    client: AsyncMongoClient = AsyncMongoClient(mongo_uri(storage_server.port), event_listeners=[commands])
    db = client[f"abandoned{next(_databases)}"]
    await ensure_indexes(db)  # collections and indexes before any write (SecantusDB)
    commands.database = db.name
    try:
        yield Database(db, commands)
    finally:
        await client.close()


_databases = itertools.count()
