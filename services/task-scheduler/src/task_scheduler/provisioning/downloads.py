"""GenieACS's ``Downloads.*``: firmware and file pushes declared by scripts.

A script declares a download instance (usually by alias, ``Downloads.[FileType:1 Firmware
Upgrade Image]``), its ``FileName`` (a file of the file server) and ``Download``: the time it must
have been pushed at or after. When that time is newer than the instance's last push, the engine
sends a Download RPC with a signed URL and records the push under ``Downloads.<n>`` in the device
document (``FileType``, ``FileName``, ``TargetFileName``, ``Download``, ``LastDownload``), where
the next runs of the script see it satisfied.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

ROOT = "Downloads"
ATTRIBUTES = ("FileType", "FileName", "TargetFileName", "Download")
DEFAULT_FILE_TYPE = "1 Firmware Upgrade Image"
_ALIAS = re.compile(r"^\[(.*)\]$")


@dataclass
class DownloadIntent:
    """What scripts declared for one ``Downloads.<selector>`` in this round."""

    selector: str
    channel: str
    keys: dict[str, str] = field(default_factory=dict)  # alias keys: what the instance must have
    values: dict[str, Any] = field(default_factory=dict)  # FileName, TargetFileName, FileType, Download


def to_ms(v: Any) -> int | None:
    """A declared or stored time as epoch ms (numbers, dates, ISO text)."""
    if isinstance(v, datetime):
        return int((v if v.tzinfo else v.replace(tzinfo=UTC)).timestamp() * 1000)
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return int(v)
    if isinstance(v, str):
        try:
            return int(datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp() * 1000)
        except ValueError:
            return None
    return None


def parse(path: str) -> tuple[str, dict[str, str], str | None]:
    """``Downloads.<selector>[.<attribute>]`` -> (selector, alias keys, attribute)."""
    rest = path[len(ROOT) + 1:] if path.startswith(ROOT + ".") else ""
    if rest.startswith("["):
        end = rest.find("]")
        selector, tail = rest[: end + 1], rest[end + 2:] if end + 1 < len(rest) else ""
    else:
        selector, _, tail = rest.partition(".")
    keys: dict[str, str] = {}
    m = _ALIAS.match(selector)
    if m:
        for item in m[1].split(","):
            k, _, v = item.partition(":")
            keys[k.strip()] = v
    return selector, keys, tail or None


def _instances(doc: dict) -> dict[str, dict]:
    root = doc.get(ROOT)
    return {k: v for k, v in root.items() if k.isdigit() and isinstance(v, dict)} if isinstance(root, dict) else {}


def _value(inst: dict, attr: str) -> Any:
    node = inst.get(attr)
    return node.get("_value") if isinstance(node, dict) else None


def find_instance(doc: dict, intent: DownloadIntent) -> str | None:
    """The instance number the intent names, or None when it must be created."""
    insts = _instances(doc)
    if intent.selector.isdigit():
        return intent.selector if intent.selector in insts else None
    for num in sorted(insts, key=int):
        if all(str(_value(insts[num], k)) == v for k, v in intent.keys.items()):
            return num
    return None


def pending(doc: dict, intent: DownloadIntent) -> bool:
    """Is the declared ``Download`` time newer than the instance's last push?"""
    want = to_ms(intent.values.get("Download"))
    if want is None or not intent.values.get("FileName"):
        return False
    num = find_instance(doc, intent)
    last = to_ms(_value(_instances(doc)[num], "Download")) if num is not None else None
    return last is None or want > last


def record(doc: dict, intent: DownloadIntent, now: datetime, command_key: str = "") -> dict[str, Any]:
    """Write the push into ``doc``; the ``$set`` entries for the device document. The Download's
    ``command_key`` and the declaring channel are kept on the instance (``_commandKey``,
    ``_channel``) so the CPE's TransferComplete finds it (:func:`completion`)."""
    num = find_instance(doc, intent)
    if num is None:
        num = str(max((int(k) for k in _instances(doc)), default=0) + 1)
    root = doc.setdefault(ROOT, {"_object": True, "_writable": True})
    inst = root.setdefault(num, {"_object": True, "_writable": True})
    want = to_ms(intent.values.get("Download")) or int(now.timestamp() * 1000)
    fields: dict[str, tuple[Any, str]] = {
        "FileType": (str(intent.values.get("FileType") or intent.keys.get("FileType") or DEFAULT_FILE_TYPE), "xsd:string"),
        "FileName": (str(intent.values.get("FileName")), "xsd:string"),
        "TargetFileName": (str(intent.values.get("TargetFileName") or ""), "xsd:string"),
        "Download": (datetime.fromtimestamp(want / 1000, UTC), "xsd:dateTime"),
        "LastDownload": (now, "xsd:dateTime"),
    }
    for k, v in intent.keys.items():
        fields.setdefault(k, (v, "xsd:string"))
    sets: dict[str, Any] = {f"{ROOT}._object": True, f"{ROOT}.{num}._object": True}
    if command_key:
        inst["_commandKey"], inst["_channel"] = command_key, intent.channel
        sets.update({f"{ROOT}.{num}._commandKey": command_key, f"{ROOT}.{num}._channel": intent.channel})
    for attr, (value, xsd) in fields.items():
        node = {"_value": value, "_type": xsd, "_timestamp": now, "_object": False, "_writable": True}
        inst[attr] = node
        sets.update({f"{ROOT}.{num}.{attr}.{a}": v for a, v in node.items()})
    return sets


def completion(doc: dict, command_key: str, start: datetime | None, complete: datetime | None,
               now: datetime) -> tuple[str, str, dict[str, Any]] | None:
    """The CPE finished the Download pushed with ``command_key``: (instance number, channel, the
    ``$set`` entries recording ``StartTime`` and ``CompleteTime``), or None when no instance of
    ``doc`` was pushed with that key."""
    for num, inst in _instances(doc).items():
        if isinstance(inst, dict) and inst.get("_commandKey") == command_key:
            sets: dict[str, Any] = {}
            for attr, value in (("StartTime", start or now), ("CompleteTime", complete or now)):
                node = {"_value": value, "_type": "xsd:dateTime", "_timestamp": now, "_object": False, "_writable": False}
                sets.update({f"{ROOT}.{num}.{attr}.{a}": v for a, v in node.items()})
            return num, str(inst.get("_channel") or "default"), sets
    return None

