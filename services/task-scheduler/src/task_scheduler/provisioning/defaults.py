"""What a new device gets on first contact (BOOTSTRAP), unless SCHEDULER_BOOTSTRAP_DEFAULTS=off:
periodic Informs on at the configured interval, connection request credentials generated for
this device (set on the CPE and kept in the ``credentials`` collection for the NBI's connection
requests), and a fresh device summary (software and hardware version, WAN address, uptime).
Written for both data model roots; the one the device lacks resolves to nothing.

Presets run after these (heavier weight), so an operator's preset overrides any default.
"""

from __future__ import annotations

import secrets
from typing import Any

from device_query.presets import Declaration, declaration

CHANNEL = "bootstrap"
WEIGHT = -(2**31)
ROOTS = ("InternetGatewayDevice", "Device")
SUMMARY_REFRESH_S = 60  # what the BOOTSTRAP Inform itself carried is fresh enough


def bootstrap_declarations(device_id: str, doc: dict, interval_s: int) -> tuple[list[Declaration], dict[str, Any] | None]:
    """The defaults' declarations, and the credentials to store once they are set on the CPE."""
    decls: list[Declaration] = []
    credentials = None
    d = lambda spec: declaration(spec, channel=CHANNEL, weight=WEIGHT)  # noqa: E731
    for root in ROOTS:
        if not isinstance(doc.get(root), dict):
            continue
        ms = f"{root}.ManagementServer"
        username = device_id[:64]
        password = secrets.token_urlsafe(18)
        # read with the summary (same RPC): the CPE's own types, and no set of what is already right
        decls += [
            d({"path": f"{ms}.PeriodicInformEnable", "value": True, "type": "xsd:boolean", "refresh": SUMMARY_REFRESH_S}),
            d({"path": f"{ms}.PeriodicInformInterval", "value": interval_s, "type": "xsd:unsignedInt",
               "refresh": SUMMARY_REFRESH_S}),
            d({"path": f"{ms}.ConnectionRequestUsername", "value": username, "type": "xsd:string",
               "refresh": SUMMARY_REFRESH_S}),
            d({"path": f"{ms}.ConnectionRequestPassword", "value": password, "type": "xsd:string", "secret": True}),
        ]
        for leaf in ("SoftwareVersion", "HardwareVersion", "UpTime"):
            decls.append(d({"path": f"{root}.DeviceInfo.{leaf}", "refresh": SUMMARY_REFRESH_S}))
        credentials = credentials or {"username": username, "password": password,
                                      "path": f"{ms}.ConnectionRequestPassword"}
    decls.append(d({"path": "VirtualParameters.WanIp", "refresh": SUMMARY_REFRESH_S}))
    return decls, credentials
