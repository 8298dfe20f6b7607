"""``acs-devstack run``: the whole ACS locally (``make run``); Ctrl-C stops everything."""

from __future__ import annotations

import argparse
import signal
import sys
import time

from .stack import Stack


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="acs-devstack", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run", help="start broker, database and the ACS services; Ctrl-C stops them")
    run.add_argument("--gateways", type=int, default=1)
    run.add_argument("--schedulers", type=int, default=1)
    run.add_argument("--partitions", type=int, default=4)
    args = ap.parse_args(argv)

    stack = Stack(partitions=args.partitions)
    stop = {"now": False}

    def _stop(*_):
        stop["now"] = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        print(f"starting in {stack.workdir} (logs there)", flush=True)
        stack.start_servers()
        stack.add_inventory()
        for _ in range(args.schedulers):
            stack.add_scheduler()
        for _ in range(args.gateways):
            stack.add_gateway()
        print("\nACS is running:")
        for i, g in enumerate(stack.gateways):
            print(f"  CWMP (CPEs POST here):  {stack.cwmp_url(i)}   metrics http://127.0.0.1:{g.admin_port}/metrics")
        for s in stack.schedulers:
            print(f"  scheduler admin:        http://127.0.0.1:{s.admin_port}/metrics")
        print(f"  NBI:                    {stack.nbi_url}/devices/   (docs {stack.nbi_url}/docs)")
        print(f"  NBI token (admin):      {stack.nbi_token}")
        print(f"  CPE file server:        {stack.files_url}")
        print(f"  Kafka: 127.0.0.1:{stack.kafka.port}   MongoDB: 127.0.0.1:{stack.mongo.port}")
        print("\nTry a simulated CPE:  .venv/bin/acs-cpe-sim --acs-url", stack.cwmp_url(0), "--devices 10")
        print("Ctrl-C stops everything.", flush=True)
        while not stop["now"]:
            time.sleep(0.5)
            for svc in [*stack.gateways, *stack.schedulers, stack.inventory]:
                if svc is not None and not svc.running:
                    print(f"{svc.name} exited; see {svc.log_path}", file=sys.stderr)
                    return 1
    finally:
        print("stopping...", flush=True)
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
