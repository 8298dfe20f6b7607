"""Real Apache Kafka and MongoDB images through testcontainers, for machines with a Docker engine.

Opt in with ``ACS_TEST_DOCKER=1``. The objects mirror ``servers.Server`` (``port``, ``stop``,
``kill``, ``running``) so the stack and the tests do not care which they got.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

KAFKA_IMAGE = "apache/kafka:4.1.0"
MONGO_IMAGE = "mongo:8.0.12"


@dataclass
class ContainerServer:
    name: str
    container: Any
    port: int

    @property
    def running(self) -> bool:
        return self.container is not None

    def stop(self) -> None:
        if self.container is not None:
            self.container.stop()
            self.container = None

    kill = stop


def kafka_container() -> ContainerServer:
    from testcontainers.kafka import KafkaContainer

    c = KafkaContainer(KAFKA_IMAGE).with_kraft()
    c.start()
    host, port = c.get_bootstrap_server().rsplit(":", 1)
    return ContainerServer("kafka", c, int(port))


def mongo_container() -> ContainerServer:
    from testcontainers.mongodb import MongoDbContainer

    c = MongoDbContainer(MONGO_IMAGE).with_command("--replSet rs0 --bind_ip_all")
    c.start()
    port = int(c.get_exposed_port(27017))
    c.exec('mongosh --quiet --eval "rs.initiate({_id: \'rs0\', members: [{_id: 0, host: \'localhost:27017\'}]})"')
    return ContainerServer("mongodb", c, port)
