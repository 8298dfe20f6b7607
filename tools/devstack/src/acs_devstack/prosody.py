"""Prosody, Debian's XMPP server, as a child process on a free port: the operator's XMPP server
for TR-069 Annex K connection requests in tests, benchmarks and ``make run``.

Everything lives in one folder: a generated config (client port only: no server-to-server, no
HTTP), a self-signed certificate for the domain so STARTTLS is offered (clients verify it with
``cert_path``), the account store and the pid file. Accounts are made with ``prosodyctl
register`` against the same config before or while the server runs (the store is files).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .servers import Server, free_port, new_workdir
from .tls import make_self_signed

# Enough for authenticated clients sending IQs to each other; nothing that opens another port.
_MODULES = ("roster", "saslauth", "tls", "disco", "ping", "posix")


def available() -> str | None:
    """Why Prosody cannot run here (None when it can)."""
    for binary in ("prosody", "prosodyctl"):
        if shutil.which(binary) is None:
            return f"{binary} not found (tools/install-system-packages.sh installs Debian's prosody)"
    return None


def _lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass
class Prosody:
    """One Prosody serving ``domain`` on ``host``:``port`` (a free port when 0)."""

    domain: str = "acs.test"
    host: str = "127.0.0.1"
    port: int = 0
    workdir: Path | None = None
    require_tls: bool = True
    server: Server | None = None

    def __post_init__(self) -> None:
        self.workdir = self.workdir or new_workdir("acs-prosody-")
        self.port = self.port or free_port()

    @property
    def config_path(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "prosody.cfg.lua"

    @property
    def cert_path(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "certs" / f"{self.domain}.crt"

    def write_config(self) -> None:
        assert self.workdir is not None
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        key = self.workdir / "certs" / f"{self.domain}.key"
        if not self.cert_path.exists():
            make_self_signed(self.cert_path, key, [self.domain, self.host])
        modules = "; ".join(_lua_string(m) for m in _MODULES)
        lines = [
            "run_as_root = true",
            f"pidfile = {_lua_string(str(self.workdir / 'prosody.pid'))}",
            f"data_path = {_lua_string(str(data))}",
            f"modules_enabled = {{ {modules} }}",
            'modules_disabled = { "s2s"; "offline"; "c2s_limits" }',
            'authentication = "internal_hashed"',
            'storage = "internal"',
            f"c2s_ports = {{ {self.port} }}",
            f"c2s_interfaces = {{ {_lua_string(self.host)} }}",
            "s2s_ports = { }",
            "c2s_direct_tls_ports = { }",
            f"c2s_require_encryption = {'true' if self.require_tls else 'false'}",
            "allow_unencrypted_plain_auth = false",
            f"log = {{ {{ levels = {{ min = \"info\" }}, to = \"file\", filename = {_lua_string(str(self.workdir / 'prosody.log'))} }} }}",
            f"ssl = {{ certificate = {_lua_string(str(self.cert_path))}; key = {_lua_string(str(key))} }}",
            f"VirtualHost {_lua_string(self.domain)}",
        ]
        self.config_path.write_text("\n".join(lines) + "\n")

    def register(self, user: str, password: str) -> str:
        """Create (or reset) the account ``user@domain``; returns its bare JID."""
        if not self.config_path.exists():
            self.write_config()
        subprocess.run(
            ["prosodyctl", "--config", str(self.config_path), "register", user, self.domain, password],
            check=True, capture_output=True, timeout=60,
        )
        return f"{user}@{self.domain}"

    def start(self, timeout: float = 30.0) -> "Prosody":
        assert self.workdir is not None
        if not self.config_path.exists():
            self.write_config()
        argv = ["prosody", "--config", str(self.config_path), "-F"]
        self.server = Server("prosody", argv, self.port, self.workdir / "prosody-stdout.log", host=self.host)
        self.server.start(timeout)
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    @property
    def address(self) -> str:
        """``host:port`` as clients are given it (NBI_XMPP_SERVER, the CPE's XMPP server)."""
        return f"{self.host}:{self.port}"
