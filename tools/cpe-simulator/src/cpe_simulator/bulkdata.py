"""TR-232 / TR-157 Bulk Data on a simulated CPE: the ``BulkData.`` object in its data model and
real HTTP reports as each enabled profile says.

``ensure_bulkdata(model)`` gives a model without ``<root>BulkData.`` (TR-181 ``Device.BulkData``,
TR-098 ``InternetGatewayDevice.BulkData``) the object, with one profile (disabled) and one
parameter reference, as many CPEs ship; real dumps that have it keep theirs. The ACS configures a
profile with SetParameterValues (``Enable``, ``ReportingInterval``, ``EncodingType``,
``HTTP.URL``/``Username``/``Password``/``Compression``/``Method``, ``JSONEncoding.*``,
``CSVEncoding.*``) and AddObject/DeleteObject on ``Parameter.``; :class:`BulkDataReporter` then
collects every ``ReportingInterval`` seconds and POSTs the report:

* JSON: ``{"Report": [...]}``, ``NameValuePair`` or ``ObjectHierarchy``, ``CollectionTime`` as
  ``ReportTimestamp`` says (Unix-Epoch, ISO-8601, None);
* CSV: ``ParameterPerRow`` or ``ParameterPerColumn`` with the profile's field and row separators,
  escape character and ``RowTimestamp``;
* ``BBF-Report-Format`` header, gzip when ``HTTP.Compression`` is GZIP, Basic auth, a Date header
  when ``HTTP.UseDateHeader``; a failed report is kept (up to ``NumberOfRetainedFailedReports``)
  and sent again with the next one.

A reference is a parameter, a partial path (``X.Stats.``) or a path with ``*`` for instances;
``Parameter.{i}.Name``, when set, renames what it reports.
"""

from __future__ import annotations

import asyncio
import base64
import csv
import gzip
import io
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate
from typing import Any

import aiohttp
import orjson

from cwmp.values import decode_value

from .datamodel import DataModel, Node, parent_path
from .device import Device
from .tree import is_instance_segment

log = logging.getLogger(__name__)

_S, _U, _B, _I, _D = "xsd:string", "xsd:unsignedInt", "xsd:boolean", "xsd:int", "xsd:dateTime"
# (path relative to the root, writable, value, type); objects end with "."
_BULKDATA_NODES: tuple[tuple[str, bool, str, str], ...] = (
    ("BulkData.", False, "", ""),
    ("BulkData.Enable", True, "true", _B),
    ("BulkData.Status", False, "Enabled", _S),
    ("BulkData.MinReportingInterval", False, "1", _U),
    ("BulkData.Protocols", False, "HTTP", _S),
    ("BulkData.EncodingTypes", False, "JSON,CSV", _S),
    ("BulkData.ParameterWildCardSupported", False, "true", _B),
    ("BulkData.MaxNumberOfProfiles", False, "4", _I),
    ("BulkData.MaxNumberOfParameterReferences", False, "64", _I),
    ("BulkData.ProfileNumberOfEntries", False, "1", _U),
    ("BulkData.Profile.", True, "", ""),
    ("BulkData.Profile.1.", True, "", ""),
    ("BulkData.Profile.1.Enable", True, "false", _B),
    ("BulkData.Profile.1.Alias", True, "cpe-1", _S),
    ("BulkData.Profile.1.Name", True, "", _S),
    ("BulkData.Profile.1.NumberOfRetainedFailedReports", True, "2", _I),
    ("BulkData.Profile.1.Protocol", True, "HTTP", _S),
    ("BulkData.Profile.1.EncodingType", True, "JSON", _S),
    ("BulkData.Profile.1.ReportingInterval", True, "86400", _U),
    ("BulkData.Profile.1.TimeReference", True, "0001-01-01T00:00:00Z", _D),
    ("BulkData.Profile.1.ParameterNumberOfEntries", False, "1", _U),
    ("BulkData.Profile.1.Parameter.", True, "", ""),
    ("BulkData.Profile.1.Parameter.1.", True, "", ""),
    ("BulkData.Profile.1.Parameter.1.Name", True, "", _S),
    ("BulkData.Profile.1.Parameter.1.Reference", True, "", _S),
    ("BulkData.Profile.1.CSVEncoding.", False, "", ""),
    ("BulkData.Profile.1.CSVEncoding.FieldSeparator", True, ",", _S),
    ("BulkData.Profile.1.CSVEncoding.RowSeparator", True, "&#13;&#10;", _S),
    ("BulkData.Profile.1.CSVEncoding.EscapeCharacter", True, "&quot;", _S),
    ("BulkData.Profile.1.CSVEncoding.ReportFormat", True, "ParameterPerRow", _S),
    ("BulkData.Profile.1.CSVEncoding.RowTimestamp", True, "Unix-Epoch", _S),
    ("BulkData.Profile.1.JSONEncoding.", False, "", ""),
    ("BulkData.Profile.1.JSONEncoding.ReportFormat", True, "ObjectHierarchy", _S),
    ("BulkData.Profile.1.JSONEncoding.ReportTimestamp", True, "Unix-Epoch", _S),
    ("BulkData.Profile.1.HTTP.", False, "", ""),
    ("BulkData.Profile.1.HTTP.URL", True, "", _S),
    ("BulkData.Profile.1.HTTP.Username", True, "", _S),
    ("BulkData.Profile.1.HTTP.Password", True, "", _S),
    ("BulkData.Profile.1.HTTP.CompressionsSupported", False, "GZIP", _S),
    ("BulkData.Profile.1.HTTP.Compression", True, "None", _S),
    ("BulkData.Profile.1.HTTP.MethodsSupported", False, "POST,PUT", _S),
    ("BulkData.Profile.1.HTTP.Method", True, "POST", _S),
    ("BulkData.Profile.1.HTTP.UseDateHeader", True, "true", _B),
    ("BulkData.Profile.1.HTTP.RetryEnable", True, "false", _B),
    ("BulkData.Profile.1.HTTP.RetryMinimumWaitInterval", True, "5", _U),
    ("BulkData.Profile.1.HTTP.RetryIntervalMultiplier", True, "2000", _U),
    ("BulkData.Profile.1.HTTP.RequestURIParameterNumberOfEntries", False, "0", _U),
    ("BulkData.Profile.1.HTTP.PersistAcrossReboot", True, "false", _B),
)
_DONE = "bulkdata"  # DataModel._cache key: the model was completed already


def ensure_bulkdata(model: DataModel) -> DataModel:
    """Add ``<root>BulkData.`` (see the module's docstring) to a model that lacks it; once per model."""
    if model._cache.get(_DONE):
        return model
    model._cache[_DONE] = True
    if model.root + "BulkData." in model.nodes:
        return model
    children = {k: list(v) for k, v in model.children.items()}
    for rel, writable, value, xsd in _BULKDATA_NODES:
        path = model.root + rel
        model.nodes[path] = Node(rel.endswith("."), writable, value, xsd)
        if rel.endswith("."):
            children.setdefault(path, [])
        parent = parent_path(path)
        if parent is not None:
            children.setdefault(parent, []).append(path)
    model.children = {k: tuple(v) for k, v in children.items()}
    model._cache.clear()
    model._cache[_DONE] = True
    return model


def _unescape(text: str) -> str:
    """CSVEncoding values are XML-escaped in the data model (``&#13;&#10;``, ``&quot;``)."""
    for entity, char in (("&#13;", "\r"), ("&#10;", "\n"), ("&#9;", "\t"), ("&quot;", '"'), ("&apos;", "'"),
                         ("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&")):
        text = text.replace(entity, char)
    return text


@dataclass
class Profile:
    """One enabled profile's settings, read from the tree when a report is due."""

    path: str
    interval: float
    encoding: str
    report_format: str
    timestamp: str
    url: str
    username: str
    password: str
    compression: str
    method: str
    date_header: bool
    retained: int
    csv: dict[str, str] = field(default_factory=dict)
    references: list[tuple[str, str]] = field(default_factory=list)  # (name override, reference)


Collection = tuple[float, list[tuple[str, Any, str]]]  # (unix time, [(name, value, xsd)])


def read_profiles(device: Device) -> list[Profile]:
    """The device's enabled HTTP profiles with a URL (none while ``BulkData.Enable`` is false)."""
    t = device.text
    root = device.path("BulkData.")
    if t(root + "Enable", "false") != "true":
        return []
    out = []
    for prof in device.tree.children(root + "Profile."):
        if t(prof + "Enable", "false") != "true" or t(prof + "Protocol", "HTTP") != "HTTP" or not t(prof + "HTTP.URL"):
            continue
        encoding = t(prof + "EncodingType", "JSON").upper()
        enc = "JSONEncoding." if encoding == "JSON" else "CSVEncoding."
        refs = [(t(p + "Name"), t(p + "Reference")) for p in device.tree.children(prof + "Parameter.")]
        out.append(Profile(
            path=prof, interval=max(1.0, float(t(prof + "ReportingInterval", "86400") or 86400)), encoding=encoding,
            report_format=t(prof + enc + "ReportFormat", "NameValuePair" if encoding == "JSON" else "ParameterPerRow"),
            timestamp=t(prof + enc + ("ReportTimestamp" if encoding == "JSON" else "RowTimestamp"), "Unix-Epoch"),
            url=t(prof + "HTTP.URL"), username=t(prof + "HTTP.Username"), password=t(prof + "HTTP.Password"),
            compression=t(prof + "HTTP.Compression", "None"), method=t(prof + "HTTP.Method", "POST") or "POST",
            date_header=t(prof + "HTTP.UseDateHeader", "true") == "true",
            retained=int(t(prof + "NumberOfRetainedFailedReports", "0") or 0),
            csv={k: _unescape(t(prof + "CSVEncoding." + k, d)) for k, d in
                 (("FieldSeparator", ","), ("RowSeparator", "&#13;&#10;"), ("EscapeCharacter", "&quot;"))},
            references=[(n, r) for n, r in refs if r],
        ))
    return out


def _expand(device: Device, reference: str) -> list[str]:
    """The parameters a reference names: itself, everything under a partial path, ``*`` instances."""
    tree = device.tree
    segs = reference.split(".")
    prefixes = [""]
    for seg in segs[:-1]:
        nxt = []
        for pre in prefixes:
            if seg == "*":
                nxt += [c for c in tree.children(pre) if is_instance_segment(c.rstrip(".").rsplit(".", 1)[-1])]
            else:
                nxt.append(f"{pre}{seg}.")
        prefixes = [p for p in nxt if tree.exists(p)]
    last = segs[-1]
    out: list[str] = []
    for pre in prefixes:
        if last == "":  # a partial path: every parameter under it
            out += [p for p in tree.walk(pre) if not p.endswith(".")] if tree.exists(pre) else []
        elif tree.get(pre + last) is not None:
            out.append(pre + last)
    return out


def collect(device: Device, profile: Profile, now: float) -> Collection:
    """The values the profile's references name, now."""
    rows: list[tuple[str, Any, str]] = []
    for name, reference in profile.references:
        for path in _expand(device, reference):
            got = device.tree.get(path)
            if got is None:
                continue
            value, _ = decode_value(device.text(path), got[1])
            if isinstance(value, datetime):
                value = value.isoformat().replace("+00:00", "Z")
            elif isinstance(value, bytes):
                value = value.hex()
            shown = path
            if name:
                shown = name + path[len(reference):] if reference.endswith(".") else name
            rows.append((shown, value, got[1]))
    return now, rows


def _stamp(kind: str, t: float) -> Any:
    if kind == "ISO-8601":
        return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")
    return None if kind == "None" else int(t)


def _nest(target: dict[str, Any], name: str, value: Any) -> None:
    *objs, leaf = name.split(".")
    for seg in objs:
        target = target.setdefault(seg, {})
    target[leaf] = value


def encode(profile: Profile, collections: list[Collection]) -> tuple[bytes, str]:
    """(body, Content-Type) of a report holding ``collections`` (oldest first)."""
    if profile.encoding == "JSON":
        return _encode_json(profile, collections), "application/json; charset=UTF-8"
    return _encode_csv(profile, collections), "text/csv; charset=UTF-8"


def _put_flat(target: dict[str, Any], name: str, value: Any) -> None:
    target[name] = value


def _encode_json(profile: Profile, collections: list[Collection]) -> bytes:
    """``{"Report": [...]}``, one entry per collection: names flat, or nested for ObjectHierarchy."""
    put = _nest if profile.report_format == "ObjectHierarchy" else _put_flat
    reports = []
    for t, rows in collections:
        entry: dict[str, Any] = {}
        stamp = _stamp(profile.timestamp, t)
        if stamp is not None:
            entry["CollectionTime"] = stamp
        for name, value, _ in rows:
            put(entry, name, value)
        reports.append(entry)
    return orjson.dumps({"Report": reports})


def _csv_text(v: Any) -> str:
    return ("true" if v else "false") if isinstance(v, bool) else str(v)


def _encode_csv(profile: Profile, collections: list[Collection]) -> bytes:
    """CSV with the profile's separators: a column per parameter, or a row per parameter."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=profile.csv["FieldSeparator"] or ",", quotechar=profile.csv["EscapeCharacter"] or '"',
                   lineterminator=profile.csv["RowSeparator"] or "\r\n")
    stamped = profile.timestamp != "None"

    def stamp_cell(t: float) -> list[str]:
        return [str(_stamp(profile.timestamp, t))] if stamped else []

    header = ["ReportTimestamp"] if stamped else []
    if profile.report_format == "ParameterPerColumn":
        names = list(dict.fromkeys(n for _, rows in collections for n, _, _ in rows))
        w.writerow(header + names)
        for t, rows in collections:
            values = {n: _csv_text(v) for n, v, _ in rows}
            w.writerow(stamp_cell(t) + [values.get(n, "") for n in names])
    else:
        w.writerow(header + ["ParameterName", "ParameterValue", "ParameterType"])
        for t, rows in collections:
            for n, v, xsd in rows:
                w.writerow(stamp_cell(t) + [n, _csv_text(v), xsd.removeprefix("xsd:")])
    return buf.getvalue().encode()


class BulkDataReporter:
    """Runs a device's enabled profiles: collects and reports each on its interval. Started by the
    first configuration change (``changed``), so a fleet that never uses Bulk Data pays nothing."""

    def __init__(self, device: Device, clock: Callable[[], float] = time.time) -> None:
        self.device = device
        self.clock = clock
        self.sent = 0
        self.failed = 0
        self.last_status: int | str | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._retained: dict[str, list[Collection]] = {}

    def changed(self) -> None:
        """The ACS changed something under BulkData: re-read the profiles now."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=f"bulkdata-{self.device.serial}")
        self._wake.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
            self._task = None

    async def report_now(self, profile: Profile) -> bool:
        """Collect and send one report of ``profile`` (with the failed ones it still keeps)."""
        pending = [*self._retained.get(profile.path, []), collect(self.device, profile, self.clock())]
        body, content_type = encode(profile, pending)
        headers = {"Content-Type": content_type, "BBF-Report-Format": profile.report_format}
        if profile.compression.upper() == "GZIP":
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        if profile.date_header:
            headers["Date"] = formatdate(usegmt=True)
        if profile.username:
            headers["Authorization"] = "Basic " + base64.b64encode(f"{profile.username}:{profile.password}".encode()).decode()
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http, \
                    http.request(profile.method.upper(), profile.url, data=body, headers=headers) as r:
                await r.read()
                self.last_status = r.status
                ok = 200 <= r.status < 300
        except (aiohttp.ClientError, TimeoutError, OSError) as e:
            self.last_status, ok = type(e).__name__, False
        if ok:
            self.sent += 1
            self._retained.pop(profile.path, None)
        else:
            self.failed += 1
            self._retained[profile.path] = pending[-profile.retained:] if profile.retained > 0 else []
        return ok

    async def _run(self) -> None:
        due: dict[str, float] = {}
        intervals: dict[str, float] = {}
        while True:
            self._wake.clear()
            now = time.monotonic()
            profiles = {p.path: p for p in read_profiles(self.device)}
            for path in list(due):
                if path not in profiles:
                    del due[path]
            for path, p in profiles.items():
                if path not in due or intervals.get(path) != p.interval:
                    due[path] = now + p.interval  # first report one interval after it is enabled
                    intervals[path] = p.interval
            for path, p in profiles.items():
                if due[path] <= now:
                    await self.report_now(p)
                    due[path] = max(due[path] + p.interval, time.monotonic())
            if not due:
                await self._wake.wait()
                continue
            try:
                async with asyncio.timeout(max(0.0, min(due.values()) - time.monotonic())):
                    await self._wake.wait()
            except TimeoutError:
                pass
