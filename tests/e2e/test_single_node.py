"""``acs-devstack run`` (``make run``) as an operator runs it: a single-node ACS on fixed ports
with its data, credentials and certificate kept in a data folder, over HTTPS, supervised.

Each test runs the real command as a subprocess, on free ports (never the standard 7547...,
which a real ACS on this machine may hold) and a temporary data folder, and waits with
deadlines on what it reports in ``run/node.json`` and on the NBI."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from acs_devstack.servers import free_port

from .scripted_cpe import ScriptedCpe

pytestmark = pytest.mark.e2e

DEVSTACK = str(Path(sys.executable).parent / "acs-devstack")
PORT_ENVS = ["ACS_CWMP_PORT", "ACS_NBI_PORT", "ACS_FILES_PORT", "ACS_UI_PORT", "ACS_KAFKA_PORT", "ACS_KAFKA_CONTROLLER_PORT",
             "ACS_MONGODB_PORT", "ACS_GATEWAY_REPLY_PORT", "ACS_GATEWAY_ADMIN_PORT", "ACS_SCHEDULER_ADMIN_PORT", "ACS_TELEMETRY_PORT"]
SERVICES = {"kafka", "mongodb", "inventory", "scheduler-0", "gateway-0", "telemetry"}


def free_ports(n: int) -> list[int]:
    """n distinct free ports."""
    return [free_port() for _ in range(n)]


def poll(check, timeout: float, what: str, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (OSError, ValueError, KeyError, httpx.HTTPError) as e:
            last = e
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout} s (last: {last!r})")


class Node:
    """One ``acs-devstack run`` process on a data folder; its output goes to a file."""

    def __init__(self, data_dir: Path, env: dict[str, str]):
        self.data_dir, self.env = data_dir, env
        self.proc: subprocess.Popen | None = None
        self.runs = 0

    @property
    def out_path(self) -> Path:
        return self.data_dir.parent / f"run-{self.runs}.out"

    def start(self) -> None:
        self.runs += 1
        with open(self.out_path, "wb") as out:
            self.proc = subprocess.Popen([DEVSTACK, "run"], stdout=out, stderr=subprocess.STDOUT,
                                         env={**os.environ, **self.env}, stdin=subprocess.DEVNULL)

    def output(self) -> str:
        return self.out_path.read_text(errors="replace")

    def state(self) -> dict:
        return json.loads((self.data_dir / "run" / "node.json").read_text())

    def wait_healthy(self, timeout: float = 240.0) -> dict:
        def healthy():
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"acs-devstack exited ({self.proc.returncode}):\n{self.output()[-4000:]}")
            st = self.state()
            svcs = st["services"]
            return st if set(svcs) >= SERVICES and all(s["state"] == "ready" and s["pid"] for s in svcs.values()) else None
        return poll(healthy, timeout, f"every service ready\n{self.output()[-3000:] if self.out_path.exists() else ''}")

    def stop(self, timeout: float = 90.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()  # its services are found and stopped by clean-data below
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture
def node_env(tmp_path: Path) -> dict[str, str]:
    ports = free_ports(len(PORT_ENVS))
    return {"ACS_DATA_DIR": str(tmp_path / "var"), "ACS_PUBLIC_HOST": "127.0.0.1", "ACS_LISTEN_HOST": "127.0.0.1",
            "ACS_HEALTH_INTERVAL_S": "0", **{k: str(p) for k, p in zip(PORT_ENVS, ports, strict=True)}}


@pytest.fixture
def node(tmp_path: Path, node_env: dict[str, str]):
    n = Node(tmp_path / "var", node_env)
    yield n
    if n.proc is not None:
        n.stop()
    subprocess.run([DEVSTACK, "clean-data", "--data-dir", str(n.data_dir)], capture_output=True, timeout=60, check=False)


async def inform(url: str, serial: str, verify) -> int:
    async with httpx.AsyncClient(verify=verify, timeout=30) as c:
        answer = await ScriptedCpe(serial, [url]).inform(c, ["0 BOOTSTRAP", "1 BOOT"])
        return answer.status


def nbi_get(nbi: str, token: str, path: str, **params) -> httpx.Response:
    return httpx.get(f"{nbi}{path}", params=params, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def device_ids(nbi: str, token: str) -> set[str]:
    r = nbi_get(nbi, token, "/devices/", projection="_id")
    r.raise_for_status()
    return {d["_id"] for d in r.json()}


@pytest.mark.timeout(900)
def test_single_node_keeps_its_data_and_restarts_crashed_services(node: Node, node_env: dict[str, str]):
    d = node.data_dir
    cwmp_url = f"https://127.0.0.1:{node_env['ACS_CWMP_PORT']}/"

    # -- first run: a new data folder, a token shown once, HTTPS with a certificate made for us
    node.start()
    st = node.wait_healthy()
    token_file = d / "secrets" / "nbi-admin-token"
    token = token_file.read_text().strip()
    for secret in ("nbi-admin-token", "gateway-secret", "files-secret"):
        assert (d / "secrets" / secret).stat().st_mode & 0o777 == 0o600
    assert (d / "tls" / "cwmp.key").stat().st_mode & 0o777 == 0o600
    out = node.output()
    assert token in out and "show-token" in out and str(token_file) in out
    assert cwmp_url in out and st["urls"]["cwmp"] == cwmp_url
    assert "Apache Kafka" in out or "tansu" in out
    assert str(d) in out
    shown = subprocess.run([DEVSTACK, "show-token", "--data-dir", str(d)], capture_output=True, text=True, timeout=30, check=False)
    assert shown.stdout.strip() == token

    cert = str(d / "tls" / "cwmp.crt")
    assert asyncio.run(inform(cwmp_url, "SINGLE1", verify=cert)) == 200  # the generated certificate verifies
    nbi = st["urls"]["nbi"]
    dev = "202BC1-BM632w-SINGLE1"
    poll(lambda: dev in device_ids(nbi, token), 30, "the device in GET /devices/")
    auth = {"Authorization": f"Bearer {token}"}
    assert httpx.put(f"{nbi}/presets/single-node", headers=auth, timeout=10, json={
        "weight": 0, "events": ["4 VALUE CHANGE"],
        "declarations": [{"path": "InternetGatewayDevice.DeviceInfo.ProvisioningCode", "value": "single-node"}]}).status_code == 200
    assert httpx.put(f"{nbi}/files/fw-1.bin", headers={**auth, "fileType": "1 Firmware Upgrade Image"},
                     content=b"firmware" * 100, timeout=10).status_code == 201
    r = httpx.post(f"{nbi}/devices/{dev}/tasks", headers=auth, json={"name": "reboot"}, timeout=10)
    assert r.status_code in (200, 202), r.text

    assert node.stop() == 0
    assert not (d / "run" / "node.json").exists()

    # -- second run on the same folder: same devices, tasks, presets, files, token and URL
    node.start()
    st2 = node.wait_healthy()
    out2 = node.output()
    assert token not in out2, "the token is shown only when it is made"
    assert str(token_file) in out2
    assert st2["urls"]["cwmp"] == cwmp_url
    assert token_file.read_text().strip() == token
    assert dev in device_ids(nbi, token)
    assert [p["_id"] for p in nbi_get(nbi, token, "/presets/").json()] == ["single-node"]
    assert [f["filename"] for f in nbi_get(nbi, token, "/files/").json()] == ["fw-1.bin"]
    assert [t["name"] for t in nbi_get(nbi, token, "/tasks/", query=json.dumps({"device": dev})).json()] == ["reboot"]

    # -- a scheduler and a gateway killed: started again, healthy, sessions work again
    old = {name: st2["services"][name]["pid"] for name in ("scheduler-0", "gateway-0")}
    for pid in old.values():
        os.kill(pid, signal.SIGKILL)

    def restarted():
        s = node.state()["services"]
        return all(s[n]["pid"] not in (None, old[n]) and s[n]["restarts"] >= 1 and s[n]["state"] == "ready" for n in old)
    poll(restarted, 120, "the killed scheduler and gateway running and ready again")
    out3 = node.output()
    for name in old:
        assert f"{name} exited (signal 9); its log: " in out3
    assert asyncio.run(inform(cwmp_url, "SINGLE2", verify=False)) == 200
    poll(lambda: "202BC1-BM632w-SINGLE2" in device_ids(nbi, token), 60, "a device after the restarts")
    assert node.stop() == 0


def test_a_taken_port_is_named_with_its_setting(node: Node, node_env: dict[str, str]):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", int(node_env["ACS_NBI_PORT"])))
        taken.listen()
        r = subprocess.run([DEVSTACK, "run"], env={**os.environ, **node_env}, capture_output=True, text=True,
                           timeout=60, stdin=subprocess.DEVNULL, check=False)
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"port {node_env['ACS_NBI_PORT']} (NBI, setting ACS_NBI_PORT / --nbi-port)" in r.stderr
    assert "taken" in r.stderr and "nothing was started" in r.stderr
    assert not (node.data_dir / "mongo").exists() and not (node.data_dir / "secrets").exists()
