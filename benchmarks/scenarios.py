"""Benchmark scenarios against the local stack, driven by the CPE simulator in this process.

Each returns a dict of figures. CPU is measured per process group from /proc (the ACS's own
services, the broker, the database) over the scenario's measuring window; the simulator's own
CPU (this process) is not counted but shares the same two cores, which caps saturation figures.
"""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import time
from pathlib import Path
from urllib.parse import quote

import httpx

from acs_contracts.device_id import make_device_id
from acs_devstack import shared
from acs_devstack.stack import Stack
from cpe_simulator import DataModel, SimulatedCpe
from cpe_simulator.fleet import Fleet

from .procstats import cpu_seconds, rss_bytes

IGD_MODEL = shared.shared_path(shared.IGD_DUMP)


def igd_model() -> DataModel:
    """A real device's dump where ../shared is beside the repository, else the simulator's
    built-in gateway model (the report says which)."""
    return DataModel.load_or_default(IGD_MODEL)


def boot_storm_models() -> list[DataModel]:
    """Several real models for the memory scenarios, or the built-in one."""
    paths = sorted(shared.shared_path("datamodels/anlix-io_genieacs-sim/models").glob("*.csv"))[:4]
    return [DataModel.load(p) for p in paths] or [DataModel.default()]


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))]


def groups(stack: Stack) -> dict[str, list[int]]:
    acs = [s.proc.pid for s in [*stack.gateways, *stack.schedulers, *([stack.inventory] if stack.inventory else [])]]
    return {"acs": acs, "gateway": [g.proc.pid for g in stack.gateways], "scheduler": [s.proc.pid for s in stack.schedulers],
            "broker": [stack.kafka.proc.pid], "database": [stack.mongo.proc.pid]}


def cpu(stack: Stack) -> dict[str, float]:
    return {name: sum(cpu_seconds(p) for p in pids) for name, pids in groups(stack).items()}


def cpu_delta(before: dict[str, float], after: dict[str, float], sessions: int) -> dict[str, float]:
    return {f"{k}_cpu_ms_per_session": round((after[k] - before[k]) * 1000 / max(1, sessions), 3) for k in before}


_MONGO_COUNT = re.compile(r'^acs_mongo_operation_duration_seconds_count\{op="([^"]+)"\} ([0-9.e+]+)$', re.M)


async def mongo_round_trips(stack: Stack) -> float:
    """MongoDB round trips the schedulers made so far (every bulk write and read)."""
    total = 0.0
    async with httpx.AsyncClient() as c:
        for s in stack.schedulers:
            text = (await c.get(f"http://127.0.0.1:{s.admin_port}/metrics")).text
            total += sum(float(n) for op, n in _MONGO_COUNT.findall(text))
    return total


_PENDING = re.compile(r"^acs_scheduler_pending_writes ([0-9.e+]+)$", re.M)


async def drain_writes(stack: Stack, timeout_s: float = 300.0) -> float:
    """Wait until every scheduler's store writes are acknowledged; returns the seconds waited.

    Sessions count as done only once their effects are stored: the scheduler answers a CPE
    before its batched writes land, so a window that ends with a backlog would flatter the rate.
    """
    t0 = time.perf_counter()
    async with httpx.AsyncClient() as c:
        while time.perf_counter() - t0 < timeout_s:
            pending = 0.0
            for s in stack.schedulers:
                m = _PENDING.search((await c.get(f"http://127.0.0.1:{s.admin_port}/metrics")).text)
                pending += float(m.group(1)) if m else 0.0
            if pending == 0:
                break
            await asyncio.sleep(0.1)
    return time.perf_counter() - t0


def _bucket_re(histogram: str) -> re.Pattern:
    return re.compile(r'^' + histogram + r'_bucket\{le="([^"]+)"\} ([0-9.e+]+)$', re.M)


_BUCKET = _bucket_re("acs_gateway_reply_hop_seconds")
_PUBLISH_BUCKET = _bucket_re("acs_gateway_kafka_publish_seconds")


async def reply_hop_buckets(stack: Stack, pattern: re.Pattern = _BUCKET) -> list[tuple[float, float]]:
    """Cumulative (le, count) of the gateways' reply-hop histograms (or another), summed."""
    total: dict[float, float] = {}
    async with httpx.AsyncClient() as c:
        for g in stack.gateways:
            text = (await c.get(f"http://127.0.0.1:{g.admin_port}/metrics")).text
            for le, n in pattern.findall(text):
                total[float(le)] = total.get(float(le), 0) + float(n)
    return sorted(total.items())


def hist_quantile(before: list[tuple[float, float]], after: list[tuple[float, float]], q: float) -> float:
    """Quantile from the difference of two cumulative histograms, interpolated inside buckets."""
    b = dict(before)
    delta = [(le, n - b.get(le, 0)) for le, n in after]
    total = delta[-1][1] if delta else 0
    if total <= 0:
        return float("nan")
    rank, prev_le, prev_n = q * total, 0.0, 0.0
    for le, n in delta:
        if n >= rank:
            if le == float("inf"):
                return prev_le
            return prev_le + (le - prev_le) * ((rank - prev_n) / max(n - prev_n, 1e-9))
        prev_le, prev_n = le, n
    return prev_le


async def _sessions(cpes: list[SimulatedCpe], events: list[str], concurrency: int, duration_s: float | None,
                    once: bool = False) -> tuple[list, float]:
    """Run sessions with ``concurrency`` at a time: each device once, or round robin until ``duration_s``."""
    reports: list = []
    queue = list(cpes)
    start = time.perf_counter()
    next_i = 0

    async def worker() -> None:
        nonlocal next_i
        while True:
            if once:
                if next_i >= len(queue):
                    return
            elif time.perf_counter() - start > (duration_s or 0):
                return
            cpe = queue[next_i % len(queue)]
            next_i += 1
            if cpe._lock.locked():  # noqa: SLF001 - the device is already in a session
                await asyncio.sleep(0)
                continue
            reports.append(await cpe.run_session(events=events))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return reports, time.perf_counter() - start


def make_cpes(stack: Stack, n: int, prefix: str, model: DataModel) -> list[SimulatedCpe]:
    return [SimulatedCpe(model, acs_url=stack.cwmp_url(i % len(stack.gateways)), serial=f"{prefix}{i:06d}", boot_delay_s=0)
            for i in range(n)]


async def periodic(stack: Stack, model: DataModel, devices: int, concurrency: int, duration_s: float) -> dict:
    cpes = make_cpes(stack, devices, "PER", model)
    await _sessions(cpes, ["0 BOOTSTRAP", "1 BOOT"], concurrency, None, once=True)  # register them first
    await drain_writes(stack)
    hop0, cpu0, rt0 = await reply_hop_buckets(stack), cpu(stack), await mongo_round_trips(stack)
    reports, elapsed = await _sessions(cpes, ["2 PERIODIC"], concurrency, duration_s)
    drained = await drain_writes(stack)
    elapsed += drained
    hop1, cpu1, rt1 = await reply_hop_buckets(stack), cpu(stack), await mongo_round_trips(stack)
    ok = [r for r in reports if r.ok]
    durations = [r.duration_s for r in ok]
    return {
        "devices": devices, "concurrency": concurrency, "window_s": round(elapsed, 2), "write_drain_s": round(drained, 2),
        "sessions_ok": len(ok), "sessions_failed": len(reports) - len(ok),
        "sessions_per_s": round(len(ok) / elapsed, 1),
        "session_p50_ms": round(pct(durations, 50) * 1000, 2), "session_p99_ms": round(pct(durations, 99) * 1000, 2),
        "reply_hop_p50_ms": round(hist_quantile(hop0, hop1, 0.50) * 1000, 2),
        "reply_hop_p99_ms": round(hist_quantile(hop0, hop1, 0.99) * 1000, 2),
        "mongo_round_trips_per_session": round((rt1 - rt0) / max(1, len(ok)), 3),
        **cpu_delta(cpu0, cpu1, len(ok)),
    }


async def reply_hop_light(stack: Stack, model: DataModel, sessions: int) -> dict:
    """Light load: one session at a time, so the hop shows its own latency, not queueing."""
    cpes = make_cpes(stack, 4, "HOP", model)
    await _sessions(cpes, ["0 BOOTSTRAP", "1 BOOT"], 1, None, once=True)
    hop0, pub0 = await reply_hop_buckets(stack), await reply_hop_buckets(stack, _PUBLISH_BUCKET)
    reports = []
    for i in range(sessions):
        reports.append(await cpes[i % 4].run_session(events=["2 PERIODIC"]))
    hop1, pub1 = await reply_hop_buckets(stack), await reply_hop_buckets(stack, _PUBLISH_BUCKET)
    durations = [r.duration_s for r in reports if r.ok]
    return {"sessions": len(durations), "reply_hop_p50_ms": round(hist_quantile(hop0, hop1, 0.50) * 1000, 2),
            "reply_hop_p99_ms": round(hist_quantile(hop0, hop1, 0.99) * 1000, 2),
            # the part of the hop spent on the broker's acknowledgement (acks=all)
            "publish_p50_ms": round(hist_quantile(pub0, pub1, 0.50) * 1000, 2),
            "publish_p99_ms": round(hist_quantile(pub0, pub1, 0.99) * 1000, 2),
            "session_p50_ms": round(pct(durations, 50) * 1000, 2), "session_p99_ms": round(pct(durations, 99) * 1000, 2)}


async def idle_cpu(stack: Stack, seconds: float) -> dict:
    """CPU the idle stack burns (polling consumers, change streams): the floor under every figure."""
    c0 = cpu(stack)
    await asyncio.sleep(seconds)
    c1 = cpu(stack)
    return {k: round((c1[k] - c0[k]) / seconds * 100, 1) for k in c0}


async def first_contact(stack: Stack, model: DataModel, devices: int, concurrency: int) -> dict:
    cpes = make_cpes(stack, devices, "NEW", model)
    cpu0 = cpu(stack)
    reports, elapsed = await _sessions(cpes, ["0 BOOTSTRAP", "1 BOOT"], concurrency, None, once=True)
    elapsed += await drain_writes(stack)
    cpu1 = cpu(stack)
    ok = [r for r in reports if r.ok]
    rpcs = [len(r.rpcs) for r in ok]
    return {
        "devices": devices, "concurrency": concurrency, "sessions_ok": len(ok), "sessions_failed": len(reports) - len(ok),
        "sessions_per_s": round(len(ok) / elapsed, 1), "rpcs_per_session_median": statistics.median(rpcs) if rpcs else 0,
        "rpc_names_first_session": ok[0].rpcs if ok else [],
        "session_p50_ms": round(pct([r.duration_s for r in ok], 50) * 1000, 1), **cpu_delta(cpu0, cpu1, len(ok)),
    }


async def set_with_connection_request(stack: Stack, model: DataModel, devices: int, operations: int) -> dict:
    cpes = make_cpes(stack, devices, "CRQ", model)
    from pymongo import MongoClient

    from acs_devstack.servers import mongo_uri

    db = MongoClient(mongo_uri(stack.mongo.port)).acs

    def device_id(c: SimulatedCpe) -> str:
        return make_device_id(model.identity.oui, model.identity.product_class, c.key)

    for c in cpes:
        db.credentials.update_one({"_id": device_id(c)},
                                  {"$set": {"connectionRequest": {"username": c.key, "password": f"cr-{c.key}"}}}, upsert=True)
        await c.start()
    for c in cpes:
        await c.wait_idle()
    await asyncio.sleep(1)
    latencies, codes = [], []
    path = "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.SSID"
    async with httpx.AsyncClient(base_url=stack.nbi_url, timeout=60, headers={"Authorization": f"Bearer {stack.nbi_token}"}) as nbi:
        for i in range(operations):
            c = cpes[i % devices]
            await c.wait_idle()
            t0 = time.perf_counter()
            r = await nbi.post(f"/devices/{quote(device_id(c), safe='')}/tasks", params={"connection_request": "", "timeout": 10000},
                               json={"name": "setParameterValues", "parameterValues": [[path, f"ssid-{i}", "xsd:string"]]})
            latencies.append(time.perf_counter() - t0)
            codes.append(r.status_code)
    for c in cpes:
        await c.stop()
    return {"operations": operations, "completed_200": codes.count(200),
            "median_ms": round(pct(latencies, 50) * 1000, 1), "p99_ms": round(pct(latencies, 99) * 1000, 1)}


async def memory(stack: Stack, models: list[DataModel], devices: int, boot_within_s: float) -> dict:
    fleet = Fleet(models, count=devices, acs_url=stack.cwmp_url(0), serial_format="MEM{index:08d}")
    peak: dict[str, int] = {}
    done = asyncio.Event()

    async def sample() -> None:
        while not done.is_set():
            for name, pids in groups(stack).items():
                if name in ("acs",):
                    continue
                peak[name] = max(peak.get(name, 0), sum(rss_bytes(p) for p in pids))
            if stack.inventory:
                peak["inventory"] = max(peak.get("inventory", 0), rss_bytes(stack.inventory.proc.pid))
            await asyncio.sleep(0.25)

    sampler = asyncio.create_task(sample())
    t0 = time.perf_counter()
    await fleet.start(boot_within_s=boot_within_s)
    summary = {}
    deadline = time.perf_counter() + max(60.0, devices / 20)
    while time.perf_counter() < deadline:
        summary = fleet.stats.summary()["sessions"]
        if summary["ok"] + summary["failed"] >= devices:
            break
        await asyncio.sleep(0.5)
    elapsed = time.perf_counter() - t0
    done.set()
    await sampler
    await fleet.stop()
    return {"devices": devices, "boot_within_s": boot_within_s, "elapsed_s": round(elapsed, 1),
            "sessions_ok": summary.get("ok"), "sessions_failed": summary.get("failed"),
            **{f"{k}_peak_rss_mb": round(v / 2**20, 1) for k, v in peak.items()}}


def dump(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
