"""``python -m benchmarks [--short] [--broker tansu]``: start the local stack, run the scenarios,
write benchmarks/results/<date>.json and <date>.md. ``--short`` is the CI smoke run (small
numbers; it checks the harness works, its figures mean little).

The stack runs on Apache Kafka (the real broker, as in production). ``--broker tansu`` runs the
same scenarios on the ``tansu`` fallback and writes ``<date>-tansu.*``; the Apache Kafka report
then shows its figures in a comparison column."""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import sys
from pathlib import Path

from acs_devstack.stack import Stack

from . import memory as mem
from . import scenarios as sc

HERE = Path(__file__).resolve().parent
TARGETS = {
    "periodic.sessions_per_s": (">=", 1000), "periodic.acs_cpu_ms_per_session": ("<=", 2.0),
    "periodic.database_cpu_ms_per_session": ("<=", 2.0), "first_contact.sessions_per_s": (">=", 100),
    "first_contact.rpcs_per_session_median": ("<=", 2), "set_with_connection_request.median_ms": ("<=", 50),
    "reply_hop_light.reply_hop_p99_ms": ("<=", 3.0), "idle_cpu_percent.scheduler": ("<=", 2.0),
    "concurrent_sessions.gateway_plateau_rss_mb": ("<=", 150),
    "codec.parse_inform_40_per_s": (">=", 10000), "codec.build_gpv_100_per_s": (">=", 20000),
    "provision_scripts.ratio": ("<=", 2.0),  # scheduler CPU, GenieACS scripts vs native declarations
    "console.first_page_ms": ("<=", 1000),  # Devices page, 100k devices, first page on screen in Chromium
    "telemetry.sustained_samples_per_s": (">=", 11111),  # 1 M devices x 10 KPIs / 15 min, one collector + one writer
    "connection_requests.http_sustained_per_s": (">=", 2000),  # a bulk re-apply's HTTP connection requests
}


def codec_figures(short: bool) -> dict:
    """The codec's own figures (benchmarks/cwmp_codec.py), measured in this process on one core."""
    from cwmp import soap

    from . import cwmp_codec as cc

    number, rounds = (300, 2) if short else (2000, 7)
    inform, gpv = cc.inform_40(), cc.gpv_100()
    return {"parse_inform_40_per_s": round(cc.rate(lambda: soap.parse(inform), number, rounds)),
            "build_gpv_100_per_s": round(cc.rate(lambda: soap.build_message(gpv, id="42"), number * 2, rounds))}


def _stack(**scheduler_env: str) -> Stack:
    stack = Stack(partitions=4, gateway_env={"GATEWAY_MAX_INFLIGHT": "20000"}, scheduler_env=scheduler_env).start_servers()
    stack.add_inventory()
    stack.add_scheduler()
    stack.add_gateway()
    return stack


async def run(short: bool) -> dict:
    n = (lambda full, small: small if short else full)
    model = sc.igd_model()
    results: dict = {"datamodel": {"igd": model.source}}
    # First, on a quiet machine: "one core" means one core, not one shared with a stack winding down.
    results["codec"] = codec_figures(short)
    from . import provision_scripts

    results["provision_scripts"] = provision_scripts.figures(short)
    print("provision_scripts", results["provision_scripts"], flush=True)
    from . import device_query as dq  # the shared query library: NBI filters, preconditions, preset checks

    results["device_query"] = dq.figures(short)
    print("device_query", results["device_query"], flush=True)
    from . import cpe_credentials  # the gateway's login check against a device's own, rotated credentials

    results["cpe_credentials"] = cpe_credentials.figures(short)
    print("cpe_credentials", results["cpe_credentials"], flush=True)
    from . import nbi_auth  # what users, tokens and scopes cost the NBI (in process, own database)

    if short:  # its SecantusDB run stalled in 2 of 5 smoke runs on a busy machine: the full run only
        results["nbi_auth"] = {"skipped": "--short"}
    else:
        results["nbi_auth"] = await asyncio.to_thread(nbi_auth.figures, short)  # it runs its own event loop
    print("nbi_auth", results["nbi_auth"], flush=True)
    from . import storage  # the scheduler's storage tricks against plain MongoDB updates (its own SecantusDB)

    results["storage"] = await asyncio.to_thread(storage.figures, short)
    print("storage", results["storage"], flush=True)
    # Stack 1: devices registered with their summary only (SCHEDULER_BOOTSTRAP_DISCOVERY=off), so
    # device documents stay small: periodic sessions, the reply hop, an operator's
    # setParameterValues with a connection request, memory under a boot storm.
    stack = _stack(SCHEDULER_BOOTSTRAP_DISCOVERY="off")
    try:
        print("stack up (summary discovery); running scenarios", flush=True)
        # A broker runs warm in production: the JVM's compilers have not seen a request yet
        # here, and the first scenario would measure them (reply hop p50 ~3 ms cold, ~1.8 warm).
        warm = await sc.periodic(stack, model, devices=n(100, 10), concurrency=n(16, 4), duration_s=n(15, 1))
        print("warm-up (not reported)", warm["sessions_ok"], "sessions", flush=True)
        results["idle_cpu_percent"] = await sc.idle_cpu(stack, n(10, 3))
        print("idle", results["idle_cpu_percent"], flush=True)
        results["reply_hop_light"] = await sc.reply_hop_light(stack, model, sessions=n(300, 30))
        print("reply_hop_light", results["reply_hop_light"], flush=True)
        results["periodic"] = await sc.periodic(stack, model, devices=n(400, 40), concurrency=n(64, 8), duration_s=n(30, 4))
        print("periodic", results["periodic"], flush=True)
        results["set_with_connection_request"] = await sc.set_with_connection_request(stack, model, devices=n(10, 2), operations=n(100, 6))
        print("set_with_connection_request", results["set_with_connection_request"], flush=True)
        from . import gateway_http  # the CWMP port's own HTTP server against uvicorn, fresh gateways on this stack

        results["gateway_http"] = await gateway_http.figures(stack, short)
        print("gateway_http", results["gateway_http"]["native_over_uvicorn"], flush=True)
        models = sc.boot_storm_models()
        # The backlog catch-up first: the boot storm leaves sessions cut short, which the
        # scheduler writes out at their idle timeout, in the middle of whatever runs next.
        results["concurrent_sessions"] = await mem.concurrent_sessions(stack, models, devices=n(10000, 300))
        print("concurrent_sessions", results["concurrent_sessions"], flush=True)
        results["memory"] = await sc.memory(stack, models, devices=n(10000, 300), boot_within_s=n(30, 3))
        print("memory", results["memory"], flush=True)
    finally:
        stack.stop()
    # Stack 2: the defaults (whole data model learnt at BOOTSTRAP): first contact, and periodic
    # sessions on devices whose documents hold their whole data model.
    stack = _stack()
    try:
        print("stack up (full discovery); running scenarios", flush=True)
        results["first_contact"] = await sc.first_contact(stack, model, devices=n(500, 20), concurrency=16)
        print("first_contact", results["first_contact"], flush=True)
        results["periodic_full_model"] = await sc.periodic(stack, model, devices=n(200, 20), concurrency=n(32, 8),
                                                           duration_s=n(15, 3))
        print("periodic_full_model", results["periodic_full_model"], flush=True)
    finally:
        stack.stop()
    from . import console

    results["console"] = console.figures(short)  # its own stack: 100k devices in the inventory
    print("console", results["console"], flush=True)
    from . import overview

    results["overview"] = await asyncio.to_thread(overview.figures, short)  # its own SecantusDB: GET /overview over 100k devices
    print("overview", results["overview"], flush=True)
    from . import telemetry

    results["telemetry"] = await asyncio.to_thread(telemetry.figures, short)  # its own stack: collector + writer
    print("telemetry", results["telemetry"], flush=True)
    from . import connection_requests

    results["connection_requests"] = await asyncio.to_thread(connection_requests.figures, short)  # its own stack + Prosody
    print("connection_requests", results["connection_requests"], flush=True)
    return results


def verdicts(results: dict) -> dict:
    out = {}
    for key, (op, target) in TARGETS.items():
        section, name = key.split(".")
        value = results.get(section, {}).get(name)
        if value is None:
            out[key] = {"target": f"{op} {target}", "value": None, "met": None}
            continue
        met = value >= target if op == ">=" else value <= target
        out[key] = {"target": f"{op} {target}", "value": value, "met": met}
    return out


def markdown(doc: dict, compare: dict | None = None) -> str:
    """The report; ``compare``: a run on the other broker, shown in a column of its own."""
    lines = [f"# Benchmark {doc['date']}{' (short)' if doc['short'] else ''}", "",
             f"Machine: {doc['machine']}. Broker: {doc.get('broker', 'tansu')}. Everything on loopback: the broker, the "
             "database (SecantusDB), the ACS services and the CPE simulator share the same cores, so saturation "
             "figures are a floor.", ""]
    other = compare["verdicts"] if compare else {}
    if compare:
        lines += [f"| figure | target | measured | met | {compare.get('broker')} ({compare['date']}) |", "|---|---|---|---|---|"]
    else:
        lines += ["| figure | target | measured | met |", "|---|---|---|---|"]
    for key, v in doc["verdicts"].items():
        met = {True: "yes", False: "no", None: "n/a"}[v["met"]]
        extra = f" {other.get(key, {}).get('value')} |" if compare else ""
        lines.append(f"| {key} | {v['target']} | {v['value']} | {met} |{extra}")
    lines += ["", "## All figures", "", "```json", json.dumps(doc["results"], indent=2, default=str), "```", ""]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(prog="benchmarks")
    ap.add_argument("--short", action="store_true", help="small, quick run for CI")
    ap.add_argument("--out", type=Path, default=HERE / "results")
    ap.add_argument("--broker", choices=("apache", "tansu"), default="apache",
                    help="Apache Kafka (default), or the tansu fallback for a comparison column")
    args = ap.parse_args()
    os.environ.setdefault("ACS_LOG_LEVEL", "WARNING")
    os.environ["ACS_KAFKA_IMPL"] = args.broker
    from acs_devstack import kafka

    if args.broker == "apache" and not kafka.available():
        print("Apache Kafka needs java (and mvn once): none found", file=sys.stderr)
        return 2
    results = asyncio.run(run(args.short))
    date = datetime.date.today().isoformat()
    broker = f"Apache Kafka {kafka.KAFKA_VERSION}" if args.broker == "apache" else "tansu"
    doc = {"date": date, "short": args.short, "broker": broker,
           "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
           "results": results, "verdicts": verdicts(results)}
    args.out.mkdir(parents=True, exist_ok=True)
    stem = (f"{date}-short" if args.short else date) + ("-tansu" if args.broker == "tansu" else "")
    sc.dump(args.out / f"{stem}.json", doc)
    compare = None
    if args.broker == "apache":
        pattern = "*-short-tansu.json" if args.short else "*-tansu.json"
        runs = sorted(p for p in args.out.glob(pattern) if args.short or "-short" not in p.name)
        compare = json.loads(runs[-1].read_text()) if runs else None
    (args.out / f"{stem}.md").write_text(markdown(doc, compare))
    print(markdown(doc, compare))
    return 0


if __name__ == "__main__":
    sys.exit(main())
