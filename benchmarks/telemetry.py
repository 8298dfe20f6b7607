"""Device monitoring at scale: what one Bulk Data collector and one history writer sustain.

The target context: 1 M devices x 10 KPIs every 15 minutes is 11,111 samples/s (1,111 reports/s
of 10 samples each). Simulated devices POST TR-232 JSON name-value reports (10 KPIs, one
collection each, Basic auth per device) over keep-alive connections to one collector process
(TELEMETRY_WRITER=off), which publishes them to acs.metrics.v1; one writer process
(TELEMETRY_COLLECTOR=off) folds them into hourly buckets with bulk_write. Measured: reports and
samples/s the collector accepted, samples/s the writer stored (from the first to the last
write), and the CPU each used per 1,000 samples (the database's too), which docs/deployment.md
turns into a sizing. Everything shares this machine's cores, so the figures are a floor.
"""

from __future__ import annotations

import asyncio
import base64
import random
import time

import aiohttp
import httpx
import orjson

from acs_contracts.device_id import make_device_id
from acs_devstack.stack import Stack
from telemetry.auth import device_password

from . import procstats

TARGET_SAMPLES_PER_S = 1_000_000 * 10 / 900  # 1 M devices x 10 KPIs / 15 min
KPIS = [f"Device.{p}" for p in (
    "DeviceInfo.ProcessStatus.CPUUsage", "DeviceInfo.MemoryStatus.Free", "DeviceInfo.UpTime",
    "WiFi.Radio.1.Stats.ErrorsSent", "WiFi.Radio.1.Stats.ErrorsReceived", "WiFi.Radio.1.Noise",
    "Ethernet.Interface.1.Stats.ErrorsReceived", "IP.Interface.1.Stats.BytesReceived",
    "IP.Interface.1.Stats.BytesSent", "Hosts.HostNumberOfEntries")]


def _report(rng: random.Random, t: float) -> bytes:
    entry: dict[str, object] = {"CollectionTime": int(t)}
    entry.update({k: rng.randrange(0, 1 << 31) for k in KPIS})
    return orjson.dumps({"Report": [entry]})


async def _load(url: str, secret: bytes, devices: int, concurrency: int, duration_s: float) -> tuple[int, int, float]:
    """(reports accepted, reports refused, seconds): ``concurrency`` senders cycling over the devices."""
    ids = [make_device_id("00D09E", "BENCH", f"T{i:07d}") for i in range(devices)]
    headers = {"Content-Type": "application/json; charset=UTF-8", "BBF-Report-Format": "NameValuePair"}
    auths = [{**headers, "Authorization": "Basic " + base64.b64encode(f"{d}:{device_password(secret, d)}".encode()).decode()}
             for d in ids]
    ok = bad = 0
    deadline = time.monotonic() + duration_s
    connector = aiohttp.TCPConnector(limit=concurrency)

    async def sender(k: int) -> None:
        nonlocal ok, bad
        rng = random.Random(k)
        i = k
        async with aiohttp.ClientSession(connector=connector, connector_owner=False) as http:
            while time.monotonic() < deadline:
                async with http.post(url, data=_report(rng, time.time()), headers=auths[i % devices]) as r:
                    await r.read()
                    if r.status == 204:
                        ok += 1
                    else:
                        bad += 1
                i += concurrency

    t0 = time.monotonic()
    await asyncio.gather(*(sender(k) for k in range(concurrency)))
    elapsed = time.monotonic() - t0
    await connector.close()
    return ok, bad, elapsed


async def _written(admin_url: str) -> int:
    async with httpx.AsyncClient(timeout=10) as c:
        return int((await c.get(f"{admin_url}/healthz")).json()["written"])


async def _wait_written(admin_url: str, at_least: int, timeout_s: float) -> int:
    """The writer's stored-sample count once it reaches ``at_least`` (or the timeout passes)."""
    deadline = time.monotonic() + timeout_s
    for _ in range(1_000_000):
        written = await _written(admin_url)
        if written >= at_least or time.monotonic() > deadline:
            return written
        await asyncio.sleep(0.2)
    return written


async def measure(stack: Stack, devices: int, concurrency: int, duration_s: float) -> dict:
    collector = stack.add_telemetry(TELEMETRY_WRITER="off")
    writer = stack.add_telemetry(TELEMETRY_COLLECTOR="off", TELEMETRY_WRITER_BATCH="10000")
    assert stack.mongo is not None and collector.proc is not None and writer.proc is not None
    url = f"http://127.0.0.1:{collector.port}/bulkdata"
    try:
        await _load(url, stack.telemetry_secret.encode(), min(devices, 50), 4, 1.0)  # warm-up (not reported)
        base_written = await _wait_written(writer.admin_url, 1, 60)
        cpu0 = {n: procstats.cpu_seconds(p.proc.pid) for n, p in (("collector", collector), ("writer", writer), ("database", stack.mongo))}  # type: ignore[union-attr]
        ok, bad, elapsed = await _load(url, stack.telemetry_secret.encode(), devices, concurrency, duration_s)
        sent = ok * len(KPIS)
        t_load_end = time.monotonic()
        # the writer's rate: samples stored over the time it took to store them (it may lag the load)
        written = await _wait_written(writer.admin_url, base_written + sent, max(120.0, duration_s * 4))
        writer_s = elapsed + (time.monotonic() - t_load_end)
        cpu1 = {n: procstats.cpu_seconds(p.proc.pid) for n, p in (("collector", collector), ("writer", writer), ("database", stack.mongo))}  # type: ignore[union-attr]
    finally:
        collector.stop()
        writer.stop()
        stack.telemetry = None
    stored = written - base_written
    per_k = {f"{n}_cpu_ms_per_1k_samples": round((cpu1[n] - cpu0[n]) * 1000 / max(1, stored) * 1000, 1) for n in cpu0}
    collector_rate = sent / elapsed
    writer_rate = stored / writer_s
    return {
        "devices": devices, "kpis_per_report": len(KPIS), "concurrency": concurrency, "duration_s": round(elapsed, 1),
        "reports_per_s": round(ok / elapsed, 1), "refused": bad,
        "collector_samples_per_s": round(collector_rate), "writer_samples_per_s": round(writer_rate),
        "stored_all": stored >= sent,
        "sustained_samples_per_s": round(min(collector_rate, writer_rate)),
        "target_samples_per_s": round(TARGET_SAMPLES_PER_S),
        **per_k,
    }


def figures(short: bool) -> dict:
    """The scenario on its own stack (broker, database, one collector, one writer)."""
    stack = Stack(partitions=4).start_servers()
    try:
        return asyncio.run(measure(stack, devices=200 if short else 20_000, concurrency=8 if short else 64,
                                   duration_s=3 if short else 30))
    finally:
        stack.stop()


if __name__ == "__main__":
    import sys

    print(figures("--short" in sys.argv), flush=True)
