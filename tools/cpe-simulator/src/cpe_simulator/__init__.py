"""A TR-069 CPE simulator: thousands of devices in one asyncio process, each with the parameter tree
of a real device dump, talking CWMP over HTTP to any ACS.

Names are imported on first use, so the I/O-free parts (``datamodel``, ``device``) load without the
network stack.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "DataModel": "datamodel",
    "Device": "device",
    "DeviceTree": "tree",
    "Fleet": "fleet",
    "SimulatedCpe": "cpe",
    "retry_wait_s": "cpe",
    "SessionReport": "stats",
    "Stats": "stats",
    "ConnectionRequestServer": "connreq",
}
__all__ = [  # noqa: RUF022 - the names of _EXPORTS, sorted
    "ConnectionRequestServer", "DataModel", "Device", "DeviceTree", "Fleet", "SessionReport", "SimulatedCpe", "Stats",
    "retry_wait_s",
]
assert sorted(__all__) == sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{module}", __name__), name)
