"""Supervision for ``acs-devstack run``: a process that dies is started again, with back-off.

Each supervised unit (the broker, the database, the inventory, every scheduler and gateway) is
checked about once a second. One that exited is logged (exit code and log file) and started again
after 1 s, then 2, 4... up to ``max_backoff_s``; a unit that stays up for ``stable_s`` starts again
from 1 s at its next crash. Restarts run in their own threads: a broker that takes 20 s to come
back does not hold up a gateway's restart nor the health lines.

Health is the process state plus, for the services, their ``/readyz`` (the broker and the
database: their port answers). One line per unit is printed at start, whenever a unit's state
changes, and every ``summary_every_s`` in full.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def now_str() -> str:
    return time.strftime("%H:%M:%S")


@dataclass
class Unit:
    """One supervised process. ``restart`` starts it again and returns once its port answers
    (or raises); ``probe`` says whether it is ready, with a short detail."""

    name: str
    target: Any  # Server, Service or KafkaCluster: .running, .proc
    restart: Callable[[], object]  # what it returns is not used
    probe: Callable[[], tuple[bool, str]]
    log_path: Path
    endpoint: str = ""
    restarts: int = 0
    state: str = "starting"  # ready | not ready | restarting | down
    detail: str = ""
    next_start: float | None = None
    backoff: float = 0.0
    up_since: float = field(default_factory=time.monotonic)
    thread: threading.Thread | None = None
    held: bool = False  # another unit's restart is restarting this one: leave it alone meanwhile
    shown: tuple[str, int | None] = ("", None)  # the state and pid last printed

    @property
    def pid(self) -> int | None:
        proc = getattr(self.target, "proc", None)
        return proc.pid if proc is not None and proc.poll() is None else None

    def exit_code(self) -> str:
        proc = getattr(self.target, "proc", None)
        rc = proc.poll() if proc is not None else None
        if rc is None:
            return "?"
        return f"signal {-rc}" if rc < 0 else f"code {rc}"


def port_probe(host: str, port: int) -> Callable[[], tuple[bool, str]]:
    def probe() -> tuple[bool, str]:
        try:
            with socket.create_connection((host, port), timeout=1.0):
                return True, f"port {port} answers"
        except OSError as e:
            return False, f"port {port}: {e.strerror or e}"
    return probe


@dataclass
class Supervisor:
    units: list[Unit]
    out: Callable[[str], None] = print
    min_backoff_s: float = 1.0
    max_backoff_s: float = 60.0
    stable_s: float = 60.0
    summary_every_s: float = 0.0  # 0: at start and on change only
    on_change: Callable[[], None] | None = None  # called after states change (the state file)
    stopping: bool = False
    _last_summary: float = field(default_factory=time.monotonic)
    _pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(8, thread_name_prefix="probe"))

    # ---- what a unit's line says
    def line(self, u: Unit) -> str:
        pid = f"pid {u.pid}" if u.pid else "no process"
        extra = f", restarts {u.restarts}" if u.restarts else ""
        detail = f" ({u.detail})" if u.detail and u.state != "ready" else ""
        return f"{now_str()}  {u.name:<12} {u.state:<11} {pid:<10} {u.endpoint}{extra}{detail}"

    def summary(self) -> None:
        for u in self.units:
            self.out(self.line(u))
        self._last_summary = time.monotonic()

    # ---- one round: crashes, restarts due, health
    def tick(self) -> None:
        now = time.monotonic()
        for u in self.units:
            self._supervise(u, now)
        self._probe([u for u in self.units if _probe_wanted(u)])
        self._print_changes()
        if self.summary_every_s and time.monotonic() - self._last_summary >= self.summary_every_s:
            self.summary()

    def _probe(self, probed: list[Unit]) -> None:
        """Probes ``probed`` at once (a probe waiting on a hung service does not delay the others)
        and records each answer unless the unit went down or into a restart meanwhile."""
        if not probed:
            return
        for u, (ok, detail) in zip(probed, self._pool.map(lambda u: u.probe(), probed), strict=True):
            if _probe_still_applies(u):
                u.state, u.detail = ("ready" if ok else "not ready"), ("" if ok else _short(detail))

    def _print_changes(self) -> None:
        """One line per unit whose state or pid changed since it was last printed."""
        changed = [u for u in self.units if (u.state, u.pid) != u.shown]
        for u in changed:
            u.shown = (u.state, u.pid)
            self.out(self.line(u))
        if changed and self.on_change:
            self.on_change()

    def _supervise(self, u: Unit, now: float) -> None:
        if self.stopping or u.held:
            return
        if u.thread is not None:
            if u.thread.is_alive():
                return
            u.thread = None
            u.up_since = now
            if u.target.running:
                u.state = "starting"  # probed below
        if u.target.running:
            if now - u.up_since >= self.stable_s:
                u.backoff = 0.0
            return
        if u.next_start is None:  # found dead: log it, start it again after the back-off
            u.backoff = min(self.max_backoff_s, u.backoff * 2 if u.backoff else self.min_backoff_s)
            u.next_start = now + u.backoff
            u.state, u.detail = "down", f"exited ({u.exit_code()}), restart in {u.backoff:.0f} s"
            self.out(f"{now_str()}  {u.name} exited ({u.exit_code()}); its log: {u.log_path}; "
                     f"starting it again in {u.backoff:.0f} s")
            return
        if now >= u.next_start:
            u.next_start = None
            u.restarts += 1
            u.state, u.detail = "restarting", ""
            u.thread = threading.Thread(target=self._restart, args=(u,), name=f"restart-{u.name}", daemon=True)
            u.thread.start()

    def _restart(self, u: Unit) -> None:
        try:
            u.restart()
        except Exception as e:  # noqa: BLE001 - logged; the next tick finds it down and backs off
            self.out(f"{now_str()}  {u.name} did not start again: {_short(str(e))}; its log: {u.log_path}")
        else:
            self.out(f"{now_str()}  {u.name} started again (pid {u.pid}, restart {u.restarts})")

    def stop(self, timeout: float = 60.0) -> None:
        """No more restarts; waits for those under way (so that stopping finds every process)."""
        self.stopping = True
        self._pool.shutdown(wait=False)
        deadline = time.monotonic() + timeout
        for u in self.units:
            if u.thread is not None:
                u.thread.join(max(0.1, deadline - time.monotonic()))


_PROBED_STATES = ("starting", "ready", "not ready")


def _settled(u: Unit) -> bool:
    """Neither restarting, waiting to restart, nor held by another unit's restart."""
    return u.thread is None and u.next_start is None and not u.held


def _probe_wanted(u: Unit) -> bool:
    return _settled(u) and u.state in _PROBED_STATES


def _probe_still_applies(u: Unit) -> bool:
    """A probe's answer counts only for a unit still settled and whose process still runs."""
    return u.thread is None and u.next_start is None and u.target.running and not u.held


def _short(text: str, n: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 3] + "..."
