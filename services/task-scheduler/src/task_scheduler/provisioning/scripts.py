"""GenieACS provision and virtual-parameter scripts, run by presets as the engine's declarations.

A preset configuration ``{"type": "provision", "name": N, "args": [...]}`` runs the script N of
the ``provisions`` collection (a Python provision function of that name otherwise). Every
provisioning round runs the script again from the top against what the session now knows
(GenieACS's replay model); its ``declare()`` calls become :class:`Declaration`s planned together
with the presets' own, so scripts and native declarations share one minimal set of RPCs. A
commit inside a script asks the engine whether what was declared so far is already true.

Special roots: ``Tags.<tag>`` (read; a value true/false adds/removes the tag at the session's
end), ``DeviceID.*`` and ``Events.*`` (read-only), ``VirtualParameters.<name>`` (the script of
the ``virtualParameters`` collection, or a built-in one), ``Downloads.*`` (file pushes,
``downloads.py``), ``Reboot`` and ``FactoryReset`` (declared with a time).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from device_query import paths
from device_query.errors import PresetError
from device_query.presets import MAX_INSTANCES, Declaration, declaration
from provision_scripts import (
    Extensions,
    Limits,
    Sandbox,
    ScriptClear,
    ScriptDeclaration,
    ScriptError,
    ScriptRunner,
    check_syntax,
)

from . import downloads
from .virtual import ROOT as VROOT

if TYPE_CHECKING:
    from .engine import ProvisionRun

log = logging.getLogger(__name__)

READ_ONLY_ROOTS = ("DeviceID", "Events")
ACTION_ROOTS = ("Reboot", "FactoryReset")  # declared with a time: the RPC is sent when it is newer than the last
DEVICE_ID_FIELDS = {"Manufacturer": "_Manufacturer", "OUI": "_OUI", "ProductClass": "_ProductClass",
                    "SerialNumber": "_SerialNumber"}
EVENT_FIELDS = {"Inform": "_lastInform", "1_BOOT": "_lastBoot", "0_BOOTSTRAP": "_lastBootstrap", "Registered": "_registered"}


def _ms(ts: Any) -> int | None:
    if not isinstance(ts, datetime):
        return None
    return int((ts if ts.tzinfo else ts.replace(tzinfo=UTC)).timestamp() * 1000)


def js_value(value: Any) -> Any:
    """A stored value as scripts see it: dates as epoch milliseconds (GenieACS's form)."""
    ms = _ms(value)
    return ms if ms is not None else value


def _since(t: Declaration, since: datetime) -> Declaration:
    return replace(t, refresh=None, since=since)


class ScriptLibrary:
    """The scripts every session may run, as read from MongoDB (name -> JavaScript)."""

    def __init__(self, limits: Limits = Limits(), extensions: Extensions | None = None,
                 download_url: Callable[[str, str], str] | None = None, defer_ext: bool = True) -> None:
        """``download_url(device_id, file_name)``: the signed URL a Download RPC gives the CPE.
        ``defer_ext``: an ``ext()`` the session has no answer for stops the round
        (``ExtensionCalls`` from the run) so the scheduler awaits it off its event loop."""
        self.limits = limits
        self.extensions = extensions
        self.defer_ext = defer_ext
        self.download_url = download_url
        self.provisions: dict[str, str] = {}
        self.virtuals: dict[str, str] = {}
        self.rejected: dict[str, str] = {}  # "provisions/<name>" -> why it does not compile
        self.sandboxes: list[Sandbox] = []  # reused by every session (the scheduler's one thread)
        self.templates: dict[tuple, list[Declaration]] = {}  # a script declaration's engine declarations

    def load(self, provisions: Iterable[dict], virtuals: Iterable[dict]) -> None:
        """Keep the scripts that compile; one that does not is skipped with a log line (the NBI
        refuses those, so only a hand-edited database has them)."""
        rejected: dict[str, str] = {}

        def good(kind: str, docs: Iterable[dict]) -> dict[str, str]:
            out: dict[str, str] = {}
            for doc in docs:
                name, script = str(doc.get("_id")), doc.get("script")
                try:
                    check_syntax(script if isinstance(script, str) else None)  # type: ignore[arg-type]
                except ScriptError as e:
                    rejected[f"{kind}/{name}"] = str(e)
                    log.error("%s script %s skipped: %s", kind, name, e)
                    continue
                out[name] = script  # type: ignore[assignment]
            return out

        self.provisions = good("provisions", provisions)
        self.virtuals = good("virtualParameters", virtuals)
        self.rejected = rejected


class ScriptSession:
    """The scripts' side of one ProvisionRun (the engine's host for :class:`ScriptRunner`)."""

    def __init__(self, library: ScriptLibrary, run: ProvisionRun) -> None:
        self.library = library
        self.run = run
        self.now_ms = _ms(run.now()) or 0
        self.runner = ScriptRunner(run.device_id, self.now_ms, library.limits, library.extensions, defer_ext=library.defer_ext,
                                   sandboxes=library.sandboxes)
        self.tags: dict[str, bool] = {}  # tag -> wanted (True) or removed (False), applied at the end
        self.downloads: dict[str, downloads.DownloadIntent] = {}  # Downloads.<selector> -> what is declared
        self.actions: dict[str, tuple[Any, str]] = {}  # Reboot/FactoryReset -> (declared time, channel)
        self._channel = "default"
        self._weight = 0
        self._preloaded: dict[str, list[dict[str, Any]]] | None = None

    def declarations(self, name: str, args: list, channel: str, weight: int) -> list[Declaration]:
        """Run provision ``name`` once more from the top; its declarations for this round.
        Raises ScriptError (the preset's channel gets the fault)."""
        self._channel, self._weight = channel, weight
        out = self.runner.run(name, self.library.provisions[name], list(args or []), self)
        for c in out.clears:
            self.cleared(c)
        return self._engine_declarations(out.declarations, strict=True)

    # ------------------------------------------------------------------ declarations
    def _engine_declarations(self, decls: list[ScriptDeclaration], strict: bool) -> list[Declaration]:
        result: list[Declaration] = []
        for d in decls:
            try:
                result.extend(self._convert(d))
            except PresetError as e:
                if strict:
                    raise ScriptError("TypeError", f"declare({d.path!r}): {e}") from None
        return result

    def _convert(self, d: ScriptDeclaration) -> list[Declaration]:
        """The engine's declarations for one script declaration, from the library's templates
        (parsed and checked once for every session: scripts repeat their declarations at every
        run). A timestamp becomes the absolute time our copy must be newer than."""
        if d.path.startswith(("Tags.", "Downloads.")):  # a side effect, not a declaration: never memoised
            return self._convert_one(d)
        key = (d.key or repr(d), self._channel, self._weight)
        templates = self.library.templates.get(key)
        if templates is None:
            if len(self.library.templates) > 16384:
                self.library.templates.clear()
            templates = self.library.templates[key] = self._convert_one(d)
        return templates

    def _convert_one(self, d: ScriptDeclaration) -> list[Declaration]:
        special = self._SPECIAL_ROOTS.get(d.path.split(".", 1)[0])
        if special is not None:  # a side effect or a read-only root: no engine declaration
            special(self, d)
            return []
        return self._parameter_declarations(d)

    def _tag(self, d: ScriptDeclaration) -> None:
        """``Tags.<name>`` declared with a value: added (truthy) or removed at the session's end."""
        if "value" not in d.values:
            return
        tag = d.path.split(".", 1)[1] if "." in d.path else ""
        if not tag or tag == "*":
            raise PresetError("a tag is set by its name: Tags.<name>")
        v = d.values["value"][0]
        self.tags[tag] = v is True or (isinstance(v, str) and v.lower() == "true") or (isinstance(v, (int, float)) and v != 0)

    def _read_only(self, d: ScriptDeclaration) -> None:
        """``DeviceID.*`` and ``Events.*``: read, never declared."""

    def _action(self, d: ScriptDeclaration) -> None:
        """``Reboot`` / ``FactoryReset`` declared with a time (sent when newer than the last)."""
        root = d.path.split(".", 1)[0]
        if d.path != root:
            raise PresetError(f"{root} has no children")
        if "value" in d.values:
            self.actions[root] = (d.values["value"][0], self._channel)

    def _download(self, d: ScriptDeclaration) -> None:
        selector, keys, attr = downloads.parse(d.path)
        if not selector or selector == "*":
            raise PresetError("a download is named by its instance or an alias: Downloads.[FileType:...]")
        intent = self.downloads.setdefault(selector, downloads.DownloadIntent(selector, self._channel, keys))
        if attr in downloads.ATTRIBUTES and "value" in d.values:
            intent.values[attr] = d.values["value"][0]

    _SPECIAL_ROOTS: ClassVar[dict[str, Callable[[ScriptSession, ScriptDeclaration], None]]] = {
        "Tags": _tag, downloads.ROOT: _download, **dict.fromkeys(READ_ONLY_ROOTS, _read_only),
        **dict.fromkeys(ACTION_ROOTS, _action)}

    def _parameter_declarations(self, d: ScriptDeclaration) -> list[Declaration]:
        """A parameter's declarations: its instances (``path``), attributes, value, or a refresh."""
        spec: dict[str, Any] = {"path": d.path.rstrip(".")}
        since = datetime.fromtimestamp(max(d.timestamps.values()) / 1000, UTC) if d.timestamps else None
        if since is not None:
            spec["refresh"] = 0.0  # replaced by since
        out: list[Declaration] = []
        if "path" in d.values:
            lo, hi = d.values["path"]
            out.append(self._made({**spec, "instances": {"min": lo, "max": hi}}, since))
        if "notification" in d.values or "accessList" in d.values:
            attrs: dict[str, Any] = {k: d.values[k] for k in ("notification", "accessList") if k in d.values}
            out.append(self._made({"path": spec["path"], **attrs}, since))
        if "value" in d.values:
            out.append(self._made(_value_spec(d, spec), since))
        elif "path" not in d.values and "refresh" in spec:
            out.append(self._made(_refresh_spec(spec), since))
        return out

    def _made(self, spec: dict[str, Any], since: datetime | None) -> Declaration:
        """The engine's declaration; a timestamp becomes the time our copy must be newer than."""
        made = declaration(spec, channel=self._channel, weight=self._weight)
        return _since(made, since) if made.refresh is not None and since is not None else made

    def virtual(self, d: Declaration) -> list[Declaration]:
        """A native declaration on a script virtual parameter (a preset's ``value`` or ``age``
        configuration): its script's declarations, run with the value to set or the age wanted."""
        self._channel, self._weight = d.channel, d.weight
        name = d.path.split(".", 1)[1]
        stamps: dict[str, int] = {}
        if d.refresh is not None:
            stamps["value"] = (_ms(self.run.now()) or 0) - int(d.refresh * 1000)
        values = {"value": [d.value]} if d.has_value else {}
        decls = self.runner.virtual(name, stamps, values, self)
        return self._engine_declarations(decls, strict=True)

    def pending_downloads(self) -> list[downloads.DownloadIntent]:
        """The downloads scripts want pushed now (their Download time is newer than the last push)."""
        return [i for i in self.downloads.values() if downloads.pending(self.run.doc, i)]

    def pending_action(self) -> tuple[str, str] | None:
        """``("Reboot" | "FactoryReset", channel)`` when a script declared a time newer than the
        device's last one (kept under that root in the device document)."""
        for root, (value, channel) in self.actions.items():
            want = downloads.to_ms(value)
            node = self.run.doc.get(root)
            last = downloads.to_ms(node.get("_value")) if isinstance(node, dict) else None
            if want is not None and (last is None or want > last):
                return root, channel
        return None

    def action_done(self, root: str, now: datetime) -> dict[str, Any]:
        want = downloads.to_ms(self.actions[root][0]) or 0
        node = {"_value": datetime.fromtimestamp(want / 1000, UTC), "_type": "xsd:dateTime", "_timestamp": now,
                "_object": False, "_writable": True}
        self.run.doc[root] = node
        return {f"{root}.{a}": v for a, v in node.items()}

    def download_url(self, file_name: str) -> str | None:
        url = self.library.download_url
        return url(self.run.device_id, file_name) if url is not None else None

    # ------------------------------------------------------------------ the runner's Device
    def satisfied(self, declarations: list[ScriptDeclaration], clears: list[ScriptClear]) -> bool:
        for c in clears:
            self.cleared(c)
        decls = self._engine_declarations(declarations, strict=False)
        return self.run.satisfied(decls)

    def cleared(self, c: ScriptClear) -> None:
        """What the session holds under ``c.path`` from before ``c.timestamp`` is forgotten (read
        again when declared); what this session read itself stays."""
        if c.path.split(".", 1)[0] in (VROOT, "Tags", *READ_ONLY_ROOTS, *ACTION_ROOTS):
            return
        self.run.forget(c.path.rstrip("."), c.timestamp)

    def get(self, path: str) -> list[dict[str, Any]]:
        root, _, rest = path.partition(".")
        special = self._GETTERS.get(root)
        if special is not None:
            return special(self, rest)
        return self._parameters(path)

    def _device_id(self, field: str) -> list[dict[str, Any]]:
        """``DeviceID.<field>``: the device's identity, read-only strings."""
        ids = self.run.doc.get("_deviceId") or {}
        fields = {"ID": self.run.device_id, **{k: ids.get(f) for k, f in DEVICE_ID_FIELDS.items()}}
        return [{"path": f"DeviceID.{k}", "value": [v, "xsd:string"], "writable": [False], "object": [False]}
                for k, v in fields.items() if v is not None and (field in (k, "*"))]

    def _tags(self, name: str) -> list[dict[str, Any]]:
        """``Tags.<name>``: the stored tags with what scripts set or removed in this session."""
        tags = [t for t in (self.run.doc.get("_tags") or []) if self.tags.get(t, True)]
        tags += [t for t, on in self.tags.items() if on and t not in tags]
        return [{"path": f"Tags.{t}", "value": [True, "xsd:boolean"], "writable": [True], "object": [False]}
                for t in tags if name in (t, "*")]

    def _parameters(self, path: str) -> list[dict[str, Any]]:
        """The data model's parameters and objects under ``path`` (wildcards and aliases resolved)."""
        doc = self.run.doc
        try:
            segs = paths.parse(path)
        except paths.PathError as e:
            raise ScriptError("TypeError", str(e)) from None
        items: list[dict[str, Any]] = []
        for p in paths.resolve(doc, segs, lambda _p: True).paths:
            node = paths.node_at(doc, p)
            if not isinstance(node, dict):
                continue
            item: dict[str, Any] = {"path": p, "object": [bool(node.get("_object"))]}
            if "_value" in node:
                item["value"] = [js_value(node["_value"]), node.get("_type") or "xsd:string"]
            if "_writable" in node:
                item["writable"] = [bool(node["_writable"])]
            items.append(item)
        return items

    def _event(self, code: str) -> list[dict[str, Any]]:
        """``Events.<code>``: when it last happened (epoch ms), this session's codes at its time."""
        codes = {c.replace(" ", "_"): c for c in self.run.event_codes}
        out = []
        for name in sorted({*EVENT_FIELDS, *codes}) if code == "*" else [code]:
            if name in codes or name == "Inform":
                ms: int | None = self.now_ms
            else:
                ms = _ms(self.run.doc.get(EVENT_FIELDS.get(name, ""))) if name in EVENT_FIELDS else None
            if ms is not None:
                out.append({"path": f"Events.{name}", "value": [ms, "xsd:dateTime"], "writable": [False], "object": [False]})
        return out

    _GETTERS: ClassVar[dict[str, Callable[[ScriptSession, str], list[dict[str, Any]]]]] = {
        "DeviceID": _device_id, "Tags": _tags, "Events": _event}

    def virtual_source(self, name: str) -> str | None:
        return self.library.virtuals.get(name)

    def preloaded(self) -> dict[str, list[dict[str, Any]]]:
        if self._preloaded is None:
            ids = self.get("DeviceID.*")
            tags = self.get("Tags.*")
            self._preloaded = {"DeviceID.*": ids, "Tags.*": tags, **{i["path"]: [i] for i in ids + tags}}
        if self.tags:  # set by a script in this session: what the next runs read
            return {**self._preloaded, "Tags.*": self.get("Tags.*")}
        return self._preloaded



def _value_spec(d: ScriptDeclaration, spec: dict[str, Any]) -> dict[str, Any]:
    """A declared value (with its xsd type when the script gave one), refreshed when timestamped."""
    value, xsd = d.values["value"]
    s = {"path": spec["path"], "value": value}
    if "value" in d.timestamps:
        s["refresh"] = spec["refresh"]
    if xsd:
        s["type"] = xsd
    return s


def _refresh_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """A refresh alone: of the value, or of the instances when the path ends at a table's wildcard or alias."""
    last = paths.parse(spec["path"])[-1]
    if last == paths.WILD or isinstance(last, paths.Alias):  # the instances themselves: list the table
        return {**spec, "instances": {"min": 0, "max": MAX_INSTANCES}}
    return spec

__all__ = ["ScriptLibrary", "ScriptSession", "js_value"]
