"""Backup and restore of the inventory through the NBI, as one tar archive (gzip-compressed when
its name ends with .gz or .tgz). Members (docs/cli.md):

    manifest.json     {"format": "acs-backup", "version": 1, "created", "source", "counts", "sections"}
    devices.jsonl     one line per device: {"_id", "_deviceId", "_tags"}
    presets.jsonl     one preset per line, as GET /presets/ shows it (PUT /presets/<_id> takes it back)
    provisions.jsonl  provision scripts {"_id", "script"}, only when the NBI has /provisions (GenieACS)
    files.jsonl       one file per line: {"name", "length", "md5", "uploadDate", "metadata", "member"}
    files/NNNNNN      each file's content, in the order of files.jsonl
    tasks.jsonl       pending tasks: {"device", "name", <arguments>, "expiresIn": seconds | null}

The parameter values of the devices are not restored: the NBI cannot write them; a device
brings them back itself when it informs the new ACS. A restore therefore tags devices and queues
their tasks only once they are known there (the others are reported as missing).
"""

from __future__ import annotations

import io
import json
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from .client import EXIT_AUTH, EXIT_UNAVAILABLE, Nbi, NbiError, q

FORMAT = "acs-backup"
VERSION = 1
SECTIONS = ("presets", "provisions", "files", "tags", "tasks")
FILE_HEADERS = ("fileType", "oui", "productClass", "version")
# what a stored task holds besides the arguments it was created with
TASK_BOOKKEEPING = {"_id", "device", "timestamp", "status", "retries", "fault", "result", "completedAt",
                    "connectionRequest", "expiry", "attempts", "dataModel"}


def _open(path: Path, write: bool, named: Path | None = None) -> tarfile.TarFile:
    """The archive at ``path``: gzip-compressed when its name (or ``named``'s) ends .gz or .tgz."""
    gz = (named or path).name.endswith((".gz", ".tgz"))
    if write:
        return tarfile.open(path, "w:gz") if gz else tarfile.open(path, "w")
    return tarfile.open(path, "r:gz") if gz else tarfile.open(path, "r:*")


def _jsonl(items: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(i, sort_keys=True, separators=(",", ":"), default=str).encode() + b"\n" for i in items)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mtime: float) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(mtime)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def task_arguments(task: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """A stored pending task as the body that queues it again (``expiresIn``: seconds left)."""
    out = {k: v for k, v in task.items() if k not in TASK_BOOKKEEPING and not k.startswith("_")}
    out["device"] = task["device"]
    expires = None
    if task.get("expiry"):
        try:
            when = datetime.fromisoformat(str(task["expiry"]).replace("Z", "+00:00"))
            expires = max(1.0, (when - (now or datetime.now(UTC))).total_seconds())
        except ValueError:
            expires = None
    out["expiresIn"] = expires
    return out


def _task_key(body: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in body.items() if k not in ("expiresIn", "expiry")}, sort_keys=True, default=str)


def create(nbi: Nbi, path: Path, *, include_uploads: bool = False,
           step: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Write the archive; the manifest's counts."""
    say = step or (lambda _msg: None)
    now = datetime.now(UTC)
    say("devices")
    devices = [{"_id": d["_id"], "_deviceId": d.get("_deviceId", {}), "_tags": d.get("_tags", [])}
               for d in nbi.find("devices", projection="_id,_deviceId,_tags")]
    say("presets")
    presets = nbi.find("presets")
    say("provisions")
    provisions: list[dict[str, Any]] | None
    try:
        provisions = nbi.find("provisions")
    except NbiError as e:
        if e.status not in (404, 405):
            raise
        provisions = None  # this NBI has no provision scripts (declarations live in presets)
    say("tasks")
    tasks = [task_arguments(t, now) for t in nbi.find("tasks", {"status": "pending"})]
    listed = nbi.find("files")
    files = [f for f in listed if include_uploads or not (f.get("metadata") or {}).get("device")]
    counts: dict[str, int | None] = {"devices": len(devices), "tagged_devices": sum(1 for d in devices if d["_tags"]),
              "presets": len(presets), "provisions": len(provisions) if provisions is not None else None,
              "files": len(files), "file_bytes": 0, "tasks": len(tasks),
              "uploads_skipped": len(listed) - len(files)}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    with _open(tmp, write=True, named=path) as tar:
        stamp = now.timestamp()
        _add_bytes(tar, "devices.jsonl", _jsonl(devices), stamp)
        _add_bytes(tar, "presets.jsonl", _jsonl(presets), stamp)
        if provisions is not None:
            _add_bytes(tar, "provisions.jsonl", _jsonl(provisions), stamp)
        entries = []
        file_bytes = 0
        for i, f in enumerate(files, 1):
            name = f["_id"]
            say(f"file {name}")
            member = f"files/{i:06d}"
            with tempfile.SpooledTemporaryFile(max_size=16 << 20) as spool:
                size = 0
                for chunk in nbi.download(f"/files/{q(name)}"):
                    spool.write(chunk)
                    size += len(chunk)
                spool.seek(0)
                info = tarfile.TarInfo(member)
                info.size, info.mtime, info.mode = size, int(stamp), 0o644
                tar.addfile(info, spool)
            file_bytes += size
            meta = f.get("metadata") or {}
            entries.append({"name": name, "length": size, "md5": meta.get("md5") or f.get("md5"),
                            "uploadDate": f.get("uploadDate"), "metadata": meta, "member": member})
        counts["file_bytes"] = file_bytes
        _add_bytes(tar, "files.jsonl", _jsonl(entries), stamp)
        _add_bytes(tar, "tasks.jsonl", _jsonl(tasks), stamp)
        manifest = {"format": FORMAT, "version": VERSION, "created": now.isoformat().replace("+00:00", "Z"),
                    "source": nbi.endpoint.url, "counts": counts,
                    "sections": ["devices", "presets", *(["provisions"] if provisions is not None else []),
                                 "files", "tasks"]}
        _add_bytes(tar, "manifest.json", json.dumps(manifest, indent=2).encode(), stamp)
    tmp.replace(path)
    return manifest


# --- restore ----------------------------------------------------------------------------------------

@dataclass
class SectionReport:
    restored: int = 0
    unchanged: int = 0
    missing: list[str] = field(default_factory=list)  # devices the NBI does not know (yet)
    failed: list[str] = field(default_factory=list)  # "<item>: <error>"

    def send(self, nbi: Nbi, item: str, method: str, path: str, **kw: Any) -> None:
        """One restoring call: counted as restored, or its refusal noted against ``item``; a
        refused token or an unreachable NBI stops the restore."""
        try:
            nbi.request(method, path, **kw)
            self.restored += 1
        except NbiError as e:
            if e.exit_code in (EXIT_AUTH, EXIT_UNAVAILABLE):
                raise
            self.failed.append(f"{item}: {e}")


@dataclass
class Archive:
    manifest: dict[str, Any]
    members: dict[str, bytes]
    tar: tarfile.TarFile

    def lines(self, name: str) -> Iterator[dict[str, Any]]:
        for line in self.members.get(name, b"").splitlines():
            if line.strip():
                yield json.loads(line)

    def content(self, member: str) -> IO[bytes]:
        f = self.tar.extractfile(member)
        if f is None:
            raise ValueError(f"archive member {member} is missing")
        return f


def open_archive(path: Path) -> Archive:
    try:
        tar = _open(path, write=False)  # the Archive holds it; restore closes it
    except (OSError, tarfile.TarError) as e:
        raise ValueError(f"{path}: not a readable backup archive (a tar or tar.gz written by acs backup)"
                         + (f": {e.strerror}" if isinstance(e, OSError) and e.strerror else "")) from None
    members: dict[str, bytes] = {}
    for info in tar.getmembers():
        if info.isfile() and info.name.endswith((".json", ".jsonl")):
            f = tar.extractfile(info)
            members[info.name] = f.read() if f else b""
    if "manifest.json" not in members:
        raise ValueError(f"{path}: no manifest.json: not an acs backup")
    manifest = json.loads(members["manifest.json"])
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise ValueError(f"{path}: format {manifest.get('format')} version {manifest.get('version')}, "
                         f"expected {FORMAT} version {VERSION}")
    return Archive(manifest, members, tar)


def restore(nbi: Nbi, archive: Archive, sections: set[str],
            step: Callable[[str], None] | None = None) -> dict[str, SectionReport]:
    """Each chosen section of ``archive`` sent to the NBI, in SECTIONS' order; what each did."""
    report = {s: SectionReport() for s in SECTIONS if s in sections}
    restorer = _Restorer(nbi, archive, step or (lambda _msg: None))
    for section, r in report.items():
        getattr(restorer, section)(r)
    return report


class _Restorer:
    """One method per archive section (named as in SECTIONS); tags and tasks go only to devices
    the NBI knows (listed once, when first needed)."""

    def __init__(self, nbi: Nbi, archive: Archive, say: Callable[[str], None]) -> None:
        self.nbi, self.archive, self.say = nbi, archive, say
        self._known: set[str] | None = None

    def device_known(self, device: str) -> bool:
        if self._known is None:
            self._known = set(self.nbi.device_ids(None))
        return device in self._known

    def presets(self, r: SectionReport) -> None:
        self.say("presets")
        for preset in self.archive.lines("presets.jsonl"):
            name = str(preset.get("_id"))
            r.send(self.nbi, name, "PUT", f"/presets/{q(name)}", json=preset)

    def provisions(self, r: SectionReport) -> None:
        for prov in self.archive.lines("provisions.jsonl"):
            self.say("provisions")
            r.send(self.nbi, prov["_id"], "PUT", f"/provisions/{q(prov['_id'])}",
                   content=str(prov.get("script", "")).encode())

    def files(self, r: SectionReport) -> None:
        for entry in self.archive.lines("files.jsonl"):
            self.say(f"file {entry['name']}")
            meta = entry.get("metadata") or {}
            headers = {h: str(meta[h]) for h in FILE_HEADERS if meta.get(h)}
            r.send(self.nbi, entry["name"], "PUT", f"/files/{q(entry['name'])}",
                   content=self.archive.content(entry["member"]).read(),
                   headers={**headers, "Content-Type": "application/octet-stream"})

    def tags(self, r: SectionReport) -> None:
        self.say("tags")
        for dev in self.archive.lines("devices.jsonl"):
            tags = dev.get("_tags") or []
            if not tags:
                continue
            if not self.device_known(dev["_id"]):
                r.missing.append(dev["_id"])
                continue
            for tag in tags:
                r.send(self.nbi, f"{dev['_id']} tag {tag}", "POST", f"/devices/{q(dev['_id'])}/tags/{q(tag)}")

    def tasks(self, r: SectionReport) -> None:
        """Pending tasks, but those already pending here (the same task and arguments)."""
        self.say("tasks")
        pending = {_task_key(task_arguments(t)) for t in self.nbi.find("tasks", {"status": "pending"})}
        for task in self.archive.lines("tasks.jsonl"):
            device = task["device"]
            if _task_key(task) in pending:
                r.unchanged += 1
                continue
            if not self.device_known(device):
                r.missing.append(device)
                continue
            body = {k: v for k, v in task.items() if k != "expiresIn"}
            if task.get("expiresIn"):
                body["expiry"] = task["expiresIn"]
            r.send(self.nbi, f"{device} {task.get('name')}", "POST", f"/devices/{q(device)}/tasks", json=body)
