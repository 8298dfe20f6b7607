"""Settings from environment variables (docs/configuration.md, section telemetry)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Self

from acs_contracts.settings import CommonSettings, Switch, Utf8Bytes, env

log = logging.getLogger(__name__)


class Settings(CommonSettings):
    host: str = env("TELEMETRY_HOST", "0.0.0.0")
    port: int = env("TELEMETRY_PORT", 7570)  # Bulk Data reports, /healthz, /readyz, /metrics
    # derives each device's Bulk Data password (auth.device_password)
    bulkdata_secret: Utf8Bytes = env("TELEMETRY_BULKDATA_SECRET", b"", repr=False)
    max_report_bytes: int = env("TELEMETRY_MAX_REPORT_BYTES", 4 << 20)  # after gunzip too
    collector: Switch = env("TELEMETRY_COLLECTOR", True)
    writer: Switch = env("TELEMETRY_WRITER", True)
    writer_group: str = env("TELEMETRY_WRITER_GROUP", "acs-telemetry-writer")
    writer_batch: int = env("TELEMETRY_WRITER_BATCH", 5000)  # Kafka records per poll, folded into one bulk_write
    writer_max_wait_ms: int = env("TELEMETRY_WRITER_MAX_WAIT_MS", 200)
    retention_days: float = env("TELEMETRY_RETENTION_DAYS", 30.0)
    # older buckets keep hourly min/max/avg/last per parameter
    downsample_after_h: float = env("TELEMETRY_DOWNSAMPLE_AFTER_H", 48.0)
    maintenance_s: float = env("TELEMETRY_MAINTENANCE_S", 60.0)
    missing_informs_check_s: float = env("TELEMETRY_MISSING_INFORMS_CHECK_S", 30.0)
    rules_refresh_s: float = env("TELEMETRY_RULES_REFRESH_S", 5.0)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        s = super().from_env(environ)
        if not s.bulkdata_secret:
            log.warning("TELEMETRY_BULKDATA_SECRET is not set: every Bulk Data report will be refused")
        return s
