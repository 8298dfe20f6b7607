"""The provisioning step of a session: the presets and built-in defaults run after the device's
tasks (``task_scheduler.provisioning``), their ``ext()`` extension calls, the Downloads a
script declared, and the CPE's CWMP credentials (staged before the SetParameterValues that
sets them, committed at the run's end, promoted when the CPE logs in with them).

Owns, in the ``DeviceSession``: ``provision``, ``provision_done``, ``ext_calls``,
``cred_previous``, and the presets' next request (``pending_request``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from cwmp import messages as m

from . import cpe_credentials
from .config import Settings
from .device_record import now_utc
from .provisioning import downloads
from .provisioning.engine import ExtensionCalls
from .session_events import SessionEvents
from .session_state import DeviceSession
from .store import Store

log = logging.getLogger(__name__)


class ProvisioningStep:
    """Runs a session's presets: one ProvisionRun per session, after its tasks."""

    def __init__(self, settings: Settings, store: Store, events: SessionEvents, provisioner: Any = None) -> None:
        """``provisioner``: see ``SessionDriver``."""
        self.s = settings
        self.store = store
        self.events = events
        self.provisioner = provisioner

    @staticmethod
    def running(s: DeviceSession) -> bool:
        """Whether the presets' run is sending RPCs (the CPE's answers are its)."""
        return s.provision is not None

    async def start(self, s: DeviceSession) -> tuple[m.Message | None, list[asyncio.Future]]:
        """The presets' first RPC, once per session (None: nothing to provision)."""
        if s.provision_done or self.provisioner is None:
            return None, []
        s.provision_done = True
        cred_plan = self._credential_plan(s)
        if cred_plan is None and not self.provisioner.wants(s.device_id, s.codes):
            return None, []
        doc = await self.store.device_doc(s.device_id, s.writes)
        if cred_plan is None:
            run = self.provisioner.session(s.device_id, doc, s.codes)
        else:
            run = self.provisioner.session(s.device_id, doc, s.codes, credential_plan=cred_plan)
        if run is None:
            return None, []
        s.provision = run
        await self._stage_credentials(s, run, cred_plan)
        futs = self._step(s, run.start)
        futs += await self.settle_extensions(s)
        nxt, s.pending_request = s.pending_request, None
        return nxt, futs

    def _credential_plan(self, s: DeviceSession) -> cpe_credentials.CredentialPlan | None:
        """Whether this session gives the CPE new CWMP credentials, and why (None: it does not)."""
        if not s.cpe_facts and self.s.cpe_credentials != "per-device":
            return None
        return cpe_credentials.plan(self.s.cpe_credentials, self.s.cpe_credential_rotation_days, s.codes,
                                    s.cpe_facts, time.time(), self.s.bootstrap_defaults)

    async def _stage_credentials(self, s: DeviceSession, run: Any, cred_plan: cpe_credentials.CredentialPlan | None) -> None:
        """New CPE credentials the run is about to set are stored as pending before the SPV goes
        out: whatever the CPE ends up with logs in (docs/security.md)."""
        new = getattr(run, "pending_credentials", None) or {}
        if "cpe" not in new:
            return
        stored = await self.store.credentials_doc(s.device_id)
        s.cred_previous = cpe_credentials.previous_of((stored or {}).get("cpe"), s.cpe_facts.get("cpeCredential"))
        await self.store.set_credentials(s.device_id, cpe_credentials.staged(self.store.secrets, new))
        log.info("%s: new CWMP credentials (%s)", s.device_id, cred_plan.why if cred_plan else "bootstrap")

    async def settle_extensions(self, s: DeviceSession) -> list[asyncio.Future]:
        """Answer the ext() calls the presets' run stopped at, awaited (Node.js processes), so the
        event loop serves other devices meanwhile; the run then plans its round again."""
        futs: list[asyncio.Future] = []
        while s.ext_calls is not None and s.provision is not None:
            calls, s.ext_calls = s.ext_calls.calls, None
            answers = await self.provisioner.answer_extensions(calls)
            futs += self._step(s, lambda: s.provision.answer_extensions(answers))  # noqa: B023 - called at once
        s.ext_calls = None
        return futs

    def response(self, s: DeviceSession, response: m.Message) -> list[asyncio.Future]:
        return self._step(s, lambda: s.provision.feed(response))

    def fault(self, s: DeviceSession, fault: m.Fault) -> list[asyncio.Future]:
        return self._step(s, lambda: s.provision.fault(fault))

    def _step(self, s: DeviceSession, step: Callable[[], Any]) -> list[asyncio.Future]:
        """Advance the presets' run; its next RPC goes out at the next turn, its outcome is written at its end."""
        run = s.provision
        try:
            nxt = step()
        except Exception as e:  # a broken preset or provision function faults this device only
            log.exception("provisioning of %s failed", s.device_id)
            run.outcome.faults.append({"channel": "provisioning", "code": "provision_error", "message": str(e), "detail": None})
            nxt = None
        if isinstance(nxt, ExtensionCalls):
            s.ext_calls = nxt  # answered by settle_extensions before the next request is chosen
            return []
        if nxt is not None:
            s.pending_request = nxt
            return []
        s.provision = None
        return self._written(s, run.outcome)

    def _written(self, s: DeviceSession, out: Any) -> list[asyncio.Future]:
        """The run's outcome: device updates (held), credentials, faults, and its changes and samples."""
        futs: list[asyncio.Future] = []
        if out.sets or out.unsets:
            futs += self.store.update_device(s.device_id, {"$set": out.sets} if out.sets else {}, out.unsets,
                                             upsert=False, hold=s.writes)
        if out.credentials:
            futs.append(self.store.set_credentials(s.device_id, cpe_credentials.committed(
                self.store.secrets, out.credentials, s.cred_previous, now_utc(), self.s.cpe_credential_grace_s)))
        now = now_utc()
        for f in out.faults:
            futs.append(self.events.fault(s.device_id, f["channel"], now, f["code"], f["message"], f.get("detail")))
        for channel in out.cleared_faults:
            futs.append(self.events.fault_cleared(s.device_id, channel))
        if out.changes:
            self.events.parameter_changes(s.device_id, "provisioning", out.changes)
        if out.samples:  # KPIs read on a schedule: the history takes them from the same topic
            self.events.parameter_changes(s.device_id, "sampling", out.samples, "outbound ParameterChanges (samples)")
        return futs

    async def scripted_download_done(self, s: DeviceSession, msg: m.TransferComplete) -> list[asyncio.Future]:
        """TransferComplete of a Download a script declared (``Downloads.*``): its instance gets
        StartTime and CompleteTime; a failed transfer faults the channel that declared it."""
        doc = await self.store.device_doc(s.device_id, s.writes)
        now = now_utc()

        def when(t: Any) -> datetime | None:  # CWMP's "unknown time" is 0001-01-01
            return t if isinstance(t, datetime) and t.year > 1970 else None

        found = downloads.completion(doc, msg.command_key, when(msg.start_time), when(msg.complete_time), now)
        if found is None:
            log.info("%s reported completion of unknown CommandKey %r", s.device_id, msg.command_key)
            return []
        num, channel, sets = found
        futs = self.store.update_device(s.device_id, {"$set": sets}, upsert=False, hold=s.writes)
        if msg.fault is not None and msg.fault.fault_code:
            futs.append(self.events.fault(
                s.device_id, channel, now, f"cwmp.{msg.fault.fault_code}",
                f"Download of Downloads.{num} failed: {msg.fault.fault_string}",
                {"faultCode": msg.fault.fault_code, "faultString": msg.fault.fault_string}))
        return futs

    async def promote_credentials(self, device_id: str) -> None:
        """The CPE logged in with its pending credentials: the SPV that set them took effect."""
        try:
            update = cpe_credentials.promoted(await self.store.credentials_doc(device_id), now_utc(),
                                              self.s.cpe_credential_grace_s)
            if update is not None:
                await self.store.set_credentials(device_id, update)
        except Exception as e:  # noqa: BLE001 - the next login with them promotes them again
            log.warning("promoting the pending credentials of %s failed: %r", device_id, e)
