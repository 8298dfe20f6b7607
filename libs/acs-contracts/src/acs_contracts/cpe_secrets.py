"""CPE credentials encrypted at rest, shared by the scheduler (writes them), the gateway (checks
CPE logins) and the inventory (sends connection requests).

A stored secret is ``{"enc": "<Fernet token>"}``; the keys come from ``ACS_CREDENTIALS_KEYS``
(comma-separated Fernet keys: the first encrypts, every one decrypts, so a key is rotated by
putting the new one first and dropping the old one once the collection is re-encrypted). A
plain string (written by an older version, or by a GenieACS import without a key) still reads.
Without a key the ACS stores plaintext and says so once at start: fine for a try, not for a
deployment.

A new key: ``python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

ENV = "ACS_CREDENTIALS_KEYS"

log = logging.getLogger(__name__)


class CredentialKeyError(ValueError):
    """A stored secret that no configured key decrypts, or a key that is not a Fernet key."""


class Secrets:
    """Encrypts and decrypts stored CPE secrets with the configured keys (none: plaintext)."""

    def __init__(self, keys: list[str] | tuple[str, ...] = ()) -> None:
        fernets = []
        for i, k in enumerate(keys):
            try:
                fernets.append(Fernet(k.strip().encode()))
            except (ValueError, TypeError) as e:
                raise CredentialKeyError(f"{ENV}: key #{i + 1} is not a Fernet key (32 url-safe base64 bytes): {e}") from None
        self._f = MultiFernet(fernets) if fernets else None
        self._first = fernets[0] if fernets else None

    @property
    def enabled(self) -> bool:
        return self._f is not None

    def seal(self, plaintext: str) -> dict[str, str] | str:
        """The stored form of a secret: ``{"enc": token}``, or the plaintext when no key is set."""
        if self._f is None:
            return plaintext
        return {"enc": self._f.encrypt(plaintext.encode()).decode()}

    def open(self, stored: Any) -> str:
        """The secret of a stored value, encrypted or legacy plaintext (None reads as "")."""
        if stored is None:
            return ""
        if isinstance(stored, Mapping) and "enc" in stored:
            if self._f is None:
                raise CredentialKeyError(f"a CPE credential is encrypted but {ENV} is not set")
            try:
                return self._f.decrypt(str(stored["enc"]).encode()).decode()
            except InvalidToken:
                raise CredentialKeyError(f"a CPE credential is encrypted with a key not in {ENV}") from None
        return str(stored)

    def is_current(self, stored: Any) -> bool:
        """Whether ``stored`` is sealed with the first key already (nothing for ``rotate`` to do)."""
        if self._first is None or not (isinstance(stored, Mapping) and "enc" in stored):
            return self._first is None
        try:
            self._first.decrypt(str(stored["enc"]).encode())
        except InvalidToken:
            return False
        return True

    def rotate(self, stored: Any) -> Any:
        """The value re-encrypted with the first key (plaintext is sealed; with no key, unchanged)."""
        if self._f is None:
            return stored
        if isinstance(stored, Mapping) and "enc" in stored:
            try:
                return {"enc": self._f.rotate(str(stored["enc"]).encode()).decode()}
            except InvalidToken:
                raise CredentialKeyError(f"a CPE credential is encrypted with a key not in {ENV}") from None
        return self.seal(str(stored))


def keys_from_env(env: Mapping[str, str] | None = None) -> list[str]:
    raw = (os.environ if env is None else env).get(ENV, "")
    return [k.strip() for k in raw.split(",") if k.strip()]


def from_env(service: str, env: Mapping[str, str] | None = None) -> Secrets:
    """The service's Secrets; without a key, one warning that CPE credentials are stored in the clear."""
    s = Secrets(keys_from_env(env))
    if not s.enabled:
        log.warning("%s: %s is not set: CPE credentials are stored and read as plaintext "
                    "(set a Fernet key to encrypt them at rest, see docs/security.md)", service, ENV)
    return s


def new_key() -> str:
    return Fernet.generate_key().decode()
