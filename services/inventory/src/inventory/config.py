"""Settings from environment variables (see docs/configuration.md, section inventory)."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from typing import Annotated, Any, Self

from pydantic import BeforeValidator, Field

from acs_contracts.settings import CommonSettings, EmptyIs, Switch, Utf8Bytes, env

from .security_settings import SecuritySettings

ROLES = ("readonly", "operator", "admin")

log = logging.getLogger(__name__)


def parse_tokens(spec: str) -> dict[str, str]:
    """``"tok1:admin,tok2:operator"`` -> {token: role}; unknown roles are an error, not ignored."""
    tokens: dict[str, str] = {}
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        token, sep, role = item.rpartition(":")
        if not sep or not token or role not in ROLES:
            raise ValueError(f"NBI_TOKENS entry {item!r} is not <token>:<{'|'.join(ROLES)}>")
        tokens[token] = role
    return tokens


def _random_secret() -> bytes:
    return secrets.token_bytes(32)


class Settings(CommonSettings):
    nbi_host: str = env("NBI_HOST", "0.0.0.0")
    nbi_port: int = env("NBI_PORT", 7557)
    tokens: Annotated[Mapping[str, str], BeforeValidator(lambda v: parse_tokens(v) if isinstance(v, str) else v)] = env(
        "NBI_TOKENS", {}, repr=False)
    docs_public: Switch = env("NBI_DOCS_PUBLIC", True)  # /docs and /openapi.json without a token
    max_body_bytes: int = env("NBI_MAX_BODY_BYTES", 1 << 20)
    task_timeout_ms: int = env("NBI_TASK_TIMEOUT_MS", 3000)
    task_watch_linger_s: float = env("NBI_TASK_WATCH_LINGER_S", 60.0)
    task_timeout_max_ms: int = env("NBI_TASK_TIMEOUT_MAX_MS", 120_000)
    metrics_refresh_s: float = env("NBI_METRICS_REFRESH_S", 15.0)
    fs_host: str = env("FS_HOST", "0.0.0.0")
    fs_port: int = env("FS_PORT", 7567)
    # HMAC key of signed file URLs; empty or unset: random per process
    files_secret: Annotated[Utf8Bytes, BeforeValidator(lambda v: v or _random_secret())] = env(
        "ACS_FILES_SECRET", default_factory=_random_secret, repr=False)
    fs_max_upload_bytes: int = env("FS_MAX_UPLOAD_BYTES", 64 << 20)
    cr_username: str = env("NBI_CR_USERNAME", "")
    cr_password: str = env("NBI_CR_PASSWORD", "", repr=False)
    cr_timeout_s: float = env("NBI_CR_TIMEOUT_S", 5.0)
    cr_retry_delay_s: float = env("NBI_CR_RETRY_DELAY_S", 1.0)
    cr_retry_max_delay_s: float = env("NBI_CR_RETRY_MAX_DELAY_S", 10.0)
    cr_udp_repeats: int = env("NBI_CR_UDP_REPEATS", 3)
    cr_udp_interval_s: float = env("NBI_CR_UDP_INTERVAL_S", 0.2)
    # paced fleet connection requests per second at most (a caller may ask fewer)
    cr_rate: float = env("NBI_CR_RATE", 1000.0)
    cr_concurrency: int = env("NBI_CR_CONCURRENCY", 256)  # paced requests in flight per inventory process
    xmpp_jid: str = env("NBI_XMPP_JID", "")  # the ACS's XMPP account (TR-069 Annex K); empty: no XMPP
    xmpp_password: str = env("NBI_XMPP_PASSWORD", "", repr=False)
    xmpp_server: str = env("NBI_XMPP_SERVER", "")  # host:port; empty: the JID's domain
    xmpp_ca_file: str = env("NBI_XMPP_CA_FILE", "")
    xmpp_verify_tls: Switch = env("NBI_XMPP_VERIFY_TLS", True)
    xmpp_timeout_s: float = env("NBI_XMPP_TIMEOUT_S", 5.0)
    console_host: str = env("CONSOLE_HOST", "0.0.0.0")
    console_port: Annotated[int, EmptyIs(0)] = env("CONSOLE_PORT", 0)  # 0: no console listener (make run uses 3000)
    console_dist: str = env("CONSOLE_DIST", "")  # the built ui/ (index.html, assets/); empty: the checkout's ui/dist
    audit_retention_days: int = env("NBI_AUDIT_RETENTION_DAYS", 400)  # 0: audit records are kept forever
    # users, tokens, limits, OIDC
    security: SecuritySettings = Field(default_factory=SecuritySettings)

    @classmethod
    def nested_from_env(cls, environ: Mapping[str, str]) -> dict[str, Any]:
        return {**super().nested_from_env(environ), "security": SecuritySettings.from_env(environ)}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        e = os.environ if environ is None else environ
        if not e.get("ACS_FILES_SECRET"):
            log.warning("ACS_FILES_SECRET is not set: file URLs signed by other processes will be refused")
        return super().from_env(e)
