"""HTTP Basic and Digest authentication of CPEs (RFC 7617, RFC 7616 with MD5 as TR-069 CPEs use).

Digest nonces are stateless: ``<timestamp>.<hmac>`` signed with the shared gateway secret, so
a nonce issued by one gateway verifies on any other (a non-sticky load balancer is fine).
Nonces expire after ``NONCE_TTL_S``; that bounds replay without a shared nonce-count table.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from dataclasses import dataclass

REALM = "acs"
NONCE_TTL_S = 300

_PARAM_RE = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str
    password: str


def make_nonce(secret: bytes, now: float | None = None) -> str:
    ts = str(int(now if now is not None else time.time()))
    sig = hmac.new(secret, ts.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{ts}.{sig}"


def nonce_valid(nonce: str, secret: bytes, now: float | None = None) -> bool:
    try:
        ts, sig = nonce.split(".", 1)
        age = (now if now is not None else time.time()) - int(ts)
    except ValueError:
        return False
    want = hmac.new(secret, ts.encode(), hashlib.sha256).hexdigest()[:32]
    return hmac.compare_digest(sig, want) and -5 <= age <= NONCE_TTL_S


def challenges(mode: str, secret: bytes, stale: bool = False) -> list[str]:
    """WWW-Authenticate header values for a 401."""
    out = []
    if mode in ("digest", "any"):
        stale_s = ", stale=true" if stale else ""
        out.append(f'Digest realm="{REALM}", qop="auth", algorithm=MD5, nonce="{make_nonce(secret)}"{stale_s}')
    if mode in ("basic", "any"):
        out.append(f'Basic realm="{REALM}"')
    return out


def parse_authorization(header: str) -> tuple[str, dict[str, str] | str] | None:
    """("basic", "user:pass") or ("digest", {params}) or None."""
    scheme, _, rest = header.strip().partition(" ")
    scheme = scheme.lower()
    if scheme == "basic":
        try:
            return "basic", base64.b64decode(rest.strip(), validate=True).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            return None
    if scheme == "digest":
        params = {m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3)) for m in _PARAM_RE.finditer(rest)}
        return "digest", params
    return None


def _md5(s: str) -> str:
    return hashlib.md5(s.encode("utf-8")).hexdigest()


def verify(header: str | None, method: str, mode: str, creds: Credentials, secret: bytes) -> tuple[bool, bool]:
    """Check an Authorization header. Returns (ok, stale_nonce)."""
    if mode == "none":
        return True, False
    if not header:
        return False, False
    parsed = parse_authorization(header)
    if parsed is None:
        return False, False
    scheme, data = parsed
    if scheme == "basic" and mode in ("basic", "any"):
        assert isinstance(data, str)
        user, _, pw = data.partition(":")
        ok = hmac.compare_digest(user.encode(), creds.username.encode()) and hmac.compare_digest(pw.encode(), creds.password.encode())
        return ok, False
    if scheme == "digest" and mode in ("digest", "any"):
        assert isinstance(data, dict)
        if data.get("username") != creds.username or data.get("realm") != REALM:
            return False, False
        nonce, uri, resp = data.get("nonce", ""), data.get("uri", ""), data.get("response", "")
        ha1 = _md5(f"{creds.username}:{REALM}:{creds.password}")
        ha2 = _md5(f"{method}:{uri}")
        qop = data.get("qop")
        if qop:
            expected = _md5(f"{ha1}:{nonce}:{data.get('nc', '')}:{data.get('cnonce', '')}:{qop}:{ha2}")
        else:
            expected = _md5(f"{ha1}:{nonce}:{ha2}")
        if not hmac.compare_digest(expected, resp.lower()):
            return False, False
        if not nonce_valid(nonce, secret):
            return False, True
        return True, False
    return False, False


# Which of a device's credentials a login matched (the session event's ``cpeCredential``).
CURRENT, PENDING, PREVIOUS, DEFAULT, REFUSED = "current", "pending", "previous_in_grace", "default", "refused"


@dataclass(frozen=True, slots=True)
class DeviceCredentials:
    """What a device may log in with: its own current credentials, the ones a rotation is setting
    (``pending``: the SPV may have reached the CPE even if its answer did not reach us), the ones it
    had before (``previous``, until ``previous_until``; ``previous_default``: the shared default
    ones), and the shared default ones while it has none of its own."""

    current: Credentials | None = None
    pending: Credentials | None = None
    previous: Credentials | None = None
    previous_default: bool = False
    previous_until: float = 0.0
    rotated_at: float | None = None


def candidates(dev: DeviceCredentials, default: Credentials, now: float) -> list[tuple[str, Credentials]]:
    """The credentials a login may match, in the order they are tried."""
    out: list[tuple[str, Credentials]] = []
    if dev.current is not None:
        out.append((CURRENT, dev.current))
    if dev.pending is not None:
        out.append((PENDING, dev.pending))
    if now < dev.previous_until:
        if dev.previous is not None:
            out.append((PREVIOUS, dev.previous))
        elif dev.previous_default:
            out.append((PREVIOUS, default))
    if dev.current is None:
        out.append((DEFAULT, default))
    return out


def verify_device(header: str | None, method: str, mode: str, dev: DeviceCredentials, default: Credentials,
                  secret: bytes, now: float | None = None) -> tuple[str, Credentials | None, bool]:
    """Check a login against every credential the device may use: (which matched or REFUSED,
    the matching credentials, stale_nonce)."""
    stale = False
    for which, creds in candidates(dev, default, time.time() if now is None else now):
        ok, was_stale = verify(header, method, mode, creds, secret)
        if ok:
            return which, creds, False
        stale = stale or was_stale
    return REFUSED, None, stale
