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

from ..store import Store


class ReadYourWritesStore(Store):
    def __init__(self, db, writer, digest_cache: int = 200_000, **kw) -> None:
        super().__init__(db, writer, digest_cache, **kw)
        self._device_writes: dict[str, list[asyncio.Future]] = {}

    def _device_written(self, device_id: str, futs: list[asyncio.Future]) -> None:
        if futs:
            pending = [f for f in self._device_writes.get(device_id, ()) if not f.done()] + futs
            self._device_writes[device_id] = pending
            futs[-1].add_done_callback(lambda _f: self._forget(device_id))

    def _forget(self, device_id: str) -> None:
        pending = self._device_writes.get(device_id)
        if pending is not None and all(f.done() for f in pending):
            del self._device_writes[device_id]

    async def _settled(self, device_id: str) -> None:
        pending = self._device_writes.get(device_id)
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
