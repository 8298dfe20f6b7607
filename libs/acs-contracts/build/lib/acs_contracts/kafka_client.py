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


async def ensure_topics(partitions: int | None = None, env: dict[str, str] | None = None) -> None:
    """Create the ACS topics if missing (session events with ``partitions``; others with 3)."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError

    from .kafka_topics import ALL_TOPICS, SESSION_EVENTS

    env = dict(os.environ) if env is None else env
    partitions = partitions or int(env.get("ACS_SESSION_EVENTS_PARTITIONS", "12"))
    admin = AIOKafkaAdminClient(**kafka_common_kwargs(env))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        new = [NewTopic(t, partitions if t == SESSION_EVENTS else 3, 1) for t in ALL_TOPICS if t not in existing]
        if new:
            try:
                await admin.create_topics(new)
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()
