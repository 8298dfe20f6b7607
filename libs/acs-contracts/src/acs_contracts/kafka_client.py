"""Kafka client arguments from the shared ``ACS_KAFKA_*`` settings (``settings.KafkaSettings``).

Every service builds its aiokafka producer/consumer/admin from these, so SASL and TLS to a
managed Kafka are configured once (see docs/configuration.md).
"""

from __future__ import annotations

import ssl
from typing import Any

from .settings import KafkaSettings

DEFAULT_BOOTSTRAP = "127.0.0.1:9092"


def kafka_common_kwargs(kafka: KafkaSettings | None = None) -> dict[str, Any]:
    """Connection arguments; ``None`` reads ``ACS_KAFKA_*`` from the process environment."""
    k = KafkaSettings.from_env() if kafka is None else kafka
    kw: dict[str, Any] = {"bootstrap_servers": k.bootstrap or DEFAULT_BOOTSTRAP}
    proto = k.security_protocol
    kw["security_protocol"] = proto
    if proto in ("SSL", "SASL_SSL"):
        ctx = ssl.create_default_context(cafile=k.ssl_cafile or None)
        kw["ssl_context"] = ctx
    if proto.startswith("SASL"):
        kw["sasl_mechanism"] = k.sasl_mechanism
        kw["sasl_plain_username"] = k.sasl_username
        kw["sasl_plain_password"] = k.sasl_password
    return kw


def producer_kwargs(kafka: KafkaSettings | None = None) -> dict[str, Any]:
    """The connection settings plus what every producer of the ACS promises: ``acks=all`` (the
    record is on every in-sync replica, at least ``min.insync.replicas``, before it counts as
    sent) and the idempotent producer, so a retry after a lost acknowledgement or a leader change
    writes the record once, in order. ``ACS_KAFKA_IDEMPOTENCE=off`` only for a broker without it
    (the ``tansu`` fallback)."""
    k = KafkaSettings.from_env() if kafka is None else kafka
    return {**kafka_common_kwargs(k), "acks": "all", "enable_idempotence": k.idempotence}


async def ensure_topics(partitions: int, kafka: KafkaSettings | None = None) -> None:
    """Create the ACS topics if missing (session events and session messages with
    ``partitions``, the service's ``ACS_SESSION_EVENTS_PARTITIONS``: the two must have the same
    count, a device's Inform and later messages then share a partition number: session messages
    created beside an existing session-events topic take its count; others with 3).

    Replicas: ``ACS_KAFKA_REPLICATION_FACTOR``, or when unset as many as there are brokers, up
    to 3. ``ACS_KAFKA_MIN_INSYNC_REPLICAS`` sets the topics' ``min.insync.replicas`` (else the
    broker's default), which with ``acks=all`` decides how many copies an acknowledged event has."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError

    from .kafka_topics import ALL_TOPICS, SESSION_EVENTS, SESSION_MESSAGES

    k = KafkaSettings.from_env() if kafka is None else kafka
    admin = AIOKafkaAdminClient(**kafka_common_kwargs(k))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        rf = k.replication_factor
        if rf <= 0:
            rf = min(3, len((await admin.describe_cluster()).get("brokers", [])) or 1)
        configs = {}
        if k.min_insync_replicas:
            configs["min.insync.replicas"] = str(k.min_insync_replicas)
        if SESSION_EVENTS in existing and SESSION_MESSAGES not in existing:  # an upgrade: pair the new topic
            [described] = await admin.describe_topics([SESSION_EVENTS])
            partitions = len(described["partitions"]) or partitions
        new = [NewTopic(t, partitions if t in (SESSION_EVENTS, SESSION_MESSAGES) else 3, rf, topic_configs=configs)
               for t in ALL_TOPICS if t not in existing]
        if new:
            try:
                await admin.create_topics(new)
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()
