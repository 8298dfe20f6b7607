"""The shared ACS_* settings against docs/configuration.md's "Shared" section, and Kafka's arguments."""

from __future__ import annotations

from pathlib import Path

import pytest

from acs_contracts.kafka_client import kafka_common_kwargs, producer_kwargs
from acs_contracts.settings import CommonSettings, KafkaSettings, documented

DOC = Path(__file__).resolve().parents[3] / "docs" / "configuration.md"
# read once where they are used, in this package, also by tools without service settings
READ_BY_THEIR_MODULE = {"ACS_CREDENTIALS_KEYS": "cpe_secrets", "ACS_GC_GEN0_THRESHOLD": "gc_tuning"}


def test_every_shared_variable_is_a_field():
    shared = documented(DOC.read_text(), "Shared (all services)")
    assert "ACS_KAFKA_BOOTSTRAP" in shared
    assert sorted(shared - CommonSettings.variables().keys() - READ_BY_THEIR_MODULE.keys()) == []


@pytest.mark.parametrize("var", ["ACS_SESSION_EVENTS_PARTITIONS", "ACS_KAFKA_IDEMPOTENCE", "ACS_KAFKA_REPLICATION_FACTOR"])
def test_a_bad_value_names_its_variable(var: str):
    with pytest.raises(ValueError, match=var):
        CommonSettings.from_env({var: "not-a-value"})


def test_kafka_arguments():
    k = KafkaSettings.from_env({"ACS_KAFKA_SECURITY_PROTOCOL": "sasl_plaintext", "ACS_KAFKA_SASL_USERNAME": "u",
                                "ACS_KAFKA_SASL_PASSWORD": "s3cr3t", "ACS_KAFKA_REPLICATION_FACTOR": ""})
    kw = producer_kwargs(k)
    assert (kw["bootstrap_servers"], kw["security_protocol"], kw["sasl_plain_password"]) == ("127.0.0.1:9092", "SASL_PLAINTEXT", "s3cr3t")
    assert kw["acks"] == "all" and kw["enable_idempotence"] is True and k.replication_factor == 0
    assert kafka_common_kwargs(KafkaSettings(bootstrap="b:1"))["bootstrap_servers"] == "b:1"
    assert "s3cr3t" not in repr(k)


def test_direct_construction_reads_nothing(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ACS_MONGODB_DATABASE", "from-env")
    assert CommonSettings().mongodb_database == "acs"
    assert CommonSettings.from_env().mongodb_database == "from-env"
    assert CommonSettings(mongodb_database="x").model_copy(update={"log_level": "DEBUG"}).log_level == "DEBUG"
