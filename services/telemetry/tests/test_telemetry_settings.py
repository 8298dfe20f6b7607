"""The telemetry service's settings: switches and the shared Kafka settings (the documented
variables are checked for every service in tests/test_settings_documented.py)."""

from __future__ import annotations

from telemetry.config import Settings


def test_switches_and_the_shared_kafka_settings():
    s = Settings.from_env({"TELEMETRY_COLLECTOR": "off", "TELEMETRY_WRITER": "1", "ACS_KAFKA_BOOTSTRAP": "k:9092",
                           "ACS_KAFKA_IDEMPOTENCE": "off", "ACS_KAFKA_SASL_PASSWORD": "s3cr3t", "TELEMETRY_BULKDATA_SECRET": "bd-s3cr3t"})
    assert (s.collector, s.writer) == (False, True)
    assert s.kafka is not None and (s.kafka.bootstrap, s.kafka.idempotence) == ("k:9092", False)
    assert "s3cr3t" not in repr(s)
