"""The replay contract between a script and the ACS that runs it.

A run executes a script from the top. ``declare()`` records what the script wants (fresh values,
values set, instance counts); reading a declared value first *commits*: the host says whether
everything declared so far is already satisfied. If it is, the script reads the value and goes
on; if not, the run stops there, the ACS sends the RPCs that satisfy those declarations, and
runs the script again from the top, until a run ends with nothing left to do. The declarations
of a run are its desired state; the ACS plans them together with native declarations.

What the host must provide is :class:`Device`; :class:`ScriptRunner` holds the sandboxes, the
session's fixed clock, its extension cache and its log lines, for one device session.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import orjson

from .errors import ScriptError
from .extensions import ExtensionError, Extensions, ExtensionsNeeded
from .sandbox import Limits, Sandbox

log = logging.getLogger(__name__)

ATTRIBUTES = ("path", "value", "writable", "object", "notification", "accessList")
# Attributes whose *timestamps* are accepted and not acted on (our copy of attributes is read when
# unknown); their *values* are planned (Get/SetParameterAttributes).
UNPLANNED = ("notification", "accessList")
_PARSED: dict[str, ScriptDeclaration] = {}  # a declaration's JSON -> parsed: scripts repeat theirs every run
MAX_DEPTH = 4  # a virtual parameter's script may declare another: this deep at most
RESET_AFTER = {"Timeout", "OutOfMemory", "RangeError", "InternalError"}  # limits hit: the context is replaced


@dataclass(frozen=True)
class ScriptDeclaration:
    """``declare(path, timestamps, values)`` as data. ``timestamps`` maps attributes to epoch
    milliseconds (our copy must be at least that recent); ``values`` maps ``value`` to
    ``(value, xsd type or None)``, ``path`` to ``(min, max)`` instances, ``writable``/``object``
    to booleans."""

    path: str
    timestamps: dict[str, int] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    key: str = field(default="", compare=False)  # the declaration's JSON text: a cache key for hosts


@dataclass(frozen=True)
class ScriptClear:
    """``clear(path, timestamp)``: what we hold under ``path`` older than ``timestamp`` is stale."""

    path: str
    timestamp: int


@dataclass
class ScriptOutcome:
    """One script's part of a provisioning round: what it declared and cleared (a virtual
    parameter's declarations in place of the declaration that used it), whether it ran to its
    end (``result`` is what it returned) or stopped at a commit the ACS must first satisfy."""

    name: str
    done: bool = False
    result: Any = None
    declarations: list[ScriptDeclaration] = field(default_factory=list)
    clears: list[ScriptClear] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    runs: int = 0  # how many times the script ran from the top for this outcome


@dataclass(frozen=True)
class VirtualValue:
    """What a virtual parameter's script returned: ``{writable, value: [v, type]}``."""

    value: Any
    type: str
    writable: bool


class Device(Protocol):
    """What the host of a script knows about the device."""

    def satisfied(self, declarations: list[ScriptDeclaration], clears: list[ScriptClear]) -> bool:
        """Is everything declared and cleared so far already true of what the ACS holds?"""

    def get(self, path: str) -> list[dict[str, Any]]:
        """What the ACS holds for ``path`` (wildcards, aliases): ``[{path, value: [v, type],
        writable: [bool], object: [bool]}]``, one per parameter or instance."""

    def virtual_source(self, name: str) -> str | None:
        """The script of virtual parameter ``name``, or None when there is none."""

    def preloaded(self) -> dict[str, list[dict[str, Any]]]:
        """Answers to ``get`` known before any run (the device id's fields, its tags): a script
        that reads them needs no second run."""


class HostError(ValueError):
    """A script's misuse of the API (a declaration that is not one): a TypeError fault."""


def _ms(x: Any, what: str) -> int:
    if isinstance(x, bool):
        raise HostError(f"{what} must be a time in milliseconds")
    if isinstance(x, (int, float)):
        return int(x)
    if isinstance(x, str):  # a Date passed through JSON
        try:
            return int(datetime.fromisoformat(x.replace("Z", "+00:00")).timestamp() * 1000)
        except ValueError:
            pass
    raise HostError(f"{what} must be a time in milliseconds, not {x!r}")


def parse_declaration(path: Any, timestamps: Any, values: Any) -> ScriptDeclaration:
    """Validate ``declare()``'s arguments (HostError, thrown into the script, when invalid)."""
    if not isinstance(path, str) or not path:
        raise HostError("declare: path must be a non-empty string")
    return ScriptDeclaration(path, _timestamps(timestamps), _values(values))


def _timestamps(timestamps: Any) -> dict[str, int]:
    """``declare()``'s timestamps: how recent each attribute must be (epoch ms)."""
    ts: dict[str, int] = {}
    for k, v in (timestamps or {}).items():
        if k not in ATTRIBUTES:
            raise HostError(f"declare: unknown timestamp attribute {k!r}")
        if v is not None and k not in UNPLANNED:
            ts[k] = _ms(v, f"declare: timestamps.{k}")
    return ts


def _values(values: Any) -> dict[str, Any]:
    """``declare()``'s values, each attribute read by its own rule (null: not declared)."""
    vals: dict[str, Any] = {}
    for k, v in (values or {}).items():
        if v is None:
            continue
        read = _VALUE_ATTRIBUTES.get(k)
        if read is None:
            raise HostError(f"declare: unknown value attribute {k!r}")
        vals[k] = read(v)
    return vals


def _value(v: Any) -> tuple[Any, str | None]:
    """A value, or [value, type]."""
    if isinstance(v, list):
        if not 1 <= len(v) <= 2 or (len(v) == 2 and not isinstance(v[1], str)):
            raise HostError("declare: values.value is a value or [value, type]")
        value = (v[0], v[1] if len(v) == 2 else None)
    else:
        value = (v, None)
    if isinstance(value[0], (dict, list)) or value[0] is None:
        raise HostError("declare: a value is a string, number or boolean")
    return value


def _instances(v: Any) -> tuple[int, int]:
    """An instance count, or [min, max] ([n]: exactly n)."""
    lo, hi = (v, v) if not isinstance(v, list) else (v + v)[:2] if len(v) == 1 else v[:2]
    if not all(isinstance(n, (int, float)) and not isinstance(n, bool) for n in (lo, hi)):
        raise HostError("declare: values.path is an instance count or [min, max]")
    return int(lo), int(hi)


def _notification(v: Any) -> int:
    n = v[0] if isinstance(v, list) and v else v
    if isinstance(n, bool) or not isinstance(n, (int, float)) or not 0 <= n <= 6 or int(n) != n:
        raise HostError("declare: values.notification is 0 (off), 1 (passive), 2 (active) or 3-6")
    return int(n)


def _access_list(v: Any) -> list[str]:
    if not isinstance(v, list) or not all(isinstance(a, str) for a in v):
        raise HostError('declare: values.accessList is a list of names, e.g. ["Subscriber"]')
    return list(v)


def _flag(v: Any) -> bool:
    return bool(v[0] if isinstance(v, list) and v else v)


_VALUE_ATTRIBUTES: dict[str, Callable[[Any], Any]] = {
    "value": _value, "path": _instances, "notification": _notification, "accessList": _access_list,
    "writable": _flag, "object": _flag,
}


def _digest(text: str, salt: str) -> int:
    return int.from_bytes(hashlib.sha256((salt + text).encode()).digest()[:4], "big") & 0x7FFFFFFF


class ScriptRunner:
    """Runs scripts for one device session: ``Date.now()`` is ``now_ms`` in every run,
    ``Math.random`` is seeded with the device id, ``ext()`` answers are kept for the session."""

    def __init__(self, device_id: str, now_ms: int, limits: Limits = Limits(), extensions: Extensions | None = None,
                 max_runs: int = 256, sandboxes: list[Sandbox] | None = None, defer_ext: bool = False) -> None:
        """``sandboxes``: contexts to reuse (one per nesting depth), shared by the sessions of one
        thread so a session does not pay for a new context; every run resets the API's state.
        ``defer_ext``: an ``ext()`` without an answer raises :class:`ExtensionsNeeded` for the host
        to answer asynchronously (:meth:`Extensions.answer`) instead of running it here."""
        self.defer_ext = defer_ext
        self.device_id = device_id
        self.now_ms = now_ms
        self.limits = limits
        self.extensions = extensions
        self.max_runs = max_runs
        self.offset = _digest(device_id, "offset")
        self.seed = _digest(device_id, "seed")
        self.ext_answers: dict[str, dict[str, Any]] = {}
        self.virtual_values: dict[str, VirtualValue] = {}  # the last value each virtual parameter's script gave
        self._sandboxes: list[Sandbox] = sandboxes if sandboxes is not None else []
        self._depth = 0

    def run(self, name: str, source: str, args: Any, device: Device) -> ScriptOutcome:
        """Run ``source`` (named ``name``) from the top, again with each answer it needs that the
        ACS holds, until it ends or stops at a commit; ScriptError when it fails."""
        if self._depth >= MAX_DEPTH:
            raise ScriptError("RangeError", f"virtual parameters nested more than {MAX_DEPTH} deep", None, name)
        while len(self._sandboxes) <= self._depth:
            self._sandboxes.append(Sandbox(self.limits))
        try:
            return self._run(self._sandboxes[self._depth], name, source, args, device)
        except ScriptError as e:
            if e.name in RESET_AFTER:  # the context may hold what the script left: the next run gets a fresh one
                del self._sandboxes[self._depth:]
            raise

    def _run(self, sandbox: Sandbox, name: str, source: str, args: Any, device: Device) -> ScriptOutcome:
        sandbox.load(name, source)
        passed: dict[str, bool] = {}
        answers: dict[str, Any] = dict(device.preloaded())
        virtuals: dict[str, bool] = {}
        expanded: dict[str, list[ScriptDeclaration]] = {}  # a virtual parameter's key -> its declarations
        outcome = ScriptOutcome(name)
        for _ in range(self.max_runs):
            out = sandbox.run(name, {"now": self.now_ms, "offset": self.offset, "seed": self.seed, "args": args,
                                     "passed": passed, "answers": answers, "virtuals": virtuals,
                                     "exts": self.ext_answers})
            outcome.runs += 1
            try:
                outcome.declarations = self._declarations(out["declarations"], expanded)
                outcome.clears = [ScriptClear(str(p), _ms(t, "clear: timestamp")) for p, t in out["clears"]]
            except HostError as e:
                raise ScriptError("TypeError", str(e), None, name) from None
            outcome.logs = out["logs"]
            need = out["need"]
            if need is None:
                outcome.done, outcome.result = bool(out["done"]), out["result"]
                return outcome
            op = need["op"]
            if op == "commit":
                if not device.satisfied(outcome.declarations, outcome.clears):
                    return outcome
                passed[str(need["index"])] = True
            elif op == "get":
                answers[need["path"]] = self._get(need["path"], device)
            elif op == "virtual":
                expanded[need["key"]] = self._virtual(need["declaration"], device, name)
                virtuals[need["key"]] = True
            elif op == "ext":
                if self.defer_ext and self.extensions is not None:
                    script, fn, call_args = need["call"]
                    raise ExtensionsNeeded([(need["key"], (script, fn, list(call_args)))])
                self.ext_answers[need["key"]] = self._ext(*need["call"])
            else:
                raise ScriptError("Error", f"unknown need {op!r}", None, name)
        raise ScriptError("RangeError", f"the script needed more than {self.max_runs} look-ups in one round", None, name)

    def _declarations(self, texts: list[str], expanded: dict[str, list[ScriptDeclaration]]) -> list[ScriptDeclaration]:
        out: list[ScriptDeclaration] = []
        for key in texts:
            parsed = _PARSED.get(key)
            if parsed is None:
                d = orjson.loads(key)
                if len(d) == 4:  # a virtual parameter: its script's declarations stand for it
                    out.extend(expanded.get(d[3], ()))
                    continue
                if len(_PARSED) > 16384:
                    _PARSED.clear()
                p = parse_declaration(*d)
                parsed = _PARSED[key] = ScriptDeclaration(p.path, p.timestamps, p.values, key)
            out.append(parsed)
        return out

    def _get(self, path: str, device: Device) -> list[dict[str, Any]]:
        if path.startswith("VirtualParameters."):
            vv = self.virtual_values.get(path.split(".", 1)[1])
            if vv is None:
                return []
            return [{"path": path, "value": [vv.value, vv.type], "writable": [vv.writable], "object": [False]}]
        return device.get(path)

    def virtual(self, name: str, timestamps: dict[str, int] | None, values: dict[str, Any] | None,
                device: Device) -> list[ScriptDeclaration]:
        """Run virtual parameter ``name``'s script as a preset's declaration on it would (its value
        in ``virtual_values``); the declarations it makes."""
        return self._virtual([f"VirtualParameters.{name}", timestamps or {}, values or {}], device, name)

    def _virtual(self, raw: list[Any], device: Device, caller: str) -> list[ScriptDeclaration]:
        """Run a virtual parameter's script with GenieACS's arguments: ``args[0]`` the timestamps
        declared, ``args[1]`` the values (``value`` as ``[v, type]``) when it is being set."""
        path, timestamps, values = raw
        vp = path.split(".", 1)[1]
        source = device.virtual_source(vp)
        if source is None:  # not a script: the host's own (built-in) virtual parameter, if any
            return [parse_declaration(path, timestamps, values)]
        vals = dict(values or {})
        if "value" in vals and not isinstance(vals["value"], list):
            vals["value"] = [vals["value"]]
        self._depth += 1
        try:
            out = self.run(f"VirtualParameters.{vp}", source, [timestamps or {}, vals], device)
        finally:
            self._depth -= 1
        if out.done:
            self.virtual_values[vp] = _virtual_value(out.result, vp)
        return out.declarations

    def _ext(self, script: str, fn: str, args: list[Any]) -> dict[str, Any]:
        if self.extensions is None:
            return {"error": "no extensions are configured"}
        try:
            return {"value": self.extensions.call(script, fn, args)}
        except ExtensionError as e:
            return {"error": str(e)}


def _virtual_value(result: Any, name: str) -> VirtualValue:
    if not isinstance(result, dict) or "value" not in result:
        raise ScriptError("TypeError", f"virtual parameter {name} must return {{writable, value: [value, type]}}", None,
                          f"VirtualParameters.{name}")
    value = result["value"]
    v, t = (value[0], value[1] if len(value) > 1 else None) if isinstance(value, list) and value else (value, None)
    if t is None:
        t = "xsd:boolean" if isinstance(v, bool) else "xsd:int" if isinstance(v, int) else "xsd:string"
    return VirtualValue(v, str(t), bool(result.get("writable", False)))
