"""Signed session cookies, so any gateway instance can continue a CWMP session.

The cookie carries what the gateway needs after the Inform (device id, session id, start time,
CWMP namespace and version, where the Inform lies in Kafka) under an HMAC-SHA256 with the shared ``GATEWAY_SECRET``: no
session table, no sticky load balancer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass

import orjson

COOKIE_NAME = "acs_session"


@dataclass(frozen=True, slots=True)
class SessionToken:
    device_id: str
    session_id: str
    started_at: float
    cwmp_ns: str
    cwmp_version: str
    # the Inform's record in acs.session-events.v1, copied onto each later message (SessionMessage)
    inform_partition: int = -1
    inform_offset: int = -1


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _unb64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def encode_token(tok: SessionToken, secret: bytes) -> str:
    payload = _b64(orjson.dumps([tok.device_id, tok.session_id, tok.started_at, tok.cwmp_ns, tok.cwmp_version,
                                 tok.inform_partition, tok.inform_offset]))
    sig = _b64(hmac.new(secret, payload.encode(), hashlib.sha256).digest()[:16])
    return f"{payload}.{sig}"


def decode_token(value: str, secret: bytes, max_age_s: float) -> SessionToken | None:
    """The token, or None when it is forged, malformed or older than ``max_age_s``."""
    try:
        payload, sig = value.split(".", 1)
        want = _b64(hmac.new(secret, payload.encode(), hashlib.sha256).digest()[:16])
        if not hmac.compare_digest(sig, want):
            return None
        # five fields: a cookie of the previous release (no Inform position: -1, unknown)
        device_id, session_id, started_at, ns, version, *where = orjson.loads(_unb64(payload))
        partition, offset = (int(where[0]), int(where[1])) if len(where) == 2 else (-1, -1)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        return None
    if time.time() - float(started_at) > max_age_s:
        return None
    return SessionToken(str(device_id), str(session_id), float(started_at), str(ns), str(version), partition, offset)
