"""Who is calling: the principal a token stands for, and the part of the fleet it may see.

A principal has a role (readonly < operator < admin) and may be *scoped*: to a tenant (devices,
presets, files, campaigns, scripts and users whose ``_tenant`` is that tenant) and/or to device
queries (GenieACS query text, AND-ed). Static NBI_TOKENS are unscoped. Every NBI read AND-s the
scope into its query; every route naming one object answers 404 for an object out of scope, so
its existence does not leak (inventory/scope.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from device_query.mongo import device_query

from .errors import bad_request
from .query import parse_json

RANK = {"readonly": 0, "operator": 1, "admin": 2}


@dataclass(frozen=True, slots=True)
class Principal:
    role: str
    token: str  # the token's fingerprint (first 12 hex digits of its SHA-256), never the token
    source: str = "static"  # static (NBI_TOKENS) | token (API token) | session (POST /login) | oidc
    user: str | None = None
    tenant: str | None = None
    scopes: tuple[str, ...] = field(default_factory=tuple)  # device queries (JSON text), AND-ed

    @property
    def scoped(self) -> bool:
        return self.tenant is not None or bool(self.scopes)

    def actor(self) -> dict[str, Any]:
        """What the audit log records of this principal (beyond the token and role)."""
        out: dict[str, Any] = {}
        if self.user is not None:
            out["user"] = self.user
        if self.tenant is not None:
            out["tenant"] = self.tenant
        if self.source != "static":
            out["via"] = self.source
        return out

    def device_filter(self) -> dict[str, Any]:
        """The MongoDB filter of the devices in scope ({} when unscoped)."""
        parts: list[dict[str, Any]] = []
        if self.tenant is not None:
            parts.append({"_tenant": self.tenant})
        parts.extend(device_query(parse_json(s, "scope")) for s in self.scopes)
        return and_(*parts)

    def owned(self, field_name: str = "_tenant") -> dict[str, Any]:
        """The filter of tenant-owned documents (presets, files, campaigns, scripts, users) in scope."""
        return {field_name: self.tenant} if self.tenant is not None else {}


def and_(*queries: dict[str, Any] | None) -> dict[str, Any]:
    """The conjunction of MongoDB filters, leaving out empty ones."""
    parts = [q for q in queries if q]
    if not parts:
        return {}
    return parts[0] if len(parts) == 1 else {"$and": parts}


def check_scope_text(text: str | None) -> str | None:
    """A device query given as a scope: JSON the NBI can run, kept as text; None when empty."""
    if text is None or not str(text).strip():
        return None
    if not isinstance(text, str):
        raise bad_request("scope is a device query as JSON text", text)
    q = parse_json(text, "scope")
    if not isinstance(q, dict):
        raise bad_request("scope must be a JSON object (a device query)", text)
    device_query(q)  # refused here when the NBI could not run it
    return text


def lower_role(a: str, b: str) -> str:
    return a if RANK[a] <= RANK[b] else b


STATIC_ADMIN = Principal(role="admin", token="")
