"""Prometheus metrics of the telemetry service (names in docs/metrics.md)."""

from prometheus_client import Counter, Gauge, Histogram

_FAST = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

REPORTS = Counter("acs_telemetry_reports_total", "Bulk Data reports received", ["format", "outcome"])
SAMPLES_IN = Counter("acs_telemetry_samples_received_total", "KPI samples accepted by the collector")
SAMPLES_WRITTEN = Counter("acs_telemetry_samples_written_total", "KPI samples written to the history", ["source"])
WRITE_SECONDS = Histogram("acs_telemetry_write_seconds", "One history bulk_write", buckets=_FAST)
WRITE_BUCKETS = Histogram("acs_telemetry_write_buckets", "Hourly buckets touched per bulk_write",
                          buckets=(1, 10, 100, 500, 1000, 2000, 5000, 10000))
ALARMS = Counter("acs_telemetry_alarms_total", "Alarm state changes", ["rule", "state"])
ALARMS_ACTIVE = Gauge("acs_telemetry_alarms_active", "Alarms raised and not cleared (this writer's devices)")
DOWNSAMPLED = Counter("acs_telemetry_buckets_downsampled_total", "Hourly buckets reduced to min/max/avg/last")
BAD_MESSAGES = Counter("acs_telemetry_bad_messages_total", "Topic messages skipped as unreadable", ["topic"])
