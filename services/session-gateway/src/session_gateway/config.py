"""Gateway settings, read from environment variables (documented in docs/configuration.md)."""

from __future__ import annotations

import os
import secrets
import socket
import uuid
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Settings:
    host: str = "0.0.0.0"
    port: int = 7547
    admin_port: int = 7549
    http_server: str = "native"  # native (cwmp_http) | uvicorn: what serves the CWMP port
    reply_port: int = 7548
    reply_host: str = "0.0.0.0"
    affinity_secret: bytes = b""  # ACS_AFFINITY_SECRET: schedulers must prove it (acs_contracts.affinity)
    reply_advertise: str = ""
    secret: bytes = b""
    cpe_auth: str = "none"  # none | basic | digest | any
    cpe_username: str = ""
    cpe_password: str = ""
    cpe_credential_cache_s: float = 300.0  # how long a device's stored credentials are reused unread
    max_inflight: int = 2000
    retry_after_s: int = 10
    reply_timeout_s: float = 20.0
    inform_hint_wait_s: float = 2.0
    publish_timeout_s: float = 10.0
    max_body_bytes: int = 4 * 1024 * 1024
    session_max_age_s: int = 600
    malloc_trim_interval_s: float = 1.0
    tls_certfile: str = ""
    tls_keyfile: str = ""
    mongodb_uri: str = "mongodb://127.0.0.1:27017/?directConnection=true"
    mongodb_database: str = "acs"
    instance_id: str = field(default_factory=lambda: f"{socket.gethostname()}-{uuid.uuid4().hex[:6]}")
    kafka_env: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        e = dict(os.environ) if env is None else env
        reply_port = int(e.get("GATEWAY_REPLY_PORT", "7548"))
        secret = e.get("GATEWAY_SECRET", "")
        return cls(
            host=e.get("GATEWAY_HOST", "0.0.0.0"),
            port=int(e.get("GATEWAY_PORT", "7547")),
            admin_port=int(e.get("GATEWAY_ADMIN_PORT", "7549")),
            http_server=e.get("GATEWAY_HTTP_SERVER", "native").lower(),
            reply_port=reply_port,
            reply_host=e.get("GATEWAY_REPLY_HOST", "0.0.0.0"),
            affinity_secret=e.get("ACS_AFFINITY_SECRET", "").encode(),
            reply_advertise=e.get("GATEWAY_REPLY_ADVERTISE", f"127.0.0.1:{reply_port}"),
            secret=secret.encode() if secret else secrets.token_bytes(32),
            cpe_auth=e.get("GATEWAY_CPE_AUTH", "none").lower(),
            cpe_username=e.get("GATEWAY_CPE_USERNAME", ""),
            cpe_password=e.get("GATEWAY_CPE_PASSWORD", ""),
            cpe_credential_cache_s=float(e.get("GATEWAY_CPE_CREDENTIAL_CACHE_S", "300")),
            max_inflight=int(e.get("GATEWAY_MAX_INFLIGHT", "2000")),
            retry_after_s=int(e.get("GATEWAY_RETRY_AFTER_S", "10")),
            reply_timeout_s=float(e.get("GATEWAY_REPLY_TIMEOUT_S", "20")),
            inform_hint_wait_s=float(e.get("GATEWAY_INFORM_HINT_WAIT_MS", "2000")) / 1000,
            publish_timeout_s=float(e.get("GATEWAY_PUBLISH_TIMEOUT_S", "10")),
            max_body_bytes=int(e.get("GATEWAY_MAX_BODY_BYTES", str(4 * 1024 * 1024))),
            session_max_age_s=int(e.get("GATEWAY_SESSION_MAX_AGE_S", "600")),
            malloc_trim_interval_s=float(e.get("GATEWAY_MALLOC_TRIM_INTERVAL_S", "1")),
            tls_certfile=e.get("GATEWAY_TLS_CERTFILE", ""),
            tls_keyfile=e.get("GATEWAY_TLS_KEYFILE", ""),
            mongodb_uri=e.get("ACS_MONGODB_URI", "mongodb://127.0.0.1:27017/?directConnection=true"),
            mongodb_database=e.get("ACS_MONGODB_DATABASE", "acs"),
            kafka_env={k: v for k, v in e.items() if k.startswith("ACS_KAFKA_")},
        )
