"""The live sessions of this instance's devices and how each ends: finished (its last reply
204, or a fault that ends it), superseded by a new Inform, abandoned after
``session_idle_timeout_s`` without a POST, or given up with its partition. Whatever way it
ends, what the session learnt (its held writes) is written.

Owns the table of live sessions (``sessions``, by device id) and the sessions that ended at
their Inform, and, in the ``DeviceSession``, the held writes' release.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict

from acs_contracts.kafka_topics import SessionEvent
from cwmp import soap
from cwmp.session import ProtocolViolation

from . import metrics
from .config import Settings
from .session_events import SessionEvents
from .session_state import DeviceSession
from .store import Store

log = logging.getLogger(__name__)

_ENDED_AT_INFORM_REMEMBERED = 10_000


class LiveSessions:
    """This instance's live sessions, by device id, and their ends."""

    def __init__(self, settings: Settings, store: Store, events: SessionEvents) -> None:
        self.s = settings
        self.store = store
        self.events = events
        self.sessions: dict[str, DeviceSession] = {}
        # Sessions ended at their Inform (nothing to do), by session id: an empty POST published
        # for one anyway (it reached another gateway, or came before the answer) gets 204 at once.
        self._ended_at_inform: OrderedDict[str, None] = OrderedDict()

    def get(self, device_id: str) -> DeviceSession | None:
        return self.sessions.get(device_id)

    def add(self, s: DeviceSession) -> None:
        self.sessions[s.device_id] = s
        metrics.ACTIVE_SESSIONS.set(len(self.sessions))

    def supersede(self, device_id: str) -> list[asyncio.Future]:
        """A new Inform from the device: its old session (if any) ends, what it learnt is written."""
        old = self.sessions.pop(device_id, None)
        if old is None:
            return []
        metrics.SESSIONS.labels("superseded").inc()
        return self.store.release(old.writes)

    def ended_at_inform(self, s: DeviceSession) -> None:
        """Remember that ``s`` ended at its Inform, for the empty POST that may still be published."""
        self._ended_at_inform[s.session_id] = None
        while len(self._ended_at_inform) > _ENDED_AT_INFORM_REMEMBERED:
            self._ended_at_inform.popitem(last=False)

    def forget_ended_at_inform(self, session_id: str) -> bool:
        """Whether ``session_id`` ended at its Inform (forgotten now: its empty POST came)."""
        if session_id not in self._ended_at_inform:
            return False
        del self._ended_at_inform[session_id]
        return True

    def _drop(self, s: DeviceSession) -> None:
        if self.sessions.get(s.device_id) is s:
            del self.sessions[s.device_id]

    async def finish(self, s: DeviceSession, ev: SessionEvent, consumed_at: float, outcome: str) -> list[asyncio.Future]:
        """End the session with 204 to the POST ``ev``, then on the session-ends topic."""
        s.acs.end()
        self._drop(s)
        futs = self.store.release(s.writes)
        metrics.ACTIVE_SESSIONS.set(len(self.sessions))
        metrics.SESSIONS.labels(outcome).inc()
        await self.events.reply(ev, 204, b"", consumed_at, end=True, outcome=outcome)
        await self.events.ended(s, outcome)
        return futs

    async def violation(self, s: DeviceSession, ev: SessionEvent, v: ProtocolViolation, consumed_at: float) -> list[asyncio.Future]:
        """The CPE broke the session rules: answer with the rules' fault, ending the session if they say so."""
        log.info("protocol violation in session of %s: %s", s.device_id, v)
        answer = s.acs.reject(v)
        if answer is None:
            return await self.finish(s, ev, consumed_at, "fault")
        if v.ends_session:
            self._drop(s)
            metrics.SESSIONS.labels("fault").inc()
            await self.events.reply(ev, 200, soap.build(answer), consumed_at, end=True, outcome="fault")
            return self.store.release(s.writes)
        await self.events.reply(ev, 200, soap.build(answer), consumed_at)
        return []

    def expire_idle(self) -> int:
        """End the sessions whose CPE went quiet for ``session_idle_timeout_s`` (it went away, closed
        the connection, or the gateway stopped waiting): what they learnt is written, a task in
        flight stays pending (it runs again at the device's next session), and a BOOTSTRAP not
        finished stays marked in the device document for the next session to finish."""
        cutoff = time.monotonic() - self.s.session_idle_timeout_s
        stale = [d for d, s in self.sessions.items() if s.last_seen < cutoff]
        now = time.monotonic()
        for d in stale:
            s = self.sessions.pop(d)
            self.store.release(s.writes)  # what the session learnt is kept
            metrics.SESSIONS.labels("timeout").inc()
            log.info("session %s of %s abandoned after %.0f s without a POST%s", s.session_id, d, now - s.last_seen,
                     "; its BOOTSTRAP is finished at the next session" if s.bootstrap else "")
            self.events.abandoned(s, "timeout")
        metrics.ACTIVE_SESSIONS.set(len(self.sessions))
        return len(stale)

    def release_all(self) -> list[asyncio.Future]:
        """Write the held updates of every session: before offsets are committed for partitions
        given up, or at shutdown."""
        futs: list[asyncio.Future] = []
        for s in self.sessions.values():
            done = s.writes.done  # what the session's events' offsets wait for: settled after the writes
            futs += self.store.release(s.writes)
            if done is not None:
                futs.append(done)
        return futs
