"""Scheduler settings, read from environment variables (documented in docs/configuration.md)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Settings:
    group_id: str = "acs-scheduler"
    session_events_partitions: int = 12
    admin_port: int = 7550
    fetch_max_wait_ms: int = 500
    max_poll_records: int = 500
    session_timeout_ms: int = 10000
    heartbeat_interval_ms: int = 1000
    write_batch_ms: float = 5.0
    write_batch_max: int = 500
    max_pending_writes: int = 5000
    max_pending_fields: int = 500_000
    max_active_sessions: int = 500
    max_parked_bytes: int = 256 << 20
    inform_digest_cache: int = 200_000
    tasks_poll_s: float = 0.25
    tasks_refresh_s: float = 60.0
    presets_poll_s: float = 1.0
    max_task_attempts: int = 3
    max_rpcs_per_session: int = 256
    session_idle_timeout_s: float = 120.0
    gpv_batch_size: int = 100
    partial_path_values: bool = True
    bootstrap_discovery: bool = True
    files_base_url: str = "http://127.0.0.1:7567"
    files_secret: str = ""
    affinity_secret: bytes = b""  # ACS_AFFINITY_SECRET: proven to gateways on each reply connection
    file_url_ttl_s: int = 86400
    mongodb_uri: str = "mongodb://127.0.0.1:27017/?directConnection=true"
    mongodb_database: str = "acs"
    kafka_env: dict = field(default_factory=dict)
    provisions_dir: str = ""
    bootstrap_defaults: bool = True
    periodic_inform_interval_s: int = 300
    provision_max_iterations: int = 16
    provision_function_timeout_s: float = 1.0
    # the CPE credential lifecycle (cpe_credentials.py, docs/security.md)
    cpe_credentials: str = "auto"  # auto | per-device | shared
    cpe_credential_rotation_days: float = 0.0  # 0: never
    cpe_credential_grace_s: float = 7 * 86400.0

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        e = dict(os.environ) if env is None else env
        return cls(
            group_id=e.get("SCHEDULER_GROUP_ID", "acs-scheduler"),
            session_events_partitions=int(e.get("ACS_SESSION_EVENTS_PARTITIONS", "12")),
            admin_port=int(e.get("SCHEDULER_ADMIN_PORT", "7550")),
            fetch_max_wait_ms=int(e.get("SCHEDULER_FETCH_MAX_WAIT_MS", "500")),
            max_poll_records=int(e.get("SCHEDULER_MAX_POLL_RECORDS", "500")),
            session_timeout_ms=int(e.get("SCHEDULER_KAFKA_SESSION_TIMEOUT_MS", "10000")),
            heartbeat_interval_ms=int(e.get("SCHEDULER_KAFKA_HEARTBEAT_MS", "1000")),
            write_batch_ms=float(e.get("SCHEDULER_WRITE_BATCH_MS", "5")),
            write_batch_max=int(e.get("SCHEDULER_WRITE_BATCH_MAX", "500")),
            max_pending_writes=int(e.get("SCHEDULER_MAX_PENDING_WRITES", "5000")),
            max_pending_fields=int(e.get("SCHEDULER_MAX_PENDING_FIELDS", "500000")),
            max_active_sessions=max(1, int(e.get("SCHEDULER_MAX_ACTIVE_SESSIONS", "500"))),
            max_parked_bytes=int(e.get("SCHEDULER_MAX_PARKED_MB", "256")) << 20,
            inform_digest_cache=int(e.get("SCHEDULER_INFORM_DIGEST_CACHE", "200000")),
            tasks_poll_s=float(e.get("SCHEDULER_TASKS_POLL_S", "0.25")),
            tasks_refresh_s=float(e.get("SCHEDULER_TASKS_REFRESH_S", "60")),
            presets_poll_s=float(e.get("SCHEDULER_PRESETS_POLL_S", "1")),
            max_task_attempts=int(e.get("SCHEDULER_MAX_TASK_ATTEMPTS", "3")),
            max_rpcs_per_session=int(e.get("SCHEDULER_MAX_RPCS_PER_SESSION", "256")),
            session_idle_timeout_s=float(e.get("SCHEDULER_SESSION_IDLE_TIMEOUT_S", "120")),
            gpv_batch_size=int(e.get("SCHEDULER_GPV_BATCH_SIZE", "100")),
            partial_path_values=e.get("SCHEDULER_PARTIAL_PATH_VALUES", "on").strip().lower() in ("on", "1", "true", "yes"),
            bootstrap_discovery=e.get("SCHEDULER_BOOTSTRAP_DISCOVERY", "on").strip().lower() in ("on", "1", "true", "yes"),
            files_base_url=e.get("ACS_FILES_PUBLIC_URL", "http://127.0.0.1:7567"),
            files_secret=e.get("ACS_FILES_SECRET", ""),
            affinity_secret=e.get("ACS_AFFINITY_SECRET", "").encode(),
            file_url_ttl_s=int(e.get("ACS_FILE_URL_TTL_S", "86400")),
            mongodb_uri=e.get("ACS_MONGODB_URI", "mongodb://127.0.0.1:27017/?directConnection=true"),
            mongodb_database=e.get("ACS_MONGODB_DATABASE", "acs"),
            kafka_env={k: v for k, v in e.items() if k.startswith("ACS_KAFKA_")},
            provisions_dir=e.get("SCHEDULER_PROVISIONS_DIR", ""),
            bootstrap_defaults=e.get("SCHEDULER_BOOTSTRAP_DEFAULTS", "on").strip().lower() in ("on", "1", "true", "yes"),
            periodic_inform_interval_s=int(e.get("SCHEDULER_PERIODIC_INFORM_INTERVAL_S", "300")),
            provision_max_iterations=int(e.get("SCHEDULER_PROVISION_MAX_ITERATIONS", "16")),
            provision_function_timeout_s=float(e.get("SCHEDULER_PROVISION_FUNCTION_TIMEOUT_S", "1")),
            cpe_credentials=_cpe_credentials_mode(e.get("SCHEDULER_CPE_CREDENTIALS", "auto")),
            cpe_credential_rotation_days=float(e.get("SCHEDULER_CPE_CREDENTIAL_ROTATION_DAYS", "0")),
            cpe_credential_grace_s=float(e.get("SCHEDULER_CPE_CREDENTIAL_GRACE_S", str(7 * 86400))),
        )


def _cpe_credentials_mode(v: str) -> str:
    mode = v.strip().lower()
    if mode not in ("auto", "per-device", "shared"):
        raise ValueError(f"SCHEDULER_CPE_CREDENTIALS must be auto, per-device or shared, not {v!r}")
    return mode
