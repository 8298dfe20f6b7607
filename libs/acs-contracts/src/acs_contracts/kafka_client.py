"""Kafka client settings from the shared ``ACS_KAFKA_*`` environment variables.

Every service builds its aiokafka producer/consumer/admin from these, so SASL and TLS to a
managed Kafka are configured once (see docs/configuration.md).
"""

from __future__ import annotations

import os
import ssl
from typing import Any


def kafka_common_kwargs(env: dict[str, str] | None = None) -> dict[str, Any]:
    env = dict(os.environ) if env is None else env
    kw: dict[str, Any] = {"bootstrap_servers": env.get("ACS_KAFKA_BOOTSTRAP", "127.0.0.1:9092")}
    proto = env.get("ACS_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT").upper()
    kw["security_protocol"] = proto
    if proto in ("SSL", "SASL_SSL"):
        ctx = ssl.create_default_context(cafile=env.get("ACS_KAFKA_SSL_CAFILE") or None)
        kw["ssl_context"] = ctx
    if proto.startswith("SASL"):
        kw["sasl_mechanism"] = env.get("ACS_KAFKA_SASL_MECHANISM", "PLAIN")
        kw["sasl_plain_username"] = env.get("ACS_KAFKA_SASL_USERNAME", "")
        kw["sasl_plain_password"] = env.get("ACS_KAFKA_SASL_PASSWORD", "")
    return kw


def producer_kwargs(env: dict[str, str] | None = None) -> dict[str, Any]:
    """The connection settings plus what every producer of the ACS promises: ``acks=all`` (the
    record is on every in-sync replica, at least ``min.insync.replicas``, before it counts as
    sent) and the idempotent producer, so a retry after a lost acknowledgement or a leader change
    writes the record once, in order. ``ACS_KAFKA_IDEMPOTENCE=off`` only for a broker without it
    (the ``tansu`` fallback)."""
    env = dict(os.environ) if env is None else env
    idempotent = env.get("ACS_KAFKA_IDEMPOTENCE", "on").strip().lower() not in ("off", "0", "false", "no")
    return {**kafka_common_kwargs(env), "acks": "all", "enable_idempotence": idempotent}


async def ensure_topics(partitions: int | None = None, env: dict[str, str] | None = None) -> None:
    """Create the ACS topics if missing (session events with ``partitions``; others with 3).

    Replicas: ``ACS_KAFKA_REPLICATION_FACTOR``, or when unset as many as there are brokers, up
    to 3. ``ACS_KAFKA_MIN_INSYNC_REPLICAS`` sets the topics' ``min.insync.replicas`` (else the
    broker's default), which with ``acks=all`` decides how many copies an acknowledged event has."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError

    from .kafka_topics import ALL_TOPICS, SESSION_EVENTS

    env = dict(os.environ) if env is None else env
    partitions = partitions or int(env.get("ACS_SESSION_EVENTS_PARTITIONS", "12"))
    admin = AIOKafkaAdminClient(**kafka_common_kwargs(env))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        rf = int(env.get("ACS_KAFKA_REPLICATION_FACTOR") or 0)
        if rf <= 0:
            rf = min(3, len((await admin.describe_cluster()).get("brokers", [])) or 1)
        configs = {}
        if env.get("ACS_KAFKA_MIN_INSYNC_REPLICAS"):
            configs["min.insync.replicas"] = env["ACS_KAFKA_MIN_INSYNC_REPLICAS"]
        new = [NewTopic(t, partitions if t == SESSION_EVENTS else 3, rf, topic_configs=configs)
               for t in ALL_TOPICS if t not in existing]
        if new:
            try:
                await admin.create_topics(new)
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()
