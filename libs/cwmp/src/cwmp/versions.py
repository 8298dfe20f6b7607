"""CWMP versions 1.0-1.4 and their XML namespaces, and how the ACS picks the one it answers in.

1.0 and 1.1 have their own namespaces; 1.2, 1.3 and 1.4 share ``urn:dslforum-org:cwmp-1-2``.
A 1.3 peer shows itself only by the SessionTimeout header and a 1.4 peer by the
SupportedCWMPVersions / UseCWMPVersion headers, so the namespace alone never says "1.4".
"""

from __future__ import annotations

import re

CWMP_1_0 = "urn:dslforum-org:cwmp-1-0"
CWMP_1_1 = "urn:dslforum-org:cwmp-1-1"
CWMP_1_2 = "urn:dslforum-org:cwmp-1-2"

VERSIONS: tuple[str, ...] = ("1.0", "1.1", "1.2", "1.3", "1.4")
NAMESPACES: dict[str, str] = {
    "1.0": CWMP_1_0,
    "1.1": CWMP_1_1,
    "1.2": CWMP_1_2,
    "1.3": CWMP_1_2,
    "1.4": CWMP_1_2,
}
_NS_VERSION: dict[str, str] = {CWMP_1_0: "1.0", CWMP_1_1: "1.1", CWMP_1_2: "1.2"}
CWMP_NAMESPACES: frozenset[str] = frozenset(_NS_VERSION)

# The first version whose schema defines each RPC; absent means 1.0.
RPC_SINCE: dict[str, str] = {
    "GetAllQueuedTransfers": "1.1",
    "GetAllQueuedTransfersResponse": "1.1",
    "AutonomousTransferComplete": "1.1",
    "AutonomousTransferCompleteResponse": "1.1",
    "ScheduleDownload": "1.2",
    "ScheduleDownloadResponse": "1.2",
    "CancelTransfer": "1.2",
    "CancelTransferResponse": "1.2",
    "ChangeDUState": "1.2",
    "ChangeDUStateResponse": "1.2",
    "DUStateChangeComplete": "1.2",
    "DUStateChangeCompleteResponse": "1.2",
    "AutonomousDUStateChangeComplete": "1.2",
    "AutonomousDUStateChangeCompleteResponse": "1.2",
}
# The first version whose schema defines each SOAP header element.
HEADER_SINCE: dict[str, str] = {
    "ID": "1.0",
    "HoldRequests": "1.0",
    "SessionTimeout": "1.3",
    "SupportedCWMPVersions": "1.4",
    "UseCWMPVersion": "1.4",
}

_VERSION_RE = re.compile(r"\s*(\d{1,3})\.(\d{1,3})\s*")


def version_key(version: str) -> tuple[int, int]:
    """Sort key: "1.10" > "1.4"."""
    m = _VERSION_RE.fullmatch(version)
    if m is None:
        raise ValueError(f"not a CWMP version: {version!r}")
    return int(m.group(1)), int(m.group(2))


def parse_version_list(text: str | None) -> list[str]:
    """"1.0,1.1, 1.4" -> ["1.0", "1.1", "1.4"]; entries that are not "major.minor" are dropped."""
    if not text:
        return []
    out = []
    for part in text.replace(";", ",").split(","):
        m = _VERSION_RE.fullmatch(part)
        if m is not None:
            out.append(f"{int(m.group(1))}.{int(m.group(2))}")
    return out


def namespace_for(version: str) -> str:
    """The cwmp namespace URI that carries ``version``."""
    try:
        return NAMESPACES[version]
    except KeyError:
        raise ValueError(f"unknown CWMP version {version!r}; known: {', '.join(VERSIONS)}") from None


def version_for_namespace(namespace: str | None) -> str | None:
    """"1.0", "1.1" or "1.2" (the lowest version using the namespace), None if not a cwmp namespace."""
    return _NS_VERSION.get(namespace) if namespace else None


def is_cwmp_namespace(namespace: str | None) -> bool:
    return namespace in _NS_VERSION


def detect_version(
    namespace: str,
    *,
    supported_cwmp_versions: str | None = None,
    use_cwmp_version: str | None = None,
    session_timeout: int | None = None,
) -> str:
    """The CWMP version an envelope is written in.

    The namespace fixes 1.0 and 1.1. In the cwmp-1-2 namespace, UseCWMPVersion names the
    version outright, SupportedCWMPVersions (a 1.4 header) gives the sender's highest
    version, and SessionTimeout (a 1.3 header) means at least 1.3.
    """
    base = version_for_namespace(namespace) or "1.0"
    if base != "1.2":
        return base
    if use_cwmp_version:
        used = parse_version_list(use_cwmp_version)
        if used and used[0] in NAMESPACES and NAMESPACES[used[0]] == CWMP_1_2:
            return used[0]
    if supported_cwmp_versions is not None:
        known = [v for v in parse_version_list(supported_cwmp_versions) if NAMESPACES.get(v) == CWMP_1_2]
        return max(known, key=version_key) if known else "1.4"
    if session_timeout is not None:
        return "1.3"
    return "1.2"


def choose_version(
    cwmp_ns: str,
    supported_cwmp_versions: str | None = None,
    acs_versions: tuple[str, ...] = VERSIONS,
) -> str | None:
    """The version the ACS answers a CPE in: the highest one both support.

    Without SupportedCWMPVersions the CPE's namespace decides. Returns None when a CPE
    lists versions and none of them is one the ACS supports (answer with Fault 8006).
    """
    if supported_cwmp_versions is not None:
        common = set(parse_version_list(supported_cwmp_versions)) & set(acs_versions)
        return max(common, key=version_key) if common else None
    version = version_for_namespace(cwmp_ns) or "1.0"
    return version if version in acs_versions else None


def supports(version: str, since: str) -> bool:
    return version_key(version) >= version_key(since)


def rpc_available(rpc: str, version: str) -> bool:
    """Whether ``rpc`` is defined by the schema of ``version``."""
    return supports(version, RPC_SINCE.get(rpc, "1.0"))


def supported_versions_header(acs_versions: tuple[str, ...] = VERSIONS) -> str:
    """The SupportedCWMPVersions header value for the ACS: "1.0,1.1,1.2,1.3,1.4"."""
    return ",".join(sorted(acs_versions, key=version_key))
