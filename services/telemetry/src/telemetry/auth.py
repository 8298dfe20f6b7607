"""Per-device authentication of Bulk Data reports (HTTP Basic, TR-232's HTTP.Username/Password).

The user name is the device id; the password is derived from it with TELEMETRY_BULKDATA_SECRET, so
the collector checks any device without a database read and provisioning (the ``bulkdata_profile``
provision function, which has the same secret) sets each CPE's own password. A leaked password
opens one device's reports only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac


def device_password(secret: bytes, device_id: str) -> str:
    """The Bulk Data password of ``device_id``: HMAC-SHA256 under the secret, 32 hex digits."""
    return hmac.new(secret, b"bulkdata:" + device_id.encode(), hashlib.sha256).hexdigest()[:32]


def parse_basic(header: str) -> tuple[str, str] | None:
    """(user, password) from an ``Authorization: Basic ...`` header, or None."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep and user else None


def authenticate(secret: bytes, header: str) -> str | None:
    """The device id a report's Authorization header proves, or None."""
    creds = parse_basic(header)
    if creds is None or not secret:
        return None
    device, password = creds
    return device if hmac.compare_digest(device_password(secret, device), password) else None
