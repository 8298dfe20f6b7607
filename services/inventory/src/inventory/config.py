"""Settings from environment variables (see docs/configuration.md, section inventory)."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

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


def _bool(v: str) -> bool:
    return v.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True, slots=True)
class Settings:
    mongodb_uri: str = "mongodb://127.0.0.1:27017/?directConnection=true"
    mongodb_database: str = "acs"
    log_level: str = "INFO"
    nbi_host: str = "0.0.0.0"
    nbi_port: int = 7557
    tokens: Mapping[str, str] = field(default_factory=dict)
    docs_public: bool = True  # /docs and /openapi.json without a token
    max_body_bytes: int = 1 << 20
    task_timeout_ms: int = 3000
    task_watch_linger_s: float = 60.0
    task_timeout_max_ms: int = 120_000
    metrics_refresh_s: float = 15.0
    fs_host: str = "0.0.0.0"
    fs_port: int = 7567
    files_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    fs_max_upload_bytes: int = 64 << 20
    cr_username: str = ""
    cr_password: str = ""
    cr_timeout_s: float = 5.0
    cr_retry_delay_s: float = 1.0
    cr_retry_max_delay_s: float = 10.0
    cr_udp_repeats: int = 3
    cr_udp_interval_s: float = 0.2
    cr_rate: float = 1000.0  # paced fleet connection requests per second at most (a caller may ask fewer)
    cr_concurrency: int = 256  # paced requests in flight per inventory process
    xmpp_jid: str = ""  # the ACS's XMPP account (TR-069 Annex K); empty: no XMPP
    xmpp_password: str = ""
    xmpp_server: str = ""  # host:port; empty: the JID's domain
    xmpp_ca_file: str = ""
    xmpp_verify_tls: bool = True
    xmpp_timeout_s: float = 5.0
    console_host: str = "0.0.0.0"
    console_port: int = 0  # 0: no console listener (make run uses 3000)
    console_dist: str = ""  # the built ui/ (index.html, assets/); empty: the checkout's ui/dist
    kafka_bootstrap: str = ""  # where the audit log is published (acs.audit.v1); empty: MongoDB only
    audit_retention_days: int = 400  # 0: audit records are kept forever
    security: SecuritySettings = field(default_factory=SecuritySettings)  # users, tokens, limits, OIDC

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        e = os.environ if env is None else env
        d = cls()
        secret = e.get("ACS_FILES_SECRET", "")
        if not secret:
            log.warning("ACS_FILES_SECRET is not set: file URLs signed by other processes will be refused")
        return cls(
            mongodb_uri=e.get("ACS_MONGODB_URI", d.mongodb_uri),
            mongodb_database=e.get("ACS_MONGODB_DATABASE", d.mongodb_database),
            log_level=e.get("ACS_LOG_LEVEL", d.log_level),
            nbi_host=e.get("NBI_HOST", d.nbi_host),
            nbi_port=int(e.get("NBI_PORT", d.nbi_port)),
            tokens=parse_tokens(e.get("NBI_TOKENS", "")),
            docs_public=_bool(e.get("NBI_DOCS_PUBLIC", "true")),
            max_body_bytes=int(e.get("NBI_MAX_BODY_BYTES", d.max_body_bytes)),
            task_timeout_ms=int(e.get("NBI_TASK_TIMEOUT_MS", d.task_timeout_ms)),
            task_watch_linger_s=float(e.get("NBI_TASK_WATCH_LINGER_S", d.task_watch_linger_s)),
            task_timeout_max_ms=int(e.get("NBI_TASK_TIMEOUT_MAX_MS", d.task_timeout_max_ms)),
            metrics_refresh_s=float(e.get("NBI_METRICS_REFRESH_S", d.metrics_refresh_s)),
            fs_host=e.get("FS_HOST", d.fs_host),
            fs_port=int(e.get("FS_PORT", d.fs_port)),
            files_secret=secret.encode() if secret else d.files_secret,
            fs_max_upload_bytes=int(e.get("FS_MAX_UPLOAD_BYTES", d.fs_max_upload_bytes)),
            cr_username=e.get("NBI_CR_USERNAME", d.cr_username),
            cr_password=e.get("NBI_CR_PASSWORD", d.cr_password),
            cr_timeout_s=float(e.get("NBI_CR_TIMEOUT_S", d.cr_timeout_s)),
            cr_retry_delay_s=float(e.get("NBI_CR_RETRY_DELAY_S", d.cr_retry_delay_s)),
            cr_retry_max_delay_s=float(e.get("NBI_CR_RETRY_MAX_DELAY_S", d.cr_retry_max_delay_s)),
            cr_udp_repeats=int(e.get("NBI_CR_UDP_REPEATS", d.cr_udp_repeats)),
            cr_udp_interval_s=float(e.get("NBI_CR_UDP_INTERVAL_S", d.cr_udp_interval_s)),
            cr_rate=float(e.get("NBI_CR_RATE", d.cr_rate)),
            cr_concurrency=int(e.get("NBI_CR_CONCURRENCY", d.cr_concurrency)),
            xmpp_jid=e.get("NBI_XMPP_JID", d.xmpp_jid),
            xmpp_password=e.get("NBI_XMPP_PASSWORD", d.xmpp_password),
            xmpp_server=e.get("NBI_XMPP_SERVER", d.xmpp_server),
            xmpp_ca_file=e.get("NBI_XMPP_CA_FILE", d.xmpp_ca_file),
            xmpp_verify_tls=_bool(e.get("NBI_XMPP_VERIFY_TLS", "true")),
            xmpp_timeout_s=float(e.get("NBI_XMPP_TIMEOUT_S", d.xmpp_timeout_s)),
            console_host=e.get("CONSOLE_HOST", d.console_host),
            console_port=int(e.get("CONSOLE_PORT") or d.console_port),
            console_dist=e.get("CONSOLE_DIST", d.console_dist),
            kafka_bootstrap=e.get("ACS_KAFKA_BOOTSTRAP", d.kafka_bootstrap),
            audit_retention_days=int(e.get("NBI_AUDIT_RETENTION_DAYS", d.audit_retention_days)),
            security=SecuritySettings.from_env(e),
        )
