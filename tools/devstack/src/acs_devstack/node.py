"""A single-node ACS that a small ISP can run for real: ``acs-devstack run`` (``make run``).

Everything on one machine, as child processes of one supervisor: Apache Kafka (or the ``tansu``
fallback without a JVM), SecantusDB, the inventory (NBI and CPE file server), the scheduler and
the gateway, on the standard ports, with their data, credentials and certificate in one data
folder (default ``./var``) kept from one run to the next:

    var/
      .acs-data          marks the folder as an ACS data folder (``clean-data`` checks it)
      kafka/             the broker's logs (KRaft metadata, topics, consumer offsets)
      mongo/             the database files
      logs/              one log file per service and the database (appended to)
      secrets/           nbi-admin-token, gateway-secret, files-secret (mode 0600, folder 0700)
      tls/               cwmp.crt, cwmp.key: the CWMP port's self-signed certificate
      run/               lock (held while running), node.json (processes, ports, health)

Settings: an option, else its environment variable, else the default (``SETTINGS`` below;
documented in docs/configuration.md, "Single node").
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from . import tls
from .kafka import KafkaCluster, controller_port
from .servers import kafka_impl, local_host, port_in_use
from .shared import REPO
from .stack import Stack
from .supervise import Supervisor, Unit, now_str, port_probe

# The resolved settings (see resolve): a value of its default's type for each, and a few derived ones.
Config = dict[str, Any]

MARKER = ".acs-data"
DATA_ENTRIES = (MARKER, "kafka", "mongo", "logs", "secrets", "tls", "run")


@dataclass(frozen=True)
class Setting:
    attr: str
    env: str
    flag: str
    default: str | int | float | bool
    help: str
    port_of: str = ""  # for a port: what listens there (error messages, banner)


SETTINGS: list[Setting] = [
    Setting("data_dir", "ACS_DATA_DIR", "--data-dir", "./var", "folder of the broker's logs, the database, secrets, certificate, logs"),
    Setting("public_host", "ACS_PUBLIC_HOST", "--public-host", "", "host name or address CPEs reach this machine at (CWMP and file URLs, certificate); default: the address of the default route's interface"),
    Setting("listen_host", "ACS_LISTEN_HOST", "--listen-host", "0.0.0.0", "address the CWMP port, the gateway admin port and the CPE file server listen on"),
    Setting("cwmp_port", "ACS_CWMP_PORT", "--cwmp-port", 7547, "CWMP port CPEs connect to (HTTPS unless ACS_CWMP_TLS=off)", "CWMP"),
    Setting("cwmp_tls", "ACS_CWMP_TLS", "--cwmp-tls", "on", "on: HTTPS on the CWMP port; off: plain HTTP there (--cwmp-http)"),
    Setting("cwmp_http_port", "ACS_CWMP_HTTP_PORT", "--cwmp-http-port", 0, "also serve plain-HTTP CWMP on this port (a second gateway), for CPEs that cannot do HTTPS; 0: none", "plain-HTTP CWMP"),
    Setting("tls_certfile", "ACS_TLS_CERTFILE", "--tls-cert", "", "certificate (PEM, with its chain) for the CWMP port; default: tls/cwmp.crt, self-signed, made on the first run"),
    Setting("tls_keyfile", "ACS_TLS_KEYFILE", "--tls-key", "", "its private key (PEM)"),
    Setting("nbi_host", "ACS_NBI_HOST", "--nbi-host", "127.0.0.1", "address the NBI listens on (0.0.0.0 to reach it from other machines)"),
    Setting("nbi_port", "ACS_NBI_PORT", "--nbi-port", 7557, "northbound API", "NBI"),
    Setting("files_port", "ACS_FILES_PORT", "--files-port", 7567, "file server CPEs download from", "CPE file server"),
    Setting("telemetry_port", "ACS_TELEMETRY_PORT", "--telemetry-port", 7570, "Bulk Data collector: TR-232 reports from CPEs (docs/monitoring.md)", "Bulk Data collector"),
    Setting("ui_port", "ACS_UI_PORT", "--ui-port", 3000, "the operator console (web UI, NBI under /api), on the NBI's address", "console"),
    Setting("kafka_host", "ACS_KAFKA_HOST", "--kafka-host", "127.0.0.1", "address Kafka listens on (127.0.0.1 or 0.0.0.0)"),
    Setting("kafka_port", "ACS_KAFKA_PORT", "--kafka-port", 9092, "Kafka client port", "Kafka"),
    Setting("kafka_controller_port", "ACS_KAFKA_CONTROLLER_PORT", "--kafka-controller-port", 9093, "Kafka's KRaft controller port on 127.0.0.1; used when the data folder is created, then kept in kafka/controller-1.port", "Kafka controller"),
    Setting("mongo_host", "ACS_MONGODB_HOST", "--mongodb-host", "127.0.0.1", "address the database listens on"),
    Setting("mongo_port", "ACS_MONGODB_PORT", "--mongodb-port", 27017, "database (MongoDB protocol)", "MongoDB"),
    Setting("gateway_reply_port", "ACS_GATEWAY_REPLY_PORT", "--gateway-reply-port", 7548, "the gateway's reply listener (the scheduler connects to it on 127.0.0.1 with a per-run secret)", "gateway reply listener"),
    Setting("gateway_admin_port", "ACS_GATEWAY_ADMIN_PORT", "--gateway-admin-port", 7549, "the gateway's /metrics /healthz /readyz (HTTPS when the CWMP port is)", "gateway admin"),
    Setting("scheduler_admin_port", "ACS_SCHEDULER_ADMIN_PORT", "--scheduler-admin-port", 7550, "the scheduler's /metrics /healthz /readyz on 127.0.0.1 (more schedulers: free ports)", "scheduler admin"),
    Setting("schedulers", "ACS_SCHEDULERS", "--schedulers", 1, "scheduler processes"),
    Setting("partitions", "ACS_SESSION_EVENTS_PARTITIONS", "--partitions", 4, "partitions of the session events and session messages topics when they are created"),
    Setting("health_interval_s", "ACS_HEALTH_INTERVAL_S", "--health-interval", 300.0, "print every service's health line this often (seconds; 0: at start and on changes only)"),
]
BY_ATTR = {s.attr: s for s in SETTINGS}


class NodeError(Exception):
    """Something the operator must fix; the message says what and how."""


def add_arguments(ap: argparse.ArgumentParser) -> None:
    for s in SETTINGS:
        if s.attr == "cwmp_tls":
            continue
        ap.add_argument(s.flag, dest=s.attr, default=None, metavar=s.env,
                        type=type(s.default) if not isinstance(s.default, str) else str,
                        help=f"{s.help} (env {s.env}, default {s.default!r})")
    ap.add_argument("--cwmp-http", dest="cwmp_tls", action="store_const", const="off", default=None,
                    help="serve plain HTTP on the CWMP port instead of HTTPS (env ACS_CWMP_TLS=off)")
    ap.add_argument("--fresh", action="store_true", help="delete the data folder first (every device, task, file, secret)")


def resolve(args: argparse.Namespace, env: dict[str, str] | None = None) -> Config:
    """Each setting from its option, else its environment variable, else its default."""
    env = dict(os.environ) if env is None else env
    out: Config = {}
    for s in SETTINGS:
        v = getattr(args, s.attr, None)
        if v is None and env.get(s.env, "") != "":
            raw = env[s.env]
            try:
                v = type(s.default)(raw) if not isinstance(s.default, str) else raw
            except ValueError:
                raise NodeError(f"{s.env}={raw!r} is not a {type(s.default).__name__}") from None
        out[s.attr] = s.default if v is None else v
    out["cwmp_tls"] = str(out["cwmp_tls"]).strip().lower() not in ("off", "0", "false", "no")
    out["data_dir"] = Path(str(out["data_dir"])).expanduser().resolve()
    out["fresh"] = bool(getattr(args, "fresh", False))
    return out


# ---- the data folder
def data_dir_of(args: argparse.Namespace) -> Path:
    raw = getattr(args, "data_dir", None) or os.environ.get("ACS_DATA_DIR") or "./var"
    return Path(raw).expanduser().resolve()


def init_data_dir(d: Path) -> bool:
    """Create the folder (or adopt an empty one); True when it is new. Refuses a folder that
    holds other things, so that ``--fresh`` and ``clean-data`` never delete what is not theirs."""
    new = not (d / MARKER).exists()
    if new and d.exists() and any(d.iterdir()):
        raise NodeError(f"{d} is not empty and is not an ACS data folder (no {MARKER}): choose another "
                        f"ACS_DATA_DIR / --data-dir, or empty it")
    for sub in ("", "logs", "run"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    if new:
        (d / MARKER).write_text("ACS single-node data folder (acs-devstack run). `make clean-data` deletes it.\n")
    return new


def clean_data_dir(d: Path, out=print) -> None:
    """Delete what the ACS keeps in ``d`` (only its own entries), refusing while it runs."""
    if not d.exists():
        out(f"{d}: nothing to delete")
        return
    if not (d / MARKER).exists():
        if any(d.iterdir()):
            raise NodeError(f"{d} is not an ACS data folder (no {MARKER}); not deleting anything")
        d.rmdir()
        return
    holder = _lock_holder(d)
    if holder is not None:
        raise NodeError(f"an ACS is running on {d} (pid {holder}): stop it first (Ctrl-C)")
    _stop_leftovers(d, out)
    for name in DATA_ENTRIES:
        p = d / name
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    try:
        d.rmdir()
    except OSError:
        pass  # other files of the operator's stay
    out(f"deleted the ACS data in {d}")


def _lock_holder(d: Path) -> int | None:
    lock = d / "run" / "lock"
    if not lock.exists():
        return None
    with open(lock, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            try:
                return int(f.read().strip() or 0) or -1
            except ValueError:
                return -1
        fcntl.flock(f, fcntl.LOCK_UN)
    return None


def take_lock(d: Path):
    """Hold ``run/lock`` for this run: a second run on the same folder is refused."""
    f = open(d / "run" / "lock", "a+")  # noqa: SIM115 - held open for the whole run
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        pid = f.read().strip() or "?"
        f.close()
        raise NodeError(f"an ACS is already running on {d} (pid {pid}); stop it first, or give another "
                        f"ACS_DATA_DIR / --data-dir") from None
    f.seek(0)
    f.truncate()
    f.write(str(os.getpid()))
    f.flush()
    return f


def _secret_file(path: Path, make) -> tuple[str, bool]:
    """The value in ``path``, created (mode 0600) if missing; (value, created)."""
    if path.exists():
        value = path.read_text().strip()
        if value:
            return value, False
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    value = make()
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return value, True


def token_path(d: Path) -> Path:
    return d / "secrets" / "nbi-admin-token"


def _telemetry_secret(files_secret: str) -> str:
    """TELEMETRY_BULKDATA_SECRET of ``make run``: derived from the kept files secret, so the
    devices' Bulk Data passwords stay valid across runs."""
    return hashlib.sha256(b"telemetry-bulkdata:" + files_secret.encode()).hexdigest()


@dataclass
class Credentials:
    nbi_token: str
    gateway_secret: str
    files_secret: str
    token_created: bool


def credentials(d: Path) -> Credentials:
    token, created = _secret_file(token_path(d), lambda: secrets.token_hex(24))
    gw, _ = _secret_file(d / "secrets" / "gateway-secret", lambda: secrets.token_hex(32))
    fs, _ = _secret_file(d / "secrets" / "files-secret", lambda: secrets.token_hex(32))
    return Credentials(token, gw, fs, created)


# ---- hosts and ports
def detect_public_host() -> str:
    """The IPv4 address of the interface holding the default route (no packet is sent), else
    a non-loopback address of the host name, else 127.0.0.1."""
    try:
        for line in Path("/proc/net/route").read_text().splitlines()[1:]:
            cols = line.split()
            if len(cols) > 1 and cols[1] == "00000000":
                ip = _iface_addr(cols[0])
                if ip:
                    return ip
    except OSError:
        pass
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            ip = str(info[4][0])
            if not ip.startswith("127."):
                return ip
    except OSError:
        pass
    return "127.0.0.1"


def _iface_addr(name: str) -> str | None:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            packed = fcntl.ioctl(s.fileno(), 0x8915, struct.pack("256s", name.encode()[:15]))  # SIOCGIFADDR
        return socket.inet_ntoa(packed[20:24])
    except OSError:
        return None


@dataclass
class PortUse:
    setting: str  # attr
    port: int
    host: str

    @property
    def what(self) -> str:
        return BY_ATTR[self.setting].port_of

    def describe(self) -> str:
        s = BY_ATTR[self.setting]
        return f"port {self.port} ({s.port_of}, setting {s.env} / {s.flag}) on {self.host}"


def planned_ports(cfg: Config, controller_port: int | None) -> list[PortUse]:
    uses = [
        PortUse("cwmp_port", int(cfg["cwmp_port"]), str(cfg["listen_host"])),
        PortUse("gateway_admin_port", int(cfg["gateway_admin_port"]), str(cfg["listen_host"])),
        PortUse("gateway_reply_port", int(cfg["gateway_reply_port"]), "0.0.0.0"),
        PortUse("scheduler_admin_port", int(cfg["scheduler_admin_port"]), "127.0.0.1"),
        PortUse("nbi_port", int(cfg["nbi_port"]), str(cfg["nbi_host"])),
        PortUse("files_port", int(cfg["files_port"]), str(cfg["listen_host"])),
        PortUse("telemetry_port", int(cfg["telemetry_port"]), str(cfg["listen_host"])),
        PortUse("ui_port", int(cfg["ui_port"]), str(cfg["nbi_host"])),
        PortUse("kafka_port", int(cfg["kafka_port"]), str(cfg["kafka_host"])),
        PortUse("mongo_port", int(cfg["mongo_port"]), str(cfg["mongo_host"])),
    ]
    if int(cfg["cwmp_http_port"]):
        uses.append(PortUse("cwmp_http_port", int(cfg["cwmp_http_port"]), str(cfg["listen_host"])))
    if controller_port:
        uses.append(PortUse("kafka_controller_port", controller_port, "127.0.0.1"))
    return uses


def check_ports(uses: list[PortUse]) -> None:
    """Every port must be valid, distinct and free, before anything starts."""
    problems = []
    seen: dict[int, PortUse] = {}
    for u in uses:
        if not 0 < u.port < 65536:
            problems.append(f"{u.describe()}: not a valid port")
            continue
        if u.port in seen:
            problems.append(f"{u.describe()}: the same port as {seen[u.port].describe()}")
            continue
        seen[u.port] = u
        why = port_in_use(u.port, u.host)
        if why is not None:
            problems.append(f"{u.describe()} is taken ({why}): stop what uses it, or set {BY_ATTR[u.setting].env} "
                            f"(or {BY_ATTR[u.setting].flag}) to a free port")
    if problems:
        raise NodeError("cannot start, nothing was started:\n  " + "\n  ".join(problems))


# ---- leftovers and the state file
def state_path(d: Path) -> Path:
    return d / "run" / "node.json"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _stop_leftovers(d: Path, out=print) -> None:
    """Processes a previous run started and left running (it was killed, not stopped): ended,
    by their recorded pid, only where that pid still runs the recorded command."""
    try:
        state = json.loads(state_path(d).read_text())
    except (OSError, ValueError):
        return
    left = []
    for name, svc in state.get("services", {}).items():
        pid, match = svc.get("pid"), svc.get("match", "")
        if pid and match and match in _cmdline(pid):
            left.append((name, pid))
    for name, pid in left:
        out(f"{name} (pid {pid}) was left running by a run that did not stop cleanly: stopping it")
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    deadline = time.monotonic() + 20
    for _name, pid in left:
        while _cmdline(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _cmdline(pid):
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    state_path(d).unlink(missing_ok=True)


# ---- the node
@dataclass
class Node:
    cfg: Config
    out: Callable[[str], None] = print
    stack: Stack | None = None
    supervisor: Supervisor | None = None
    urls: dict[str, str] = field(default_factory=dict)
    _lock: object = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _supervising: bool = False

    @property
    def data_dir(self) -> Path:
        return Path(self.cfg["data_dir"])

    # -- before anything starts
    def prepare(self) -> Stack:
        d = self.data_dir
        if self.cfg["fresh"] and d.exists():
            clean_data_dir(d, self.out)
        new = init_data_dir(d)
        self._lock = take_lock(d)
        if new:
            self.out(f"new data folder {d}")
        _stop_leftovers(d, self.out)
        controller = controller_port(d, 0, int(self.cfg["kafka_controller_port"])) if kafka_impl() == "apache" else None
        check_ports(planned_ports(self.cfg, controller))
        creds = credentials(d)
        public = str(self.cfg["public_host"]) or detect_public_host()
        cert = key = ""
        if self.cfg["cwmp_tls"]:
            cert, key = self._certificate(public)
        self.stack = Stack(
            workdir=d, partitions=int(self.cfg["partitions"]), persistent=True, log_dir=d / "logs",
            secret=creds.gateway_secret, files_secret=creds.files_secret, nbi_token=creds.nbi_token,
            cwmp_port=int(self.cfg["cwmp_port"]), gateway_admin_port=int(self.cfg["gateway_admin_port"]),
            gateway_reply_port=int(self.cfg["gateway_reply_port"]), scheduler_admin_port=int(self.cfg["scheduler_admin_port"]),
            nbi_port=int(self.cfg["nbi_port"]), files_port=int(self.cfg["files_port"]), console_port=int(self.cfg["ui_port"]),
            kafka_port=int(self.cfg["kafka_port"]), mongo_port=int(self.cfg["mongo_port"]),
            listen_host=str(self.cfg["listen_host"]), nbi_host=str(self.cfg["nbi_host"]),
            kafka_host=str(self.cfg["kafka_host"]), mongo_host=str(self.cfg["mongo_host"]),
            public_host=public, tls_certfile=cert, tls_keyfile=key,
            inventory_env=_extra_tokens(creds.nbi_token),
            telemetry_port=int(self.cfg["telemetry_port"]), telemetry_secret=_telemetry_secret(creds.files_secret),
            # bulkdata_profile: the provision function a Bulk Data preset names, and its secret
            scheduler_env={"TELEMETRY_BULKDATA_SECRET": _telemetry_secret(creds.files_secret),
                           "SCHEDULER_PROVISIONS_DIR": os.environ.get("SCHEDULER_PROVISIONS_DIR")
                           or str(REPO / "services" / "telemetry" / "provisions")},
            # CPE credentials encrypted at rest with a key kept with the data (ACS_CREDENTIALS_KEYS overrides)
            credentials_keys=os.environ.get("ACS_CREDENTIALS_KEYS") or _secret_file(
                d / "secrets" / "credentials-keys", lambda: Fernet.generate_key().decode())[0],
        )
        self._creds = creds
        return self.stack

    def _certificate(self, public: str) -> tuple[str, str]:
        cert, key = str(self.cfg["tls_certfile"]), str(self.cfg["tls_keyfile"])
        if cert:
            if not Path(cert).is_file() or not (not key or Path(key).is_file()):
                raise NodeError(f"ACS_TLS_CERTFILE {cert!r} or ACS_TLS_KEYFILE {key!r} is not a readable file")
            return str(Path(cert).resolve()), str(Path(key).resolve()) if key else ""
        crt, k = self.data_dir / "tls" / "cwmp.crt", self.data_dir / "tls" / "cwmp.key"
        if not (crt.exists() and k.exists()):
            tls.make_self_signed(crt, k, [public])
            self.out(f"made a self-signed certificate for {public}: {crt} (SHA-256 {tls.fingerprint(crt)})")
        elif public not in tls.cert_names(crt):
            self.out(f"note: the certificate {crt} is not made out to {public} (it names "
                     f"{', '.join(tls.cert_names(crt))}); delete {crt.parent} to have it made again")
        return str(crt), str(k)

    # -- start, supervise, stop
    def start(self) -> None:
        st = self.stack
        assert st is not None
        t0 = time.monotonic()
        self.out(f"starting the ACS; data in {self.data_dir}, logs in {self.data_dir / 'logs'}")
        st.start_servers()
        assert st.kafka is not None and st.mongo is not None
        self.out(f"  {self.kafka_description()} on {st.kafka_host}:{st.kafka.port}, "
                 f"SecantusDB (MongoDB protocol) on {st.mongo_host}:{st.mongo.port}: up in {time.monotonic() - t0:.1f} s")

        def schedulers() -> None:
            for _ in range(int(self.cfg["schedulers"])):
                st.add_scheduler()

        def gateways() -> None:
            st.add_gateway()
            if int(self.cfg["cwmp_http_port"]):
                st.add_gateway(port=int(self.cfg["cwmp_http_port"]), tls=False)

        # The three kinds at once (each waits for its /readyz): none needs another to be ready.
        with ThreadPoolExecutor(3, thread_name_prefix="start") as ex:
            started: list[Future[Any]] = [ex.submit(st.add_inventory), ex.submit(schedulers), ex.submit(gateways),
                                          ex.submit(st.add_telemetry)]
            for f in started:
                f.result()
        self.ready_s = time.monotonic() - t0
        self.urls = {"cwmp": st.cwmp_url(0), "nbi": st.nbi_url, "files": st.files_url, "console": st.console_url}
        if int(self.cfg["cwmp_http_port"]):
            self.urls["cwmp_http"] = st.cwmp_url(1)
        self.urls["bulkdata"] = st.bulkdata_url
        self.supervisor = Supervisor(self._units(), out=self.out,
                                     summary_every_s=float(self.cfg["health_interval_s"]),
                                     on_change=self.write_state)

    def kafka_description(self) -> str:
        kind = self.stack.kafka_kind if self.stack else ""
        if kind == "apache":
            from .kafka import KAFKA_VERSION

            return f"Apache Kafka {KAFKA_VERSION} (KRaft, data in {self.data_dir / 'kafka'})"
        if kind == "tansu":
            return "tansu, a Kafka-protocol stand-in (no JVM, or ACS_KAFKA_IMPL=tansu; events in memory only)"
        return f"Kafka ({kind})"

    def _units(self) -> list[Unit]:
        st = self.stack
        assert st is not None and st.kafka is not None and st.mongo is not None and st.inventory is not None
        kafka = st.kafka
        cluster = kafka if isinstance(kafka, KafkaCluster) else None  # else tansu, a single Server
        kafka_log = kafka.nodes[0].log_path if isinstance(kafka, KafkaCluster) else kafka.log_path
        units: list[Unit] = []

        def kafka_restart() -> None:
            if cluster is not None:
                cluster.restart(0)
                return
            kafka.start()
            # tansu keeps everything in memory: the topics are gone. The schedulers and gateways
            # create them at start, so they start again too (schedulers first: their partitions).
            users = [u for u in units if u.name.startswith(("scheduler-", "gateway-"))]
            self.out(f"{now_str()}  tansu lost its topics with its memory: starting the schedulers and gateways again")
            for u in users:
                u.held, u.state = True, "restarting"
            try:
                for u in users:
                    u.target.stop()
                    u.target.start()
                    u.restarts += 1
            finally:
                for u in users:
                    u.held, u.state = False, "starting"

        units += [
            Unit("kafka", kafka, kafka_restart, port_probe(local_host(st.kafka_host), kafka.port), kafka_log,
                 endpoint=f"{st.kafka_host}:{kafka.port}"),
            Unit("mongodb", st.mongo, st.mongo.start, port_probe(local_host(st.mongo_host), st.mongo.port),
                 st.mongo.log_path, endpoint=f"{st.mongo_host}:{st.mongo.port}"),
            Unit("inventory", st.inventory, st.inventory.start, st.inventory.readiness, st.inventory.log_path,
                 endpoint=f"NBI {st.nbi_url}/  files {st.files_url}/"),
        ]
        for s in st.schedulers:
            units.append(Unit(s.name, s, s.start, s.readiness, s.log_path, endpoint=f"admin {s.admin_url}/metrics"))
        if st.telemetry is not None:
            t = st.telemetry
            units.append(Unit("telemetry", t, t.start, t.readiness, t.log_path, endpoint=f"Bulk Data {st.bulkdata_url}"))
        for i, g in enumerate(st.gateways):
            units.append(Unit(g.name, g, g.start, g.readiness, g.log_path, endpoint=f"CWMP {st.cwmp_url(i)}"))
        return units

    def write_state(self) -> None:
        st, sup = self.stack, self.supervisor
        if st is None or sup is None:
            return
        services = {}
        for u in sup.units:
            services[u.name] = {"pid": u.pid, "state": u.state, "restarts": u.restarts, "log": str(u.log_path),
                                "endpoint": u.endpoint, "match": _match(u)}
        state = {"pid": os.getpid(), "data_dir": str(self.data_dir), "kafka": st.kafka_kind, "urls": self.urls,
                 "token_file": str(token_path(self.data_dir)), "services": services, "updated": time.time()}
        tmp = state_path(self.data_dir).with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=1))
        os.replace(tmp, state_path(self.data_dir))

    def banner(self) -> None:
        st = self.stack
        assert st is not None and st.kafka is not None and st.mongo is not None
        d = self.data_dir
        g = st.gateways[0]
        lines = [
            "",
            f"ACS is running (ready in {self.ready_s:.1f} s). Data: {d}",
            f"  CWMP URL for CPEs:     {self.urls['cwmp']}"
            + ("   (self-signed certificate: " + str(d / "tls" / "cwmp.crt") + ")" if g.tls and not self.cfg["tls_certfile"] else ""),
        ]
        if "cwmp_http" in self.urls:
            lines.append(f"  CWMP over plain HTTP:  {self.urls['cwmp_http']}")
        lines += [
            f"  Console (web UI):      {st.console_url}   (sign in with the NBI admin token)",
            f"  NBI:                   {st.nbi_url}/devices/   (docs {st.nbi_url}/docs)",
            f"  CPE file server:       {st.files_url}/",
            f"  Bulk Data collector:   {st.bulkdata_url}   (TR-232 reports; docs/monitoring.md)",
            f"  Kafka:                 {self.kafka_description()}, {st.kafka_host}:{st.kafka.port}",
            f"  MongoDB:               SecantusDB, {st.mongo_host}:{st.mongo.port}, data in {d / 'mongo'}",
            f"  metrics:               gateway {g.admin_url}/metrics, scheduler {st.schedulers[0].admin_url}/metrics, NBI {st.nbi_url}/metrics",
            f"  logs:                  {d / 'logs'}",
        ]
        show = ".venv/bin/acs-devstack show-token" + ("" if d == Path("var").resolve() else f" --data-dir {d}")
        if self._creds.token_created:
            lines += [
                f"  NBI admin token (new, shown once): {self._creds.nbi_token}",
                f"    kept in {token_path(d)} (mode 0600); show it again with: {show}",
            ]
        else:
            lines.append(f"  NBI admin token:       in {token_path(d)} ({show})")
        if st.public_host.startswith("127."):
            lines.append("  note: CPEs on other machines need ACS_PUBLIC_HOST=<this machine's address or name>")
        trust = f"SSL_CERT_FILE={d / 'tls' / 'cwmp.crt'} " if g.tls and not self.cfg["tls_certfile"] else ""
        lines += ["",
                  f"Try simulated CPEs:  {trust}.venv/bin/acs-cpe-sim --acs-url {self.urls['cwmp']} --devices 10",
                  "Ctrl-C stops everything.  Health:", ]
        self.out("\n".join(lines))

    def supervise(self) -> None:
        sup = self.supervisor
        assert sup is not None
        self._supervising = True
        sup.tick()
        self.write_state()
        while not self._stop.wait(1.0):
            sup.tick()

    def request_stop(self, *_: object) -> None:
        self._stop.set()
        if not self._supervising:
            raise KeyboardInterrupt  # still starting: stop waiting for it

    def stop(self) -> None:
        if self.supervisor is not None:
            self.supervisor.stop()
        if self.stack is not None:
            self.stack.stop()
        state_path(self.data_dir).unlink(missing_ok=True)
        if self._lock is not None:
            self._lock.close()  # type: ignore[attr-defined]


def _match(u: Unit) -> str:
    """What /proc/<pid>/cmdline of the unit's process contains (leftover detection)."""
    argv = [str(a) for a in getattr(u.target, "argv", []) or []]
    nodes = getattr(u.target, "nodes", None)
    if nodes:
        argv = [str(a) for a in nodes[0].argv]
    return argv[-1] if argv else ""


def _extra_tokens(admin_token: str) -> dict[str, str]:
    """The admin token, and any the operator lists in NBI_TOKENS (``token:role,...``)."""
    extra = os.environ.get("NBI_TOKENS", "").strip().strip(",")
    return {"NBI_TOKENS": f"{admin_token}:admin" + (f",{extra}" if extra else "")}


def run(args: argparse.Namespace) -> int:
    out = _printer()
    try:
        cfg = resolve(args)
        node = Node(cfg, out=out)
        node.prepare()
    except NodeError as e:
        print(f"acs-devstack: {e}", file=sys.stderr, flush=True)
        return 2
    signal.signal(signal.SIGINT, node.request_stop)
    signal.signal(signal.SIGTERM, node.request_stop)
    code = 0
    try:
        node.start()
        node.banner()
        if not node._stop.is_set():
            node.supervise()
    except KeyboardInterrupt:
        code = 130
    except Exception as e:  # noqa: BLE001 - a start that failed: say where to look, stop the rest
        print(f"acs-devstack: the ACS did not start: {e}", file=sys.stderr, flush=True)
        code = 1
    finally:
        out(f"{now_str()}  stopping...")
        node.stop()
        out(f"{now_str()}  stopped; data kept in {node.data_dir}")
    return code


def _printer():
    lock = threading.Lock()

    def out(msg: str) -> None:
        with lock:
            print(msg, flush=True)
    return out


def show_token(args: argparse.Namespace) -> int:
    p = token_path(data_dir_of(args))
    if not p.exists():
        print(f"acs-devstack: no token in {p} (it is made by the first `acs-devstack run` on that data folder)",
              file=sys.stderr)
        return 1
    print(p.read_text().strip())
    return 0


def clean_data(args: argparse.Namespace) -> int:
    try:
        clean_data_dir(data_dir_of(args))
    except NodeError as e:
        print(f"acs-devstack: {e}", file=sys.stderr)
        return 2
    return 0


def status(args: argparse.Namespace) -> int:
    d = data_dir_of(args)
    holder = _lock_holder(d) if d.exists() else None
    try:
        state = json.loads(state_path(d).read_text())
    except (OSError, ValueError):
        state = None
    if holder is None or state is None:
        print(f"no ACS is running on {d}")
        return 3
    print(f"ACS running (pid {state['pid']}), data in {d}")
    for k, v in state.get("urls", {}).items():
        print(f"  {k:<10} {v}")
    for name, s in state.get("services", {}).items():
        print(f"  {name:<12} {s['state']:<11} pid {s['pid']}  restarts {s['restarts']}  log {s['log']}")
    return 0 if all(s["state"] == "ready" for s in state.get("services", {}).values()) else 1
