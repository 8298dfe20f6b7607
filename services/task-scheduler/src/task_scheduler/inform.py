"""A session's Inform: the new session, its plan (a BOOTSTRAP to finish, the data model to
learn first, whether tasks may be waiting) and the Inform's own writes.

A CPE may vanish at any point after its InformResponse: by CWMP its events are delivered then,
and it will not send them again. So the Inform's effects are written at once (device document,
``last_informs``), not with the session's held updates; the Inform's event is done once the
session's later held updates are stored too (a crash replays the session from its Inform).

Owns, in the ``DeviceSession``: ``event_codes``, ``codes``, ``bootstrap``, ``may_have_tasks``,
the built-in discovery run it plans (``builtin``) and ``cpe_facts``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from acs_contracts.kafka_topics import SessionEvent
from cwmp import messages as m
from cwmp.events import EventCode
from cwmp.serialize import message_from_dict
from cwmp.session import ProtocolViolation

from . import cpe_credentials, tenants
from .config import Settings
from .device_record import data_model_root, inform_update, last_inform_doc, needs_full_write
from .session_state import DeviceSession
from .store import Store

log = logging.getLogger(__name__)

# Events after which the device's tasks are looked up even if the index says there are none.
_CHECK_TASKS_EVENTS = {EventCode.CONNECTION_REQUEST, EventCode.BOOTSTRAP}
# Events that resume tasks waiting for them (TaskOutcome.awaiting_event).
_RESUMING_EVENTS = {EventCode.DIAGNOSTICS_COMPLETE}


class InformReceiver:
    """Begins a session from its Inform event."""

    def __init__(self, settings: Settings, store: Store, promote_credentials: Callable[[str], Awaitable[None]]) -> None:
        """``promote_credentials(device_id)``: the CPE logged in with its pending credentials."""
        self.s = settings
        self.store = store
        self.promote_credentials = promote_credentials

    async def receive(self, ev: SessionEvent, futs: list[asyncio.Future]) -> tuple[DeviceSession, m.Inform] | None:
        """The session the Inform ``ev`` begins, its writes added to ``futs`` (None: no session,
        the event carries no Inform or the session rules refuse it)."""
        inform = message_from_dict(ev.body or {})
        if not isinstance(inform, m.Inform):
            log.error("inform event from %s carries %s", ev.device_id, type(inform).__name__)
            return None
        s = DeviceSession(ev.device_id, ev.session_id)
        env = m.Envelope(body=inform, id=ev.headers.get("id"), cwmp_ns=ev.cwmp_ns, cwmp_version=ev.cwmp_version,
                         supported_cwmp_versions=ev.headers.get("supported_cwmp_versions"))
        try:
            s.acs.receive(env)
            s.acs.respond(s.acs.inform_response())  # the gateway already sent it, after the broker's ack
        except ProtocolViolation as v:
            log.warning("Inform from %s refused by the session rules: %s", ev.device_id, v)
            return None
        s.event_codes = s.codes = [str(e.event_code) for e in inform.events]
        s.cpe_facts = cpe_credentials.facts_of(ev.headers)
        if s.cpe_facts.get("cpeCredential") == cpe_credentials.PENDING:
            futs.append(asyncio.ensure_future(self.promote_credentials(s.device_id)))
        await self._plan(s, inform)
        ts = datetime.fromtimestamp(ev.received_at, UTC)
        update, unsets = inform_update(inform, source_ip=ev.source_ip,
                                       cwmp_ns=ev.cwmp_ns, cwmp_version=ev.cwmp_version, ts=ts)
        tenants.assign(update, inform, ev.headers)  # ACS_TENANT_RULES: the owner, at first contact
        # Written at once, whatever the session does next: the CPE was answered InformResponse, so
        # it considers these events delivered. The event is done once the session's later held
        # updates are stored too (a crash replays the session from its Inform).
        futs += self.store.record_inform(ev.device_id, update, unsets, needs_full_write(s.event_codes),
                                         last_inform_doc(ts, s.event_codes))
        futs.append(s.writes.pending())
        return s, inform

    async def _plan(self, s: DeviceSession, inform: m.Inform) -> None:
        """What the session must do besides tasks: finish a BOOTSTRAP (this one, or one a session
        cut short left), learn the data model first, and whether tasks may be waiting."""
        device_id = s.device_id
        s.bootstrap = EventCode.BOOTSTRAP in s.event_codes
        resumed = None
        if not s.bootstrap and self.store.may_have_bootstrap(device_id):
            # a session cut short left its BOOTSTRAP unfinished: this one finishes it
            resumed = await self.store.pending_bootstrap(device_id)
            if resumed is not None:
                log.info("%s: finishing the BOOTSTRAP of %s", device_id, resumed["since"])
                s.bootstrap, s.codes = True, [*s.event_codes, str(EventCode.BOOTSTRAP)]
        if s.bootstrap:
            self.store.bootstrap_begun(device_id)
        s.may_have_tasks = self.store.may_have_tasks(device_id) or bool(_CHECK_TASKS_EVENTS.intersection(s.codes))
        if s.bootstrap and self.s.bootstrap_discovery and self.s.bootstrap_defaults and not (resumed or {}).get("discovered"):
            # the whole data model, learnt afresh, before tasks and presets look at it
            s.builtin.append({"_id": None, "builtin": "discovery", "root": data_model_root(inform)})
        for code in _RESUMING_EVENTS.intersection(s.event_codes):
            if await self.store.wake_tasks(device_id, code):
                s.may_have_tasks = True
