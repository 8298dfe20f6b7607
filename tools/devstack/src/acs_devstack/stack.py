"""The whole ACS on one machine: broker, database, gateways, schedulers, inventory.

Services run as child processes from their console scripts with the same environment variables
an operator sets in production (docs/configuration.md), on free ports in a temporary folder: the
end-to-end tests and ``make bench`` use it so. ``make run`` (``node.py``) gives it fixed ports,
hosts, a data folder that is kept and a certificate for the CWMP port instead; every such field
left at its default keeps the free-port, temporary behaviour.
"""

from __future__ import annotations

import os
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

from .kafka import KafkaCluster
from .servers import (
    Server,
    free_port,
    kafka_impl,
    local_host,
    mongo_server,
    mongo_uri,
    new_workdir,
    tansu_broker,
)


def _script(name: str) -> str:
    p = Path(sys.executable).parent / name
    return str(p) if p.exists() else name


@dataclass
class Service(Server):
    """A service process with an admin port that answers /readyz."""

    admin_port: int = 0
    tls: bool = False  # a gateway serving HTTPS on its CWMP port (its admin port stays plain HTTP)

    @property
    def admin_url(self) -> str:
        return f"http://{local_host(self.host)}:{self.admin_port}"

    def readiness(self, timeout: float = 2.0) -> tuple[bool, str]:
        """(ready, detail) from the service's /readyz."""
        try:
            r = httpx.get(f"{self.admin_url}/readyz", timeout=timeout, verify=False)
        except httpx.HTTPError as e:
            return False, str(e) or type(e).__name__
        return r.status_code == 200, r.text

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"{self.name} exited; see {self.log_path}:\n{self.log_path.read_text()[-3000:]}")
            ok, last = self.readiness()
            if ok:
                return
            time.sleep(0.2)
        raise TimeoutError(f"{self.name} not ready after {timeout}s: {last}; see {self.log_path}")

    def wait_ready_or_stop(self, timeout: float = 60.0) -> None:
        """``wait_ready``; a service that never gets ready is stopped (the stack does not hold it yet)."""
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise


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
    telemetry: Service | None = None  # Bulk Data collector + history writer (add_telemetry)
    telemetry_port: int = 0  # its report port (``make run``: 7570); 0 = a free port
    telemetry_secret: str = field(default_factory=lambda: secrets.token_hex(16))  # TELEMETRY_BULKDATA_SECRET
    secret: str = field(default_factory=lambda: secrets.token_hex(16))
    files_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    # ACS_AFFINITY_SECRET: schedulers prove it to the gateways' reply listeners (acs_contracts.affinity)
    affinity_secret: str = field(default_factory=lambda: secrets.token_hex(32))
    nbi_token: str = field(default_factory=lambda: secrets.token_hex(12))
    # ACS_CREDENTIALS_KEYS: CPE credentials encrypted at rest (acs_contracts.cpe_secrets); "" stores plaintext
    credentials_keys: str = field(default_factory=lambda: os.environ.get("ACS_CREDENTIALS_KEYS") or Fernet.generate_key().decode())
    # Fixed ports and hosts (``make run``); 0 and the defaults keep free ports on 127.0.0.1.
    cwmp_port: int = 0            # the first gateway's CWMP port
    gateway_admin_port: int = 0   # the first gateway's admin port
    gateway_reply_port: int = 0   # the first gateway's reply listener
    scheduler_admin_port: int = 0  # the first scheduler's admin port
    nbi_port: int = 0
    files_port: int = 0
    console_port: int = 0  # the inventory's operator console (``make run``: 3000); 0 = a free port
    kafka_port: int = 0
    mongo_port: int = 0
    listen_host: str = "127.0.0.1"  # CWMP port, gateway admin port and CPE file server
    nbi_host: str = "127.0.0.1"
    kafka_host: str = "127.0.0.1"
    mongo_host: str = "127.0.0.1"
    public_host: str = ""  # how CPEs reach this machine (CWMP URL, file URLs); local_host(listen_host) if empty
    tls_certfile: str = ""  # gateways serve HTTPS with it (unless one is added with tls=False)
    tls_keyfile: str = ""
    persistent: bool = False  # data in fixed folders of workdir, kept by the next start; never containers
    log_dir: Path | None = None  # service and database logs (default: workdir)

    # ---- infrastructure
    def start_servers(self) -> "Stack":
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
        if os.environ.get("ACS_TEST_DOCKER") == "1" and not self.persistent:
            from .containers import kafka_container, mongo_container

            self.kafka, self.mongo = kafka_container(), mongo_container()  # type: ignore[assignment]
            self.kafka_kind = "apache (container)"
        else:
            self.kafka_kind = kafka_impl()
            if self.kafka_kind == "apache":
                heap = 512 if self.kafka_brokers == 1 else 320
                self.kafka = self.kafka_cluster(heap).start()
            else:
                self.kafka = tansu_broker(self.workdir, self.kafka_port or None, self.kafka_host,
                                          self._advertised(self.kafka_host), self.log_dir).start()
            self.mongo = mongo_server(self.workdir, self.mongo_port or None, host=self.mongo_host,
                                      data_dir=self.workdir / "mongo" if self.persistent else None,
                                      log_dir=self.log_dir).start()
        return self

    def kafka_cluster(self, heap_mb: int = 512) -> KafkaCluster:
        """The Apache Kafka nodes, not started (``start_servers`` starts them). Their data stays
        in ``<workdir>/kafka``; a fixed ``kafka_port`` serves one node."""
        ports = [self.kafka_port] if self.kafka_port and self.kafka_brokers == 1 else None
        return KafkaCluster(self.workdir, n=self.kafka_brokers, partitions=self.partitions, heap_mb=heap_mb,
                            ports=ports, host=self.kafka_host, advertised_host=self._advertised(self.kafka_host))

    def _advertised(self, host: str) -> str:
        """The address a server listening on ``host`` gives its clients."""
        if host in ("0.0.0.0", "::"):
            return self.public_host or local_host(host)
        return local_host(host)

    def broker_env(self) -> dict[str, str]:
        """What the stand-in broker cannot do is turned down for it, and only for it."""
        if self.kafka_kind == "tansu":
            return {"ACS_KAFKA_IDEMPOTENCE": "off"}
        return {}

    def common_env(self) -> dict[str, str]:
        assert self.kafka and self.mongo
        return {**self.broker_env(),
            "ACS_KAFKA_BOOTSTRAP": getattr(self.kafka, "bootstrap", f"127.0.0.1:{self.kafka.port}"),
            "ACS_MONGODB_URI": mongo_uri(self.mongo.port, self.mongo_host),
            "ACS_SESSION_EVENTS_PARTITIONS": str(self.partitions),
            "ACS_FILES_SECRET": self.files_secret,
            "ACS_AFFINITY_SECRET": self.affinity_secret,
            "ACS_CREDENTIALS_KEYS": self.credentials_keys,
            "ACS_LOG_LEVEL": os.environ.get("ACS_LOG_LEVEL", "INFO"),
            "PYTHONUNBUFFERED": "1",
        }

    # ---- services
    def add_gateway(self, *, port: int = 0, admin_port: int = 0, reply_port: int = 0, tls: bool | None = None,
                    wait_ready: bool = True, **env: str) -> Service:
        """A gateway; the first one takes the stack's fixed ports where set. ``tls`` (default:
        whether the stack has a certificate) serves HTTPS on its CWMP port."""
        first = not self.gateways
        port = port or (self.cwmp_port if first else 0) or free_port()
        admin = admin_port or (self.gateway_admin_port if first else 0) or free_port()
        reply = reply_port or (self.gateway_reply_port if first else 0) or free_port()
        tls = bool(self.tls_certfile) if tls is None else tls
        tls_env = {"GATEWAY_TLS_CERTFILE": self.tls_certfile, "GATEWAY_TLS_KEYFILE": self.tls_keyfile} if tls else {}
        e = {**self.common_env(), "GATEWAY_HOST": self.listen_host, "GATEWAY_PORT": str(port), "GATEWAY_ADMIN_PORT": str(admin),
             "GATEWAY_REPLY_PORT": str(reply), "GATEWAY_REPLY_HOST": "127.0.0.1",
             "GATEWAY_REPLY_ADVERTISE": f"127.0.0.1:{reply}", "GATEWAY_SECRET": self.secret,
             **tls_env, **self.gateway_env, **env}
        name = f"gateway-{len(self.gateways)}"
        svc = Service(name, [_script("acs-session-gateway")], port, self._log(f"{name}-{port}.log"), e,
                      host=self.listen_host, admin_port=admin, tls=bool(e.get("GATEWAY_TLS_CERTFILE")))
        svc.start()
        if wait_ready:
            svc.wait_ready_or_stop()
        self.gateways.append(svc)
        return svc

    def add_scheduler(self, wait_ready: bool = True, **env: str) -> Service:
        admin = (self.scheduler_admin_port if not self.schedulers else 0) or free_port()
        e = {**self.common_env(), "SCHEDULER_HOST": "127.0.0.1", "SCHEDULER_ADMIN_PORT": str(admin),
             **({"SCHEDULER_FETCH_MAX_WAIT_MS": "20"} if self.kafka_kind == "tansu" else {}),
             "SCHEDULER_KAFKA_SESSION_TIMEOUT_MS": "6000",
             "SCHEDULER_KAFKA_HEARTBEAT_MS": "500", "ACS_FILES_PUBLIC_URL": self.files_url, **self.scheduler_env, **env}
        svc = Service(f"scheduler-{len(self.schedulers)}", [_script("acs-task-scheduler")], admin,
                      self._log(f"scheduler-{len(self.schedulers)}-{admin}.log"), e, admin_port=admin)
        svc.start()
        if wait_ready:
            svc.wait_ready_or_stop()
        self.schedulers.append(svc)
        return svc

    @property
    def files_url(self) -> str:
        """The file server as CPEs reach it (Download and Upload URLs are signed under it)."""
        return f"http://{self.public_host or local_host(self.listen_host)}:{self._fs_port}"

    def __post_init__(self) -> None:
        self._fs_port = self.files_port or free_port()
        self._nbi_port = self.nbi_port or free_port()
        self._console_port = self.console_port or free_port()

    def _log(self, name: str) -> Path:
        return (self.log_dir or self.workdir) / name

    def add_inventory(self, wait_ready: bool = True, **env: str) -> Service:
        port = self._nbi_port
        e = {**self.common_env(), "NBI_HOST": self.nbi_host, "NBI_PORT": str(port), "FS_PORT": str(self._fs_port),
             "FS_HOST": self.listen_host, "ACS_FILES_PUBLIC_URL": self.files_url, "NBI_TOKENS": f"{self.nbi_token}:admin",
             "CONSOLE_HOST": self.nbi_host, "CONSOLE_PORT": str(self._console_port),
             **self.inventory_env, **env}
        svc = Service("inventory", [_script("acs-inventory")], port, self._log(f"inventory-{port}.log"), e,
                      host=self.nbi_host, admin_port=port)
        svc.start()
        if wait_ready:
            svc.wait_ready_or_stop()
        self.inventory = svc
        return svc

    def add_telemetry(self, wait_ready: bool = True, **env: str) -> Service:
        """The Bulk Data collector and history writer (services/telemetry); schedulers added
        after it get its secret, for the ``bulkdata_profile`` provision function."""
        port = self.telemetry_port or free_port()
        e = {**self.common_env(), "TELEMETRY_HOST": self.listen_host, "TELEMETRY_PORT": str(port),
             "TELEMETRY_BULKDATA_SECRET": self.telemetry_secret, **env}
        self.scheduler_env.setdefault("TELEMETRY_BULKDATA_SECRET", self.telemetry_secret)
        svc = Service("telemetry", [_script("acs-telemetry")], port, self._log(f"telemetry-{port}.log"), e,
                      host=self.listen_host, admin_port=port)
        svc.start()
        if wait_ready:
            svc.wait_ready_or_stop()
        self.telemetry = svc
        return svc

    @property
    def bulkdata_url(self) -> str:
        """Where CPEs send Bulk Data reports."""
        assert self.telemetry is not None
        return f"http://{self.public_host or local_host(self.listen_host)}:{self.telemetry.port}/bulkdata"

    @property
    def nbi_url(self) -> str:
        return f"http://{local_host(self.nbi_host)}:{self._nbi_port}"

    @property
    def console_url(self) -> str:
        """The operator console (the built ui/, the NBI under /api), on the NBI's address."""
        return f"http://{local_host(self.nbi_host)}:{self._console_port}"

    def cwmp_url(self, i: int = 0) -> str:
        """The i-th gateway's CWMP URL as CPEs reach it."""
        g = self.gateways[i]
        return f"{'https' if g.tls else 'http'}://{self.public_host or local_host(self.listen_host)}:{g.port}/"

    def stop(self) -> None:
        for svc in [*self.gateways, *self.schedulers, *( [self.inventory] if self.inventory else []),
                    *([self.telemetry] if self.telemetry else [])]:
            svc.stop()
        for srv in (self.kafka, self.mongo):
            if srv is not None:
                srv.stop()
