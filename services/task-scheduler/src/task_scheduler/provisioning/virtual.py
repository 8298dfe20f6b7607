"""Virtual parameters: values computed from whichever real parameters a device has, stored under
``VirtualParameters.<Name>`` in the device document so NBI queries and preset preconditions can
use them like any parameter (e.g. ``VirtualParameters.WanIp`` for TR-098 and TR-181 devices).

A virtual parameter lists source patterns; its value is the first usable source value (a
``pick`` function may choose otherwise). A declaration ``{"path": "VirtualParameters.WanIp",
"refresh": 600}`` refreshes the sources when the value it came from is older than that.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from device_query import paths

ROOT = "VirtualParameters"

Source = tuple[str, Any, str]  # (path, value, xsd type)


def _usable_ip(candidates: list[Source]) -> Source | None:
    """The WAN address: a public address first, else any non-loopback, non-link-local one."""
    good: list[Source] = []
    for c in candidates:
        try:
            ip = ipaddress.ip_address(str(c[1]).strip())
        except ValueError:
            continue
        if ip.is_loopback or ip.is_link_local or ip.is_unspecified:
            continue
        if ip.is_global:
            return c
        good.append(c)
    return good[0] if good else None


def _first_value(candidates: list[Source]) -> Source | None:
    for c in candidates:
        if c[1] not in (None, ""):
            return c
    return None


@dataclass(frozen=True)
class VirtualParameter:
    name: str
    sources: tuple[str, ...]
    pick: Callable[[list[Source]], Source | None] = _first_value

    def __post_init__(self) -> None:
        object.__setattr__(self, "_segs", tuple(paths.parse(s) for s in self.sources))

    def candidates(self, doc: dict) -> list[Source]:
        out: list[Source] = []
        for segs in self._segs:  # type: ignore[attr-defined]
            for p in paths.resolve(doc, segs, lambda _p: True).paths:
                node = paths.node_at(doc, p)
                if isinstance(node, dict) and "_value" in node:
                    out.append((p, node["_value"], node.get("_type") or "xsd:string"))
        return out

    def compute(self, doc: dict) -> Source | None:
        return self.pick(self.candidates(doc))


BUILTIN: dict[str, VirtualParameter] = {vp.name: vp for vp in (
    VirtualParameter("WanIp", (
        "InternetGatewayDevice.WANDevice.*.WANConnectionDevice.*.WANIPConnection.*.ExternalIPAddress",
        "InternetGatewayDevice.WANDevice.*.WANConnectionDevice.*.WANPPPConnection.*.ExternalIPAddress",
        "Device.IP.Interface.*.IPv4Address.*.IPAddress",
    ), _usable_ip),
    VirtualParameter("SoftwareVersion", ("InternetGatewayDevice.DeviceInfo.SoftwareVersion", "Device.DeviceInfo.SoftwareVersion")),
    VirtualParameter("HardwareVersion", ("InternetGatewayDevice.DeviceInfo.HardwareVersion", "Device.DeviceInfo.HardwareVersion")),
    VirtualParameter("UpTime", ("InternetGatewayDevice.DeviceInfo.UpTime", "Device.DeviceInfo.UpTime")),
    VirtualParameter("SerialNumber", ("InternetGatewayDevice.DeviceInfo.SerialNumber", "Device.DeviceInfo.SerialNumber")),
)}


def refresh_values(doc: dict, virtuals: dict[str, VirtualParameter], ts, stored: dict | None = None) -> dict[str, Any]:
    """Compute every virtual parameter into ``doc``; the ``$set`` entries of those that differ from
    ``stored`` (the ``VirtualParameters`` object as the database has it; default: the document's)."""
    sets: dict[str, Any] = {}
    root = doc.setdefault(ROOT, {"_object": True})
    before = root if stored is None else stored
    for name, vp in virtuals.items():
        got = vp.compute(doc)
        if got is None:
            continue
        _, value, xsd = got
        node = before.get(name)
        if isinstance(node, dict) and node.get("_value") == value and node.get("_type") == xsd:
            root[name] = node
            continue
        root[name] = {"_value": value, "_type": xsd, "_timestamp": ts, "_object": False, "_writable": False}
        for attr, v in root[name].items():
            sets[f"{ROOT}.{name}.{attr}"] = v
    return sets
