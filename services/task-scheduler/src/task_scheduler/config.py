"""Scheduler settings, read from environment variables (documented in docs/configuration.md)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator

from acs_contracts.settings import CommonSettings, Lower, Switch, Utf8Bytes, env

from .tenants import Rule, parse_rules


def _rules(v: Any) -> Any:
    return parse_rules(v) if isinstance(v, str) else v


class Settings(CommonSettings):
    host: str = env("SCHEDULER_HOST", "0.0.0.0")  # the admin endpoint's address
    group_id: str = env("SCHEDULER_GROUP_ID", "acs-scheduler")
    admin_port: int = env("SCHEDULER_ADMIN_PORT", 7550)
    fetch_max_wait_ms: int = env("SCHEDULER_FETCH_MAX_WAIT_MS", 500)
    max_poll_records: int = env("SCHEDULER_MAX_POLL_RECORDS", 500)
    session_timeout_ms: int = env("SCHEDULER_KAFKA_SESSION_TIMEOUT_MS", 10000)
    heartbeat_interval_ms: int = env("SCHEDULER_KAFKA_HEARTBEAT_MS", 1000)
    write_batch_ms: float = env("SCHEDULER_WRITE_BATCH_MS", 5.0)
    write_batch_max: int = env("SCHEDULER_WRITE_BATCH_MAX", 500)
    max_pending_writes: int = env("SCHEDULER_MAX_PENDING_WRITES", 5000)
    max_pending_fields: int = env("SCHEDULER_MAX_PENDING_FIELDS", 500_000)
    max_active_sessions: Annotated[int, BeforeValidator(lambda v: max(1, int(v)))] = env(
        "SCHEDULER_MAX_ACTIVE_SESSIONS", 500)
    inform_digest_cache: int = env("SCHEDULER_INFORM_DIGEST_CACHE", 200_000)
    tasks_poll_s: float = env("SCHEDULER_TASKS_POLL_S", 0.25)
    tasks_refresh_s: float = env("SCHEDULER_TASKS_REFRESH_S", 60.0)
    presets_poll_s: float = env("SCHEDULER_PRESETS_POLL_S", 1.0)
    max_task_attempts: int = env("SCHEDULER_MAX_TASK_ATTEMPTS", 3)
    max_rpcs_per_session: int = env("SCHEDULER_MAX_RPCS_PER_SESSION", 256)
    session_idle_timeout_s: float = env("SCHEDULER_SESSION_IDLE_TIMEOUT_S", 120.0)
    gpv_batch_size: int = env("SCHEDULER_GPV_BATCH_SIZE", 100)
    partial_path_values: Switch = env("SCHEDULER_PARTIAL_PATH_VALUES", True)
    bootstrap_discovery: Switch = env("SCHEDULER_BOOTSTRAP_DISCOVERY", True)
    files_base_url: str = env("ACS_FILES_PUBLIC_URL", "http://127.0.0.1:7567")
    files_secret: str = env("ACS_FILES_SECRET", "", repr=False)
    # proven to gateways on each reply connection
    affinity_secret: Utf8Bytes = env("ACS_AFFINITY_SECRET", b"", repr=False)
    file_url_ttl_s: int = env("ACS_FILE_URL_TTL_S", 86400)
    provisions_dir: str = env("SCHEDULER_PROVISIONS_DIR", "")
    bootstrap_defaults: Switch = env("SCHEDULER_BOOTSTRAP_DEFAULTS", True)
    periodic_inform_interval_s: int = env("SCHEDULER_PERIODIC_INFORM_INTERVAL_S", 300)
    provision_max_iterations: int = env("SCHEDULER_PROVISION_MAX_ITERATIONS", 16)
    provision_function_timeout_s: float = env("SCHEDULER_PROVISION_FUNCTION_TIMEOUT_S", 1.0)
    # GenieACS scripts: per-run CPU time and memory, the ext() folder and its time limit
    script_cpu_ms: float = env("SCHEDULER_SCRIPT_CPU_MS", 500.0)
    script_memory_mb: int = env("SCHEDULER_SCRIPT_MEMORY_MB", 32)
    ext_dir: str = env("SCHEDULER_EXT_DIR", "")
    ext_timeout_s: float = env("SCHEDULER_EXT_TIMEOUT_S", 3.0)
    # which tenant owns a new device (tenants.py); a malformed list stops the scheduler at start
    tenant_rules: Annotated[tuple[Rule, ...], BeforeValidator(_rules)] = env("ACS_TENANT_RULES", ())
    # the CPE credential lifecycle (cpe_credentials.py, docs/security.md)
    cpe_credentials: Annotated[Literal["auto", "per-device", "shared"], Lower] = env("SCHEDULER_CPE_CREDENTIALS", "auto")
    cpe_credential_rotation_days: float = env("SCHEDULER_CPE_CREDENTIAL_ROTATION_DAYS", 0.0)  # 0: never
    cpe_credential_grace_s: float = env("SCHEDULER_CPE_CREDENTIAL_GRACE_S", 7 * 86400.0)
