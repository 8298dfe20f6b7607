"""Parameter path patterns: plain TR-069 paths, ``*`` for every instance of a table, and
aliases ``[Key:Value,Other:Value]`` for the instances whose key parameters have those values,
e.g. ``Device.WiFi.SSID.*.SSID`` or ``...WANIPConnection.[AddressingType:DHCP].Enable``.

Resolution walks the device document the scheduler holds. Where the document cannot answer (a
table never listed, a leaf never read) it says what to read, so the engine can fetch exactly that.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

_NAME = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_\-]*|[0-9]+)$")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*(\.[A-Za-z_][A-Za-z0-9_\-]*)*$")

WILD = "*"


class PathError(ValueError):
    """A path pattern that is not one."""


@dataclass(frozen=True)
class Alias:
    keys: tuple[tuple[str, str], ...]

    def __str__(self) -> str:
        return "[" + ",".join(f"{k}:{v}" for k, v in self.keys) + "]"


Segment = str | Alias


def _split(text: str) -> list[str]:
    parts: list[str] = []
    buf: list[str] = []
    depth = 0
    for ch in text:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth < 0:
                raise PathError(f"unbalanced ] in {text!r}")
        if ch == "." and depth == 0:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    if depth:
        raise PathError(f"unbalanced [ in {text!r}")
    parts.append("".join(buf))
    return parts


def parse(text: Any) -> tuple[Segment, ...]:
    """``"A.*.B.[K:v].C"`` -> ("A", "*", "B", Alias((("K","v"),)), "C"); PathError when invalid."""
    if not isinstance(text, str) or not text or len(text) > 1024:
        raise PathError(f"invalid parameter path {text!r}")
    return _parse(text)


@functools.lru_cache(maxsize=8192)
def _parse(text: str) -> tuple[Segment, ...]:
    """Memoised: scripts declare the same paths at every run of every session."""
    body = text[:-1] if text.endswith(".") else text
    segs: list[Segment] = []
    for part in _split(body):
        if part == WILD:
            segs.append(WILD)
        elif part.startswith("[") and part.endswith("]"):
            keys = []
            for item in part[1:-1].split(","):
                k, sep, v = item.partition(":")
                if not sep or not _KEY.match(k.strip()):
                    raise PathError(f"invalid alias {part!r} in {text!r}")
                keys.append((k.strip(), v))
            segs.append(Alias(tuple(keys)))
        elif _NAME.match(part):
            segs.append(part)
        else:
            raise PathError(f"invalid segment {part!r} in {text!r}")
    if not isinstance(segs[0], str) or segs[0] == WILD or segs[0].isdigit():
        raise PathError(f"a path starts with a root object name: {text!r}")
    return tuple(segs)


def is_concrete(segs: tuple[Segment, ...]) -> bool:
    return all(isinstance(s, str) and s != WILD for s in segs)


def node_at(doc: dict, path: str) -> Any:
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


@dataclass
class Resolution:
    """What a pattern names in the document, and what must be read before it can say more."""

    paths: list[str] = field(default_factory=list)  # existing nodes the pattern names
    unknown_leaves: list[str] = field(default_factory=list)  # concrete paths absent from an incomplete parent
    unknown_tables: list[str] = field(default_factory=list)  # object paths whose contents must be read

    @property
    def complete(self) -> bool:
        return not self.unknown_leaves and not self.unknown_tables


def resolve(doc: dict, segs: tuple[Segment, ...], is_complete) -> Resolution:
    """Expand ``segs`` against ``doc``; ``is_complete(path)`` says whether the object at ``path``
    is fully known (listed or read as a whole recently), so a missing child really is absent."""
    res = Resolution()
    root = segs[0]
    if not isinstance(root, str) or not isinstance(doc.get(root), dict):
        return res  # the device has another data model root: nothing to do here
    frontier: list[tuple[str, dict]] = [(root, doc[root])]
    for i, seg in enumerate(segs[1:], start=1):
        nxt: list[tuple[str, dict]] = []
        for prefix, node in frontier:
            if isinstance(seg, str) and seg != WILD:
                child = node.get(seg)
                path = f"{prefix}.{seg}"
                if isinstance(child, dict):
                    nxt.append((path, child))
                elif is_complete(prefix):
                    continue  # the parent is fully known: this child does not exist
                elif is_concrete(segs[i:]):
                    res.unknown_leaves.append(".".join([path, *segs[i + 1:]]))  # type: ignore[list-item]
                else:
                    res.unknown_tables.append(path)
                continue
            if not is_complete(prefix):
                res.unknown_tables.append(prefix)
                continue
            for key in sorted((k for k in node if k.isdigit()), key=int):
                inst = node[key]
                if not isinstance(inst, dict):
                    continue
                if isinstance(seg, Alias) and not all(
                    isinstance(node_at(inst, k), dict) and "_value" in node_at(inst, k)
                    and _str_value(node_at(inst, k)["_value"]) == v for k, v in seg.keys):
                    continue
                nxt.append((f"{prefix}.{key}", inst))
        frontier = nxt
        if not frontier:
            break
    res.paths = [p for p, _ in frontier]
    return res

