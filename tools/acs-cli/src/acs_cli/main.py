"""``acs``: the operator command line. Every command is one or more NBI calls (docs/cli.md)."""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from . import __version__
from . import backup as backup_mod
from .bulk import ERROR, FAULT, MEANING, OFFLINE, OK, OUTCOMES, QUEUED, TIMEOUT, BulkOptions, Outcome, fault_text, run_bulk, tally
from .client import (
    EXIT_PARTIAL,
    EXIT_REFUSED,
    EXIT_USAGE,
    Endpoint,
    Nbi,
    NbiError,
    q,
)
from .output import err, leaves, out, print_json, table, value_at, when
from .parsing import UsageError, check_path, parse_assignment, parse_duration, parse_query, parse_rate, parse_sort

HELP = """Operate the ACS through its northbound API (GenieACS 1.2-compatible).

The NBI is --url or $ACS_NBI_URL (default http://127.0.0.1:7557); the token is --token, --token-file, $ACS_NBI_TOKEN or $ACS_NBI_TOKEN_FILE.

Exit codes: 0 done, 1 some devices not done, 2 bad command line, 3 refused by the NBI or nothing found, 4 token refused, 5 NBI unreachable.
"""

app = typer.Typer(name="acs", help=HELP, no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False, context_settings={"help_option_names": ["-h", "--help"]})
devices_app = typer.Typer(help="Search and show devices; tag them.", no_args_is_help=True)
tasks_app = typer.Typer(help="Queued tasks: list, delete, retry.", no_args_is_help=True)
faults_app = typer.Typer(help="Faults: list, retry, clear.", no_args_is_help=True)
presets_app = typer.Typer(help="Presets: list, export, import, delete.", no_args_is_help=True)
files_app = typer.Typer(help="Files for CPEs (firmware, configuration): list, upload, download, delete.",
                        no_args_is_help=True)
app.add_typer(devices_app, name="devices")
app.add_typer(tasks_app, name="tasks")
app.add_typer(faults_app, name="faults")
app.add_typer(presets_app, name="presets")
app.add_typer(files_app, name="files")


@dataclass
class Settings:
    url: str | None
    token: str | None
    token_file: str | None
    http_timeout_s: float

    def endpoint(self) -> Endpoint:
        return Endpoint.resolve(self.url, self.token, self.token_file, self.http_timeout_s)

    def nbi(self) -> Nbi:
        return Nbi(self.endpoint())


_current = Settings(None, None, None, 30.0)  # set by the root callback, once per invocation


def _settings() -> Settings:
    return _current


def handled(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Errors as one line on stderr and an exit code, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except NbiError as e:
            err.print(f"[red]error:[/] {e}", markup=True, highlight=False, soft_wrap=True)
            raise typer.Exit(e.exit_code) from None
        except UsageError as e:
            err.print(f"[red]error:[/] {e}", soft_wrap=True)
            raise typer.Exit(EXIT_USAGE) from None
        except KeyboardInterrupt:
            err.print("interrupted")
            raise typer.Exit(130) from None

    return wrapper


def _version(value: bool) -> None:
    if value:
        typer.echo(f"acs {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    url: Annotated[str | None, typer.Option("--url", help="NBI base URL (env ACS_NBI_URL)", show_default=False)] = None,
    token: Annotated[str | None, typer.Option("--token", help="bearer token (env ACS_NBI_TOKEN)", show_default=False)] = None,
    token_file: Annotated[str | None, typer.Option("--token-file", help="file holding the token (env ACS_NBI_TOKEN_FILE)",
                                                      show_default=False)] = None,
    http_timeout: Annotated[float, typer.Option("--http-timeout", help="seconds for one NBI call")] = 30.0,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="print the version")] = False,
) -> None:
    global _current
    _current = ctx.obj = Settings(url, token, token_file, http_timeout)


# --- shared options ------------------------------------------------------------------------------

QueryOpt = Annotated[str | None, typer.Option("--query", "-q", help='device query: JSON {"_tags": "lab"} or '
                                                 "shorthand 'Path=value and Path2>=3'", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
RateOpt = Annotated[str, typer.Option("--rate", help="tasks started per second at most (50/s, 600/min, unlimited)")]
ConcOpt = Annotated[int, typer.Option("--concurrency", "-c", min=1, max=1000, help="tasks in flight at most")]
TimeoutOpt = Annotated[str, typer.Option("--timeout", help="how long the NBI waits for each task (30s, 2m; at most its NBI_TASK_TIMEOUT_MAX_MS)")]
NoCrOpt = Annotated[bool, typer.Option("--no-connection-request", help="only queue the tasks: devices run them at their next contact")]
CancelOpt = Annotated[bool, typer.Option("--cancel-unfinished", help="delete the tasks of devices that did not finish in time (timeout, offline) instead of leaving them queued")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="do not ask before acting on the devices of a query")]
ProgressOpt = Annotated[bool | None, typer.Option("--progress/--no-progress", help="progress bar (default: when stderr is a terminal)", show_default=False)]
ShowOpt = Annotated[int, typer.Option("--show", help="devices listed per outcome other than ok in the summary")]


@dataclass
class BulkArgs:
    rate: str
    concurrency: int
    timeout: str
    no_connection_request: bool
    cancel_unfinished: bool
    progress: bool | None
    as_json: bool
    show: int

    def options(self) -> BulkOptions:
        return BulkOptions(rate=parse_rate(self.rate), concurrency=self.concurrency,
                           timeout_s=parse_duration(self.timeout), connection_request=not self.no_connection_request,
                           cancel_unfinished=self.cancel_unfinished)


def _targets(nbi: Nbi, device: str | None, query: str | None) -> tuple[list[str], bool]:
    """The devices to act on: one by id (it must exist) or every match of a query."""
    if device and query:
        raise UsageError("give a device id or --query, not both")
    if not device and not query:
        raise UsageError("give a device id or --query (--query '{}' for every device)")
    if device:
        if not nbi.find("devices", {"_id": device}, projection="_id"):
            raise NbiError(404, f"no device {device!r}")
        return [device], False
    return nbi.device_ids(parse_query(query)), True


def _confirm(action: str, yes: bool) -> None:
    """Ask before ``action`` ("Reboot 30 devices"); without a terminal, --yes is needed."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise UsageError(f"{action}: add --yes to confirm")
    if not typer.confirm(f"{action}?", default=False, err=True):
        raise typer.Exit(EXIT_REFUSED)


def _bulk(label: str, devices: list[str], body: dict[str, Any], args: BulkArgs) -> list[Outcome]:
    """Run, with a progress bar, then print the summary (or JSON); exit 1 unless all done."""
    opts = args.options()
    endpoint = _settings().endpoint()
    show_progress = err.is_terminal if args.progress is None else args.progress
    started = time.monotonic()
    if show_progress:
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("ok {task.fields[ok]} fault {task.fields[fault]} other {task.fields[other]}"),
                   TimeElapsedColumn(), TimeRemainingColumn())
        with Progress(*columns, console=err, transient=False) as bar:
            job = bar.add_task(label, total=len(devices), ok=0, fault=0, other=0)
            seen = {OK: 0, FAULT: 0, "other": 0}

            def tick(o: Outcome) -> None:
                key = o.outcome if o.outcome in (OK, FAULT) else "other"
                seen[key] += 1
                bar.update(job, advance=1, ok=seen[OK], fault=seen[FAULT], other=seen["other"])

            results = run_bulk(endpoint, devices, body, opts, tick)
    else:
        results = run_bulk(endpoint, devices, body, opts)
    elapsed = time.monotonic() - started
    counts = tally(results)
    summary = {"task": body.get("name"), "devices": len(devices), "elapsed_s": round(elapsed, 3),
               "per_s": round(len(devices) / elapsed, 1) if elapsed > 0 else None,
               **{k: counts.get(k, 0) for k in OUTCOMES}}
    if args.as_json:
        print_json({"summary": summary, "results": [r.as_json() for r in results]})
    else:
        _print_summary(label, summary, results, args.show)
    done = counts.get(OK, 0) + (counts.get(QUEUED, 0) if opts.connection_request is False else 0)
    if done != len(devices):
        raise typer.Exit(EXIT_PARTIAL)
    return results


def _print_summary(label: str, summary: dict[str, Any], results: list[Outcome], show: int) -> None:
    n = summary["devices"]
    rows = []
    for k in OUTCOMES:
        c = summary[k]
        if c or k in (OK, FAULT, TIMEOUT):
            rows.append((k, c, f"{100.0 * c / n:.1f}%" if n else "-", MEANING[k]))
    out.print(table(f"{label}: {n} devices in {summary['elapsed_s']:.1f} s", ("outcome", "devices", "share", "meaning"), rows))
    others = [r for r in results if r.outcome != OK]
    if others and show > 0:
        listed: list[Outcome] = []
        for k in (FAULT, TIMEOUT, OFFLINE, ERROR, QUEUED):
            listed.extend([r for r in others if r.outcome == k][:show])
        more = len(others) - len(listed)
        out.print(table(None, ("device", "outcome", "detail", "task"),
                        [(r.device, r.outcome, r.detail, r.task_id or "") for r in listed],
                        caption=f"and {more} more (--show, --json)" if more > 0 else None))


# --- devices ---------------------------------------------------------------------------------------

DEFAULT_COLUMNS = {
    "device": "_id",
    "product class": "_deviceId._ProductClass",
    "software": ("InternetGatewayDevice.DeviceInfo.SoftwareVersion", "Device.DeviceInfo.SoftwareVersion"),
    "last inform": "_lastInform",
    "tags": "_tags",
}


def _projection(columns: dict[str, Any]) -> str:
    paths: list[str] = []
    for v in columns.values():
        paths.extend(v if isinstance(v, tuple) else (v,))
    return ",".join(dict.fromkeys(paths))


def _cell(doc: dict[str, Any], spec: Any) -> Any:
    for path in spec if isinstance(spec, tuple) else (spec,):
        v = value_at(doc, path)
        if v is not None:
            return when(v) if path in ("_lastInform", "_registered", "_lastBoot", "_lastBootstrap") else v
    return None


@devices_app.command("ls")
@handled
def devices_ls(
    query: QueryOpt = None,
    projection: Annotated[str | None, typer.Option("--projection", "-p", help="comma-separated paths to show (GenieACS projection)", show_default=False)] = None,
    sort: Annotated[str | None, typer.Option("--sort", "-s", help="'-_lastInform' or JSON {\"_lastInform\": -1}", show_default=False)] = None,
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1, help="at most this many", show_default=False)] = None,
    skip: Annotated[int | None, typer.Option("--skip", min=0, help="skip this many first", show_default=False)] = None,
    as_json: JsonOpt = False,
    ids: Annotated[bool, typer.Option("--ids", help="print only the device ids, one per line")] = False,
) -> None:
    """List the devices matching a query (all by default)."""
    columns: dict[str, Any] = DEFAULT_COLUMNS
    if projection:
        paths = [p.strip() for p in projection.split(",") if p.strip()]
        columns = {"device": "_id", **{p: p for p in paths if p != "_id"}}
    with _settings().nbi() as nbi:
        docs = nbi.find("devices", parse_query(query), projection="_id" if ids else (projection or _projection(columns)),
                        sort=parse_sort(sort) or {"_id": 1}, limit=limit, skip=skip)
    if ids:
        for d in docs:
            typer.echo(d["_id"])
    elif as_json:
        print_json(docs)
    else:
        out.print(table(None, columns.keys(), [[_cell(d, spec) for spec in columns.values()] for d in docs],
                        caption=f"{len(docs)} device{'s' if len(docs) != 1 else ''}"))


@devices_app.command("show")
@handled
def devices_show(
    device: Annotated[str, typer.Argument(help="device id")],
    path: Annotated[str | None, typer.Option("--path", help="only this subtree (e.g. InternetGatewayDevice.ManagementServer.)", show_default=False)] = None,
    as_json: JsonOpt = False,
) -> None:
    """One device: identity, contact times, tags and its parameters."""
    proj = None
    if path:
        check_path(path)
        proj = f"_id,_deviceId,_registered,_lastInform,_lastBoot,_lastBootstrap,_tags,_acs.lastEvents,{path.rstrip('.')}"
    with _settings().nbi() as nbi:
        docs = nbi.find("devices", {"_id": device}, projection=proj)
    if not docs:
        raise NbiError(404, f"no device {device!r}")
    doc = docs[0]
    if as_json:
        print_json(doc)
        return
    ident = doc.get("_deviceId") or {}
    facts = [("device", doc["_id"]), ("manufacturer", ident.get("_Manufacturer")), ("OUI", ident.get("_OUI")),
             ("product class", ident.get("_ProductClass")), ("serial number", ident.get("_SerialNumber")),
             ("registered", when(doc.get("_registered"))), ("last inform", when(doc.get("_lastInform"))),
             ("last boot", when(doc.get("_lastBoot"))), ("last events", value_at(doc, "_acs.lastEvents")),
             ("tags", doc.get("_tags") or [])]
    out.print(table(None, ("", ""), [(k, v) for k, v in facts if v not in (None, "")]))
    params = list(leaves(doc, path or ""))
    out.print(table(None, ("parameter", "value", "type", "writable"),
                    [(p, v, t, "" if w is None else ("yes" if w else "no")) for p, v, t, w in params],
                    caption=f"{len(params)} parameters"))


@devices_app.command("tag")
@handled
def devices_tag(device: Annotated[str, typer.Argument(help="device id")],
                tags: Annotated[list[str], typer.Argument(help="tags to add")]) -> None:
    """Tag a device."""
    with _settings().nbi() as nbi:
        for t in tags:
            nbi.request("POST", f"/devices/{q(device)}/tags/{q(t)}")
    err.print(f"{device}: tagged {', '.join(tags)}")


@devices_app.command("untag")
@handled
def devices_untag(device: Annotated[str, typer.Argument(help="device id")],
                  tags: Annotated[list[str], typer.Argument(help="tags to remove")]) -> None:
    """Remove tags from a device."""
    with _settings().nbi() as nbi:
        for t in tags:
            nbi.request("DELETE", f"/devices/{q(device)}/tags/{q(t)}")
    err.print(f"{device}: untagged {', '.join(tags)}")


# --- tasks on devices --------------------------------------------------------------------------------

def _split_device(args: list[str], query: str | None, what: str) -> tuple[str | None, list[str]]:
    """``get``/``set`` take ``<device> <items...>``, or only ``<items...>`` with --query."""
    if query:
        return None, args
    if not args:
        raise UsageError(f"give a device id and {what}, or --query and {what}")
    return args[0], args[1:]


@app.command("get")
@handled
def get(
    args: Annotated[list[str], typer.Argument(help="[DEVICE_ID] PARAMETER... (without DEVICE_ID with --query; a path ending with '.' is a subtree)", metavar="ARGS")],
    query: QueryOpt = None,
    cached: Annotated[bool, typer.Option("--cached", help="show the stored values; ask the devices nothing")] = False,
    rate: RateOpt = "50/s", concurrency: ConcOpt = 20, timeout: TimeoutOpt = "30s", no_cr: NoCrOpt = False,
    cancel: CancelOpt = False, progress: ProgressOpt = None, as_json: JsonOpt = False, show: ShowOpt = 20,
) -> None:
    """Read parameters from devices (getParameterValues; refreshObject for one subtree), then show them."""
    device, params = _split_device(args, query, "parameters")
    if not params:
        raise UsageError("give at least one parameter")
    for p in params:
        check_path(p)
    with _settings().nbi() as nbi:
        targets, _ = _targets(nbi, device, query)
        if not targets:
            err.print("no device matches")
            return
        results: list[Outcome] = []
        if not cached:
            b = BulkArgs(rate, concurrency, timeout, no_cr, cancel, progress, True, show)
            results = run_bulk(nbi.endpoint, targets, _read_task(params), b.options(), None)
        docs = _stored_devices(nbi, targets, params)
    values, rows = _value_rows(targets, params, docs, {r.device: r for r in results})
    if as_json:
        print_json({"values": values, "results": [r.as_json() for r in results]})
    else:
        out.print(table(None, ("device", "parameter", "value", "type", "note"), rows))
        if results:
            counts = tally(results)
            err.print(", ".join(f"{k} {counts[k]}" for k in OUTCOMES if counts.get(k)))
    if any(r.outcome != OK for r in results):
        raise typer.Exit(EXIT_PARTIAL)


def _read_task(params: list[str]) -> dict[str, Any]:
    """refreshObject for one subtree (a path ending with '.'), getParameterValues otherwise."""
    if len(params) == 1 and params[0].endswith("."):
        return {"name": "refreshObject", "objectName": params[0]}
    return {"name": "getParameterValues", "parameterNames": params}


def _stored_devices(nbi: Nbi, targets: list[str], params: list[str]) -> dict[str, dict[str, Any]]:
    """The device documents of ``targets``, projected on ``params``, 200 a query."""
    projection = ",".join(dict.fromkeys(p.rstrip(".") for p in params))
    docs: dict[str, dict[str, Any]] = {}
    for i in range(0, len(targets), 200):
        chunk = targets[i:i + 200]
        for d in nbi.find("devices", {"_id": {"$in": chunk}}, projection=projection):
            docs[d["_id"]] = d
    return docs


def _value_rows(targets: list[str], params: list[str], docs: dict[str, dict[str, Any]],
                outcome: dict[str, Outcome]) -> tuple[dict[str, dict[str, Any]], list[tuple]]:
    """Each device's values by path, and the table's rows: a value per row with the device's
    task outcome as a note when it was not OK (a row of its own when no value is stored)."""
    values: dict[str, dict[str, Any]] = {}
    rows: list[tuple] = []
    for dev in targets:
        o = outcome.get(dev)
        values[dev] = {}
        for p in params:
            for path, v, t, _w in leaves(docs.get(dev, {}), p):
                values[dev][path] = v
                rows.append((dev, path, v, t, "" if o is None or o.outcome == OK else f"{o.outcome}: {o.detail}"))
        if not any(r[0] == dev for r in rows) and o is not None and o.outcome != OK:
            rows.append((dev, "", "", "", f"{o.outcome}: {o.detail}"))
    return values, rows


@app.command("set")
@handled
def set_(
    args: Annotated[list[str], typer.Argument(help="[DEVICE_ID] Path=value[:xsd:type]... (without DEVICE_ID with --query)", metavar="ARGS")],
    query: QueryOpt = None,
    parameter_key: Annotated[str | None, typer.Option("--parameter-key", help="ParameterKey sent with the values", show_default=False)] = None,
    yes: YesOpt = False,
    rate: RateOpt = "50/s", concurrency: ConcOpt = 20, timeout: TimeoutOpt = "30s", no_cr: NoCrOpt = False,
    cancel: CancelOpt = False, progress: ProgressOpt = None, as_json: JsonOpt = False, show: ShowOpt = 20,
) -> None:
    """Set parameter values on one device or on every device of a query (setParameterValues)."""
    device, items = _split_device(args, query, "Path=value items")
    if not items:
        raise UsageError("give at least one Path=value")
    values = [parse_assignment(a) for a in items]
    body: dict[str, Any] = {"name": "setParameterValues", "parameterValues": [v.as_nbi() for v in values]}
    if parameter_key is not None:
        body["parameterKey"] = parameter_key
    _device_task("set", device, query, body, yes, False,
                 BulkArgs(rate, concurrency, timeout, no_cr, cancel, progress, as_json, show))


def _device_task(label: str, device: str | None, query: str | None, body: dict[str, Any], yes: bool, ask: bool,
                 args: BulkArgs) -> None:
    args.options()  # check --rate and --timeout before anything is sent
    with _settings().nbi() as nbi:
        targets, by_query = _targets(nbi, device, query)
    if not targets:
        err.print("no device matches the query")
        return
    if by_query and ask:
        _confirm(f"{label.capitalize()} {len(targets)} devices", yes)
    _bulk(label, targets, body, args)


@app.command("reboot")
@handled
def reboot(
    device: Annotated[str | None, typer.Argument(help="device id (or --query)", show_default=False)] = None,
    query: QueryOpt = None, yes: YesOpt = False,
    rate: RateOpt = "50/s", concurrency: ConcOpt = 20, timeout: TimeoutOpt = "30s", no_cr: NoCrOpt = False,
    cancel: CancelOpt = False, progress: ProgressOpt = None, as_json: JsonOpt = False, show: ShowOpt = 20,
) -> None:
    """Reboot one device or every device of a query."""
    _device_task("reboot", device, query, {"name": "reboot"}, yes, True,
                 BulkArgs(rate, concurrency, timeout, no_cr, cancel, progress, as_json, show))


@app.command("factory-reset")
@handled
def factory_reset(
    device: Annotated[str | None, typer.Argument(help="device id (or --query)", show_default=False)] = None,
    query: QueryOpt = None, yes: YesOpt = False,
    rate: RateOpt = "50/s", concurrency: ConcOpt = 20, timeout: TimeoutOpt = "30s", no_cr: NoCrOpt = False,
    cancel: CancelOpt = False, progress: ProgressOpt = None, as_json: JsonOpt = False, show: ShowOpt = 20,
) -> None:
    """Factory-reset one device or every device of a query."""
    _device_task("factory reset", device, query, {"name": "factoryReset"}, yes, True,
                 BulkArgs(rate, concurrency, timeout, no_cr, cancel, progress, as_json, show))


@app.command("download")
@handled
def download(
    device: Annotated[str | None, typer.Argument(help="device id (or --query)", show_default=False)] = None,
    file: Annotated[str, typer.Option("--file", "-f", help="name of a file on the ACS (acs files ls)")] = ...,  # type: ignore[assignment]  # Typer's "required" marker
    file_type: Annotated[str | None, typer.Option("--file-type", help="default: the file's own fileType, e.g. '1 Firmware Upgrade Image'", show_default=False)] = None,
    target_name: Annotated[str | None, typer.Option("--target-name", help="TargetFileName for the device", show_default=False)] = None,
    query: QueryOpt = None, yes: YesOpt = False,
    rate: RateOpt = "50/s", concurrency: ConcOpt = 20, timeout: TimeoutOpt = "60s", no_cr: NoCrOpt = False,
    cancel: CancelOpt = False, progress: ProgressOpt = None, as_json: JsonOpt = False, show: ShowOpt = 20,
) -> None:
    """Have devices download a file (firmware, configuration); done when their TransferComplete says so."""
    with _settings().nbi() as nbi:
        listed = nbi.find("files", {"_id": file}, projection="metadata")
    if not listed:
        raise NbiError(404, f"no file {file!r} on the ACS (acs files ls; acs files put)")
    if not file_type and not (listed[0].get("metadata") or {}).get("fileType"):
        raise UsageError(f"file {file!r} has no fileType: give --file-type")
    body: dict[str, Any] = {"name": "download", "fileName": file}
    if file_type:
        body["fileType"] = file_type
    if target_name:
        body["targetFileName"] = target_name
    _device_task("download", device, query, body, yes, True,
                 BulkArgs(rate, concurrency, timeout, no_cr, cancel, progress, as_json, show))


# --- tasks -------------------------------------------------------------------------------------------------

def _with_device(query: str | None, device: str | None, **extra: Any) -> dict[str, Any] | None:
    qd = parse_query(query) or {}
    if device:
        qd["device"] = device
    qd.update({k: v for k, v in extra.items() if v is not None})
    return qd or None


@tasks_app.command("ls")
@handled
def tasks_ls(
    query: Annotated[str | None, typer.Option("--query", "-q", help="task query (JSON or shorthand)", show_default=False)] = None,
    device: Annotated[str | None, typer.Option("--device", "-d", help="tasks of this device", show_default=False)] = None,
    status: Annotated[str | None, typer.Option("--status", help="pending, done or fault", show_default=False)] = None,
    all_: Annotated[bool, typer.Option("--all", help="done tasks too (by default: pending and faulted ones)")] = False,
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1, show_default=False)] = None,
    as_json: JsonOpt = False,
) -> None:
    """List tasks still to do (pending, fault); --all for the done ones too."""
    if status is None and not all_:
        status_q: Any = {"$ne": "done"}
    else:
        status_q = status
    with _settings().nbi() as nbi:
        docs = nbi.find("tasks", _with_device(query, device, status=status_q), sort={"timestamp": 1}, limit=limit)
    if as_json:
        print_json(docs)
        return
    rows = [(d.get("_id"), d.get("device"), d.get("name"), d.get("status"), when(d.get("timestamp")), d.get("retries"),
             fault_text(d["fault"]) if d.get("fault") else "") for d in docs]
    out.print(table(None, ("task", "device", "name", "status", "created", "retries", "fault"), rows,
                    caption=f"{len(docs)} tasks"))


@tasks_app.command("rm")
@handled
def tasks_rm(
    task_ids: Annotated[list[str] | None, typer.Argument(help="task ids", show_default=False)] = None,
    query: Annotated[str | None, typer.Option("--query", "-q", help="delete every task of this query", show_default=False)] = None,
    device: Annotated[str | None, typer.Option("--device", "-d", help="delete the tasks of this device", show_default=False)] = None,
    yes: YesOpt = False,
) -> None:
    """Delete tasks (and their faults); with --query or --device, those not done yet."""
    with _settings().nbi() as nbi:
        ids = list(task_ids or [])
        if query or device:
            qd = _with_device(query, device) or {}
            qd.setdefault("status", {"$ne": "done"})
            found = [d["_id"] for d in nbi.find("tasks", qd, projection="_id")]
            if not found:
                raise NbiError(404, "no task matches")
            if len(found) > 1:
                _confirm(f"Delete {len(found)} tasks", yes)
            ids.extend(found)
        if not ids:
            raise UsageError("give task ids, --query or --device")
        failed = 0
        for tid in ids:
            try:
                nbi.request("DELETE", f"/tasks/{q(tid)}")
                err.print(f"deleted {tid}")
            except NbiError as e:
                if e.exit_code != EXIT_REFUSED:
                    raise
                failed += 1
                err.print(f"[red]error:[/] {e}")
    if failed:
        raise typer.Exit(EXIT_REFUSED)


@tasks_app.command("retry")
@handled
def tasks_retry(task_ids: Annotated[list[str], typer.Argument(help="ids of faulted tasks")]) -> None:
    """Put faulted tasks back to pending (their faults are cleared); they run at the next contact."""
    with _settings().nbi() as nbi:
        for tid in task_ids:
            nbi.request("POST", f"/tasks/{q(tid)}/retry")
            err.print(f"retrying {tid}")


# --- faults --------------------------------------------------------------------------------------------------

@faults_app.command("ls")
@handled
def faults_ls(
    query: Annotated[str | None, typer.Option("--query", "-q", help="fault query (JSON or shorthand)", show_default=False)] = None,
    device: Annotated[str | None, typer.Option("--device", "-d", help="faults of this device", show_default=False)] = None,
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1, show_default=False)] = None,
    as_json: JsonOpt = False,
) -> None:
    """List faults."""
    with _settings().nbi() as nbi:
        docs = nbi.find("faults", _with_device(query, device), sort={"timestamp": 1}, limit=limit)
    if as_json:
        print_json(docs)
        return
    rows = [(d.get("_id"), d.get("device"), d.get("channel"), d.get("code"), d.get("message"), d.get("retries"),
             when(d.get("timestamp"))) for d in docs]
    out.print(table(None, ("fault", "device", "channel", "code", "message", "retries", "time"), rows,
                    caption=f"{len(docs)} faults"))


def _fault_targets(nbi: Nbi, fault_ids: list[str] | None, query: str | None, device: str | None,
                   all_: bool) -> list[dict[str, Any]]:
    if fault_ids and (query or device or all_):
        raise UsageError("give fault ids or --query/--device/--all, not both")
    if fault_ids:
        found = {d["_id"]: d for d in nbi.find("faults", {"_id": {"$in": list(fault_ids)}})}
        missing = [f for f in fault_ids if f not in found]
        if missing:
            raise NbiError(404, f"no fault {missing[0]!r}")
        return [found[f] for f in fault_ids]
    if not (query or device or all_):
        raise UsageError("give fault ids, --query, --device or --all")
    return nbi.find("faults", _with_device(query, device))


@faults_app.command("retry")
@handled
def faults_retry(
    fault_ids: Annotated[list[str] | None, typer.Argument(help="fault ids (<device>:<channel>)", show_default=False)] = None,
    query: Annotated[str | None, typer.Option("--query", "-q", help="every fault of this query", show_default=False)] = None,
    device: Annotated[str | None, typer.Option("--device", "-d", help="every fault of this device", show_default=False)] = None,
    all_: Annotated[bool, typer.Option("--all", help="every fault")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Retry faults, as GenieACS does.

    A task's fault puts the task back to pending (POST /tasks/<id>/retry); any other fault (a
    preset's) is cleared, so provisioning tries again at the device's next contact."""
    done: list[dict[str, str]] = []
    with _settings().nbi() as nbi:
        faults = _fault_targets(nbi, fault_ids, query, device, all_)
        for f in faults:
            channel = str(f.get("channel") or f["_id"].rsplit(":", 1)[-1])
            try:
                if channel.startswith("task_"):
                    nbi.request("POST", f"/tasks/{q(channel.removeprefix('task_'))}/retry")
                    done.append({"fault": f["_id"], "action": "task retried", "ok": "yes"})
                else:
                    nbi.request("DELETE", f"/faults/{q(f['_id'])}")
                    done.append({"fault": f["_id"], "action": "cleared", "ok": "yes"})
            except NbiError as e:
                if e.exit_code != EXIT_REFUSED:
                    raise
                done.append({"fault": f["_id"], "action": str(e), "ok": "no"})
    if as_json:
        print_json(done)
    else:
        out.print(table(None, ("fault", "action"), [(d["fault"], d["action"]) for d in done],
                        caption=f"{len(done)} faults"))
    if any(d["ok"] == "no" for d in done):
        raise typer.Exit(EXIT_PARTIAL)


@faults_app.command("rm")
@handled
def faults_rm(
    fault_ids: Annotated[list[str] | None, typer.Argument(help="fault ids", show_default=False)] = None,
    query: Annotated[str | None, typer.Option("--query", "-q", show_default=False)] = None,
    device: Annotated[str | None, typer.Option("--device", "-d", show_default=False)] = None,
    all_: Annotated[bool, typer.Option("--all", help="every fault")] = False,
) -> None:
    """Clear faults (a task's fault deletes the task, as GenieACS does)."""
    with _settings().nbi() as nbi:
        for f in _fault_targets(nbi, fault_ids, query, device, all_):
            nbi.request("DELETE", f"/faults/{q(f['_id'])}")
            err.print(f"cleared {f['_id']}")


def _delete_each(collection: str, names: list[str]) -> None:
    """DELETE /<collection>/<name> for each name, in order; the first refusal stops."""
    with _settings().nbi() as nbi:
        for n in names:
            nbi.request("DELETE", f"/{collection}/{q(n)}")
            err.print(f"deleted {n}")


# --- presets --------------------------------------------------------------------------------------------------

@presets_app.command("ls")
@handled
def presets_ls(as_json: JsonOpt = False) -> None:
    """List presets."""
    with _settings().nbi() as nbi:
        docs = nbi.find("presets", sort={"_id": 1})
    if as_json:
        print_json(docs)
        return
    rows = [(d["_id"], d.get("weight"), d.get("channel"), d.get("precondition"), ", ".join(sorted(d.get("events") or {})),
             len(d.get("configurations") or []) + len(d.get("declarations") or [])) for d in docs]
    out.print(table(None, ("preset", "weight", "channel", "precondition", "events", "settings"), rows,
                    caption=f"{len(docs)} presets"))


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "_"


@presets_app.command("export")
@handled
def presets_export(
    target: Annotated[str, typer.Argument(help="a folder (one <name>.json each), a .json file (an array), or - (stdout)")] = "-",
    names: Annotated[list[str] | None, typer.Option("--name", help="only these presets", show_default=False)] = None,
) -> None:
    """Export presets as JSON that `acs presets import` (or PUT /presets/<name>) takes back."""
    with _settings().nbi() as nbi:
        docs = nbi.find("presets", {"_id": {"$in": names}} if names else None, sort={"_id": 1})
    if target == "-":
        print_json(docs)
        return
    path = Path(target)
    if path.suffix.lower() == ".json" and not path.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(docs, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    else:
        path.mkdir(parents=True, exist_ok=True)
        for d in docs:
            (path / f"{_safe_name(d['_id'])}.json").write_text(json.dumps(d, indent=2, ensure_ascii=False) + "\n",
                                                              encoding="utf-8")
    err.print(f"exported {len(docs)} presets to {path}")


def _preset_docs(source: Path) -> list[tuple[str, dict[str, Any]]]:
    files = sorted(source.glob("*.json")) if source.is_dir() else [source]
    if not files:
        raise UsageError(f"{source}: no *.json file")
    found: list[tuple[str, dict[str, Any]]] = []
    for f in files:
        try:
            doc = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise UsageError(f"{f}: {e}") from None
        items = doc if isinstance(doc, list) else [doc]
        for item in items:
            if not isinstance(item, dict):
                raise UsageError(f"{f}: a preset is a JSON object")
            name = item.get("_id") or (f.stem if not isinstance(doc, list) else None)
            if not name:
                raise UsageError(f"{f}: a preset in an array needs its _id")
            found.append((str(name), item))
    return found


@presets_app.command("import")
@handled
def presets_import(
    sources: Annotated[list[Path], typer.Argument(help="preset files (an object, or an array of presets with _id) or folders of *.json")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="read and check the files, change nothing")] = False,
) -> None:
    """Create or replace presets from JSON files (a preset's name is its _id, else the file name)."""
    presets: list[tuple[str, dict[str, Any]]] = []
    for s in sources:
        if not s.exists():
            raise UsageError(f"{s}: no such file or folder")
        presets.extend(_preset_docs(s))
    if dry_run:
        out.print(table(None, ("preset", "status"), [(n, "would be imported") for n, _ in presets]))
        return
    failed = 0
    rows = []
    with _settings().nbi() as nbi:
        for name, doc in presets:
            try:
                nbi.request("PUT", f"/presets/{q(name)}", json=doc)
                rows.append((name, "imported"))
            except NbiError as e:
                if e.exit_code != EXIT_REFUSED:
                    raise
                failed += 1
                rows.append((name, f"refused: {e.message}" + (f" ({e.detail})" if e.detail else "")))
    out.print(table(None, ("preset", "status"), rows, caption=f"{len(rows) - failed} imported, {failed} refused"))
    if failed:
        raise typer.Exit(EXIT_PARTIAL)


@presets_app.command("rm")
@handled
def presets_rm(names: Annotated[list[str], typer.Argument(help="preset names")]) -> None:
    """Delete presets."""
    _delete_each("presets", names)


# --- files -----------------------------------------------------------------------------------------------------

@files_app.command("ls")
@handled
def files_ls(as_json: JsonOpt = False) -> None:
    """List files."""
    with _settings().nbi() as nbi:
        docs = nbi.find("files", sort={"filename": 1})
    if as_json:
        print_json(docs)
        return
    rows = [(d["_id"], d.get("length"), (d.get("metadata") or {}).get("fileType"), (d.get("metadata") or {}).get("oui"),
             (d.get("metadata") or {}).get("productClass"), (d.get("metadata") or {}).get("version"),
             when(d.get("uploadDate"))) for d in docs]
    out.print(table(None, ("file", "bytes", "type", "OUI", "product class", "version", "uploaded"), rows,
                    caption=f"{len(docs)} files"))


@files_app.command("put")
@handled
def files_put(
    name: Annotated[str, typer.Argument(help="name on the ACS")],
    source: Annotated[Path, typer.Argument(help="local file", exists=True, dir_okay=False, readable=True)],
    file_type: Annotated[str, typer.Option("--file-type", help="TR-069 file type")] = "1 Firmware Upgrade Image",
    oui: Annotated[str | None, typer.Option("--oui", help="only for devices of this OUI", show_default=False)] = None,
    product_class: Annotated[str | None, typer.Option("--product-class", help="only for this product class", show_default=False)] = None,
    version: Annotated[str | None, typer.Option("--version", help="the software version it holds", show_default=False)] = None,
) -> None:
    """Upload a file for devices to download."""
    headers = {"fileType": file_type, "Content-Type": "application/octet-stream"}
    for k, v in (("oui", oui), ("productClass", product_class), ("version", version)):
        if v:
            headers[k] = v
    with _settings().nbi() as nbi, source.open("rb") as f:
        nbi.request("PUT", f"/files/{q(name)}", content=f.read(), headers=headers)
    err.print(f"uploaded {source} as {name}")


@files_app.command("get")
@handled
def files_get(name: Annotated[str, typer.Argument(help="name on the ACS")],
              target: Annotated[Path | None, typer.Argument(help="local file (default: the name's last part)", show_default=False)] = None) -> None:
    """Download a file from the ACS."""
    path = target or Path(name.rsplit("/", 1)[-1])
    with _settings().nbi() as nbi:
        data = b"".join(nbi.download(f"/files/{q(name)}"))
    path.write_bytes(data)
    err.print(f"{name}: {len(data)} bytes to {path}")


@files_app.command("rm")
@handled
def files_rm(names: Annotated[list[str], typer.Argument(help="file names")]) -> None:
    """Delete files."""
    _delete_each("files", names)


# --- backup / restore ----------------------------------------------------------------------------------------

@app.command("backup")
@handled
def backup(
    target: Annotated[Path, typer.Argument(help="archive to write (.tar, or .tar.gz / .tgz compressed)")],
    include_uploads: Annotated[bool, typer.Option("--include-uploads", help="also the files CPEs uploaded (logs, configurations)")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Save the inventory: devices' tags, presets, provisions, files with their content, pending tasks."""
    with _settings().nbi() as nbi:
        manifest = backup_mod.create(nbi, target, include_uploads=include_uploads,
                                     step=lambda s: err.print(f"backing up {s}") if err.is_terminal else None)
    if as_json:
        print_json(manifest)
        return
    c = manifest["counts"]
    rows = [("devices", c["devices"]), ("  with tags", c["tagged_devices"]), ("presets", c["presets"]),
            ("provisions", "not offered by this NBI" if c["provisions"] is None else c["provisions"]),
            ("files", f"{c['files']} ({c['file_bytes']} bytes)"), ("pending tasks", c["tasks"])]
    if c["uploads_skipped"]:
        rows.append(("CPE uploads left out", f"{c['uploads_skipped']} (--include-uploads)"))
    out.print(table(f"backup {target}", ("item", "count"), rows))


@app.command("restore")
@handled
def restore(
    source: Annotated[Path, typer.Argument(help="archive written by acs backup", exists=True, dir_okay=False)],
    only: Annotated[str | None, typer.Option("--only", help="comma-separated: presets,provisions,files,tags,tasks", show_default=False)] = None,
    ignore_missing: Annotated[bool, typer.Option("--ignore-missing-devices", help="exit 0 even when devices of the archive are not known yet")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Restore an archive into this ACS: presets, provisions, files, tags, pending tasks.

    Tags and tasks go to the devices this ACS knows: connect the devices first (the others are
    reported as missing)."""
    sections = _restore_sections(only)
    try:
        archive = backup_mod.open_archive(source)
    except ValueError as e:
        raise UsageError(str(e)) from None
    if "provisions" in sections and "provisions" not in archive.manifest.get("sections", []):
        sections.discard("provisions")
    with archive.tar, _settings().nbi() as nbi:
        report = backup_mod.restore(nbi, archive, sections,
                                    step=lambda s: err.print(f"restoring {s}") if err.is_terminal else None)
    if as_json:
        print_json({k: {"restored": r.restored, "unchanged": r.unchanged, "missing_devices": sorted(set(r.missing)),
                        "failed": r.failed} for k, r in report.items()})
    else:
        _print_restore(source, report)
    if any(r.failed for r in report.values()) or (not ignore_missing and any(r.missing for r in report.values())):
        raise typer.Exit(EXIT_PARTIAL)


def _restore_sections(only: str | None) -> set[str]:
    """``--only``'s sections (all of them without it); an unknown one is a usage error."""
    if not only:
        return set(backup_mod.SECTIONS)
    sections = {s.strip() for s in only.split(",") if s.strip()}
    unknown = sections - set(backup_mod.SECTIONS)
    if unknown:
        raise UsageError(f"--only: unknown {', '.join(sorted(unknown))} (one of {', '.join(backup_mod.SECTIONS)})")
    return sections


def _print_restore(source: Path, report: dict[str, backup_mod.SectionReport]) -> None:
    """The restore's table, then each section's failures (20 at most) and devices not known here."""
    rows = [(k, r.restored, r.unchanged, len(set(r.missing)), len(r.failed)) for k, r in report.items()]
    out.print(table(f"restore {source}", ("section", "restored", "already there", "devices missing", "failed"), rows))
    for k, r in report.items():
        for f in r.failed[:20]:
            err.print(f"[red]{k}:[/] {f}")
        if r.missing:
            miss = sorted(set(r.missing))
            err.print(f"{k}: {len(miss)} devices not known here yet: {', '.join(miss[:10])}"
                      f"{' ...' if len(miss) > 10 else ''}")


# --- GenieACS migration --------------------------------------------------------------------------------------

@app.command("import-genieacs")
@handled
def import_genieacs(
    source: Annotated[str, typer.Argument(help="folder of mongoexport files (<collection>.json) or a GenieACS MongoDB URI")],
    mongodb_uri: Annotated[str, typer.Option("--mongodb-uri", envvar="ACS_MONGODB_URI",
                                             help="this ACS's MongoDB (writes go to the database, not the NBI)")]
    = "mongodb://127.0.0.1:27017/?directConnection=true",
    database: Annotated[str, typer.Option("--database", envvar="ACS_MONGODB_DATABASE", help="this ACS's database")] = "acs",
    source_database: Annotated[str | None, typer.Option("--source-database", help="GenieACS's database (default: the URI's, else genieacs)",
                                                        show_default=False)] = None,
    only: Annotated[str | None, typer.Option("--only", help="comma-separated: devices,presets,provisions,virtualParameters,files,faults,tasks",
                                             show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="read and check everything, write nothing")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Bring a GenieACS database in: devices (ids, tags, parameter values and timestamps), presets,
    provisions, virtual parameters, files, faults and tasks (docs/migration-genieacs.md)."""
    from pymongo import MongoClient

    from . import genieacs_import as gi

    sections = set(gi.COLLECTIONS)
    if only:
        sections = {s.strip() for s in only.split(",") if s.strip()}
        unknown = sections - set(gi.COLLECTIONS)
        if unknown:
            raise UsageError(f"--only: unknown {', '.join(sorted(unknown))} (one of {', '.join(gi.COLLECTIONS)})")
    try:
        src: gi.FolderSource | gi.MongoSource = (gi.MongoSource(source, source_database) if source.startswith(("mongodb://", "mongodb+srv://"))
                                                 else gi.FolderSource(Path(source)))
        client: MongoClient = MongoClient(mongodb_uri, serverSelectionTimeoutMS=10000, tz_aware=True)
        try:
            report = gi.run_import(src, client[database], sections, dry_run=dry_run,
                                   progress=lambda s, n: err.print(f"{s}: {n}") if err.is_terminal else None)
        finally:
            client.close()
            if isinstance(src, gi.MongoSource):
                src.close()
    except gi.ImportError_ as e:
        raise UsageError(str(e)) from None
    if as_json:
        print_json({k: {"imported": r.imported, "skipped": r.skipped, "warnings": r.warnings} for k, r in report.items()})
    else:
        rows = [(k, r.imported, len(r.skipped), len(r.warnings)) for k, r in report.items()]
        out.print(table(f"import {source}{' (dry run)' if dry_run else ''}", ("collection", "imported", "skipped", "warnings"), rows))
        for k, r in report.items():
            for line in (r.skipped + r.warnings)[:20]:
                err.print(f"{k}: {line}", soft_wrap=True, highlight=False, markup=False)
    if any(r.skipped for r in report.values()):
        raise typer.Exit(EXIT_PARTIAL)


def main(argv: list[str] | None = None) -> int:
    """The console script: click's own handling, returning the exit code."""
    try:
        app(args=argv, prog_name="acs", standalone_mode=True)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    return 0



from . import accounts as _accounts  # noqa: E402,F401  - registers `acs users` and `acs tokens`
from . import credentials as _credentials  # noqa: E402,F401  - registers `acs credentials`
