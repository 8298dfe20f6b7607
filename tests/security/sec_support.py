"""Helpers of the security suites: the callers' shape and the shared constants."""

from __future__ import annotations

from dataclasses import dataclass

from inventory.config import Settings
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


def inventory_env(settings: Settings, nbi_port: int, fs_port: int, **extra: str) -> dict[str, str]:
    return {
        "ACS_MONGODB_URI": settings.mongodb_uri, "ACS_MONGODB_DATABASE": settings.mongodb_database,
        "NBI_HOST": "127.0.0.1", "NBI_PORT": str(nbi_port), "FS_HOST": "127.0.0.1", "FS_PORT": str(fs_port),
        "NBI_TOKENS": f"{STATIC_ADMIN}:admin", "ACS_FILES_SECRET": "security-tests", "ACS_LOG_LEVEL": "WARNING",
        "NBI_RATE_PER_S": "0", "NBI_AUTH_FAILURES_PER_MIN": "0", "NBI_LOGIN_RATE_PER_MIN": "0", **extra,
    }
