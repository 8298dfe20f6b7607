"""What a new device gets on first contact (BOOTSTRAP), unless SCHEDULER_BOOTSTRAP_DEFAULTS=off:
periodic Informs on at the configured interval, connection request credentials generated for
this device (set on the CPE and kept in the ``credentials`` collection for the NBI's connection
requests), its own CWMP credentials where it gets some (task_scheduler.cpe_credentials), and a
fresh device summary (software and hardware version, WAN address, uptime).
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


def credential_declarations(device_id: str, doc: dict, *, cpe: bool, connection_request: bool,
                            refresh_s: int | None = SUMMARY_REFRESH_S) -> tuple[list[Declaration], dict[str, Any] | None]:
    """New credentials for this device, generated here: the connection-request ones and/or its
    own CWMP ones (``ManagementServer.Username/Password``), the passwords as secret declarations
    (their values never enter the device document). Returns the declarations and the new values
    by kind (``connectionRequest``, ``cpe``: username, password, and the password's path: stored
    once the SPV that sets that path succeeded)."""
    decls: list[Declaration] = []
    new: dict[str, Any] = {}
    d = lambda spec: declaration(spec, channel=CHANNEL, weight=WEIGHT)  # noqa: E731
    refresh = {"refresh": refresh_s} if refresh_s else {}
    username = device_id[:64]
    passwords = {"connectionRequest": secrets.token_urlsafe(18), "cpe": secrets.token_urlsafe(18)}  # one per kind, both roots
    for root in ROOTS:
        if not isinstance(doc.get(root), dict):
            continue
        ms = f"{root}.ManagementServer"
        for kind, wanted, user_leaf, pw_leaf in (("connectionRequest", connection_request, "ConnectionRequestUsername",
                                                  "ConnectionRequestPassword"),
                                                 ("cpe", cpe, "Username", "Password")):
            if not wanted:
                continue
            password = passwords[kind]
            # the user name read with the summary (same RPC): no set of what is already right
            decls += [d({"path": f"{ms}.{user_leaf}", "value": username, "type": "xsd:string", **refresh}),
                      d({"path": f"{ms}.{pw_leaf}", "value": password, "type": "xsd:string", "secret": True})]
            new.setdefault(kind, {"username": username, "password": password, "path": f"{ms}.{pw_leaf}"})
    return decls, new or None


def bootstrap_declarations(device_id: str, doc: dict, interval_s: int,
                           cpe: bool = False) -> tuple[list[Declaration], dict[str, Any] | None]:
    """The defaults' declarations, and the credentials to store once they are set on the CPE
    (``cpe``: the device's own CWMP credentials too, see task_scheduler.cpe_credentials)."""
    decls: list[Declaration] = []
    d = lambda spec: declaration(spec, channel=CHANNEL, weight=WEIGHT)  # noqa: E731
    for root in ROOTS:
        if not isinstance(doc.get(root), dict):
            continue
        ms = f"{root}.ManagementServer"
        # read with the summary (same RPC): the CPE's own types, and no set of what is already right
        decls += [
            d({"path": f"{ms}.PeriodicInformEnable", "value": True, "type": "xsd:boolean", "refresh": SUMMARY_REFRESH_S}),
            d({"path": f"{ms}.PeriodicInformInterval", "value": interval_s, "type": "xsd:unsignedInt",
               "refresh": SUMMARY_REFRESH_S}),
        ]
        for leaf in ("SoftwareVersion", "HardwareVersion", "UpTime"):
            decls.append(d({"path": f"{root}.DeviceInfo.{leaf}", "refresh": SUMMARY_REFRESH_S}))
    creds_decls, credentials = credential_declarations(device_id, doc, cpe=cpe, connection_request=True)
    decls += creds_decls
    decls.append(d({"path": "VirtualParameters.WanIp", "refresh": SUMMARY_REFRESH_S}))
    return decls, credentials
