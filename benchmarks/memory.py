"""Gateway memory with many CWMP sessions open at the same time (issue 6: RSS < 150 MB at 10,000).

The boot-storm scenario (``scenarios.memory``) measures an overload where most sessions fail and
retry, so it never holds 10,000 sessions at once. This one does: every CPE has its Inform
acknowledged and its next POST (the empty POST) parked at the gateway, waiting for the scheduler's
reply, all at the same time. That is the most a session costs the gateway: a keep-alive connection
plus a request in flight. The schedulers are paused (SIGSTOP) while the sessions pile up, so none is
answered early; then they resume and the sessions run to their end.

The scenario starts a gateway of its own, so its idle figure is a fresh process's and its peak is
this load's alone, with room for the load: ``GATEWAY_MAX_INFLIGHT`` above the device count and a
reply timeout longer than the pile-up plus the schedulers' catch-up.

``python -m benchmarks.memory [--devices N]`` runs it alone on a fresh local stack.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import time
from collections.abc import Sequence

import httpx

from acs_devstack.stack import Service, Stack
from cpe_simulator import DataModel, SimulatedCpe
from cpe_simulator.fleet import Fleet

from .procstats import rss_bytes

_ACTIVE = re.compile(r"^acs_gateway_active_sessions ([0-9.e+]+)$", re.M)


def raise_nofile_limit(needed: int) -> int:
    """Lift this process's soft RLIMIT_NOFILE to the hard limit: it holds one socket per CPE, and
    the services it starts inherit the limit. Returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        soft = hard if hard == resource.RLIM_INFINITY else max(soft, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    if soft != resource.RLIM_INFINITY and soft < needed:
        raise RuntimeError(f"RLIMIT_NOFILE hard limit {hard} is below the {needed} sockets this scenario needs")
    return soft


async def _active(client: httpx.AsyncClient, gateway: Service) -> int:
    """CWMP requests in flight at the gateway (``acs_gateway_active_sessions``)."""
    m = _ACTIVE.search((await client.get(f"http://127.0.0.1:{gateway.admin_port}/metrics")).text)
    return int(float(m.group(1))) if m else 0


def _completed(cpe: SimulatedCpe) -> bool:
    """The device ended a session cleanly (later periodic sessions may be running)."""
    return any(r.ok for r in cpe.reports)


def _open_fds(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


async def concurrent_sessions(stack: Stack, model_or_models: DataModel | Sequence[DataModel], devices: int = 10_000) -> dict:
    """``devices`` sessions open on one gateway at once. RSS of every service: idle before, at
    that plateau, the peak over the whole run (the catch-up included) and after it."""
    raise_nofile_limit(devices + 1024)
    finish_within_s = max(120.0, devices / 20)
    wait_s = finish_within_s + 120.0  # a parked request outlives the pile-up and the catch-up
    gateway = stack.add_gateway(GATEWAY_MAX_INFLIGHT=str(devices * 2), GATEWAY_REPLY_TIMEOUT_S=str(wait_s))
    stack.gateways.remove(gateway)  # measured alone, never picked by other scenarios
    others = {"scheduler": [s.proc.pid for s in stack.schedulers], "broker": [stack.kafka.proc.pid],
              "database": [stack.mongo.proc.pid], **({"inventory": [stack.inventory.proc.pid]} if stack.inventory else {})}
    pids = {"gateway": [gateway.proc.pid], **others}

    def rss() -> dict[str, int]:
        return {name: sum(rss_bytes(p) for p in ps) for name, ps in pids.items()}

    await asyncio.sleep(2.0)  # past start-up allocations
    idle = rss()
    peak = dict(idle)
    done = asyncio.Event()

    async def sample() -> None:
        while not done.is_set():
            for name, value in rss().items():
                peak[name] = max(peak[name], value)
            await asyncio.sleep(0.25)

    fleet = Fleet(model_or_models, count=devices, acs_url=f"http://127.0.0.1:{gateway.port}/",
                  serial_format="CON{index:08d}", http_timeout_s=wait_s)
    sampler = asyncio.create_task(sample())
    for s in stack.schedulers:
        s.pause()
    resumed = False
    t0 = time.perf_counter()
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            await fleet.start(boot_within_s=devices / 1000)
            best, best_at = 0, time.perf_counter()
            while time.perf_counter() - best_at < 15.0:  # until all are parked, or no progress for 15 s
                active = await _active(client, gateway)
                if active > best:
                    best, best_at = active, time.perf_counter()
                if active >= devices:
                    break
                await asyncio.sleep(0.5)
            pile_up_s = time.perf_counter() - t0
            await asyncio.sleep(3.0)  # hold the plateau while the sampler reads it
            reached = {"gateway_active": await _active(client, gateway), "simulator_in_flight": fleet.stats.in_flight,
                       "gateway_open_fds": _open_fds(gateway.proc.pid)}
            plateau = rss()
            print(f"concurrent sessions: {reached}, RSS MB {({k: round(v / 2**20, 1) for k, v in plateau.items()})}",
                  flush=True)
            for s in stack.schedulers:
                s.resume()
            resumed = True
            t1 = time.perf_counter()
            # Polls the simulated devices' progress until a deadline (hence the noqa).
            while time.perf_counter() - t1 < finish_within_s and not all(_completed(c) for c in fleet):  # noqa: ASYNC110
                await asyncio.sleep(1.0)
            finish_s = time.perf_counter() - t1
            await asyncio.sleep(2.0)
            after = rss()
    finally:
        if not resumed:
            for s in stack.schedulers:
                s.resume()
        done.set()
        await sampler
        await fleet.stop()
        gateway.stop()
    stats = fleet.stats.summary()
    summary = stats["sessions"]
    growth = plateau["gateway"] - idle["gateway"]
    return {
        "devices": devices, "concurrent_reached": reached["gateway_active"], **{f"reached_{k}": v for k, v in reached.items()},
        "pile_up_s": round(pile_up_s, 1), "finish_s": round(finish_s, 1),
        "devices_completed": sum(1 for c in fleet if _completed(c)),
        "sessions_ok": summary["ok"], "sessions_failed": summary["failed"], "errors": stats["errors"], "rpcs": stats["rpcs"],
        "gateway_bytes_per_session": round(growth / max(1, reached["gateway_active"])),
        **{f"{k}_idle_rss_mb": round(v / 2**20, 1) for k, v in idle.items()},
        **{f"{k}_plateau_rss_mb": round(v / 2**20, 1) for k, v in plateau.items()},
        **{f"{k}_peak_rss_mb": round(v / 2**20, 1) for k, v in peak.items()},
        **{f"{k}_after_rss_mb": round(v / 2**20, 1) for k, v in after.items()},
    }


def main() -> None:
    from .scenarios import boot_storm_models

    ap = argparse.ArgumentParser(prog="benchmarks.memory")
    ap.add_argument("--devices", type=int, default=10_000)
    args = ap.parse_args()
    os.environ.setdefault("ACS_LOG_LEVEL", "WARNING")
    raise_nofile_limit(args.devices + 1024)
    models = boot_storm_models()
    stack = Stack(partitions=4, scheduler_env={"SCHEDULER_BOOTSTRAP_DISCOVERY": "off"}).start_servers()
    try:
        stack.add_inventory()
        stack.add_scheduler()
        print(json.dumps(asyncio.run(concurrent_sessions(stack, models, args.devices)), indent=2))
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
