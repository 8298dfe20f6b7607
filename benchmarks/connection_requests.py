"""Connection requests at fleet scale (issue 18): the sustained HTTP rate of a bulk operation, and
the XMPP rate through one Prosody.

HTTP: the inventory service (its own process, on MongoDB) is asked to re-apply a preset matching
N devices (POST /presets/{name}/apply, the bulk path campaigns also use): the devices are queued in
MongoDB and its pacer sends a Digest-authenticated GET to each. The devices are simulated CPEs
in another process: the simulator's own connection request server (one port, a path per device,
the real Digest challenge and check). Measured: requests/s the CPEs accepted between 10 % and
90 % of the run (the sustained rate, without the start and the tail), and the latency of an NBI
read during the run (the pacer must not block NBI calls).

XMPP: the ACS's XMPP connector sends Annex K connectionRequest IQs through one Prosody (STARTTLS)
to simulated CPEs, each a real XMPP client that checks the credentials and answers; measured:
acknowledged requests/s with a bounded number in flight.

Everything shares this machine's cores with the servers it starts, so the figures are a floor.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import threading
import time

import httpx
from pymongo import MongoClient

from acs_devstack.servers import free_port, mongo_uri
from acs_devstack.stack import Stack

TARGET_HTTP_PER_S = 2000
_OUI, _PC = "B3C4D5", "CrBench"


# --- the simulated CPEs' side (run in its own process) --------------------------------------------

class _Target:
    """One simulated device as the connection request server sees it (key and credentials)."""

    __slots__ = ("key", "accepted")

    def __init__(self, key: str) -> None:
        self.key = key
        self.accepted = 0

    def connection_request_credentials(self) -> tuple[str, str]:
        return self.key, "cr-" + self.key

    def connection_request(self) -> bool:
        self.accepted += 1
        return True


async def _serve(port: int, count: int) -> None:
    from cpe_simulator.connreq import ConnectionRequestServer
    from cpe_simulator.stats import Stats

    stats = Stats()
    server = ConnectionRequestServer("127.0.0.1", port, stats=stats)
    await server.start()
    for i in range(count):
        server.register(_Target(f"CRB{i:07d}"))
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    while True:  # one line per 0.2 s: (time, accepted so far)
        await asyncio.sleep(0.2)
        print(f"{loop.time():.3f} {stats.connection_requests['200']}", flush=True)


# --- HTTP ------------------------------------------------------------------------------------------

def _devices(count: int, port: int) -> tuple[list[dict], list[dict]]:
    devices, creds = [], []
    for i in range(count):
        serial = f"CRB{i:07d}"
        device_id = f"{_OUI}-{_PC}-{serial}"
        devices.append({
            "_id": device_id,
            "_deviceId": {"_Manufacturer": "Bench", "_OUI": _OUI, "_ProductClass": _PC, "_SerialNumber": serial},
            "_tags": ["crbench"],
            "InternetGatewayDevice": {"_object": True, "ManagementServer": {"_object": True, "ConnectionRequestURL": {
                "_value": f"http://127.0.0.1:{port}/cr/{serial}", "_type": "xsd:string", "_writable": False}}},
        })
        creds.append({"_id": device_id, "connectionRequest": {"username": serial, "password": "cr-" + serial}})
    return devices, creds


def _read_samples(stream, samples: list[tuple[float, int]]) -> None:
    for line in stream:
        at, count = line.split()
        samples.append((float(at), int(count)))


def http_figures(devices: int, rate: int, concurrency: int) -> dict:
    sim_port = free_port()
    sim = subprocess.Popen([sys.executable, "-m", "benchmarks.connection_requests", "serve", str(sim_port), str(devices)],
                           stdout=subprocess.PIPE, text=True)
    stack = Stack(partitions=1, inventory_env={"NBI_CR_RATE": str(rate), "NBI_CR_CONCURRENCY": str(concurrency)})
    try:
        assert sim.stdout is not None and sim.stdout.readline().strip() == "ready"
        stack.start_servers()
        stack.add_inventory()
        client = MongoClient(mongo_uri(stack.mongo.port))  # type: ignore[union-attr]
        docs, creds = _devices(devices, sim_port)
        for i in range(0, devices, 5000):
            client.acs.devices.insert_many(docs[i : i + 5000], ordered=False)
            client.acs.credentials.insert_many(creds[i : i + 5000], ordered=False)
        client.close()
        headers = {"Authorization": f"Bearer {stack.nbi_token}"}
        with httpx.Client(base_url=stack.nbi_url, headers=headers, timeout=60) as nbi:
            r = nbi.put("/presets/crbench", json={"precondition": '{"_tags": "crbench"}', "events": {"6 CONNECTION REQUEST": True},
                                                  "declarations": []})
            r.raise_for_status()
            t0 = time.monotonic()
            r = nbi.post("/presets/crbench/apply", params={"rate": str(rate)})
            r.raise_for_status()
            submit_ms = (time.monotonic() - t0) * 1000
            samples: list[tuple[float, int]] = []
            reader = threading.Thread(target=_read_samples, args=(sim.stdout, samples), daemon=True)
            reader.start()
            nbi_ms: list[float] = []
            # one device by id: what the NBI answers while the pacer runs (a "_tags" query with
            # limit 1 made SecantusDB read all N tagged documents each time, ~0.8 s of its one
            # core per call at 20,000: the probe competed with the pacer for the database)
            probe = json.dumps({"_id": docs[devices // 2]["_id"]})
            deadline = time.monotonic() + max(120.0, devices / 50)
            while time.monotonic() < deadline and not (samples and samples[-1][1] >= devices):
                t = time.monotonic()
                nbi.get("/devices/", params={"query": probe, "projection": "_id"})
                nbi_ms.append((time.monotonic() - t) * 1000)
                time.sleep(0.2)
    finally:
        sim.terminate()
        sim.wait(10)
        stack.stop()
    done = samples[-1][1]
    lo = next(s for s in samples if s[1] >= done * 0.1)
    hi = next(s for s in samples if s[1] >= done * 0.9)
    sustained = (hi[1] - lo[1]) / max(hi[0] - lo[0], 1e-6)
    # from the apply call (the simulator's times are the same monotonic clock) to the last request;
    # its first lines date from its own start, before the stack and the fleet were set up
    end = next(s for s in samples if s[1] >= done)
    return {
        "devices": devices, "asked_rate_per_s": rate, "concurrency": concurrency,
        "accepted": done, "apply_call_ms": round(submit_ms, 1),
        "sustained_per_s": round(sustained, 1), "overall_per_s": round(done / max(end[0] - t0, 1e-6), 1),
        "nbi_read_during_ms_median": round(statistics.median(nbi_ms), 1) if nbi_ms else None,
        "nbi_read_during_ms_max": round(max(nbi_ms), 1) if nbi_ms else None,
    }


# --- XMPP ------------------------------------------------------------------------------------------

async def _xmpp_rate(cpes: int, requests: int, concurrency: int) -> dict:
    from acs_devstack.prosody import Prosody
    from cpe_simulator import DataModel, SimulatedCpe
    from cpe_simulator.xmpp import with_xmpp
    from inventory.xmpp_client import XmppConnector, XmppSettings

    server = Prosody(domain="bench.acs.test")
    server.register("acs", "acs-pw")
    for i in range(cpes):
        server.register(f"cpe{i}", f"pw{i}")
    await asyncio.to_thread(server.start)
    model = with_xmpp(DataModel.default())
    host, port = server.address.rsplit(":", 1)
    devices = [
        SimulatedCpe(model, acs_url="http://127.0.0.1:9/", serial=f"XB{i:05d}", connection_request_http=False,
                     xmpp_ca_file=str(server.cert_path), periodic_interval=86400,
                     parameters={"XMPP.Connection.1.Enable": "true", "XMPP.Connection.1.Username": f"cpe{i}",
                                 "XMPP.Connection.1.Password": f"pw{i}", "XMPP.Connection.1.Domain": "bench.acs.test",
                                 "XMPP.Connection.1.Server.1.ServerAddress": host,
                                 "XMPP.Connection.1.Server.1.Port": port})
        for i in range(cpes)
    ]
    acs = XmppConnector(XmppSettings("acs@bench.acs.test", "acs-pw", server.address, str(server.cert_path)), "bench")
    try:
        acs.start()
        for d in devices:
            d.connection_request = lambda: True  # type: ignore[method-assign]  # no CWMP session: XMPP alone
            await d._start_nat_traversal()
        assert await acs.wait_online(30)
        for d in devices:
            assert d.xmpp is not None
            await asyncio.wait_for(d.xmpp.online.wait(), 60)
        jids = [str(d.xmpp.client.boundjid) for d in devices]  # type: ignore[union-attr]
        sem = asyncio.Semaphore(concurrency)
        outcomes: dict[str, int] = {}

        async def one(i: int) -> None:
            async with sem:
                status, _ = await acs.connection_request(jids[i % cpes], f"XB{i % cpes:05d}", f"cr-XB{i % cpes:05d}")
                outcomes[status] = outcomes.get(status, 0) + 1

        t0 = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(requests)))
        elapsed = time.perf_counter() - t0
    finally:
        await acs.stop()
        for d in devices:
            if d.xmpp is not None:
                await d.xmpp.stop()
        await asyncio.to_thread(server.stop)
    return {"cpes": cpes, "requests": requests, "concurrency": concurrency, "outcomes": outcomes,
            "per_s": round(requests / elapsed, 1)}


def figures(short: bool) -> dict:
    from acs_devstack import prosody

    n = (lambda full, small: small if short else full)
    out: dict = {"http": http_figures(devices=n(20000, 2000), rate=n(5000, 5000), concurrency=512)}
    out["http_sustained_per_s"] = out["http"]["sustained_per_s"]
    reason = prosody.available()
    if reason:
        out["xmpp"] = {"skipped": reason}
    else:
        out["xmpp"] = asyncio.run(_xmpp_rate(cpes=n(50, 10), requests=n(20000, 2000), concurrency=128))
        out["xmpp_per_s"] = out["xmpp"]["per_s"]
    return out


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        asyncio.run(_serve(int(sys.argv[2]), int(sys.argv[3])))
    else:
        print(json.dumps(figures(short="--short" in sys.argv), indent=2))
