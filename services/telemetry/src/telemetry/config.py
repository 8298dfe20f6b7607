"""Settings from environment variables (docs/configuration.md, section telemetry)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


def _bool(v: str) -> bool:
    return v.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True, slots=True)
class Settings:
    mongodb_uri: str = "mongodb://127.0.0.1:27017/?directConnection=true"
    mongodb_database: str = "acs"
    log_level: str = "INFO"
    host: str = "0.0.0.0"
    port: int = 7570  # Bulk Data reports, /healthz, /readyz, /metrics
    bulkdata_secret: bytes = b""  # derives each device's Bulk Data password (auth.device_password)
    max_report_bytes: int = 4 << 20  # after gunzip too
    collector: bool = True
    writer: bool = True
    writer_group: str = "acs-telemetry-writer"
    writer_batch: int = 5000  # Kafka records per poll, folded into one bulk_write
    writer_max_wait_ms: int = 200
    retention_days: float = 30.0
    downsample_after_h: float = 48.0  # older buckets keep hourly min/max/avg/last per parameter
    maintenance_s: float = 60.0
    missing_informs_check_s: float = 30.0
    rules_refresh_s: float = 5.0
    kafka_env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        e = os.environ if env is None else env
        d = cls()
        secret = e.get("TELEMETRY_BULKDATA_SECRET", "")
        if not secret:
            log.warning("TELEMETRY_BULKDATA_SECRET is not set: every Bulk Data report will be refused")
        return cls(
            mongodb_uri=e.get("ACS_MONGODB_URI", d.mongodb_uri),
            mongodb_database=e.get("ACS_MONGODB_DATABASE", d.mongodb_database),
            log_level=e.get("ACS_LOG_LEVEL", d.log_level),
            host=e.get("TELEMETRY_HOST", d.host),
            port=int(e.get("TELEMETRY_PORT", d.port)),
            bulkdata_secret=secret.encode(),
            max_report_bytes=int(e.get("TELEMETRY_MAX_REPORT_BYTES", d.max_report_bytes)),
            collector=_bool(e.get("TELEMETRY_COLLECTOR", "on")),
            writer=_bool(e.get("TELEMETRY_WRITER", "on")),
            writer_group=e.get("TELEMETRY_WRITER_GROUP", d.writer_group),
            writer_batch=int(e.get("TELEMETRY_WRITER_BATCH", d.writer_batch)),
            writer_max_wait_ms=int(e.get("TELEMETRY_WRITER_MAX_WAIT_MS", d.writer_max_wait_ms)),
            retention_days=float(e.get("TELEMETRY_RETENTION_DAYS", d.retention_days)),
            downsample_after_h=float(e.get("TELEMETRY_DOWNSAMPLE_AFTER_H", d.downsample_after_h)),
            maintenance_s=float(e.get("TELEMETRY_MAINTENANCE_S", d.maintenance_s)),
            missing_informs_check_s=float(e.get("TELEMETRY_MISSING_INFORMS_CHECK_S", d.missing_informs_check_s)),
            rules_refresh_s=float(e.get("TELEMETRY_RULES_REFRESH_S", d.rules_refresh_s)),
            kafka_env={k: v for k, v in e.items() if k.startswith("ACS_KAFKA_")},
        )
