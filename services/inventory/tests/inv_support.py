"""Test helpers of the inventory tests: tokens, ports, GenieACS-shaped device documents."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

from inventory.config import Settings

TOKENS = {"tok-admin": "admin", "tok-operator": "operator", "tok-readonly": "readonly"}
ADMIN = {"Authorization": "Bearer tok-admin"}
OPERATOR = {"Authorization": "Bearer tok-operator"}
READONLY = {"Authorization": "Bearer tok-readonly"}
SECRET = b"test-files-secret"


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def leaf(value: Any, xsd: str, writable: bool = False, ts: datetime | None = None) -> dict[str, Any]:
    return {"_value": value, "_type": xsd, "_timestamp": ts or datetime(2026, 1, 1, tzinfo=UTC),
            "_writable": writable, "_object": False}


def obj(writable: bool = False, **children: Any) -> dict[str, Any]:
    return {"_object": True, "_writable": writable, "_timestamp": datetime(2026, 1, 1, tzinfo=UTC), **children}


def igd_device(device_id: str, *, version: str = "V1", uptime: int = 100, tags: list[str] | None = None,
               last_inform_ago: timedelta = timedelta(minutes=5), cr_url: str | None = None,
               udp: str | None = None, cr_user: str | None = None, cr_pass: str | None = None) -> dict[str, Any]:
    """A GenieACS-shaped InternetGatewayDevice document."""
    now = datetime.now(UTC).replace(microsecond=0)
    oui, pc, serial = device_id.split("-")
    ms: dict[str, Any] = {"PeriodicInformInterval": leaf(300, "xsd:unsignedInt", True)}
    if cr_url is not None:
        ms["ConnectionRequestURL"] = leaf(cr_url, "xsd:string")
    if udp is not None:
        ms["UDPConnectionRequestAddress"] = leaf(udp, "xsd:string")
    if cr_user is not None:
        ms["ConnectionRequestUsername"] = leaf(cr_user, "xsd:string", True)
        ms["ConnectionRequestPassword"] = leaf(cr_pass or "", "xsd:string", True)
    return {
        "_id": device_id,
        "_deviceId": {"_Manufacturer": "Acme", "_OUI": oui, "_ProductClass": pc, "_SerialNumber": serial},
        "_registered": now - timedelta(days=30),
        "_lastInform": now - last_inform_ago,
        "_lastBoot": now - timedelta(days=1),
        "_tags": tags or [],
        "InternetGatewayDevice": obj(
            DeviceInfo=obj(
                SoftwareVersion=leaf(version, "xsd:string"),
                UpTime=leaf(uptime, "xsd:unsignedInt"),
                ProvisioningCode=leaf("", "xsd:string", True),
            ),
            ManagementServer=obj(**ms),
            LANDevice=obj(**{"1": obj(WLANConfiguration=obj(True, **{"1": obj(True,
                Enable=leaf(True, "xsd:boolean", True),
                SSID=leaf("home", "xsd:string", True),
                Channel=leaf(6, "xsd:unsignedInt", True),
            )}))}),
        ),
    }


def inventory_env(settings: Settings, nbi_port: int, fs_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "ACS_MONGODB_URI": settings.mongodb_uri,
        "ACS_MONGODB_DATABASE": settings.mongodb_database,
        "NBI_HOST": "127.0.0.1", "NBI_PORT": str(nbi_port),
        "FS_HOST": "127.0.0.1", "FS_PORT": str(fs_port),
        "NBI_TOKENS": ",".join(f"{t}:{r}" for t, r in TOKENS.items()),
        "ACS_FILES_SECRET": SECRET.decode(),
    }
