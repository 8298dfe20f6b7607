"""Per-device CPE credentials from the inventory's ``credentials`` collection, with a small
TTL cache so a periodic session costs no database round trip in the common case.

The document (written by the scheduler, see docs/security.md) is
``{_id, cpe: {username, password, rotatedAt, pending: {username, password},
previous: {username, password} | {default: true}, previousUntil}}``; passwords are sealed with
``acs_contracts.cpe_secrets`` (a legacy plaintext one still reads). They are decrypted here only
to check a login and never leave the process.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from acs_contracts.cpe_secrets import CredentialKeyError, Secrets
from acs_contracts.mongo_collections import CREDENTIALS

from .auth import Credentials, DeviceCredentials

log = logging.getLogger(__name__)

NONE = DeviceCredentials()
REREAD_AFTER_S = 1.0  # a refused login re-reads a cached entry at most this often per device


def _epoch(v: Any) -> float | None:
    if isinstance(v, datetime):  # the driver's naive datetimes are UTC
        return (v if v.tzinfo is not None else v.replace(tzinfo=UTC)).timestamp()
    if isinstance(v, (int, float)):
        return float(v)
    return None


def parse(device_id: str, cpe: Mapping[str, Any] | None, secrets: Secrets) -> DeviceCredentials:
    """The ``cpe`` field of a credentials document, decrypted. A password no configured key opens
    is left out (logged): that credential cannot match, the others still do."""
    if not cpe:
        return NONE

    def one(d: Any) -> Credentials | None:
        if not isinstance(d, Mapping) or not d.get("username"):
            return None
        try:
            return Credentials(str(d["username"]), secrets.open(d.get("password")))
        except CredentialKeyError as e:
            log.error("CPE credentials of %s unreadable: %s", device_id, e)
            return None

    prev = cpe.get("previous")
    return DeviceCredentials(
        current=one(cpe), pending=one(cpe.get("pending")), previous=one(prev),
        previous_default=isinstance(prev, Mapping) and bool(prev.get("default")),
        previous_until=_epoch(cpe.get("previousUntil")) or 0.0,
        rotated_at=(_epoch(cpe.get("rotatedAt")) or 0.0) if cpe.get("username") else None)


class CredentialStore:
    def __init__(self, db: Any, default: Credentials, secrets: Secrets, ttl_s: float = 300.0,
                 max_entries: int = 200_000, reread_after_s: float = REREAD_AFTER_S) -> None:
        self._db = db
        self.default = default
        self._secrets = secrets
        self._ttl = ttl_s
        self._max = max_entries
        self._reread_after = reread_after_s
        self._cache: OrderedDict[str, tuple[float, float, DeviceCredentials]] = OrderedDict()

    async def for_device(self, device_id: str) -> DeviceCredentials:
        hit = self._cache.get(device_id)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            return hit[2]
        return await self.reload(device_id)

    def cached_since(self, device_id: str) -> float | None:
        """When the cached entry was read (monotonic), None when there is none."""
        hit = self._cache.get(device_id)
        return hit[1] if hit is not None else None

    async def reload(self, device_id: str) -> DeviceCredentials:
        doc = await self._db[CREDENTIALS].find_one({"_id": device_id}, {"cpe": 1})
        creds = parse(device_id, (doc or {}).get("cpe"), self._secrets)
        now = time.monotonic()
        self._cache[device_id] = (now + self._ttl, now, creds)
        self._cache.move_to_end(device_id)
        while len(self._cache) > self._max:
            self._cache.popitem(last=False)
        return creds

    async def check(self, device_id: str, verify: Any, may_reread: bool = True
                    ) -> tuple[str, Credentials | None, bool, DeviceCredentials]:
        """``verify(DeviceCredentials) -> (which, creds, stale)`` against the cached entry; a refusal
        re-reads the collection once (a device rotated since it was cached is not refused for the
        cache's lifetime). ``may_reread``: False for a request that carries no credentials at all
        (a Digest client's first try), which no re-read could change."""
        cached = device_id in self._cache and self._cache[device_id][0] > time.monotonic()
        dev = await self.for_device(device_id)
        which, creds, stale = verify(dev)
        since = self.cached_since(device_id)
        if creds is None and may_reread and cached and not stale and since is not None and time.monotonic() - since >= self._reread_after:
            dev = await self.reload(device_id)
            which, creds, stale = verify(dev)
        return which, creds, stale, dev
