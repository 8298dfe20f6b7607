"""Per-device CPE credentials from the inventory's ``credentials`` collection, with a small
TTL cache so a periodic session costs no database round trip in the common case."""

from __future__ import annotations

import time
from collections import OrderedDict

from acs_contracts.mongo_collections import CREDENTIALS

from .auth import Credentials


class CredentialStore:
    def __init__(self, db, default: Credentials, ttl_s: float = 300.0, max_entries: int = 200_000) -> None:
        self._db = db
        self._default = default
        self._ttl = ttl_s
        self._max = max_entries
        self._cache: OrderedDict[str, tuple[float, Credentials]] = OrderedDict()

    async def for_device(self, device_id: str) -> Credentials:
        hit = self._cache.get(device_id)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            return hit[1]
        doc = await self._db[CREDENTIALS].find_one({"_id": device_id}, {"cpe": 1})
        cpe = (doc or {}).get("cpe") or {}
        creds = Credentials(cpe["username"], cpe.get("password", "")) if cpe.get("username") else self._default
        self._cache[device_id] = (now + self._ttl, creds)
        self._cache.move_to_end(device_id)
        while len(self._cache) > self._max:
            self._cache.popitem(last=False)
        return creds
