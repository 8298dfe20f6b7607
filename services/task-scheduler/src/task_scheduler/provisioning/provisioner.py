"""The scheduler's side of presets: which apply to a session, and the run that applies them.

Presets live in MongoDB (``presets``); every scheduler keeps them compiled in memory and reads
the collection every ``presets_poll_s``, recompiling when it changed, so an NBI edit takes effect
at each device's next session with no per-session read. ``wants()`` decides from the event codes alone
(no I/O): a periodic session that no preset is triggered by costs no database read.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from device_query.errors import PresetError
from device_query.presets import Declaration
from provision_scripts import Extensions, Limits

from acs_contracts import file_urls
from acs_contracts.mongo_collections import PROVISIONS, VIRTUAL_PARAMETERS
from cwmp.events import EventCode

from .defaults import bootstrap_declarations, credential_declarations
from .engine import ProvisionRun
from .functions import ProvisionFunctions
from .presets import Preset, compile_preset
from .scripts import ScriptLibrary
from .virtual import BUILTIN, VirtualParameter, refresh_values
from .virtual import ROOT as VROOT

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProvisioningSettings:
    bootstrap_defaults: bool = True
    periodic_inform_interval_s: int = 300
    max_iterations: int = 16
    gpv_batch_size: int = 100
    provisions_dir: str = ""
    function_timeout_s: float = 1.0
    presets_poll_s: float = 1.0
    # GenieACS scripts (docs/configuration.md): per-run CPU time and memory, the ext() folder
    # (the scheduler's Settings give these from SCHEDULER_SCRIPT_*, SCHEDULER_EXT_*)
    script_cpu_ms: float = 500.0
    script_memory_mb: int = 32
    ext_dir: str = ""
    ext_timeout_s: float = 3.0
    # the file server, for scripts' Downloads (the same settings as the download task's)
    files_base_url: str = "http://127.0.0.1:7567"
    files_secret: str = ""
    file_url_ttl_s: int = 86400


class Provisioner:
    def __init__(self, settings: ProvisioningSettings, presets_collection=None,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.s = settings
        self.coll = presets_collection
        self.now = now
        self.functions = ProvisionFunctions(settings.provisions_dir or None, settings.function_timeout_s)
        self.virtuals: dict[str, VirtualParameter] = dict(BUILTIN)
        self.presets: list[Preset] = []
        self.rejected: dict[str, str] = {}  # preset name -> why it does not compile
        self._triggers_all = False
        self._event_triggers: set[str] = set()
        self._scheduled = False
        self._poll: asyncio.Task | None = None
        self._docs: list[dict] = []  # the preset documents last compiled, as read
        self.generation = 0  # bumped at each (re)load, shown by /healthz
        self.scripts = ScriptLibrary(
            Limits(cpu_s=settings.script_cpu_ms / 1000, memory_bytes=settings.script_memory_mb * 1024 * 1024),
            Extensions(settings.ext_dir, settings.ext_timeout_s) if settings.ext_dir else None,
            self._download_url)
        self._script_docs: tuple[list[dict], list[dict]] = ([], [])

    async def answer_extensions(self, calls: list[tuple[str, tuple[str, str, list[Any]]]]) -> dict[str, dict[str, Any]]:
        """The answers a run's ExtensionCalls wait for, from the ext folder's scripts run by Node.js
        without blocking the event loop (other devices' sessions go on meanwhile)."""
        ext = self.scripts.extensions
        if ext is None:
            return {key: {"error": "no extensions are configured"} for key, _call in calls}
        return await ext.answer(calls)

    # ------------------------------------------------------------------ presets
    def load(self, docs: list[dict]) -> None:
        presets, rejected = [], {}
        for doc in docs:
            try:
                presets.append(compile_preset(doc))
            except PresetError as e:
                rejected[str(doc.get("_id"))] = str(e)
                log.error("preset %s skipped: %s", doc.get("_id"), e)
        presets.sort(key=lambda p: p.weight)
        self.presets, self.rejected = presets, rejected
        self._triggers_all = any(not (p.events_all or p.events_any) for p in presets)
        self._event_triggers = {c for p in presets for c in (p.events_all | p.events_any)}
        self._scheduled = any(p.schedule is not None for p in presets)
        self.generation += 1
        log.info("%d presets loaded (%d rejected)", len(presets), len(rejected))

    async def start(self) -> None:
        self.functions.load()
        self.virtuals.update(self.functions.virtuals)
        if self.coll is None:
            return
        self._docs = await self.coll.find({}).to_list(None)
        self.load(self._docs)
        await self._read_scripts()
        self._poll = asyncio.create_task(self._poll_presets(), name="presets-poll")

    async def stop(self) -> None:
        if self._poll is not None:
            self._poll.cancel()

    async def _poll_presets(self) -> None:
        """Read the presets every ``presets_poll_s`` and recompile them when they changed.

        A handful of small documents, read about once a second, cost the database next to
        nothing; a change stream would make the development database decode every oplog entry
        (whole data models included) for this one consumer.
        """
        failing = False
        while True:
            await asyncio.sleep(self.s.presets_poll_s)
            try:
                docs = await self.coll.find({}).to_list(None)
                await self._read_scripts()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # keep the presets we have
                if not failing:
                    log.warning("reading presets failed: %s", e)
                failing = True
                continue
            failing = False
            if docs != self._docs:
                self._docs = docs
                self.load(docs)

    def _download_url(self, device_id: str, file_name: str) -> str:
        expires = int(time.time()) + self.s.file_url_ttl_s
        return file_urls.sign_download_url(self.s.files_base_url, file_name, device_id, expires, self.s.files_secret)

    async def _read_scripts(self) -> None:
        """GenieACS's provisions and virtualParameters collections: compiled again when changed."""
        db = self.coll.database
        docs = (await db[PROVISIONS].find({}).to_list(None), await db[VIRTUAL_PARAMETERS].find({}).to_list(None))
        if docs != self._script_docs:
            self._script_docs = docs
            self.scripts.load(*docs)
            self.generation += 1
            log.info("%d provision and %d virtual parameter scripts loaded (%d rejected)", len(self.scripts.provisions),
                     len(self.scripts.virtuals), len(self.scripts.rejected))

    # ------------------------------------------------------------------ the session hook
    def wants(self, device_id: str, event_codes: list[str]) -> bool:
        """Cheap, no I/O: could any preset or default apply to a session with these events?"""
        if self.s.bootstrap_defaults and EventCode.BOOTSTRAP in event_codes:
            return True
        if self._triggers_all or self._scheduled:
            return any(p.triggered_by(event_codes) for p in self.presets)
        return bool(self._event_triggers.intersection(event_codes)) and any(
            p.triggered_by(event_codes) for p in self.presets)

    def session(self, device_id: str, doc: dict, event_codes: list[str],
                credential_plan: Any = None) -> ProvisionRun | None:
        """``credential_plan``: new CPE credentials to set in this run (task_scheduler.cpe_credentials)."""
        codes = [str(c) for c in event_codes]
        _clear_tree_before_bootstrap(doc, codes)
        ts = self.now()
        stored_virtuals = dict(doc.get(VROOT) or {})
        refresh_values(doc, self.virtuals, ts)  # preconditions may test virtual parameters
        matched = [p for p in self.presets if p.triggered_by(codes) and _safe_match(p, doc)]
        extra, credentials = self._extra_declarations(device_id, doc, codes, credential_plan)
        if not matched and not extra and not (doc.get("_acs") or {}).get("provisioningFaults"):
            return None
        return ProvisionRun(device_id, doc, codes, matched, extra=extra, functions=self.functions,
                            virtuals=self.virtuals, credentials=credentials, gpv_batch_size=self.s.gpv_batch_size,
                            max_iterations=self.s.max_iterations, now=self.now, stored_virtuals=stored_virtuals,
                            scripts=self.scripts)

    def _extra_declarations(self, device_id: str, doc: dict, codes: list[str],
                            cp: Any) -> tuple[list[Declaration], dict[str, Any] | None]:
        """The declarations no preset holds: bootstrap defaults, or the credential plan's new
        credentials, with the credentials the run stores once the CPE took them."""
        if self.s.bootstrap_defaults and EventCode.BOOTSTRAP in codes:
            return bootstrap_declarations(device_id, doc, self.s.periodic_inform_interval_s,
                                          cpe=bool(cp is not None and cp.cpe))
        if cp is not None and (cp.cpe or cp.connection_request):
            return credential_declarations(device_id, doc, cpe=cp.cpe, connection_request=cp.connection_request)
        return [], None


def _clear_tree_before_bootstrap(doc: dict, codes: list[str]) -> None:
    """This session's Inform is not stored yet: on a new BOOTSTRAP what the document holds
    predates it (a bootstrap a session cut short is finished later: its Inform cleared the tree)."""
    acs = doc.get("_acs") or {}
    if EventCode.BOOTSTRAP not in codes or EventCode.BOOTSTRAP in (acs.get("lastEvents") or []) \
            or acs.get("bootstrapPending"):
        return
    for root in ("InternetGatewayDevice", "Device"):
        if isinstance(doc.get(root), dict):
            doc[root] = {}

def _safe_match(p: Preset, doc: dict) -> bool:
    try:
        return p.precondition(doc)
    except Exception:  # a precondition that trips on an odd document: not for this device
        log.exception("precondition of preset %s failed", p.name)
        return False
