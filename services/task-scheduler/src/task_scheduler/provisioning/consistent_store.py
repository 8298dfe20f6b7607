"""Read-your-writes for the device document the provisioning reads.

A session's own device updates after its Inform are held until it ends (``store.DeviceWrites``)
and laid over the document it reads. Updates already submitted, but not yet acknowledged (the
session's Inform, always written at once, or a previous session's), are in the batch writer for a
few milliseconds: a new device would look empty and a BOOTSTRAP one would show its old tree. This
store remembers each device's unacknowledged writes and lets the session's reads of the device
document (``device_doc``, ``pending_bootstrap``) wait for them. No extra database round trip: the
read waits for the flush already under way.
"""

from __future__ import annotations

import asyncio

from ..store import Store, Unacknowledged


class ReadYourWritesStore(Store):
    def __init__(self, db, writer, digest_cache: int = 200_000, **kw) -> None:
        super().__init__(db, writer, digest_cache, **kw)
        self._device_writes = Unacknowledged()

    def _device_written(self, device_id: str, futs: list[asyncio.Future]) -> None:
        self._device_writes.add(device_id, futs)

    async def _settled(self, device_id: str) -> None:
        await self._device_writes.settled(device_id)
