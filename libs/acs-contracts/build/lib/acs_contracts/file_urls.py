"""Signed URLs of the CPE-facing file server, so a CPE gets only the files meant for it.

The scheduler puts these URLs in Download/ScheduleDownload/Upload RPCs; the file server of
the inventory service checks them. Both sides share ``ACS_FILES_SECRET``. A signature binds
the file (or the upload's CommandKey and FileType) to one device id and an expiry time, so a
URL leaked from one CPE is useless for another device's file or after it expires.

Download: ``<base>/files/<file>?device=<id>&expires=<unix s>&sig=<hex>``
Upload:   ``<base>/uploads/<id>/<token>`` where token = ``<payload>.<hex>`` and payload is
          base64url JSON ``[command_key, file_type, expires]``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, unquote, urlsplit

import orjson


class InvalidSignature(ValueError):
    """A file URL that is malformed, forged, bound to another device, or expired."""


@dataclass(frozen=True, slots=True)
class DownloadGrant:
    file_name: str
    device_id: str
    expires_at: int


@dataclass(frozen=True, slots=True)
class UploadGrant:
    device_id: str
    command_key: str
    file_type: str
    expires_at: int


def _key(secret: bytes | str) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def _mac(secret: bytes | str, *parts: str) -> str:
    msg = "\x00".join(parts).encode()
    return hmac.new(_key(secret), msg, hashlib.sha256).hexdigest()


def _check_expiry(expires_at: int, now: float | None) -> None:
    if (time.time() if now is None else now) > expires_at:
        raise InvalidSignature("URL expired")


def sign_download_url(
    base_url: str, file_name: str, device_id: str, expires_at: float, secret: bytes | str
) -> str:
    """URL from which only ``device_id`` may fetch ``file_name`` until ``expires_at`` (unix s)."""
    exp = int(expires_at)
    sig = _mac(secret, "download", file_name, device_id, str(exp))
    return (
        f"{base_url.rstrip('/')}/files/{quote(file_name, safe='')}"
        f"?device={quote(device_id, safe='')}&expires={exp}&sig={sig}"
    )


def verify_download(
    file_name: str, device_id: str, expires: str | int, sig: str, secret: bytes | str, now: float | None = None
) -> DownloadGrant:
    """The decoded parts of a download URL back to a grant, or InvalidSignature."""
    try:
        exp = int(expires)
    except (TypeError, ValueError):
        raise InvalidSignature("bad expires") from None
    want = _mac(secret, "download", file_name, device_id, str(exp))
    if not isinstance(sig, str) or not hmac.compare_digest(want, sig.lower()):
        raise InvalidSignature("bad signature")
    _check_expiry(exp, now)
    return DownloadGrant(file_name, device_id, exp)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_upload_url(
    base_url: str, device_id: str, command_key: str, file_type: str, expires_at: float, secret: bytes | str
) -> str:
    """URL to which only ``device_id`` may PUT the file of one Upload RPC until ``expires_at``."""
    payload = _b64(orjson.dumps([command_key, file_type, int(expires_at)]))
    sig = _mac(secret, "upload", device_id, payload)
    return f"{base_url.rstrip('/')}/uploads/{quote(device_id, safe='')}/{payload}.{sig}"


def verify_upload(device_id: str, token: str, secret: bytes | str, now: float | None = None) -> UploadGrant:
    """The device id and token of an upload URL back to a grant, or InvalidSignature."""
    payload, _, sig = token.partition(".")
    want = _mac(secret, "upload", device_id, payload)
    if not sig or not hmac.compare_digest(want, sig.lower()):
        raise InvalidSignature("bad signature")
    try:
        command_key, file_type, exp = orjson.loads(_unb64(payload))
        exp = int(exp)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise InvalidSignature("bad token") from None
    _check_expiry(exp, now)
    return UploadGrant(device_id, str(command_key), str(file_type), exp)


def verify(url: str, secret: bytes | str, now: float | None = None) -> DownloadGrant | UploadGrant:
    """Check a whole URL made by ``sign_download_url`` or ``sign_upload_url``."""
    parts = urlsplit(url)
    segments = parts.path.split("/")
    if len(segments) >= 3 and segments[-3] == "uploads":
        return verify_upload(unquote(segments[-2]), segments[-1], secret, now)
    if len(segments) >= 2 and segments[-2] == "files":
        q = parse_qs(parts.query)
        try:
            return verify_download(
                unquote(segments[-1]), q["device"][0], q["expires"][0], q["sig"][0], secret, now
            )
        except KeyError:
            raise InvalidSignature("missing device, expires or sig") from None
    raise InvalidSignature("not a file server URL")
