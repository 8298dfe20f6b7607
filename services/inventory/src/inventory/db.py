"""The MongoDB client, the collections the inventory uses, and index creation at start."""

from __future__ import annotations

import logging

from gridfs import AsyncGridFSBucket
from pymongo import AsyncMongoClient

from acs_contracts import mongo_collections as mc
from acs_contracts.retrying import until_back

from .accounts import Accounts
from .config import Settings

log = logging.getLogger(__name__)


class Database:
    def __init__(self, settings: Settings) -> None:
        self.client: AsyncMongoClient = AsyncMongoClient(
            settings.mongodb_uri, tz_aware=True, serverSelectionTimeoutMS=5000, appname="acs-inventory"
        )
        self.db = self.client[settings.mongodb_database]
        self.devices = self.db[mc.DEVICES]
        self.tasks = self.db[mc.TASKS]
        self.faults = self.db[mc.FAULTS]
        self.credentials = self.db[mc.CREDENTIALS]
        self.last_informs = self.db[mc.LAST_INFORMS]
        self.presets = self.db[mc.PRESETS]
        self.fs = AsyncGridFSBucket(self.db, bucket_name=mc.FILES_BUCKET)
        self.fs_files = self.db[f"{mc.FILES_BUCKET}.files"]
        self.indexes_ready = False

    async def ensure_indexes(self) -> None:
        """Create the shared indexes, retrying while MongoDB is not reachable yet."""
        async for attempt in until_back("creating indexes", log, first_s=0.5, max_s=10.0):  # /readyz says not ready
            with attempt:
                await mc.ensure_indexes(self.db)
                await self.fs_files.create_index([("filename", 1), ("uploadDate", 1)])
                await Accounts(self.db).ensure_indexes()
        self.indexes_ready = True

    async def ping(self) -> bool:
        try:
            await self.db.command("ping")
            return True
        except Exception:  # noqa: BLE001 - any failure means not ready
            return False

    async def close(self) -> None:
        await self.client.close()
