"""Helpers of the security suites: the callers' shape and the shared constants."""

from __future__ import annotations

from dataclasses import dataclass

from inventory.security_settings import SecuritySettings

STATIC_ADMIN = "static-admin-token-for-security-tests"
TENANTS = ("red", "blue")
ROLES = ("readonly", "operator", "admin")
OPEN_LIMITS = SecuritySettings(rate_per_s=0, auth_failures_per_min=0, login_rate_per_min=0)


@dataclass(frozen=True)
class Caller:
    tenant: str | None
    role: str
    user: str | None
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}
