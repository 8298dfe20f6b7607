"""``acs-cpe-sim``: run a fleet against an ACS, print a stats line per second and a JSON summary."""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import signal
import sys
import time
from pathlib import Path

from .datamodel import DataModel
from .fleet import Fleet
from .httpauth import AUTH_MODES


def _models(paths: list[str] | None) -> list[DataModel]:
    if not paths:
        return [DataModel.default()]
    files: list[Path] = []
    for p in map(Path, paths):
        files.extend(sorted(p.rglob("*.csv")) if p.is_dir() else [p])
    if not files:
        raise SystemExit("no data model CSV found")
    return [DataModel.load(f) for f in files]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="acs-cpe-sim", description=__doc__)
    ap.add_argument("--acs-url", required=True)
    ap.add_argument("--devices", type=int, default=1)
    ap.add_argument("--datamodel", nargs="+", default=None,
                    help="CSV dump(s) or folders of them; devices take them in turn "
                         "(default: the built-in InternetGatewayDevice model)")
    ap.add_argument("--periodic-interval", type=int, default=None, help="override PeriodicInformInterval (s)")
    ap.add_argument("--boot-storm", type=float, default=None, metavar="T",
                    help="every device boots within T seconds (default: a ramp of 100 boots/s)")  # fmt: skip
    ap.add_argument("--auth", choices=AUTH_MODES, default="auto")
    ap.add_argument("--username", help="ACS username; may use {serial} {index} {oui} {product_class}")
    ap.add_argument("--password", help="ACS password; same placeholders")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds to run")
    ap.add_argument("--fail-downloads", type=float, default=0.0, help="share of devices whose downloads fail (9010)")
    ap.add_argument("--drop-sessions", type=float, default=0.0, help="chance a device drops a session mid-way")
    ap.add_argument("--serial-format", default="SIM{index:08d}")
    ap.add_argument("--cwmp-version", default="1.2", choices=("1.0", "1.1", "1.2", "1.3", "1.4"))
    ap.add_argument("--cr-host", default="127.0.0.1", help="address of the connection request listener")
    ap.add_argument("--cr-port", type=int, default=0, help="its port (0: any free port)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", type=_name_value,
                    help="a parameter's value under the root, e.g. ManagementServer.STUNEnable=true (repeatable)")
    ap.add_argument("--no-http-cr", action="store_true",
                    help="no HTTP connection request listener (reach the devices by STUN/UDP or XMPP)")
    ap.add_argument("--quiet", action="store_true", help="no per-second lines")
    return ap.parse_args(argv)


def _name_value(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    return name.strip(), value


def _raise_fd_limit() -> None:
    """Each device in a session holds a socket; take every descriptor the system allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def run(args: argparse.Namespace) -> dict:
    models = _models(args.datamodel)
    fleet = Fleet(
        models,
        count=args.devices,
        acs_url=args.acs_url,
        serial_format=args.serial_format,
        username=None if args.auth == "none" else args.username,
        password=None if args.auth == "none" else args.password,
        auth=args.auth,
        connection_request_host=args.cr_host,
        connection_request_port=args.cr_port,
        periodic_interval=args.periodic_interval,
        fail_downloads=args.fail_downloads,
        drop_session_rate=args.drop_sessions,
        cwmp_version=args.cwmp_version,
        seed=args.seed,
        parameters=dict(args.param),
        connection_request_http=not args.no_http_cr,
    )
    boot_within = args.boot_storm if args.boot_storm is not None else args.devices / 100.0
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await fleet.start(boot_within_s=boot_within)
    end = time.monotonic() + args.duration
    try:
        while not stop.is_set() and time.monotonic() < end:
            try:
                await asyncio.wait_for(stop.wait(), timeout=min(1.0, max(0.0, end - time.monotonic())))
            except TimeoutError:
                pass
            if not args.quiet:
                print(json.dumps(fleet.stats.tick()), file=sys.stderr, flush=True)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await fleet.stop()
    summary = fleet.stats.summary()
    summary["config"] = {
        "acs_url": args.acs_url,
        "devices": args.devices,
        "datamodels": [m.source for m in models],
        "periodic_interval": args.periodic_interval,
        "boot_within_s": boot_within,
        "duration_s": args.duration,
        "fail_downloads": args.fail_downloads,
        "drop_sessions": args.drop_sessions,
        "connection_request_port": fleet.server.port,
    }
    return summary


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    _raise_fd_limit()
    summary = asyncio.run(run(args))
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
