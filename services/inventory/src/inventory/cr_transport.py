"""Which way to wake a device: HTTP (TR-069 3.2.2), UDP (Annex G) or XMPP (Annex K).

The choice follows what the device reported about itself:

* ``NATDetected`` true (it found through STUN that it sits behind NAT): its ConnectionRequestURL
  names a private address the ACS cannot reach, so XMPP first (acknowledged), then UDP to its
  ``UDPConnectionRequestAddress``, HTTP last;
* otherwise HTTP first (acknowledged, and the standard way), then XMPP, then UDP.

A transport the device has no address for (or the ACS has no XMPP session configured for) is left
out. The requester tries them in order until one is "ok": a UDP datagram has no answer, so UDP
counts as ok once sent and ends the list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .shapes import param_value

ROOTS = ("InternetGatewayDevice", "Device")
TRANSPORTS = ("http", "udp", "xmpp")


def paths(leaf: str) -> list[str]:
    return [f"{root}.ManagementServer.{leaf}" for root in ROOTS]


@dataclass(frozen=True, slots=True)
class Reach:
    """The addresses a device reported for connection requests."""

    url: str | None
    udp: str | None
    jid: str | None
    nat_detected: bool

    @classmethod
    def of(cls, device: Mapping[str, Any]) -> "Reach":
        url = param_value(device, *paths("ConnectionRequestURL"))
        if url and not str(url).lower().startswith(("http://", "https://")):
            url = None  # only HTTP(S): a CPE must not steer the ACS to other schemes
        udp = param_value(device, *paths("UDPConnectionRequestAddress"))
        jid = param_value(device, *paths("ConnReqJabberID"))
        nat = param_value(device, *paths("NATDetected"))
        return cls(
            str(url) if url else None, str(udp) if udp else None, str(jid) if jid else None,
            nat is True or str(nat).lower() in ("true", "1"),
        )


def order(reach: Reach, *, xmpp: bool) -> list[str]:
    """The transports to try, best first; empty when the device gave no usable address."""
    have = {"http": bool(reach.url), "udp": bool(reach.udp), "xmpp": xmpp and bool(reach.jid)}
    ranked = ("xmpp", "udp", "http") if reach.nat_detected else ("http", "xmpp", "udp")
    return [t for t in ranked if have[t]]


def projection() -> dict[str, int]:
    """The device fields the choice reads (for a paced request's lookup)."""
    leaves = ("ConnectionRequestURL", "UDPConnectionRequestAddress", "ConnReqJabberID", "NATDetected",
              "ConnectionRequestUsername", "ConnectionRequestPassword")
    return {"_id": 1, **{p: 1 for leaf in leaves for p in paths(leaf)}}
