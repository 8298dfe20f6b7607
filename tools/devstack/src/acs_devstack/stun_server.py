"""coturn (Debian's ``turnserver``) as a plain STUN server on a free UDP port: what CPEs behind NAT
ask for their public address (TR-069 Annex G) in tests and benchmarks.

STUN only (``--stun-only``: no relaying, no credentials), no TLS/DTLS listeners, no CLI, no
configuration file read, its log and pid file in a temporary folder. Ready when it answers a
Binding Request.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import struct
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from .servers import new_workdir

_MAGIC = 0x2112A442


def available() -> str | None:
    """Why coturn cannot run here (None when it can)."""
    if shutil.which("turnserver") is None:
        return "turnserver not found (tools/install-system-packages.sh installs Debian's coturn)"
    return None


def free_udp_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def binding_answered(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether a STUN Binding Request to host:port gets a Binding Success Response."""
    tid = os.urandom(12)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(struct.pack("!HHI", 0x0001, 0, _MAGIC) + tid, (host, port))
            data, _ = s.recvfrom(2048)
        except OSError:
            return False
    return len(data) >= 20 and data[:2] == b"\x01\x01" and data[8:20] == tid


@dataclass
class StunServer:
    """coturn listening on ``host``:``port`` (UDP; a free port when 0)."""

    host: str = "127.0.0.1"
    port: int = 0
    workdir: Path = field(default_factory=lambda: new_workdir("acs-stun-"))
    proc: subprocess.Popen | None = None

    def __post_init__(self) -> None:
        self.port = self.port or free_udp_port(self.host)

    def start(self, timeout: float = 30.0) -> "StunServer":
        argv = ["turnserver", "--stun-only", "--no-cli", "--no-tls", "--no-dtls", "--no-auth",
                "--listening-ip", self.host, "--listening-port", str(self.port),
                "--log-file", str(self.workdir / "turnserver.log"), "--simple-log",
                "--pidfile", str(self.workdir / "turnserver.pid"), "-c", "/dev/null"]
        with open(self.workdir / "turnserver-stdout.log", "ab") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while not binding_answered(self.host, self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"turnserver did not answer STUN on {self.host}:{self.port}; see {self.workdir}")
            time.sleep(0.1)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"
