"""A device's parameter tree as dumped by a real CPE, parsed once and shared by every simulated device.

Both CSV layouts of the dumps are accepted (the 5-column ``Parameter,Object,Writable,Value,Value type``
and the 12-column GenieACS export); columns are found by header name, so either works. Object paths
are stored with a trailing dot, as CWMP writes them (``InternetGatewayDevice.DeviceInfo.``);
parameter paths without. ``DeviceID.*`` pseudo-parameters become :class:`DeviceIdentity`;
GenieACS bookkeeping rows (``Events.*``) are dropped.

:meth:`DataModel.default` is the simulator's own model, shipped with the package
(``data/default-igd.csv``, written by ``scripts/make_default_igd.py``): a TR-098 home gateway of a
few hundred parameters, used when no dump is given.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from cwmp.values import INT_RANGES, STRING, XSD_TYPES, decode_value, normalize_type

_PSEUDO_ROOTS = ("DeviceID", "Events", "Tags", "Downloads", "VirtualParameters")
DEFAULT_DATAMODEL = "default-igd.csv"  # in the package's data folder


def normalise_type(raw: str) -> str:
    """Canonical xsd type for a dump's type column ("xsd:unsignedint" is a Nokia quirk); untyped
    leaves (never fetched) and vendor types are strings."""
    t = normalize_type(raw.strip() or None)
    return t if t in XSD_TYPES else STRING


UNKNOWN_TIME = "0001-01-01T00:00:00Z"  # TR-069's "Unknown Time"


def typed_text(text: str, xsd: str) -> str:
    """The dump's text if it fits its type, else the nearest value that does: dumps hold empty
    dateTimes, 33-bit counters typed unsignedInt and booleans written "2", and a device must
    still send every value in its declared type."""
    if xsd == STRING:
        return text
    value, _ = decode_value(text, xsd)
    if not isinstance(value, str):
        return text.strip()
    if xsd in INT_RANGES:
        low, high = INT_RANGES[xsd]
        digits = text.strip()
        if digits.lstrip("+-").isdigit():
            return str(min(max(int(digits), low), high))
        return str(max(low, 0))
    if xsd == "xsd:boolean":
        return "true" if text.strip().lstrip("+-").isdigit() and int(text) != 0 else "false"
    if xsd == "xsd:dateTime":
        return UNKNOWN_TIME
    return ""


@dataclass(frozen=True, slots=True)
class Node:
    """One template row. ``value`` is the wire text; objects have value "" and type ""."""

    is_object: bool
    writable: bool
    value: str = ""
    type: str = ""


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    """The Inform DeviceIdStruct fields a dump records (``DeviceID.*`` rows)."""

    manufacturer: str
    oui: str
    product_class: str
    serial_number: str


@dataclass(slots=True)
class DataModel:
    """An immutable template tree. Per-device state lives in :class:`cpe_simulator.tree.DeviceTree`."""

    source: str
    root: str  # "InternetGatewayDevice." or "Device."
    nodes: dict[str, Node]
    children: dict[str, tuple[str, ...]]  # object path -> child paths in dump order
    identity: DeviceIdentity
    _cache: dict[str, object] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, path: str | Path) -> "DataModel":
        path = Path(path)
        with path.open(encoding="utf-8", newline="") as f:
            return cls.from_rows(csv.DictReader(f), source=str(path))

    @classmethod
    def default(cls) -> "DataModel":
        """The built-in InternetGatewayDevice model (package data; no file outside the package)."""
        text = resources.files(__package__).joinpath("data", DEFAULT_DATAMODEL).read_text(encoding="utf-8")
        return cls.from_rows(csv.DictReader(io.StringIO(text, newline="")), source=f"builtin:{DEFAULT_DATAMODEL}")

    @classmethod
    def load_or_default(cls, path: str | Path) -> "DataModel":
        """The dump at ``path`` where it exists, else the built-in model (``source`` says which)."""
        return cls.load(path) if Path(path).exists() else cls.default()

    @classmethod
    def from_rows(cls, rows, *, source: str = "<rows>") -> "DataModel":
        nodes, ident = _read_rows(rows)
        if not nodes:
            raise ValueError(f"{source}: no parameters")
        _add_missing_objects(nodes)
        root = _pick_root([p for p in nodes if parent_path(p) is None])
        identity = _identity(ident, nodes, root)
        return cls(source, root, nodes, _children(nodes), identity)

    # ------------------------------------------------------------------ queries
    def node(self, path: str) -> Node | None:
        return self.nodes.get(path)

    def first_existing(self, *paths: str) -> str | None:
        """The first of ``paths`` (relative to the root) that the dump has, as a full path."""
        for p in paths:
            full = self.root + p
            if full in self.nodes:
                return full
        return None

    def find(self, suffix: str) -> list[str]:
        """Every path ending in ``suffix`` (e.g. ``"IPPingDiagnostics.DiagnosticsState"``)."""
        key = "find:" + suffix
        hit = self._cache.get(key)
        if hit is None:
            hit = [p for p in self.nodes if p.endswith(suffix)]
            self._cache[key] = hit
        return hit  # type: ignore[return-value]


def parent_path(path: str) -> str | None:
    """``A.B.C`` -> ``A.B.``; ``A.B.`` -> ``A.``; a root -> None."""
    trimmed = path[:-1] if path.endswith(".") else path
    cut = trimmed.rfind(".")
    return None if cut < 0 else trimmed[: cut + 1]


def _read_rows(rows) -> tuple[dict[str, Node], dict[str, str]]:
    """The dump's nodes by path, and its ``DeviceID.*`` values by field; other pseudo-roots dropped."""
    nodes: dict[str, Node] = {}
    ident: dict[str, str] = {}
    for row in rows:
        name = (row.get("Parameter") or "").strip()
        if not name:
            continue
        first = name.split(".", 1)[0]
        if first == "DeviceID":
            ident[name[len("DeviceID.") :]] = row.get("Value") or ""
        elif first not in _PSEUDO_ROOTS:
            path, node = _row_node(name, row)
            nodes[path] = node
    return nodes, ident


def _is_true(cell: str | None) -> bool:
    return (cell or "").strip().lower() == "true"


def _row_node(name: str, row) -> tuple[str, Node]:
    """One row as (path, node): objects get their trailing dot, parameters a value of their type."""
    writable = _is_true(row.get("Writable"))
    if _is_true(row.get("Object")):
        return name.rstrip(".") + ".", Node(True, writable)
    xsd = normalise_type(row.get("Value type") or "")
    return name, Node(False, writable, typed_text(row.get("Value") or "", xsd), xsd)


def _children(nodes: dict[str, Node]) -> dict[str, tuple[str, ...]]:
    """Each object's child paths in dump order."""
    children: dict[str, list[str]] = {p: [] for p, n in nodes.items() if n.is_object}
    for p in nodes:
        parent = parent_path(p)
        if parent is not None:
            children[parent].append(p)
    return {k: tuple(v) for k, v in children.items()}


def _pick_root(roots: list[str]) -> str:
    """TR-181's ``Device.`` first, then TR-098's ``InternetGatewayDevice.``, else the dump's first root."""
    for preferred in ("Device.", "InternetGatewayDevice."):
        if preferred in roots:
            return preferred
    return roots[0]


def _add_missing_objects(nodes: dict[str, Node]) -> None:
    """Dumps sometimes list a parameter without its parent object rows; add them read-only."""
    for p in list(nodes):
        parent = parent_path(p)
        while parent is not None and parent not in nodes:
            nodes[parent] = Node(True, False)
            parent = parent_path(parent)


def _identity(ident: dict[str, str], nodes: dict[str, Node], root: str) -> DeviceIdentity:
    def info(name: str) -> str:
        node = nodes.get(root + "DeviceInfo." + name)
        return node.value if node else ""

    return DeviceIdentity(
        manufacturer=ident.get("Manufacturer") or info("Manufacturer") or "Unknown",
        oui=ident.get("OUI") or info("ManufacturerOUI") or "000000",
        product_class=ident.get("ProductClass") or info("ProductClass") or info("ModelName") or "CPE",
        serial_number=ident.get("SerialNumber") or info("SerialNumber") or "",
    )
