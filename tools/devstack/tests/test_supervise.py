"""The supervisor against real processes: a unit that dies is found down, started again after its
back-off, probed ready through a real listening port, and each change is printed once."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from acs_devstack.supervise import Supervisor, Unit, port_probe

# A child that listens on the port it is given and waits to be killed.
_LISTENER = (
    "import socket,sys,time\n"
    "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen()\n"
    "time.sleep(3600)\n"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Listener:
    """A supervised target: ``running`` and ``proc`` as the devstack's servers have them."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", _LISTENER, str(self.port)])
        deadline = time.monotonic() + 30
        while not port_probe("127.0.0.1", self.port)()[0]:
            if time.monotonic() > deadline or not self.running:
                raise RuntimeError(f"the listener on port {self.port} did not start")
            time.sleep(0.05)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def _until(sup: Supervisor, cond: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, what
        sup.tick()
        time.sleep(0.02)


@pytest.fixture
def listener():
    target = Listener(_free_port())
    target.start()
    yield target
    target.kill()


def _unit(target: Listener, tmp_path: Path, restart: Callable[[], object] | None = None) -> Unit:
    return Unit(name="echo", target=target, restart=restart or target.start,
                probe=port_probe("127.0.0.1", target.port), log_path=tmp_path / "echo.log",
                endpoint=f"127.0.0.1:{target.port}")


def test_a_killed_unit_is_started_again_and_probed_ready(listener, tmp_path):
    lines: list[str] = []
    changes: list[int] = []
    unit = _unit(listener, tmp_path)
    sup = Supervisor([unit], out=lines.append, min_backoff_s=0.05, on_change=lambda: changes.append(1))
    try:
        sup.tick()
        assert unit.state == "ready" and unit.detail == ""
        assert len(lines) == 1 and "echo" in lines[0] and "ready" in lines[0] and f"pid {listener.proc.pid}" in lines[0]
        assert changes == [1]
        sup.tick()  # nothing changed: nothing printed
        assert len(lines) == 1 and changes == [1]

        first_pid = listener.proc.pid
        listener.kill()
        sup.tick()
        assert unit.state == "down" and unit.next_start is not None and unit.backoff == 0.05
        assert unit.detail.startswith("exited (signal 9)")
        assert any(f"its log: {tmp_path / 'echo.log'}" in line for line in lines)

        _until(sup, lambda: unit.state == "ready" and unit.pid not in (None, first_pid), "started again and ready")
        assert unit.restarts == 1
        assert any("echo started again" in line and "restart 1" in line for line in lines)
        assert any("restarting" in line for line in lines)
    finally:
        sup.stop()


def test_a_failed_restart_doubles_the_back_off(listener, tmp_path):
    lines: list[str] = []
    attempts: list[int] = []

    def failing_restart() -> None:
        attempts.append(1)
        raise RuntimeError("port taken\n  by someone else")

    unit = _unit(listener, tmp_path, failing_restart)
    sup = Supervisor([unit], out=lines.append, min_backoff_s=0.05, max_backoff_s=0.1)
    try:
        sup.tick()
        listener.kill()
        _until(sup, lambda: len(attempts) >= 3 and unit.state == "down", "three failed restarts")
        assert unit.backoff == 0.1  # 0.05, then doubled, then held at max_backoff_s
        assert unit.restarts >= 3
        assert any("did not start again: port taken by someone else" in line for line in lines)
    finally:
        sup.stop()


def test_a_unit_not_answering_its_probe_is_not_ready(tmp_path):
    target = Listener(_free_port())
    target.proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])  # runs, never listens
    unit = _unit(target, tmp_path)
    lines: list[str] = []
    sup = Supervisor([unit], out=lines.append)
    try:
        sup.tick()
        assert unit.state == "not ready"
        assert unit.detail.startswith(f"port {target.port}:")
        assert "not ready" in lines[0] and f"({unit.detail})" in lines[0]
    finally:
        sup.stop()
        target.kill()


def test_a_held_unit_is_neither_probed_nor_restarted(listener, tmp_path):
    unit = _unit(listener, tmp_path)
    sup = Supervisor([unit], out=lambda _line: None, min_backoff_s=0.01)
    try:
        sup.tick()
        unit.held, unit.state = True, "restarting"  # as another unit's restart does
        listener.kill()
        for _ in range(5):
            sup.tick()
            time.sleep(0.02)
        assert unit.state == "restarting" and unit.restarts == 0 and unit.next_start is None
    finally:
        sup.stop()


def test_the_summary_prints_every_unit(listener, tmp_path):
    lines: list[str] = []
    unit = _unit(listener, tmp_path)
    sup = Supervisor([unit], out=lines.append, summary_every_s=0.01)
    try:
        sup.tick()
        printed = len(lines)
        time.sleep(0.02)
        sup.tick()  # no change, but the summary is due
        assert len(lines) == printed + 1 and "echo" in lines[-1] and "ready" in lines[-1]
    finally:
        sup.stop()
