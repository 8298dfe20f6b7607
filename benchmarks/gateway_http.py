"""The CWMP port's HTTP server: the gateway's own (``GATEWAY_HTTP_SERVER=native``) against uvicorn.

Issue 22 keeps the hand-written server only if it clearly wins on the same load. Each run starts
one fresh gateway with the server under test on a shared stack (Apache Kafka, SecantusDB, one
scheduler), and measures:

* throughput: ``devices`` registered CPEs run periodic sessions, ``concurrency`` at a time, for
  ``duration_s`` (the scheduler's writes drained in the window): sessions/s, p50/p99 session
  latency as the CPE sees it, the gateway's CPU per session and its RSS idle and at the end;
* memory: ``parked`` sessions open at once, each with its empty POST waiting at the gateway
  (``benchmarks.memory.concurrent_sessions``, on a gateway of its own with the same server):
  the gateway's RSS at that plateau and its growth per open session.

Sides alternate (native, uvicorn, native, uvicorn, ...) so a machine that slows down or warms up
during the run weighs on both alike; every run is reported.

``python -m benchmarks.gateway_http [--short] [--rounds N]`` runs it alone on a fresh local stack.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time

import httpx

from acs_devstack.stack import Stack
from cpe_simulator import DataModel, SimulatedCpe

from . import memory as mem
from . import scenarios as sc
from .procstats import cpu_seconds, rss_bytes

SERVERS = ("native", "uvicorn")


async def throughput(stack: Stack, server: str, model: DataModel, tag: str, devices: int, concurrency: int,
                     duration_s: float) -> dict:
    """Periodic sessions through one fresh gateway serving its CWMP port with ``server``."""
    gw = stack.add_gateway(GATEWAY_HTTP_SERVER=server, GATEWAY_MAX_INFLIGHT="20000")
    stack.gateways.remove(gw)  # measured alone, never picked by other scenarios
    try:
        cpes = [SimulatedCpe(model, acs_url=f"http://127.0.0.1:{gw.port}/", serial=f"GH{tag}{i:05d}", boot_delay_s=0)
                for i in range(devices)]
        await sc._sessions(cpes, ["0 BOOTSTRAP", "1 BOOT"], concurrency, None, once=True)  # noqa: SLF001 - register first
        await sc.drain_writes(stack)
        idle_rss, cpu0 = rss_bytes(gw.proc.pid), cpu_seconds(gw.proc.pid)
        reports, elapsed = await sc._sessions(cpes, ["2 PERIODIC"], concurrency, duration_s)  # noqa: SLF001
        elapsed += await sc.drain_writes(stack)
        cpu1, end_rss = cpu_seconds(gw.proc.pid), rss_bytes(gw.proc.pid)
    finally:
        gw.stop()
    ok = [r for r in reports if r.ok]
    durations = [r.duration_s for r in ok]
    return {
        "sessions_ok": len(ok), "sessions_failed": len(reports) - len(ok),
        "sessions_per_s": round(len(ok) / elapsed, 1),
        "session_p50_ms": round(sc.pct(durations, 50) * 1000, 2), "session_p99_ms": round(sc.pct(durations, 99) * 1000, 2),
        "gateway_cpu_ms_per_session": round((cpu1 - cpu0) * 1000 / max(1, len(ok)), 3),
        "gateway_idle_rss_mb": round(idle_rss / 2**20, 1), "gateway_end_rss_mb": round(end_rss / 2**20, 1),
    }


async def parked(stack: Stack, server: str, models: list[DataModel], devices: int) -> dict:
    """``devices`` sessions open at once on a fresh gateway serving with ``server``."""
    before = dict(stack.gateway_env)
    stack.gateway_env["GATEWAY_HTTP_SERVER"] = server
    try:
        r = await mem.concurrent_sessions(stack, models, devices=devices)
    except httpx.HTTPError as e:  # its metrics poll timed out on an overloaded machine: reported, not fatal
        return {"parked": devices, "parked_error": f"{type(e).__name__}: {e}"}
    finally:
        stack.gateway_env.clear()
        stack.gateway_env.update(before)
    return {"parked": devices, "parked_reached": r["concurrent_reached"],
            "parked_sessions_failed": r["sessions_failed"],
            "gateway_bytes_per_open_session": r["gateway_bytes_per_session"],
            "gateway_parked_idle_rss_mb": r["gateway_idle_rss_mb"],
            "gateway_plateau_rss_mb": r["gateway_plateau_rss_mb"]}


def _median(runs: list[dict], key: str) -> float | None:
    values = [r[key] for r in runs if key in r]
    return round(statistics.median(values), 2) if values else None


def summarise(runs: list[dict]) -> dict:
    """Medians per side and native/uvicorn ratios (>1: native higher)."""
    keys = ("sessions_per_s", "session_p50_ms", "session_p99_ms", "gateway_cpu_ms_per_session",
            "gateway_bytes_per_open_session", "gateway_plateau_rss_mb", "gateway_idle_rss_mb")
    med = {s: {k: _median([r for r in runs if r["server"] == s], k) for k in keys} for s in SERVERS}
    ratio = {k: round(n / u, 3) if n is not None and u else None
             for k in keys for n, u in [(med["native"][k], med["uvicorn"][k])]}
    return {"median": med, "native_over_uvicorn": ratio}


async def compare(stack: Stack, model: DataModel, models: list[DataModel], *, rounds: int, devices: int,
                  concurrency: int, duration_s: float, parked_devices: int) -> dict:
    """``rounds`` runs of each side, alternating, after a warm-up; every run and the medians."""
    # Not reported: the first run after the scenarios before it pays for what they left (writes
    # draining, a cold path); it made whichever side ran first 35-50% slower, in either version.
    await throughput(stack, SERVERS[0], model, "W", devices, concurrency, min(duration_s, 10.0))
    runs: list[dict] = []
    for i in range(rounds):
        for server in SERVERS:
            t0 = time.perf_counter()
            run = {"server": server, "round": i + 1,
                   **await throughput(stack, server, model, f"{server[0].upper()}{i}", devices, concurrency, duration_s),
                   **await parked(stack, server, models, parked_devices)}
            run["run_s"] = round(time.perf_counter() - t0, 1)
            print("gateway_http run", json.dumps(run), flush=True)
            runs.append(run)
    return {"devices": devices, "concurrency": concurrency, "duration_s": duration_s, "runs": runs, **summarise(runs)}


async def figures(stack: Stack, short: bool) -> dict:
    """The scenario as ``python -m benchmarks`` runs it (``short``: small numbers, one round each)."""
    n = (lambda full, small: small if short else full)
    return await compare(stack, sc.igd_model(), sc.boot_storm_models(), rounds=n(2, 1), devices=n(200, 10),
                         concurrency=n(32, 4), duration_s=n(20, 2), parked_devices=n(2000, 100))


def main() -> None:
    ap = argparse.ArgumentParser(prog="benchmarks.gateway_http")
    ap.add_argument("--short", action="store_true")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--devices", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--parked", type=int, default=2000)
    args = ap.parse_args()
    os.environ.setdefault("ACS_LOG_LEVEL", "WARNING")
    mem.raise_nofile_limit(args.parked + 1024)
    stack = Stack(partitions=4, scheduler_env={"SCHEDULER_BOOTSTRAP_DISCOVERY": "off"}).start_servers()
    try:
        stack.add_scheduler()
        if args.short:
            out = asyncio.run(figures(stack, True))
        else:
            out = asyncio.run(compare(stack, sc.igd_model(), sc.boot_storm_models(), rounds=args.rounds,
                                      devices=args.devices, concurrency=args.concurrency, duration_s=args.duration,
                                      parked_devices=args.parked))
        print(json.dumps(out, indent=2))
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
