"""Read-your-writes for the device document the provisioning reads.

The session driver queues the Inform's device update in the batch writer and may read the
document for the presets a few milliseconds later, before the batch is flushed: a new device
would look empty and a BOOTSTRAP one would show its old tree. This store remembers each device's
unacknowledged updates and lets ``device_doc`` wait for them, so the presets always see what the
Inform said. No extra database round trip: the read waits for the flush already under way.
"""

from __future__ import annotations

import asyncio

from ..store import Store


class ReadYourWritesStore(Store):
    def __init__(self, db, writer, digest_cache: int = 200_000) -> None:
        super().__init__(db, writer, digest_cache)
        self._device_writes: dict[str, list[asyncio.Future]] = {}

    def update_device(self, device_id: str, update: dict, unsets: list[str] = (), upsert: bool = True,
                      only_if: tuple[str, str] | None = None) -> list[asyncio.Future]:
        futs = super().update_device(device_id, update, unsets, upsert, only_if)
        if futs:
            pending = [f for f in self._device_writes.get(device_id, ()) if not f.done()] + futs
            self._device_writes[device_id] = pending
            futs[-1].add_done_callback(lambda _f, d=device_id: self._forget(d))
        return futs

    def _forget(self, device_id: str) -> None:
        pending = self._device_writes.get(device_id)
        if pending is not None and all(f.done() for f in pending):
            del self._device_writes[device_id]

    async def device_doc(self, device_id: str, projection: dict | None = None) -> dict:
        pending = self._device_writes.get(device_id)
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        return await super().device_doc(device_id, projection)
