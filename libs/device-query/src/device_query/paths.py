"""Parameter paths and path patterns: plain TR-069 paths (``Device.DeviceInfo.UpTime``, or
``Device.WiFi.`` for an object), ``*`` for every instance of a table, and aliases
``[Key:Value,Other:Value]`` for the instances whose key parameters have those values, e.g.
``Device.WiFi.SSID.*.SSID`` or ``...WANIPConnection.[AddressingType:DHCP].Enable``.

``parse`` checks a pattern (the NBI when a preset is stored, the scheduler when a script
declares one); ``resolve`` walks a device document. Where the document cannot answer (a table
never listed, a leaf never read) it says what to read, so the engine can fetch exactly that.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import PathError

# A segment: a TR-106 name or an instance number.
SEGMENT = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_\-]*|[0-9]+)$")
# An alias key: a parameter path relative to the instance.
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*(\.[A-Za-z_][A-Za-z0-9_\-]*)*$")
MAX_LENGTH = 1024

WILD = "*"

__all__ = [
    "MAX_LENGTH", "SEGMENT", "WILD", "Alias", "PathError", "Resolution", "Segment", "is_concrete", "node_at",
    "parse", "resolve", "valid_path",
]


def valid_path(path: Any, *, partial: bool = True, allow_empty: bool = False) -> bool:
    """A plain TR-069 parameter path (no patterns); ``partial`` allows a trailing "." (object path)."""
    if not isinstance(path, str):
        return False
    if path == "":
        return allow_empty
    if len(path) > MAX_LENGTH:
        return False
    body = path[:-1] if path.endswith(".") else path
    if path.endswith(".") and not partial:
        return False
    return all(SEGMENT.match(s) for s in body.split("."))


@dataclass(frozen=True)
class Alias:
    keys: tuple[tuple[str, str], ...]

    def __str__(self) -> str:
        return "[" + ",".join(f"{k}:{v}" for k, v in self.keys) + "]"


Segment = str | Alias


def _split(text: str) -> list[str]:
    """Split at the dots outside brackets (an alias value may hold dots: ``[IP:10.0.0.1]``)."""
    parts: list[str] = []
    buf: list[str] = []
    depth = 0
    for ch in text:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth < 0:
                raise PathError(f"unbalanced ] in parameter path {text!r}", text)
        if ch == "." and depth == 0:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    if depth:
        raise PathError(f"unbalanced [ in parameter path {text!r}", text)
    parts.append("".join(buf))
    return parts


def parse(text: Any) -> tuple[Segment, ...]:
    """``"A.*.B.[K:v].C"`` -> ("A", "*", "B", Alias((("K","v"),)), "C"); PathError when invalid."""
    if not isinstance(text, str) or not text or len(text) > MAX_LENGTH:
        raise PathError(f"invalid parameter path {text!r}", text)
    return _parse(text)


def _alias(part: str, text: str) -> Alias:
    keys = []
    for item in part[1:-1].split(","):
        k, sep, v = item.partition(":")
        if not sep or not _KEY.match(k.strip()):
            raise PathError(f"invalid alias {part!r} in parameter path {text!r}", text)
        keys.append((k.strip(), v))
    return Alias(tuple(keys))


@functools.lru_cache(maxsize=8192)
def _parse(text: str) -> tuple[Segment, ...]:
    """Memoised: scripts declare the same paths at every run of every session."""
    body = text[:-1] if text.endswith(".") else text
    segs: list[Segment] = []
    for part in _split(body):
        if part == WILD:
            segs.append(WILD)
        elif part.startswith("[") and part.endswith("]"):
            segs.append(_alias(part, text))
        elif SEGMENT.match(part):
            segs.append(part)
        else:
            raise PathError(f"invalid segment {part!r} in parameter path {text!r}", text)
    first = segs[0]
    if not isinstance(first, str) or first == WILD or first.isdigit():
        raise PathError(f"invalid segment {str(first)!r} in parameter path {text!r}: a path starts with a root "
                        "object name", text)
    return tuple(segs)


def is_concrete(segs: tuple[Segment, ...]) -> bool:
    return all(isinstance(s, str) and s != WILD for s in segs)


def node_at(doc: Mapping[str, Any], path: str) -> Any:
    """The node at a dotted path of a nested device document, or None."""
    node: Any = doc
    for seg in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(seg)
    return node


def _str_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _matches(inst: dict, alias: Alias) -> bool:
    """Whether an instance's key parameters have the alias's values."""
    for key, want in alias.keys:
        node = node_at(inst, key)
        if not isinstance(node, dict) or "_value" not in node or _str_value(node["_value"]) != want:
            return False
    return True


@dataclass
class Resolution:
    """What a pattern names in the document, and what must be read before it can say more."""

    paths: list[str] = field(default_factory=list)  # existing nodes the pattern names
    unknown_leaves: list[str] = field(default_factory=list)  # concrete paths absent from an incomplete parent
    unknown_tables: list[str] = field(default_factory=list)  # object paths whose contents must be read

    @property
    def complete(self) -> bool:
        return not self.unknown_leaves and not self.unknown_tables


Frontier = list[tuple[str, dict]]


def resolve(doc: dict, segs: tuple[Segment, ...], is_complete: Callable[[str], bool]) -> Resolution:
    """Expand ``segs`` against ``doc``; ``is_complete(path)`` says whether the object at ``path``
    is fully known (listed or read as a whole recently), so a missing child really is absent."""
    res = Resolution()
    root = segs[0]
    if not isinstance(root, str) or not isinstance(doc.get(root), dict):
        return res  # the device has another data model root: nothing to do here
    frontier: Frontier = [(root, doc[root])]
    for i, seg in enumerate(segs[1:], start=1):
        nxt: Frontier = []
        for prefix, node in frontier:
            if isinstance(seg, str) and seg != WILD:
                _child(res, nxt, prefix, node, segs, i, is_complete)
            elif not is_complete(prefix):
                res.unknown_tables.append(prefix)
            else:
                nxt.extend(_instances(prefix, node, seg))
        frontier = nxt
        if not frontier:
            break
    res.paths = [p for p, _ in frontier]
    return res


def _child(res: Resolution, nxt: Frontier, prefix: str, node: dict, segs: tuple[Segment, ...], i: int,
           is_complete: Callable[[str], bool]) -> None:
    """One named child of ``node``: followed when present, else what must be read to know."""
    seg = segs[i]
    child = node.get(seg)
    path = f"{prefix}.{seg}"
    if isinstance(child, dict):
        nxt.append((path, child))
    elif is_complete(prefix):
        return  # the parent is fully known: this child does not exist
    elif is_concrete(segs[i:]):
        res.unknown_leaves.append(".".join([path, *segs[i + 1:]]))  # type: ignore[list-item]
    else:
        res.unknown_tables.append(path)


def _instances(prefix: str, node: dict, seg: Segment) -> Frontier:
    """The instances of a fully known table that ``*`` or an alias names, in number order."""
    out: Frontier = []
    for key in sorted((k for k in node if k.isdigit()), key=int):
        inst = node[key]
        if isinstance(inst, dict) and (not isinstance(seg, Alias) or _matches(inst, seg)):
            out.append((f"{prefix}.{key}", inst))
    return out
