"""Users and their tokens in the inventory: ``users`` (argon2id password hashes) and ``apiTokens``.

A user has a role and may be scoped to a tenant and a device query. A token belongs to a user
and may narrow its role and scope further; it is stored as the SHA-256 of its value (tokens are
256 random bits, so a fast hash is enough and lets a token be found by its hash), with its name,
expiry, kind (``api`` from POST /tokens, ``session`` from POST /login) and last use. A token's
value is shown once, when created. Disabling a user or revoking a token takes effect on the
next call (tokens are looked up on every call, not cached).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from .principal import RANK, Principal, lower_role

USERS = "users"
TOKENS = "apiTokens"
TOKEN_PREFIX = "acs_"
LAST_USE_EVERY = timedelta(seconds=60)  # lastUsed is written at most this often per token

_hasher = PasswordHasher()  # argon2id, the library's (RFC 9106 low-memory) defaults
_DUMMY = _hasher.hash(secrets.token_hex(16))  # verified against for unknown users: same cost


def fingerprint(token: str) -> str:
    """The id a token is shown and logged under: the first 12 hex digits of its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()[:12]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)  # tens of ms of CPU: off the event loop


async def verify_password(stored: str | None, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(stored or _DUMMY, password) and stored is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
    return await asyncio.to_thread(check)


def now() -> datetime:
    return datetime.now(UTC)


def public_user(doc: dict[str, Any]) -> dict[str, Any]:
    """A user as the NBI shows it: never the hash."""
    return {
        "name": doc["_id"], "role": doc["role"], "tenant": doc.get("tenant"), "scope": doc.get("scope"),
        "disabled": bool(doc.get("disabled")), "source": doc.get("source", "local"),
        "created": doc.get("created"), "lockedUntil": doc.get("lockedUntil"),
        "lastLogin": doc.get("lastLogin"),
    }


def public_token(doc: dict[str, Any]) -> dict[str, Any]:
    expired = doc["expiresAt"] <= now()
    return {
        "id": doc["id"], "name": doc.get("name", ""), "user": doc["user"], "kind": doc.get("kind", "api"),
        "role": doc["role"], "scope": doc.get("scope"), "created": doc.get("created"),
        "expiresAt": doc["expiresAt"], "lastUsed": doc.get("lastUsed"), "revoked": bool(doc.get("revoked")),
        "expired": expired, "status": "revoked" if doc.get("revoked") else "expired" if expired else "active",
    }


class Accounts:
    """The users and apiTokens collections."""

    def __init__(self, db: Any) -> None:
        self.users = db[USERS]
        self.tokens = db[TOKENS]

    async def ensure_indexes(self) -> None:
        """At the inventory's start (``Database.ensure_indexes``), with the shared indexes."""
        await self.tokens.create_index([("user", 1), ("created", -1)])
        await self.tokens.create_index("id")
        await self.users.create_index("tenant")

    async def issue(self, user: dict[str, Any], *, name: str, kind: str, role: str, scope: str | None,
                    lifetime: timedelta) -> tuple[str, dict[str, Any]]:
        """A new token of ``user`` (its value, and its document as stored)."""
        value = new_token()
        t = now()
        doc = {"_id": token_hash(value), "id": fingerprint(value), "user": user["_id"], "name": name, "kind": kind,
               "role": lower_role(role, user["role"]), "scope": scope, "created": t, "expiresAt": t + lifetime,
               "lastUsed": None, "revoked": False}
        await self.tokens.insert_one(doc)
        return value, doc

    async def principal(self, token: str) -> Principal | None:
        """The principal of a user's token, or None (unknown, revoked, expired, user disabled)."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        doc = await self.tokens.find_one({"_id": token_hash(token)})
        t = now()
        if doc is None or doc.get("revoked") or doc["expiresAt"] <= t:
            return None
        user = await self.users.find_one({"_id": doc["user"]}, {"passwordHash": 0})
        if user is None or user.get("disabled") or user.get("role") not in RANK:
            return None
        if doc.get("lastUsed") is None or t - doc["lastUsed"] > LAST_USE_EVERY:
            await self.tokens.update_one({"_id": doc["_id"]}, {"$set": {"lastUsed": t}})
        scopes = tuple(s for s in (user.get("scope"), doc.get("scope")) if s)
        return Principal(role=lower_role(doc["role"], user["role"]), token=doc["id"],
                         source="session" if doc.get("kind") == "session" else "token",
                         user=user["_id"], tenant=user.get("tenant"), scopes=scopes)

    async def revoke_all(self, user: str) -> None:
        await self.tokens.update_many({"user": user, "revoked": False}, {"$set": {"revoked": True, "revokedAt": now()}})
