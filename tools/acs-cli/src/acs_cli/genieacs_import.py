"""``acs import-genieacs``: a GenieACS database brought into this ACS's MongoDB as it is.

The source is a folder of ``mongoexport`` files (``<collection>.json``, one Extended JSON
document per line or a ``--jsonArray``) or a live GenieACS MongoDB URI. The collections have
the same names and shapes here (the ACS keeps GenieACS's documents), so they are written
directly to the database, not through the NBI, which cannot write parameter values: device ids,
tags, parameter values and their timestamps arrive intact.

- devices: the nested parameter tree with ``_value``/``_type``/``_timestamp``/``_object``/
  ``_writable``; connection request credentials move to the ``credentials`` collection (the ACS
  keeps secrets out of device documents), and each device gets its ``last_informs`` entry.
- presets, provisions, virtualParameters: as they are; a script that does not compile is
  reported and not imported (the NBI would refuse it), a preset the scheduler could not run is
  imported and reported.
- files: GridFS (``fs.files`` + ``fs.chunks``) content and metadata.
- faults, tasks: as they are (tasks pending).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from bson import json_util
from provision_scripts import ScriptError, check_syntax

COLLECTIONS = ("devices", "presets", "provisions", "virtualParameters", "files", "faults", "tasks")
ATTRIBUTES = {"_value", "_type", "_timestamp", "_object", "_writable"}
SECRET_SUFFIXES = ("Password", "PreSharedKey", "KeyPassphrase", "WEPKey", "Passphrase")
ROOT_FIELDS = {"_id", "_deviceId", "_registered", "_lastInform", "_lastBoot", "_lastBootstrap", "_tags", "_timestamp"}
MS_PATHS = ("InternetGatewayDevice.ManagementServer", "Device.ManagementServer")


class ImportError_(RuntimeError):
    """A source that cannot be read (named with a trailing underscore: not the builtin)."""


@dataclass
class Section:
    imported: int = 0
    skipped: list[str] = field(default_factory=list)  # "<id>: why"
    warnings: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------- sources

def _aware(v: Any) -> Any:
    if isinstance(v, datetime) and v.tzinfo is None:
        return v.replace(tzinfo=UTC)
    if isinstance(v, dict):
        return {k: _aware(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_aware(x) for x in v]
    return v


def read_export(path: Path) -> Iterator[dict[str, Any]]:
    """The documents of one mongoexport file (JSON lines or a JSON array), Extended JSON decoded."""
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        docs = json_util.loads(text)
        yield from (_aware(d) for d in docs)
        return
    for n, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                yield _aware(json_util.loads(line))
            except ValueError as e:
                raise ImportError_(f"{path.name} line {n}: not JSON ({e})") from None


class FolderSource:
    """``<folder>/<collection>.json`` files as mongoexport writes them (absent ones are empty)."""

    def __init__(self, folder: Path) -> None:
        if not folder.is_dir():
            raise ImportError_(f"{folder} is not a folder of mongoexport files")
        self.folder = folder

    def documents(self, collection: str) -> Iterator[dict[str, Any]]:
        for name in (f"{collection}.json", f"{collection}.jsonl"):
            if (self.folder / name).exists():
                yield from read_export(self.folder / name)
                return

    def file_content(self, file_doc: dict[str, Any]) -> bytes | None:
        chunks = sorted((c for c in self.documents("fs.chunks") if c.get("files_id") == file_doc["_id"]), key=lambda c: c["n"])
        return b"".join(bytes(c["data"]) for c in chunks) if chunks else None


class MongoSource:
    """A live GenieACS database (``mongodb://host/genieacs``)."""

    def __init__(self, uri: str, database: str | None = None) -> None:
        from pymongo import MongoClient
        from pymongo.uri_parser import parse_uri

        self.client: MongoClient = MongoClient(uri, serverSelectionTimeoutMS=10000, tz_aware=True)
        self.db = self.client[database or parse_uri(uri).get("database") or "genieacs"]

    def documents(self, collection: str) -> Iterator[dict[str, Any]]:
        yield from self.db[collection].find({})

    def file_content(self, file_doc: dict[str, Any]) -> bytes | None:
        chunks = self.db["fs.chunks"].find({"files_id": file_doc["_id"]}).sort("n", 1)
        data = b"".join(bytes(c["data"]) for c in chunks)
        return data if data or not file_doc.get("length") else None

    def close(self) -> None:
        self.client.close()


# ---------------------------------------------------------------------------------------- devices

def _nest(doc: dict[str, Any]) -> dict[str, Any]:
    """A device document whose parameters may be stored flat (``"A.B.C": {...}``) as a tree."""
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if "." not in key or key.startswith("_"):
            out[key] = value
            continue
        node = out
        *parents, last = key.split(".")
        for seg in parents:
            node = node.setdefault(seg, {})
        node.setdefault(last, {}).update(value if isinstance(value, dict) else {"_value": value})
    return out


def _clean_tree(node: dict[str, Any], path: str, secrets: dict[str, Any]) -> dict[str, Any]:
    """Keep the attributes the ACS knows; secret values go to ``secrets`` instead."""
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key.startswith("_"):
            if key in ATTRIBUTES:
                out[key] = value
            elif key == "_valueTimestamp" and "_timestamp" not in node:
                out["_timestamp"] = value
            continue
        if isinstance(value, dict):
            out[key] = _clean_tree(value, f"{path}.{key}" if path else key, secrets)
    if path.endswith(SECRET_SUFFIXES) and "_value" in out:
        secrets[path] = out.pop("_value")
    return out


def convert_device(doc: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any]]:
    """(device document, credentials document or None, last_informs document)."""
    doc = _nest(doc)
    device_id = str(doc["_id"])
    secrets: dict[str, Any] = {}
    out: dict[str, Any] = {k: v for k, v in doc.items() if k in ROOT_FIELDS}
    out["_tags"] = [str(t) for t in out.get("_tags") or []]
    for key, value in doc.items():
        if not key.startswith("_") and isinstance(value, dict):
            out[key] = _clean_tree(value, key, secrets)
    last = out.get("_lastInform")
    out["_acs"] = {"lastEvents": [], "informHash": "imported-from-genieacs"}  # the first Inform rewrites it
    creds = None
    for ms in MS_PATHS:
        user_node: Any = out
        for seg in f"{ms}.ConnectionRequestUsername".split("."):
            user_node = user_node.get(seg) if isinstance(user_node, dict) else None
        password = secrets.get(f"{ms}.ConnectionRequestPassword")
        username = user_node.get("_value") if isinstance(user_node, dict) else None
        if username is not None or password is not None:
            creds = {"_id": device_id, "connectionRequest": {"username": str(username or ""), "password": str(password or "")}}
            break
    last_informs: dict[str, Any] = {"_id": device_id, "_lastInform": last, "_acs": {"lastEvents": []}}
    return out, creds, last_informs


# ---------------------------------------------------------------------------------------- the import

def _preset_problem(doc: dict[str, Any]) -> str | None:
    """Why the scheduler would skip this preset, if it would (it is imported all the same)."""
    try:
        from device_query.errors import PresetError

        from task_scheduler.provisioning.presets import compile_preset
    except ImportError:  # the CLI installed without the scheduler: no check
        return None
    try:
        compile_preset(doc)
    except PresetError as e:
        return str(e)
    return None


def _sealed(creds: dict[str, Any]) -> dict[str, Any]:
    """The credentials document with its password encrypted when ACS_CREDENTIALS_KEYS is set
    (acs_contracts.cpe_secrets, as the ACS stores them); as is without a key or without the ACS's
    libraries (the ACS still reads a plaintext one)."""
    try:
        from acs_contracts.cpe_secrets import Secrets, keys_from_env
    except ImportError:
        return creds
    sealer = Secrets(keys_from_env())
    cr = creds.get("connectionRequest")
    if not sealer.enabled or not isinstance(cr, dict):
        return creds
    return {**creds, "connectionRequest": {**cr, "password": sealer.seal(str(cr.get("password") or ""))}}


def _task(doc: dict[str, Any]) -> dict[str, Any]:
    out = dict(doc)
    out.setdefault("status", "pending")
    out.setdefault("retries", 0)
    out.setdefault("fault", None)
    out.setdefault("result", None)
    out.setdefault("completedAt", None)
    out.setdefault("expiry", None)
    return out


def run_import(source: FolderSource | MongoSource, target_db: Any, sections: Iterable[str] = COLLECTIONS, *,
               dry_run: bool = False, progress: Callable[[str, int], None] | None = None) -> dict[str, Section]:
    """Import ``sections`` of ``source`` into ``target_db`` (a pymongo Database); a report per section."""
    report: dict[str, Section] = {}
    wanted = set(sections)
    importer = _Importer(source, target_db, dry_run, progress)
    for coll, step in _Importer.STEPS:
        if coll in wanted:
            sec = report[coll] = Section()
            step(importer, coll, sec)
    return report


class _Importer:
    """One step per GenieACS collection (``STEPS``, in import order), each filling its Section."""

    def __init__(self, source: FolderSource | MongoSource, target_db: Any, dry_run: bool,
                 progress: Callable[[str, int], None] | None) -> None:
        self.source, self.db, self.dry_run, self.progress = source, target_db, dry_run, progress

    def write(self, coll: str, doc: dict[str, Any]) -> None:
        if not self.dry_run:
            self.db[coll].replace_one({"_id": doc["_id"]}, doc, upsert=True)

    def devices(self, coll: str, sec: Section) -> None:
        """Each device with its last Inform and its credentials (sealed), in the ACS's collections."""
        for raw in self.source.documents(coll):
            if "_id" not in raw:
                sec.skipped.append(f"{raw!r:.80}: no _id")
                continue
            device, creds, last = convert_device(raw)
            self.write("devices", device)
            self.write("last_informs", last)
            if creds is not None:
                self.write("credentials", _sealed(creds))
            sec.imported += 1
            if self.progress and sec.imported % 1000 == 0:
                self.progress("devices", sec.imported)

    def scripts(self, coll: str, sec: Section) -> None:
        """Provisions and virtual parameters: the scripts that compile."""
        for doc in self.source.documents(coll):
            name, script = str(doc.get("_id")), doc.get("script")
            try:
                check_syntax(script if isinstance(script, str) else None)  # type: ignore[arg-type]
            except ScriptError as e:
                sec.skipped.append(f"{name}: {e}")
                continue
            self.write(coll, {"_id": name, "script": script})
            sec.imported += 1

    def presets(self, coll: str, sec: Section) -> None:
        """Every preset; one the scheduler would skip is imported with a warning."""
        for doc in self.source.documents(coll):
            doc = {**doc, "_id": str(doc.get("_id"))}
            problem = _preset_problem(doc)
            if problem:
                sec.warnings.append(f"{doc['_id']}: imported, but the scheduler skips it: {problem}")
            self.write(coll, doc)
            sec.imported += 1

    def files(self, coll: str, sec: Section) -> None:
        for doc in self.source.documents("fs.files"):
            name = str(doc.get("filename") or doc.get("_id"))
            content = self.source.file_content(doc)
            if content is None:
                sec.skipped.append(f"{name}: no content (export fs.chunks too)")
                continue
            if not self.dry_run:
                _put_file(self.db, name, content, doc)
            sec.imported += 1

    def device_documents(self, coll: str, sec: Section) -> None:
        """Faults and tasks: those naming a device (tasks completed with the fields the ACS reads)."""
        for doc in self.source.documents(coll):
            if "_id" not in doc or "device" not in doc:
                sec.skipped.append(f"{doc.get('_id')!r}: no device")
                continue
            self.write(coll, _task(doc) if coll == "tasks" else doc)
            sec.imported += 1

    STEPS: ClassVar[tuple[tuple[str, Callable[[_Importer, str, Section], None]], ...]] = (
        ("devices", devices), ("provisions", scripts), ("virtualParameters", scripts), ("presets", presets),
        ("files", files), ("faults", device_documents), ("tasks", device_documents))


def _put_file(db: Any, name: str, content: bytes, doc: dict[str, Any]) -> None:
    """Store a file as the NBI stores uploads: GridFS bucket ``fs``, the newest copy only."""
    import hashlib

    from gridfs import GridFSBucket

    bucket = GridFSBucket(db, bucket_name="fs")
    meta = dict(doc.get("metadata") or {})
    meta["md5"] = hashlib.md5(content).hexdigest()  # noqa: S324 - the checksum GenieACS and CPEs use
    for old in db["fs.files"].find({"filename": name}, {"_id": 1}):
        bucket.delete(old["_id"])
    bucket.upload_from_stream(name, content, metadata=meta)


def report_json(report: dict[str, Section]) -> str:
    return json.dumps({k: {"imported": s.imported, "skipped": s.skipped, "warnings": s.warnings} for k, s in report.items()},
                      indent=2)
