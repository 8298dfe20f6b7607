"""The whole ACS on one machine: broker, database, gateways, schedulers, inventory.

Services run as child processes from their console scripts with the same environment variables
an operator sets in production (docs/configuration.md), on free ports. Used by ``make run``,
the end-to-end tests and ``make bench``.
"""

from __future__ import annotations

import os
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from .kafka import KafkaCluster
from .servers import Server, free_port, kafka_impl, mongo_server, mongo_uri, new_workdir, tansu_broker


def _script(name: str) -> str:
    p = Path(sys.executable).parent / name
    return str(p) if p.exists() else name


@dataclass
class Service(Server):
    """A service process with an admin port that answers /readyz."""

    admin_port: int = 0

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"{self.name} exited; see {self.log_path}:\n{self.log_path.read_text()[-3000:]}")
            try:
                r = httpx.get(f"http://127.0.0.1:{self.admin_port}/readyz", timeout=2)
                if r.status_code == 200:
                    return
                last = r.text
            except httpx.HTTPError as e:
                last = str(e)
            time.sleep(0.2)
        raise TimeoutError(f"{self.name} not ready after {timeout}s: {last}; see {self.log_path}")


@dataclass
class Stack:
    workdir: Path = field(default_factory=new_workdir)
    partitions: int = 4
    kafka_brokers: int = 1  # 3 for the failover tests (replication factor 3, min.insync.replicas 2)
    gateway_env: dict[str, str] = field(default_factory=dict)
    scheduler_env: dict[str, str] = field(default_factory=dict)
    inventory_env: dict[str, str] = field(default_factory=dict)
    kafka: KafkaCluster | Server | None = None
    kafka_kind: str = ""
    mongo: Server | None = None
    gateways: list[Service] = field(default_factory=list)
    schedulers: list[Service] = field(default_factory=list)
    inventory: Service | None = None
    secret: str = field(default_factory=lambda: secrets.token_hex(16))
    files_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    nbi_token: str = field(default_factory=lambda: secrets.token_hex(12))

    # ---- infrastructure
    def start_servers(self) -> "Stack":
        if os.environ.get("ACS_TEST_DOCKER") == "1":
            from .containers import kafka_container, mongo_container

            self.kafka, self.mongo = kafka_container(), mongo_container()  # type: ignore[assignment]
            self.kafka_kind = "apache (container)"
        else:
            self.kafka_kind = kafka_impl()
            if self.kafka_kind == "apache":
                heap = 512 if self.kafka_brokers == 1 else 320
                self.kafka = KafkaCluster(self.workdir, n=self.kafka_brokers, partitions=self.partitions,
                                          heap_mb=heap).start()
            else:
                self.kafka = tansu_broker(self.workdir).start()
            self.mongo = mongo_server(self.workdir).start()
        return self

    def broker_env(self) -> dict[str, str]:
        """What the stand-in broker cannot do is turned down for it, and only for it."""
        if self.kafka_kind == "tansu":
            return {"ACS_KAFKA_IDEMPOTENCE": "off"}
        return {}

    def common_env(self) -> dict[str, str]:
        assert self.kafka and self.mongo
        return {**self.broker_env(),
            "ACS_KAFKA_BOOTSTRAP": getattr(self.kafka, "bootstrap", f"127.0.0.1:{self.kafka.port}"),
            "ACS_MONGODB_URI": mongo_uri(self.mongo.port),
            "ACS_SESSION_EVENTS_PARTITIONS": str(self.partitions),
            "ACS_FILES_SECRET": self.files_secret,
            "ACS_LOG_LEVEL": os.environ.get("ACS_LOG_LEVEL", "INFO"),
            "PYTHONUNBUFFERED": "1",
        }

    # ---- services
    def add_gateway(self, **env: str) -> Service:
        port, admin, reply = free_port(), free_port(), free_port()
        e = {**self.common_env(), "GATEWAY_HOST": "127.0.0.1", "GATEWAY_PORT": str(port), "GATEWAY_ADMIN_PORT": str(admin),
             "GATEWAY_REPLY_PORT": str(reply), "GATEWAY_REPLY_ADVERTISE": f"127.0.0.1:{reply}", "GATEWAY_SECRET": self.secret,
             **self.gateway_env, **env}
        svc = Service(f"gateway-{len(self.gateways)}", [_script("acs-session-gateway")], port,
                      self.workdir / f"gateway-{len(self.gateways)}-{port}.log", e, admin_port=admin)
        svc.start()
        svc.wait_ready()
        self.gateways.append(svc)
        return svc

    def add_scheduler(self, wait_ready: bool = True, **env: str) -> Service:
        admin = free_port()
        e = {**self.common_env(), "SCHEDULER_HOST": "127.0.0.1", "SCHEDULER_ADMIN_PORT": str(admin),
             **({"SCHEDULER_FETCH_MAX_WAIT_MS": "20"} if self.kafka_kind == "tansu" else {}),
             "SCHEDULER_KAFKA_SESSION_TIMEOUT_MS": "6000",
             "SCHEDULER_KAFKA_HEARTBEAT_MS": "500", "ACS_FILES_PUBLIC_URL": self.files_url, **self.scheduler_env, **env}
        svc = Service(f"scheduler-{len(self.schedulers)}", [_script("acs-task-scheduler")], admin,
                      self.workdir / f"scheduler-{len(self.schedulers)}-{admin}.log", e, admin_port=admin)
        svc.start()
        if wait_ready:
            svc.wait_ready()
        self.schedulers.append(svc)
        return svc

    @property
    def files_url(self) -> str:
        return f"http://127.0.0.1:{self._fs_port}"

    def __post_init__(self) -> None:
        self._fs_port = free_port()
        self._nbi_port = free_port()

    def add_inventory(self, **env: str) -> Service:
        port = self._nbi_port
        e = {**self.common_env(), "NBI_HOST": "127.0.0.1", "NBI_PORT": str(port), "FS_PORT": str(self._fs_port),
             "FS_HOST": "127.0.0.1", "ACS_FILES_PUBLIC_URL": self.files_url, "NBI_TOKENS": f"{self.nbi_token}:admin",
             **self.inventory_env, **env}
        svc = Service("inventory", [_script("acs-inventory")], port, self.workdir / f"inventory-{port}.log", e, admin_port=port)
        svc.start()
        svc.wait_ready()
        self.inventory = svc
        return svc

    @property
    def nbi_url(self) -> str:
        return f"http://127.0.0.1:{self._nbi_port}"

    def cwmp_url(self, i: int = 0) -> str:
        return f"http://127.0.0.1:{self.gateways[i].port}/"

    def stop(self) -> None:
        for svc in [*self.gateways, *self.schedulers, *( [self.inventory] if self.inventory else [])]:
            svc.stop()
        for srv in (self.kafka, self.mongo):
            if srv is not None:
                srv.stop()
