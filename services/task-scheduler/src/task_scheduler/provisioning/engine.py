"""The declarative engine: turns a device's desired state into the fewest RPCs that reach it.

Each round it resolves every declaration against what the ACS knows and sends, in this order:
one GetParameterValues batch for what is unknown or stale (a whole table read at once through its
partial path, which lists its instances and their values in one RPC), AddObject/DeleteObject to
reach instance counts, and one SetParameterValues for every value that differs. Then it looks
again, until nothing is left to do or the round limit is hit (a fault, not an endless session).

Sans-I/O like the tasks: ``start()``, ``feed(response)``, ``fault(fault)`` return the next RPC
or None; ``outcome`` holds the document updates the session driver writes. When a script calls
``ext()`` for an answer the session lacks, they return :class:`ExtensionCalls` instead: the driver
awaits the answers (off its event loop's critical path) and passes them to
``answer_extensions()``, which plans the round again and returns what comes next.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from device_query import paths
from device_query.errors import PresetError
from device_query.presets import Declaration, declaration
from provision_scripts import ExtensionsNeeded, ScriptError

from cwmp import messages as m
from cwmp.values import decode_value

from .. import metrics
from ..device_record import is_secret, jsonable, parameter_sets, to_bson_value
from . import downloads
from .functions import DeviceView, ProvisionFunctionError, ProvisionFunctions
from .presets import Preset
from .scripts import ScriptLibrary, ScriptSession
from .virtual import ROOT as VROOT
from .virtual import VirtualParameter, refresh_values

log = logging.getLogger(__name__)

FAULTS_FIELD = "_acs.provisioningFaults"  # channels with a recorded provisioning fault

# Types of common parameters, for values set before the ACS has read them (no extra RPC).
KNOWN_TYPES = {
    "PeriodicInformEnable": "xsd:boolean", "PeriodicInformInterval": "xsd:unsignedInt",
    "PeriodicInformTime": "xsd:dateTime", "Enable": "xsd:boolean", "UpTime": "xsd:unsignedInt",
    "NumberOfRepetitions": "xsd:unsignedInt", "Timeout": "xsd:unsignedInt", "DataBlockSize": "xsd:unsignedInt",
    "DSCP": "xsd:unsignedInt", "MaxHopCount": "xsd:unsignedInt", "NumberOfTries": "xsd:unsignedInt",
    "Channel": "xsd:unsignedInt", "CWMPRetryMinimumWaitInterval": "xsd:unsignedInt",
    "CWMPRetryIntervalMultiplier": "xsd:unsignedInt", "SSIDAdvertisementEnabled": "xsd:boolean",
}


@dataclass
class ProvisionOutcome:
    sets: dict[str, Any] = field(default_factory=dict)
    unsets: list[str] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    credentials: dict[str, Any] | None = None
    faults: list[dict[str, Any]] = field(default_factory=list)
    cleared_faults: list[str] = field(default_factory=list)
    rpcs: list[str] = field(default_factory=list)  # what this run sent, in order
    # values read because a declaration asked for a fresh copy (``refresh``: KPI sampling riding on
    # the session), published as samples for the history (ParameterChanges, source "sampling")
    samples: list[dict[str, Any]] = field(default_factory=list)


def value_type(decl: Declaration | None, node: Any, path: str, value: Any) -> str:
    """The type the CPE reported wins (it is what the CPE accepts), then the declared one."""
    if isinstance(node, dict) and node.get("_type"):
        return node["_type"]
    if decl is not None and decl.type:
        return decl.type
    leaf = path.rsplit(".", 1)[-1]
    if leaf in KNOWN_TYPES:
        return KNOWN_TYPES[leaf]
    if isinstance(value, bool):
        return "xsd:boolean"
    if isinstance(value, int):
        return "xsd:int" if value < 0 else "xsd:unsignedInt"
    return "xsd:string"


def coerce(value: Any, xsd: str) -> Any:
    if xsd == "xsd:dateTime" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC)  # epoch milliseconds, as scripts give dates
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return decode_value(text, xsd)[0]


def _aware(ts: Any) -> datetime | None:
    if not isinstance(ts, datetime):
        return None
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def _set_node(doc: dict, path: str, attrs: dict[str, Any]) -> None:
    node = doc
    for seg in path.split("."):
        child = node.get(seg)
        if not isinstance(child, dict):
            child = node[seg] = {}
        node = child
    node.update(attrs)


def _drop_node(doc: dict, path: str) -> None:
    *parents, last = path.split(".")
    node: Any = doc
    for seg in parents:
        node = node.get(seg) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(last, None)


def _under(path: str, prefixes) -> bool:
    return any(path == p or path.startswith(p + ".") for p in prefixes)


@dataclass
class _Plan:
    reads: dict[str, None] = field(default_factory=dict)  # ordered set of GPV names
    adds: list[tuple[str, paths.Alias | None, Declaration]] = field(default_factory=list)
    deletes: list[tuple[str, Declaration]] = field(default_factory=list)
    sets: dict[str, tuple[Any, str, Declaration | None]] = field(default_factory=dict)
    attribute_reads: dict[str, None] = field(default_factory=dict)  # ordered set of GetParameterAttributes names
    attribute_sets: dict[str, Declaration] = field(default_factory=dict)  # leaf -> the declaration wanting its attributes


@dataclass(frozen=True, slots=True)
class ExtensionCalls:
    """What the run waits for instead of a CPE answer: ``ext()`` calls, ``(key, (script, fn, args))``."""

    calls: list[tuple[str, tuple[str, str, list[Any]]]]


# ParameterKeys and CommandKeys of the RPCs provisioning sends (a task's CommandKey is its id)
PROVISIONING_KEY_PREFIX = "prov-"
MAX_EXTENSION_ROUNDS = 32  # ext() answers one round may wait for, one after the other


class ProvisionRun:
    def __init__(self, device_id: str, doc: dict, event_codes: list[str], presets: list[Preset], *,
                 extra: Sequence[Declaration] = (), functions: ProvisionFunctions | None = None,
                 virtuals: dict[str, VirtualParameter] | None = None, credentials: dict[str, Any] | None = None,
                 gpv_batch_size: int = 100, max_iterations: int = 16,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC),
                 stored_virtuals: dict | None = None, scripts: ScriptLibrary | None = None) -> None:
        self.device_id = device_id
        self.stored_virtuals = stored_virtuals
        self.doc = doc
        self.event_codes = list(event_codes)
        self.presets = sorted(presets, key=lambda p: p.weight)
        self.extra = list(extra)
        self.functions = functions
        self.virtuals = virtuals or {}
        self.pending_credentials = credentials  # {kind: {"username", "password", "path"}}: stored once set
        self.batch = max(1, gpv_batch_size)
        self.max_iterations = max_iterations
        self.now = now
        self.outcome = ProvisionOutcome()
        self._read: set[str] = set()  # leaves read in this session
        self._complete: set[str] = set()  # objects whose whole contents were read in this session
        self._new: set[str] = set()  # instances added in this session: contents unknown
        self._absent: set[str] = set()  # names the CPE said it does not have
        self._singles: set[str] = set()  # names to read alone after a batch faulted
        self._pending: dict[str, tuple[Any, str, Declaration | None]] = {}  # alias keys of new instances
        self._broken: set[str] = set()  # presets whose provision function failed
        self._attributes_unreadable: set[str] = set()  # GetParameterAttributes refused: set without comparing
        self._sampled: set[str] = set()  # leaves a refresh-only declaration names (KPIs read on a schedule)
        self._finished = False
        self._secret: set[str] = set()  # paths whose values never go into the device document
        self._library = scripts
        self.scripts: ScriptSession | None = None  # made when a preset first runs a script
        self._gen = self._run()

    # ------------------------------------------------------------------ sans-I/O interface
    def start(self) -> m.Message | None:
        return self._step(lambda: next(self._gen))

    def feed(self, response: m.Message) -> m.Message | None:
        return self._step(lambda: self._gen.send(response))

    def fault(self, fault: m.Fault) -> m.Message | None:
        return self._step(lambda: self._gen.send(fault))

    def answer_extensions(self, answers: dict[str, dict[str, Any]]) -> m.Message | ExtensionCalls | None:
        """The answers to the ExtensionCalls last returned (key -> {"value"} or {"error"})."""
        return self._step(lambda: self._gen.send(answers))

    def _step(self, advance) -> Any:
        try:
            msg = advance()
        except StopIteration:
            if not self._finished:
                self._finished = True
                self.finish()
            return None
        if isinstance(msg, m.Message):
            self.outcome.rpcs.append(msg.RPC)
        return msg

    # ------------------------------------------------------------------ declarations
    def _fault(self, channel: str, code: str, message: str, detail: Any = None) -> None:
        if not any(f["channel"] == channel and f["code"] == code for f in self.outcome.faults):
            self.outcome.faults.append({"channel": channel, "code": code, "message": message, "detail": detail})

    def _declarations(self) -> list[Declaration]:
        decls = self._collect()
        self._secret = {d.path for d in decls if d.secret}
        return decls

    def _collect(self) -> list[Declaration]:
        decls = list(self.extra)
        view = None
        for preset in self.presets:
            if preset.name in self._broken:
                continue
            decls.extend(preset.declarations)
            for name, args in preset.provisions:
                if self._library is not None and name in self._library.provisions:
                    if self.scripts is None:
                        self.scripts = ScriptSession(self._library, self)
                    try:
                        decls.extend(self.scripts.declarations(name, args, preset.channel, preset.weight))
                    except ScriptError as e:
                        metrics.SCRIPT_FAULTS.labels(e.code).inc()
                        self._fault(preset.channel, e.code, f"provision {name}: {e.message}",
                                    {**e.detail(), "preset": preset.name, "provision": name})
                        self._broken.add(preset.name)
                        break
                    continue
                if self.functions is None:
                    self._fault(preset.channel, "unknown_provision", f"no provision function named {name!r}")
                    self._broken.add(preset.name)
                    break
                view = view or DeviceView(self.device_id, self.doc, self.event_codes)
                try:
                    raw = self.functions.call(name, view, args)
                    decls.extend(declaration(d, channel=preset.channel, weight=preset.weight) for d in raw)
                except (ProvisionFunctionError, PresetError) as e:
                    code = getattr(e, "code", "provision_error")
                    self._fault(preset.channel, code, str(e), {"preset": preset.name, "provision": name})
                    self._broken.add(preset.name)
                    break
        if self._library is not None and self._library.virtuals:
            decls = self._script_virtuals(decls)
        decls.sort(key=lambda d: d.weight)  # stable: a heavier preset's value wins
        return decls

    def _script_virtuals(self, decls: list[Declaration]) -> list[Declaration]:
        """Native declarations on script virtual parameters become what their scripts declare."""
        out: list[Declaration] = []
        for d in decls:
            name = d.segs[1] if d.segs[0] == VROOT and len(d.segs) == 2 else None
            if not isinstance(name, str) or name not in self._library.virtuals:  # type: ignore[union-attr]
                out.append(d)
                continue
            if self.scripts is None:
                self.scripts = ScriptSession(self._library, self)  # type: ignore[arg-type]
            try:
                out.extend(self.scripts.virtual(d))
            except ScriptError as e:
                metrics.SCRIPT_FAULTS.labels(e.code).inc()
                self._fault(d.channel, e.code, f"virtual parameter {name}: {e.message}", {**e.detail(), "virtual": name})
        return out

    def satisfied(self, decls: list[Declaration]) -> bool:
        """Would these declarations need no RPC now? (a script's commit asks before going on)"""
        pending = dict(self._pending)
        plan = self._plan(decls)
        return not (plan.reads or plan.adds or plan.deletes or set(plan.sets) - set(pending))

    def forget(self, path: str, before_ms: int) -> None:
        """A script's clear(): what the document holds under ``path`` from before ``before_ms`` is
        stale (read again when declared); what this session read or wrote stays."""
        cutoff = datetime.fromtimestamp(before_ms / 1000, UTC)
        node = paths.node_at(self.doc, path)
        if not isinstance(node, dict):
            return

        def walk(prefix: str, n: dict) -> None:
            ts = _aware(n.get("_timestamp"))
            if n.get("_object") is True and (ts is None or ts < cutoff) and prefix not in self._complete:
                n.pop("_timestamp", None)  # its listing is stale: read the object again
            for key in [k for k in n if not k.startswith("_")]:
                child, sub = n[key], f"{prefix}.{key}"
                if not isinstance(child, dict) or sub in self._read or _under(sub, self._new):
                    continue
                cts = _aware(child.get("_timestamp"))
                if "_value" in child and (cts is None or cts < cutoff):
                    del n[key]
                else:
                    walk(sub, child)

        walk(path, node)

    def _cutoff(self, d: Declaration) -> datetime | None:
        """How recent our copy must be for ``d``: its absolute ``since`` (a script's timestamp) or
        now minus its ``refresh`` age; None when any copy will do."""
        if d.since is not None:
            return d.since
        return self.now() - timedelta(seconds=d.refresh) if d.refresh is not None else None

    def _fresh(self, path: str, node: Any, cutoff: datetime | None) -> bool:
        if path in self._read:
            return True
        if not isinstance(node, dict):
            return False
        # a secret's value is never stored (only its type and when it was read): that it was read is what counts
        if "_value" not in node and "_valueHash" not in node and not (is_secret(path) and "_timestamp" in node):
            return False
        if cutoff is None:
            return True
        ts = _aware(node.get("_timestamp"))
        return ts is not None and ts >= cutoff

    def _completeness(self, cutoff: datetime | None):

        def is_complete(path: str) -> bool:
            """Read as a whole in this session, or it or an ancestor was listed recently enough."""
            if _under(path, self._new):
                return False
            if _under(path, self._complete):
                return True
            node: Any = self.doc
            for seg in path.split("."):
                node = node.get(seg) if isinstance(node, dict) else None
                if not isinstance(node, dict):
                    return False
                ts = _aware(node.get("_timestamp")) if node.get("_object") is True else None
                if ts is not None and (cutoff is None or ts >= cutoff):
                    return True
            return False

        return is_complete

    def _read_name(self, leaf: str, unknown: bool) -> str:
        """What to read for a leaf: a leaf the document lacks is read with its deepest known
        object (a partial path), which never faults for a missing child and lists its siblings."""
        if not unknown:
            return leaf
        segs = leaf.split(".")
        for n in range(len(segs) - 1, 1, -1):
            obj = ".".join(segs[:n])
            node = paths.node_at(self.doc, obj)
            if isinstance(node, dict):
                return obj + "." if not _under(obj, self._absent) else leaf
        return leaf

    def _plan(self, decls: list[Declaration]) -> _Plan:
        """What this round needs: reads of what is unknown or stale, instance counts, values and
        attributes that differ (later, heavier declarations override earlier ones)."""
        plan = _Plan()
        values: dict[str, tuple[Any, Declaration]] = {}
        attributes: dict[str, Declaration] = {}
        for d in decls:
            if d.segs[0] == VROOT:
                self._plan_virtual(d, plan)
                continue
            cutoff = self._cutoff(d)
            complete = self._completeness(cutoff)
            if d.instances is not None:
                self._plan_instances(d, plan, complete)
                continue
            res = paths.resolve(self.doc, d.segs, complete)
            for t in res.unknown_tables:
                if not _under(t, self._absent):
                    plan.reads[t + "."] = None
            for leaf in [*res.paths, *res.unknown_leaves]:
                self._plan_leaf(d, leaf, leaf in res.unknown_leaves, cutoff, plan, values, attributes)
        self._plan_values(values, plan)
        self._plan_attributes(attributes, plan)
        return plan

    def _plan_leaf(self, d: Declaration, leaf: str, unknown: bool, cutoff: datetime | None, plan: _Plan,
                   values: dict[str, tuple[Any, Declaration]], attributes: dict[str, Declaration]) -> None:
        """One parameter a declaration names: read it, or take its wanted value and attributes."""
        if _under(leaf, self._absent):
            return
        node = paths.node_at(self.doc, leaf)
        if isinstance(node, dict) and node.get("_object") is True:
            return
        fresh = self._fresh(leaf, node, cutoff)
        if d.refresh is not None and not d.has_value:
            self._sampled.add(leaf)
        if d.notification is not None or d.access_list is not None:
            attributes[leaf] = d
            if not d.has_value and d.refresh is None:
                return  # attributes only: GetParameterAttributes says all (no value read)
        if not d.has_value:
            if not fresh:
                plan.reads[self._read_name(leaf, unknown)] = None
        elif fresh or (cutoff is None and unknown) or (d.secret and cutoff is None):
            values[leaf] = (d.value, d)
        else:
            plan.reads[self._read_name(leaf, unknown)] = None

    def _plan_values(self, values: dict[str, tuple[Any, Declaration]], plan: _Plan) -> None:
        """The wanted values that differ from what the ACS knows become the round's sets."""
        for leaf, (value, d) in values.items():
            if leaf in plan.reads:
                continue
            node = paths.node_at(self.doc, leaf)
            xsd = value_type(d, node, leaf, value)
            want = coerce(value, xsd)
            if isinstance(node, dict) and node.get("_valueHash") and is_secret(leaf) and not d.secret \
                    and node["_valueHash"] == self._value_hash(leaf, want):
                continue  # set to this value by the ACS before: CPEs read passwords as empty
            known = isinstance(node, dict) and "_value" in node and (not d.secret or leaf in self._read)
            if known and _equal(node["_value"], want):
                continue
            plan.sets[leaf] = (want, xsd, d)
        for leaf, item in self._pending.items():
            plan.sets.setdefault(leaf, item)

    def _plan_attributes(self, wanted: dict[str, Declaration], plan: _Plan) -> None:
        """Read the attributes of declared parameters the ACS has not seen (GetParameterAttributes),
        then set those that differ (SetParameterAttributes)."""
        for leaf, d in wanted.items():
            if leaf in plan.reads:
                continue
            node = paths.node_at(self.doc, leaf)
            known = isinstance(node, dict) and "_notification" in node or leaf in self._attributes_unreadable
            if not known:
                plan.attribute_reads[leaf] = None
                continue
            have = node if isinstance(node, dict) else {}
            if (d.notification is not None and have.get("_notification") != d.notification) or \
                    (d.access_list is not None and tuple(have.get("_accessList") or ()) != d.access_list):
                plan.attribute_sets[leaf] = d

    def _plan_virtual(self, d: Declaration, plan: _Plan) -> None:
        name = d.segs[1] if len(d.segs) == 2 else None
        vp = self.virtuals.get(name) if isinstance(name, str) else None
        if vp is None:
            self._fault(d.channel, "invalid_declaration", f"no virtual parameter {d.path!r}")
            return
        if d.has_value:
            self._fault(d.channel, "invalid_declaration", f"virtual parameter {d.path} is read-only")
        cutoff = self._cutoff(d)
        if cutoff is None:
            return
        got = vp.compute(self.doc)
        if got is not None and self._fresh(got[0], paths.node_at(self.doc, got[0]), cutoff):
            return
        for segs in vp._segs:  # type: ignore[attr-defined]
            complete = self._completeness(cutoff)
            res = paths.resolve(self.doc, segs, complete)
            for t in res.unknown_tables:
                if not _under(t, self._absent):
                    plan.reads[t + "."] = None
            for leaf in [*res.paths, *res.unknown_leaves]:
                if not _under(leaf, self._absent) and not self._fresh(leaf, paths.node_at(self.doc, leaf), cutoff):
                    plan.reads[self._read_name(leaf, leaf in res.unknown_leaves)] = None

    def _plan_instances(self, d: Declaration, plan: _Plan, complete) -> None:
        table_segs, last = d.segs[:-1], d.segs[-1]
        tables = paths.resolve(self.doc, table_segs, complete)
        for t in [*tables.unknown_tables, *tables.unknown_leaves]:
            if not _under(t, self._absent):
                plan.reads[t + "."] = None
        lo, hi = d.instances  # type: ignore[misc]
        for table in tables.paths:
            if _under(table, self._absent):
                continue
            if not complete(table):
                plan.reads[table + "."] = None
                continue
            segs = tuple(table.split(".")) + (last,)
            found = paths.resolve(self.doc, segs, complete).paths
            if len(found) < lo:
                plan.adds.extend((table, last if isinstance(last, paths.Alias) else None, d) for _ in range(lo - len(found)))
            elif len(found) > hi:
                victims = sorted(found, key=lambda p: int(p.rsplit(".", 1)[1]), reverse=True)[: len(found) - hi]
                plan.deletes.extend((v, d) for v in victims)

    # ------------------------------------------------------------------ applying responses
    def _apply_values(self, params: list[m.ParameterValueStruct]) -> None:
        ts = self.now()
        secret = self._secret
        for p in params:
            if not p.name or p.name.endswith(".") or p.name.startswith(("_", ".")) or ".." in p.name or "$" in p.name:
                continue
            value = to_bson_value(p.value) if p.name not in secret else ""
            _set_node(self.doc, p.name, {"_value": value, "_type": p.type, "_timestamp": ts, "_object": False})
            self._read.add(p.name)
        self.outcome.sets.update(parameter_sets([p for p in params if p.name not in secret], ts))

    def _read_batches(self, names: list[str]) -> Generator[m.Message, Any, bool]:
        for batch in self._gpv_batches(names):
            resp = yield m.GetParameterValues(parameter_names=batch)
            if isinstance(resp, m.Fault):
                self._batch_refused(batch)
                continue
            if not isinstance(resp, m.GetParameterValuesResponse):
                raise ValueError(f"expected GetParameterValuesResponse, got {type(resp).__name__}")
            self._record_read(batch, resp.parameter_list)
        return True

    def _gpv_batches(self, names: list[str]) -> list[list[str]]:
        """Batches of ``gpv_batch_size`` names, then each name a faulted batch held, alone."""
        singles = [n for n in names if n in self._singles]
        rest = [n for n in names if n not in self._singles]
        return [rest[i : i + self.batch] for i in range(0, len(rest), self.batch)] + [[n] for n in singles]

    def _batch_refused(self, batch: list[str]) -> None:
        """A faulted batch is read again name by name; a name refused alone is absent."""
        if len(batch) > 1:
            self._singles.update(batch)  # find which name the CPE refused, one by one
        else:
            self._absent.add(batch[0].rstrip("."))
            self._singles.discard(batch[0])

    def _record_read(self, batch: list[str], params: list[m.ParameterValueStruct]) -> None:
        """A GetParameterValuesResponse: an object read whole replaces its old contents and is
        listed as of now; a leaf asked for and not answered is absent."""
        ts = self.now()
        objects = [name for name in batch if name.endswith(".")]
        for name in objects:
            self._forget_contents(name)
        self._apply_values(params)
        for path, (v, t, _) in self._pending.items():  # a new instance read before its keys are set
            if any(path.startswith(name) for name in objects):
                _set_node(self.doc, path, {"_value": v, "_type": t})
        returned = {p.name for p in params}
        for name in batch:
            if not name.endswith(".") and name not in returned:
                self._absent.add(name)  # asked for, not answered: do not ask again
        for name in objects:
            obj = name[:-1]
            _set_node(self.doc, obj, {"_object": True, "_timestamp": ts})
            self.outcome.sets[f"{obj}._object"] = True
            self.outcome.sets[f"{obj}._timestamp"] = ts

    def _forget_contents(self, name: str) -> None:
        """An object read whole (``name`` ends with a dot): what the document held under it goes."""
        obj = name[:-1]
        _drop_node(self.doc, obj)
        self.outcome.unsets.append(obj)
        self.outcome.sets = {k: v for k, v in self.outcome.sets.items() if not k.startswith(name)}
        self._complete.add(obj)

    def _read_attributes(self, names: list[str]) -> Generator[m.Message, Any, bool]:
        for batch in [names[i : i + self.batch] for i in range(0, len(names), self.batch)]:
            resp = yield m.GetParameterAttributes(parameter_names=batch)
            if not isinstance(resp, m.GetParameterAttributesResponse):
                self._attributes_unreadable.update(batch)  # refused: set what is wanted without comparing
                continue
            for a in resp.parameter_list:
                self._record_attributes(a.name, a.notification, list(a.access_list))
            returned = {a.name for a in resp.parameter_list}
            self._attributes_unreadable.update(n for n in batch if n not in returned)
        return True

    def _record_attributes(self, leaf: str, notification: int | None, access_list: list[str] | None) -> None:
        attrs: dict[str, Any] = {}
        if notification is not None:
            attrs["_notification"] = notification
        if access_list is not None:
            attrs["_accessList"] = list(access_list)
        _set_node(self.doc, leaf, attrs)
        self.outcome.sets.update({f"{leaf}.{k}": v for k, v in attrs.items()})

    def _planned(self) -> Generator[ExtensionCalls, dict[str, dict[str, Any]], _Plan]:
        """This round's plan; scripts stopped at an ext() the session has no answer for wait for
        the driver's answers (yielded as ExtensionCalls), then the round is planned again."""
        for _ in range(MAX_EXTENSION_ROUNDS):
            try:
                return self._plan(self._declarations())
            except ExtensionsNeeded as need:
                answers = yield ExtensionCalls(need.calls)
                assert self.scripts is not None  # only scripts call ext()
                self.scripts.runner.ext_answers.update(answers)
        self._fault("provisioning", "script.RangeError", f"scripts waited for more than {MAX_EXTENSION_ROUNDS} "
                    "extension answers in one round")
        return _Plan()

    def _run(self) -> Generator[Any, Any, None]:
        """Each round: plan, then the first kind of RPC the plan needs (reads first, a reboot last);
        then plan again. A step answers whether the run goes on (False: a CPE fault ended it)."""
        for _round in range(self.max_iterations):
            plan = yield from self._planned()
            step = self._step_for(plan)
            if step is None:
                return
            if not (yield from step):
                return
        self._fault("provisioning", "loop_limit",
                    f"presets did not settle after {self.max_iterations} rounds (conflicting declarations or functions?)",
                    {"rpcs": list(self.outcome.rpcs)})

    def _step_for(self, plan: _Plan) -> Generator[Any, Any, bool] | None:
        """The RPCs this round sends, in the engine's order; None when nothing is left to do."""
        if plan.reads:
            return self._read_batches(list(plan.reads))
        if plan.attribute_reads:
            return self._read_attributes(list(plan.attribute_reads))
        if plan.adds or plan.deletes:
            return self._change_instances(plan)
        if not plan.sets and self.scripts is not None and (wanted := self.scripts.pending_downloads()):
            return self._push_download(wanted[0])  # one per round: the scripts run again and see it recorded
        if not plan.sets and not plan.attribute_sets and self.scripts is not None \
                and (action := self.scripts.pending_action()):
            return self._take_action(*action)  # last: after every value is set (a reboot applies them)
        if plan.sets:
            return self._set_values(plan)
        if plan.attribute_sets:
            return self._set_attributes(plan)
        return None

    def _change_instances(self, plan: _Plan) -> Generator[m.Message, Any, bool]:
        out = self.outcome
        for table, alias, d in plan.adds:
            resp = yield m.AddObject(object_name=table + ".", parameter_key=self._key(table))
            if not isinstance(resp, m.AddObjectResponse):
                self._rpc_fault(resp, [d.channel], "AddObject", table)
                return False
            inst = f"{table}.{resp.instance_number}"
            self._new.add(inst)
            ts = self.now()
            _set_node(self.doc, inst, {"_object": True, "_writable": True, "_timestamp": ts})
            out.sets.update({f"{inst}._object": True, f"{inst}._writable": True, f"{inst}._timestamp": ts})
            for key, v in (alias.keys if alias else ()):
                path = f"{inst}.{key}"
                xsd = value_type(None, None, path, v)
                _set_node(self.doc, path, {"_value": coerce(v, xsd), "_type": xsd})
                self._pending[path] = (coerce(v, xsd), xsd, d)
        for inst, d in plan.deletes:
            resp = yield m.DeleteObject(object_name=inst + ".", parameter_key=self._key(inst))
            if not isinstance(resp, m.DeleteObjectResponse):
                self._rpc_fault(resp, [d.channel], "DeleteObject", inst)
                return False
            _drop_node(self.doc, inst)
            out.unsets.append(inst)
            out.sets = {k: v for k, v in out.sets.items() if not k.startswith(inst + ".")}
            self._pending = {k: v for k, v in self._pending.items() if not k.startswith(inst + ".")}
        return True

    def _push_download(self, intent: downloads.DownloadIntent) -> Generator[m.Message, Any, bool]:
        assert self.scripts is not None
        file_name = str(intent.values["FileName"])
        url = self.scripts.download_url(file_name)
        if url is None:
            self._fault(intent.channel, "download_unavailable", "no file server configured for Downloads",
                        {"file": file_name})
            self.scripts.downloads.pop(intent.selector, None)
            return True
        file_type = str(intent.values.get("FileType") or intent.keys.get("FileType") or downloads.DEFAULT_FILE_TYPE)
        command_key = self._key("download", intent.selector, file_name)
        resp = yield m.Download(command_key=command_key, file_type=file_type,
                                url=url, file_size=0, target_file_name=str(intent.values.get("TargetFileName") or ""))
        if not isinstance(resp, m.DownloadResponse):
            self._rpc_fault(resp, [intent.channel], "Download", None)
            return False
        self.outcome.sets.update(downloads.record(self.doc, intent, self.now(), command_key))
        return True

    def _take_action(self, root: str, channel: str) -> Generator[m.Message, Any, bool]:
        assert self.scripts is not None
        request = m.Reboot(command_key=self._key(root)) if root == "Reboot" else m.FactoryReset()
        resp = yield request
        if not isinstance(resp, m.RebootResponse | m.FactoryResetResponse):
            self._rpc_fault(resp, [channel], root, None)
            return False
        self.outcome.sets.update(self.scripts.action_done(root, self.now()))
        return True

    def _set_values(self, plan: _Plan) -> Generator[m.Message, Any, bool]:
        structs = [m.ParameterValueStruct(name=p, value=v, type=t) for p, (v, t, _) in plan.sets.items()]
        resp = yield m.SetParameterValues(parameter_list=structs, parameter_key=self._key(*plan.sets))
        if not isinstance(resp, m.SetParameterValuesResponse):
            channels = sorted({d.channel if d else "default" for _, _, d in plan.sets.values()})
            self._rpc_fault(resp, channels, "SetParameterValues", None)
            return False
        self._pending.clear()
        self._record_sets(plan)
        return True

    def _set_attributes(self, plan: _Plan) -> Generator[m.Message, Any, bool]:
        structs = [m.SetParameterAttributesStruct(
            name=leaf, notification_change=d.notification is not None, notification=d.notification or 0,
            access_list_change=d.access_list is not None, access_list=list(d.access_list or ()))
            for leaf, d in plan.attribute_sets.items()]
        resp = yield m.SetParameterAttributes(parameter_list=structs)
        if not isinstance(resp, m.SetParameterAttributesResponse):
            self._rpc_fault(resp, sorted({d.channel for d in plan.attribute_sets.values()}), "SetParameterAttributes", None)
            return False
        for st in structs:
            self._record_attributes(st.name, st.notification if st.notification_change else None,
                                    st.access_list if st.access_list_change else None)
        return True

    def _record_sets(self, plan: _Plan) -> None:
        ts = self.now()
        secret = {p for p, (_, _, d) in plan.sets.items() if d is not None and d.secret}
        for p, (v, t, _) in plan.sets.items():
            node = paths.node_at(self.doc, p)
            previous = node.get("_value") if isinstance(node, dict) and p not in secret else None
            _set_node(self.doc, p, {"_value": to_bson_value(v), "_type": t, "_timestamp": ts, "_object": False})
            self._read.add(p)
            self.outcome.changes.append({"name": p, "value": None if p in secret or is_secret(p) else jsonable(v), "type": t,
                                         "previous": jsonable(previous)})
        self.outcome.sets.update(parameter_sets(
            [m.ParameterValueStruct(p, v, t) for p, (v, t, _) in plan.sets.items() if p not in secret], ts))
        for p, (v, _, _) in plan.sets.items():
            if is_secret(p) and p not in secret:  # the value stays out of the document, its digest does not
                digest = self._value_hash(p, v)
                _set_node(self.doc, p, {"_valueHash": digest})
                self.outcome.sets[f"{p}._valueHash"] = digest
        # new credentials (by kind: connectionRequest, cpe) are stored once the SPV that set them succeeded
        done = {kind: {"username": c["username"], "password": c["password"]}
                for kind, c in (self.pending_credentials or {}).items() if c["path"] in plan.sets}
        if done:
            self.outcome.credentials = {**(self.outcome.credentials or {}), **done}

    def _rpc_fault(self, resp: Any, channels: list[str], rpc: str, path: str | None) -> None:
        if isinstance(resp, m.Fault):
            detail = {"rpc": rpc, "faultCode": resp.fault_code, "faultString": resp.fault_string,
                      "setParameterValuesFault": [[f.parameter_name, f.fault_code, f.fault_string]
                                                  for f in resp.set_parameter_values_faults]}
            if path:
                detail["path"] = path
            for ch in channels:
                self._fault(ch, f"cwmp.{resp.fault_code}", resp.fault_string or f"{rpc} refused", detail)
        else:
            for ch in channels:
                self._fault(ch, "invalid_response", f"{rpc} answered with {type(resp).__name__}", {"rpc": rpc})

    def _value_hash(self, path: str, value: Any) -> str:
        text = "|".join((self.device_id, path, str(jsonable(to_bson_value(value)))))
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def _key(self, *parts: str) -> str:
        return PROVISIONING_KEY_PREFIX + hashlib.sha1("|".join(parts).encode()).hexdigest()[:12]

    # ------------------------------------------------------------------ the end of the run
    def finish(self) -> ProvisionOutcome:
        """Tags, virtual parameters and fault bookkeeping; called by the Provisioner's wrapper."""
        out = self.outcome
        ts = self.now()
        out.sets.update(refresh_values(self.doc, self.virtuals, ts, self.stored_virtuals))
        tags = list(self.doc.get("_tags") or [])
        new = self._final_tags(tags)
        if self.scripts is not None:
            self._store_script_virtuals(ts)
        if new != tags:
            out.sets["_tags"] = new
        out.samples.extend(self._samples())
        self._settle_faults()
        return out

    def _final_tags(self, tags: list[str]) -> list[str]:
        """The device's tags after the presets' delete/add and what scripts declared under ``Tags``."""
        new = [t for t in tags if not any(t in p.delete_tags for p in self.presets)]
        for p in self.presets:
            new += [t for t in p.add_tags if t not in new]
        if self.scripts is not None:
            new = [t for t in new if self.scripts.tags.get(t, True)]
            new += [t for t, on in self.scripts.tags.items() if on and t not in new]
        return new

    def _samples(self) -> list[dict[str, Any]]:
        """The values refresh-only declarations had read in this session (secrets never)."""
        samples = []
        for leaf in sorted(self._sampled & self._read):
            node = paths.node_at(self.doc, leaf)
            if isinstance(node, dict) and "_value" in node and leaf not in self._secret and not is_secret(leaf):
                samples.append({"name": leaf, "value": jsonable(node["_value"]), "type": node.get("_type"),
                                "previous": None})
        return samples

    def _settle_faults(self) -> None:
        """The channels faulted now replace those recorded; the ones that recovered are cleared."""
        out = self.outcome
        old = set((self.doc.get("_acs") or {}).get("provisioningFaults") or [])
        now_faulty = {f["channel"] for f in out.faults}
        out.cleared_faults = sorted(old - now_faulty)
        if old != now_faulty:
            out.sets[FAULTS_FIELD] = sorted(now_faulty)

    def _store_script_virtuals(self, ts: datetime) -> None:
        """The values script virtual parameters gave, written where they changed."""
        assert self.scripts is not None
        for name, vv in self.scripts.runner.virtual_values.items():
            node = {"_value": _stored(vv.value, vv.type), "_type": vv.type,
                    "_timestamp": ts, "_object": False, "_writable": vv.writable}
            old_node = (self.stored_virtuals or {}).get(name)
            if not (isinstance(old_node, dict) and old_node.get("_value") == node["_value"]
                    and old_node.get("_type") == vv.type and old_node.get("_writable") == vv.writable):
                self.outcome.sets.update({f"{VROOT}.{name}.{attr}": v for attr, v in node.items()})
            self.doc.setdefault(VROOT, {"_object": True})[name] = node


def _stored(value: Any, xsd: str) -> Any:
    """A virtual parameter's value as stored (its script may give any JSON scalar)."""
    try:
        return to_bson_value(coerce(value, xsd)) if value is not None else ""
    except (ValueError, TypeError, OverflowError):
        return str(value)


def _equal(have: Any, want: Any) -> bool:
    if isinstance(have, bool) or isinstance(want, bool):
        return isinstance(have, bool) and isinstance(want, bool) and have == want
    if isinstance(have, datetime) and isinstance(want, datetime):
        return _aware(have) == _aware(want)
    return have == to_bson_value(want)

