"""Apache Kafka (KRaft) as child processes: one combined broker+controller node, or a cluster.

The broker comes from Maven Central: ``kafka-pom.xml`` names ``org.apache.kafka:kafka_2.13``;
``mvn dependency:copy-dependencies`` copies it and its runtime dependencies into a cache folder
once (``ACS_KAFKA_CACHE``, default ``~/.cache/acs-devstack/kafka-<version>``), and every broker
after that starts from there with ``java`` (``kafka.Kafka``; storage formatted with
``kafka.tools.StorageTool`` the first time a log folder is used, so a restart keeps the data).

A cluster is ``n`` nodes, each broker and controller, with the controllers forming the quorum,
replication factor ``n`` and ``min.insync.replicas = n - 1``: the failover tests kill one and
every acknowledged record must still be there.
"""

from __future__ import annotations

import asyncio
import base64
import fcntl
import os
import shutil
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .servers import Server, free_port, local_host, wait_port

KAFKA_VERSION = "4.4.0"
_HERE = Path(__file__).parent
POM = _HERE / "kafka-pom.xml"
LOG_CONFIG = _HERE / "kafka-log4j2.yaml"


def cache_dir() -> Path:
    default = Path.home() / ".cache" / "acs-devstack" / f"kafka-{KAFKA_VERSION}"
    return Path(os.environ.get("ACS_KAFKA_CACHE") or default)


def java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def available() -> bool:
    """A JVM, and the broker's jars already cached or Maven to fetch them."""
    return java() is not None and ((cache_dir() / ".complete").exists() or shutil.which("mvn") is not None)


def resolve_jars() -> Path:
    """The folder holding the broker's jars, resolved from Maven Central on first use.

    A file lock keeps parallel test runs from resolving twice; the folder is renamed into place
    only once complete, so an interrupted download is never taken for a broker."""
    dest = cache_dir()
    if (dest / ".complete").exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest.parent / f".{dest.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (dest / ".complete").exists():
            return dest
        mvn = shutil.which("mvn")
        if mvn is None:
            raise RuntimeError("Maven (mvn) is needed once to fetch the Kafka broker from Maven Central")
        tmp = dest.parent / f"{dest.name}.partial"
        shutil.rmtree(tmp, ignore_errors=True)
        r = subprocess.run([mvn, "-q", "-B", "-f", str(POM), "dependency:copy-dependencies",
                            "-DincludeScope=runtime", f"-DoutputDirectory={tmp}"],
                           capture_output=True, text=True)
        if r.returncode != 0 or not any(tmp.glob("kafka_2.13-*.jar")):
            raise RuntimeError(f"resolving Apache Kafka {KAFKA_VERSION} with Maven failed:\n{r.stdout[-3000:]}{r.stderr[-3000:]}")
        (tmp / ".complete").write_text(KAFKA_VERSION)
        shutil.rmtree(dest, ignore_errors=True)
        tmp.rename(dest)
    return dest


def new_cluster_id() -> str:
    """A KRaft cluster id (a base64 UUID), never starting with '-' (the format tool's arguments)."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


def controller_port(workdir: Path, i: int = 0, preferred: int = 0) -> int:
    """Node ``i``'s controller port. Controller ports are part of the formatted quorum: kept with
    the data (``<workdir>/kafka/controller-<i+1>.port``) across restarts; the first time,
    ``preferred`` or else a free port."""
    f = workdir / "kafka" / f"controller-{i + 1}.port"
    if f.exists():
        return int(f.read_text())
    f.parent.mkdir(parents=True, exist_ok=True)
    p = preferred or free_port()
    f.write_text(str(p))
    return p


def _jvm(heap_mb: int) -> list[str]:
    return [java() or "java", f"-Xmx{heap_mb}m", f"-Xms{min(heap_mb, 128)}m", "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20", "-Djava.awt.headless=true", f"-Dlog4j2.configurationFile={LOG_CONFIG}",
            "-cp", f"{resolve_jars()}/*"]


@dataclass
class KafkaNode(Server):
    """One Kafka process (broker and controller). ``start`` formats its log folder the first time."""

    node_id: int = 1
    controller_port: int = 0
    log_dir: Path = field(default_factory=Path)
    cluster_id: str = ""
    properties: dict[str, str] = field(default_factory=dict)
    heap_mb: int = 512

    @property
    def config_path(self) -> Path:
        return self.log_dir.parent / f"server-{self.node_id}.properties"

    def _write_config(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text("".join(f"{k}={v}\n" for k, v in self.properties.items()))

    def format(self) -> None:
        """Format the log folder with the written config, unless done before (the data is kept)."""
        if (self.log_dir / "meta.properties").exists():
            return
        r = subprocess.run([*_jvm(256), "kafka.tools.StorageTool", "format", "-t", self.cluster_id,
                            "-c", str(self.config_path), "--ignore-formatted"], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"formatting {self.log_dir} failed:\n{r.stdout[-2000:]}{r.stderr[-2000:]}")

    def launch(self) -> None:
        self._write_config()
        self.format()
        self.argv = [*_jvm(self.heap_mb), "kafka.Kafka", str(self.config_path)]
        super().launch()

    def start(self, timeout: float = 60.0) -> "KafkaNode":
        super().start(timeout)
        return self


def _broker_properties(node_id: int, host: str, advertised_host: str, port: int, controller_port: int, voters: str,
                       log_dir: Path, replicas: int, partitions: int) -> dict[str, str]:
    min_isr = max(1, replicas - 1)
    return {
        "process.roles": "broker,controller",
        "node.id": str(node_id),
        "controller.quorum.voters": voters,
        "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{advertised_host}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(log_dir),
        "num.partitions": str(partitions),
        "default.replication.factor": str(replicas),
        "min.insync.replicas": str(min_isr),
        "offsets.topic.replication.factor": str(replicas),
        "offsets.topic.num.partitions": "8",
        "transaction.state.log.replication.factor": str(replicas),
        "transaction.state.log.min.isr": str(min_isr),
        "transaction.state.log.num.partitions": "4",
        "share.coordinator.state.topic.replication.factor": str(replicas),
        "share.coordinator.state.topic.min.isr": str(min_isr),
        "auto.create.topics.enable": "false",
        "unclean.leader.election.enable": "false",
        "group.initial.rebalance.delay.ms": "0",
        # A broker killed with -9 is fenced (and leaves every ISR) after 3 s instead of 9.
        "broker.session.timeout.ms": "3000",
        "broker.heartbeat.interval.ms": "500",
        "replica.lag.time.max.ms": "5000",
        "num.network.threads": "2",
        "num.io.threads": "4",
        "num.recovery.threads.per.data.dir": "1",
        "log.retention.hours": "168",
    }


@dataclass
class KafkaCluster:
    """``n`` Kafka nodes on free ports (``n = 1`` for a single broker); ``nodes[i].kill()`` crashes one."""

    workdir: Path
    n: int = 1
    partitions: int = 4
    heap_mb: int = 512
    ports: list[int] | None = None  # fixed client ports (make run), else free ones
    nodes: list[KafkaNode] = field(default_factory=list)
    name: str = "kafka"
    host: str = "127.0.0.1"  # where the client listeners listen (controllers: always 127.0.0.1)
    advertised_host: str = ""  # the address given to clients; default local_host(host)

    def __post_init__(self) -> None:
        root = self.workdir / "kafka"
        ids_file = root / "cluster.id"
        root.mkdir(parents=True, exist_ok=True)
        if not ids_file.exists():
            ids_file.write_text(new_cluster_id())
        cluster_id = ids_file.read_text().strip()
        ports = self.ports or [free_port() for _ in range(self.n)]
        cports = [controller_port(self.workdir, i) for i in range(self.n)]
        voters = ",".join(f"{i + 1}@127.0.0.1:{cports[i]}" for i in range(self.n))
        for i in range(self.n):
            log_dir = root / f"node-{i + 1}"
            props = _broker_properties(i + 1, self.host, self.advertised_host or local_host(self.host), ports[i],
                                       cports[i], voters, log_dir, self.n, self.partitions)
            self.nodes.append(KafkaNode(f"{self.name}-{i + 1}", [], ports[i], root / f"node-{i + 1}.log",
                                        host=self.host, node_id=i + 1, controller_port=cports[i], log_dir=log_dir,
                                        cluster_id=cluster_id, properties=props, heap_mb=self.heap_mb))

    # The Server-like face the stack and the tests use.
    @property
    def port(self) -> int:
        return self.nodes[0].port

    @property
    def bootstrap(self) -> str:
        return ",".join(f"{local_host(self.host)}:{n.port}" for n in self.nodes)

    @property
    def proc(self):
        return self.nodes[0].proc

    @property
    def pids(self) -> list[int]:
        return [n.proc.pid for n in self.nodes if n.proc is not None and n.proc.poll() is None]

    @property
    def running(self) -> bool:
        return any(n.running for n in self.nodes)

    def start(self, timeout: float = 90.0) -> "KafkaCluster":
        try:
            for node in self.nodes:  # the quorum needs a majority up: start them all, then wait
                node.launch()
            for node in self.nodes:
                wait_port(node.port, timeout, local_host(node.host))
            self.wait_brokers(timeout)
        except (TimeoutError, RuntimeError) as e:  # a format that failed, or no broker came up
            self.stop()
            raise RuntimeError(f"Kafka did not start ({e}); see {self.nodes[0].log_path}") from None
        return self

    def wait_brokers(self, timeout: float = 60.0, count: int | None = None) -> None:
        """Until the cluster's metadata lists ``count`` brokers (all by default)."""
        want = self.n if count is None else count
        # Its own thread and loop: the stack is also started from inside async tests.
        with ThreadPoolExecutor(1) as ex:
            ex.submit(asyncio.run, _wait_brokers(self.bootstrap, want, timeout)).result()

    def restart(self, i: int, timeout: float = 60.0) -> None:
        self.nodes[i].start(timeout)

    def stop(self, timeout: float = 15.0) -> None:
        live = [(n, n.proc) for n in self.nodes if n.running and n.proc is not None]
        for _, proc in live:  # all at once: a broker shutting down alone waits for the others' controller
            try:
                os.killpg(proc.pid, 15)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        for n, proc in live:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                n.kill()

    def kill(self) -> None:
        for n in self.nodes:
            n.kill()

    def pause(self) -> None:
        for n in self.nodes:
            n.pause()

    def resume(self) -> None:
        for n in self.nodes:
            n.resume()


async def _wait_brokers(bootstrap: str, want: int, timeout: float) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
        try:
            await admin.start()
            info = await admin.describe_cluster()
            brokers = info.get("brokers", [])
            if len(brokers) >= want and info.get("controller_id", -1) != -1:
                return
            last = info
        except Exception as e:  # starting up: connection refused, no controller yet
            last = e
        finally:
            await admin.close()
        await asyncio.sleep(0.2)
    raise TimeoutError(f"Kafka at {bootstrap} did not show {want} brokers within {timeout}s: {last}")


def main() -> int:
    """``python -m acs_devstack.kafka``: fetch the broker now (``make test`` and ``make bench`` do,
    so a missing registry shows up as such, before any test), or say why the fallback is used."""
    if java() is None:
        print("no java found: the local stack falls back to the tansu broker")
        return 0
    print(f"Apache Kafka {KAFKA_VERSION}: {resolve_jars()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
