"""Gateway settings, read from environment variables (documented in docs/configuration.md)."""

from __future__ import annotations

import os
import secrets
import socket
import uuid
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Self

from pydantic import Field

from acs_contracts.settings import CommonSettings, Lower, Utf8Bytes, env


def _instance_id() -> str:
    return f"{socket.gethostname()}-{uuid.uuid4().hex[:6]}"


class Settings(CommonSettings):
    host: str = env("GATEWAY_HOST", "0.0.0.0")
    port: int = env("GATEWAY_PORT", 7547)
    admin_port: int = env("GATEWAY_ADMIN_PORT", 7549)
    # what serves the CWMP port: native (cwmp_http) | uvicorn
    http_server: Annotated[Literal["native", "uvicorn"], Lower] = env("GATEWAY_HTTP_SERVER", "native")
    reply_port: int = env("GATEWAY_REPLY_PORT", 7548)
    reply_host: str = env("GATEWAY_REPLY_HOST", "0.0.0.0")
    # schedulers must prove it (acs_contracts.affinity)
    affinity_secret: Utf8Bytes = env("ACS_AFFINITY_SECRET", b"", repr=False)
    reply_advertise: str = env("GATEWAY_REPLY_ADVERTISE", "")  # from_env's default: 127.0.0.1:<reply port>
    # session cookies and Digest nonces; from_env's default: random per process
    secret: Utf8Bytes = env("GATEWAY_SECRET", b"", repr=False)
    cpe_auth: Annotated[Literal["none", "basic", "digest", "any"], Lower] = env("GATEWAY_CPE_AUTH", "none")
    cpe_username: str = env("GATEWAY_CPE_USERNAME", "")
    cpe_password: str = env("GATEWAY_CPE_PASSWORD", "", repr=False)
    # how long a device's stored credentials are reused unread
    cpe_credential_cache_s: float = env("GATEWAY_CPE_CREDENTIAL_CACHE_S", 300.0)
    max_inflight: int = env("GATEWAY_MAX_INFLIGHT", 2000)
    retry_after_s: int = env("GATEWAY_RETRY_AFTER_S", 10)
    reply_timeout_s: float = env("GATEWAY_REPLY_TIMEOUT_S", 20.0)
    inform_hint_wait_ms: float = env("GATEWAY_INFORM_HINT_WAIT_MS", 2000.0)
    publish_timeout_s: float = env("GATEWAY_PUBLISH_TIMEOUT_S", 10.0)
    max_body_bytes: int = env("GATEWAY_MAX_BODY_BYTES", 4 * 1024 * 1024)
    session_max_age_s: int = env("GATEWAY_SESSION_MAX_AGE_S", 600)
    malloc_trim_interval_s: float = env("GATEWAY_MALLOC_TRIM_INTERVAL_S", 1.0)
    tls_certfile: str = env("GATEWAY_TLS_CERTFILE", "")
    tls_keyfile: str = env("GATEWAY_TLS_KEYFILE", "")
    instance_id: str = Field(default_factory=_instance_id)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        """From the environment: an empty GATEWAY_SECRET is a random one per process, and an
        unset GATEWAY_REPLY_ADVERTISE the local reply port."""
        e = os.environ if environ is None else environ
        s = super().from_env(e)
        update: dict[str, Any] = {}
        if not s.secret:
            update["secret"] = secrets.token_bytes(32)
        if "GATEWAY_REPLY_ADVERTISE" not in e:
            update["reply_advertise"] = f"127.0.0.1:{s.reply_port}"
        return s.model_copy(update=update) if update else s

    @property
    def inform_hint_wait_s(self) -> float:
        return self.inform_hint_wait_ms / 1000
