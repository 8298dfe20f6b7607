"""``acs-inventory`` as the local stack and the containers start it: a subprocess configured by environment variables."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from inv_support import READONLY, free_port, inventory_env


def _command() -> list[str]:
    script = Path(sys.executable).with_name("acs-inventory")
    if script.exists():
        return [str(script)]
    found = shutil.which("acs-inventory")
    return [found] if found else [sys.executable, "-m", "inventory"]


def test_console_script_serves_both_ports_and_stops_on_sigterm(settings):
    nbi_port, fs_port = free_port(), free_port()
    proc = subprocess.Popen(_command(), env=inventory_env(settings, nbi_port, fs_port),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{nbi_port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read().decode() if proc.poll() is not None else "timeout"
            time.sleep(0.1)
        assert httpx.get(f"http://127.0.0.1:{fs_port}/healthz", timeout=2).status_code == 200
        assert httpx.get(f"http://127.0.0.1:{nbi_port}/devices/", timeout=2).status_code == 401
        r = httpx.get(f"http://127.0.0.1:{nbi_port}/devices/", params={"projection": "_id"}, headers=READONLY, timeout=5)
        assert r.status_code == 200 and isinstance(r.json(), list)
        assert "acs_tasks_pending" in httpx.get(f"http://127.0.0.1:{nbi_port}/metrics", timeout=2).text
        assert httpx.get(f"http://127.0.0.1:{fs_port}/files/x", timeout=2).status_code == 403
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail("acs-inventory did not stop on SIGTERM")
    assert code == 0, proc.stdout.read().decode()
