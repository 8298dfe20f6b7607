"""``acs`` against the real stack (broker, database, gateway, scheduler, NBI) and 30 simulated CPEs
on the simulator's built-in model: one of them has a read-only SSID, so a bulk set over all of
them has exactly one fault. Values are checked on the simulated devices themselves."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from acs_cli.main import app
from acs_devstack.stack import Stack
from cpe_simulator import DataModel, Fleet

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

IGD = "InternetGatewayDevice."
SSID = IGD + "LANDevice.1.WLANConfiguration.1.SSID"
PII = IGD + "ManagementServer.PeriodicInformInterval"
SOFTWARE = IGD + "DeviceInfo.SoftwareVersion"
NORMAL = 29
ODD_ID = "ACE5E1-HG500-ODD00000"  # its SSID is read-only
ALL = "_deviceId._ProductClass=HG500"


class FleetLoop:
    """Simulated CPEs on their own event loop and thread, so the CLI (which runs its own loop)
    can be invoked in the test's thread while the devices answer."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fleet-loop", daemon=True)
        self.thread.start()
        self.fleets: list[Fleet] = []

    def run(self, coro: Any, timeout: float = 120) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self, fleet: Fleet) -> Fleet:
        async def go() -> None:
            await fleet.start(boot_within_s=2.0)

        self.run(go())
        self.fleets.append(fleet)
        return fleet

    def value(self, cpe: Any, path: str) -> Any:
        async def read() -> Any:
            return cpe.get(path)

        return self.run(read())

    def stop(self) -> None:
        for fleet in self.fleets:
            self.run(fleet.stop())
        self.fleets.clear()

    def close(self) -> None:
        self.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def odd_model() -> DataModel:
    base = DataModel.default()
    nodes = dict(base.nodes)
    nodes[SSID] = dataclasses.replace(nodes[SSID], writable=False)
    return DataModel(base.source + " (read-only SSID)", base.root, nodes, base.children, base.identity)


def start_stack() -> Stack:
    st = Stack(partitions=2).start_servers()
    try:
        st.add_inventory()
        st.add_scheduler()
        st.add_gateway()
    except BaseException:
        st.stop()
        raise
    return st


def start_fleets(loop: FleetLoop, st: Stack) -> tuple[Fleet, Fleet]:
    normal = loop.start(Fleet(count=NORMAL, acs_url=st.cwmp_url(0), serial_format="CLI{index:05d}"))
    odd = loop.start(Fleet(odd_model(), count=1, acs_url=st.cwmp_url(0), serial_format="ODD{index:05d}"))
    return normal, odd


def wait_registered(st: Stack, count: int, timeout: float = 120) -> None:
    """Until every device has been bootstrapped: the scheduler set its connection request
    username (the device id), so the NBI can wake it."""
    query = json.dumps({"_deviceId._ProductClass": "HG500"})
    deadline = time.monotonic() + timeout
    ready = 0
    while time.monotonic() < deadline:
        r = httpx.get(f"{st.nbi_url}/devices/", params={"query": query, "projection": IGD + "ManagementServer"},
                      headers={"Authorization": f"Bearer {st.nbi_token}"}, timeout=30)
        docs = r.json()
        ready = sum(1 for d in docs
                    if d.get("InternetGatewayDevice", {}).get("ManagementServer", {})
                    .get("ConnectionRequestUsername", {}).get("_value") == d["_id"])
        if ready == count:
            return
        time.sleep(0.5)
    raise AssertionError(f"{ready} of {count} devices bootstrapped after {timeout} s")


class Acs:
    """Runs ``acs`` in-process against one stack, as an operator would with the variables set."""

    def __init__(self, st: Stack) -> None:
        self.env = {"ACS_NBI_URL": st.nbi_url, "ACS_NBI_TOKEN": st.nbi_token, "ACS_NBI_TOKEN_FILE": None,
                    "COLUMNS": "250"}
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int | None = 0) -> Any:
        result = self.runner.invoke(app, list(args), env=self.env, catch_exceptions=False)
        if code is not None:
            assert result.exit_code == code, f"acs {' '.join(args)} -> {result.exit_code}\n{result.output}"
        return result

    def json(self, *args: str, code: int | None = 0) -> Any:
        return json.loads(self(*args, "--json", code=code).stdout)


@pytest.fixture(scope="module")
def loop() -> Iterator[FleetLoop]:
    fl = FleetLoop()
    yield fl
    fl.close()


@pytest.fixture(scope="module")
def stack(loop: FleetLoop) -> Iterator[Stack]:
    st = start_stack()
    try:
        yield st
    finally:
        loop.stop()
        st.stop()


@pytest.fixture(scope="module")
def fleets(loop: FleetLoop, stack: Stack) -> tuple[Fleet, Fleet]:
    normal, odd = start_fleets(loop, stack)
    wait_registered(stack, NORMAL + 1)
    return normal, odd


@pytest.fixture(scope="module")
def acs(stack: Stack) -> Acs:
    return Acs(stack)


def device_id(cpe: Any) -> str:
    return f"ACE5E1-HG500-{cpe.key}"


def test_devices_ls_and_show(acs: Acs, fleets):
    docs = acs.json("devices", "ls", "--query", ALL)
    assert len(docs) == NORMAL + 1 and docs[0]["_id"] == "ACE5E1-HG500-CLI00000"  # sorted by id
    ids = acs("devices", "ls", "--ids", "--query", '{"_deviceId._SerialNumber": {"$regex": "^CLI"}}').stdout.split()
    assert ids == [f"ACE5E1-HG500-CLI{i:05d}" for i in range(NORMAL)]
    table = acs("devices", "ls", "-q", "_deviceId._SerialNumber=CLI00003", "-p", f"{SOFTWARE},_tags").stdout
    assert "ACE5E1-HG500-CLI00003" in table and "HG500-2.4.1" in table and "1 device" in table
    assert acs.json("devices", "ls", "--limit", "5", "--skip", "2", "--sort", "-_id")[0]["_id"] == "ACE5E1-HG500-CLI00027"  # after ODD00000, CLI00028
    shown = acs("devices", "show", "ACE5E1-HG500-CLI00003").stdout
    for text in ("serial number", "CLI00003", SSID, "HG500-24", "parameters"):
        assert text in shown
    doc = acs.json("devices", "show", "ACE5E1-HG500-CLI00003", "--path", IGD + "ManagementServer.")
    assert doc["_deviceId"]["_SerialNumber"] == "CLI00003" and "LANDevice" not in doc["InternetGatewayDevice"]
    missing = acs("devices", "show", "ACE5E1-HG500-NOPE", code=3)
    assert "no device 'ACE5E1-HG500-NOPE'" in missing.stderr


def test_bulk_set_on_a_query_counts_the_fault(acs: Acs, fleets, loop: FleetLoop):
    normal, odd = fleets
    before_odd = loop.value(odd[0], SSID)
    # a table for people: one fault among 30, exit code 1
    result = acs("set", "--query", ALL, f"{SSID}=cli-bulk-1", "--rate", "100/s", "--concurrency", "8", "--progress", code=1)
    assert "set: 30 devices" in result.stdout
    assert "30/30" in result.stderr and "ok 29 fault 1" in result.stderr  # the progress bar's last state
    assert "│ ok      │ 29 " in result.stdout and "│ fault   │ 1 " in result.stdout
    assert ODD_ID in result.stdout and "9008" in result.stdout
    # JSON for scripts, with a typed value
    report = acs.json("set", "-q", ALL, f"{SSID}=cli-bulk-2", f"{PII}=900:xsd:unsignedInt", "--rate", "50/s", code=1)
    summary = report["summary"]
    assert (summary["devices"], summary["ok"], summary["fault"], summary["timeout"], summary["error"]) == (30, 29, 1, 0, 0)
    by_device = {r["device"]: r for r in report["results"]}
    assert by_device[ODD_ID]["outcome"] == "fault" and "9008" in by_device[ODD_ID]["detail"]
    # the summary against the devices' real values
    for cpe in normal:
        assert by_device[device_id(cpe)]["outcome"] == "ok"
        assert loop.value(cpe, SSID) == "cli-bulk-2" and loop.value(cpe, PII) == 900
    assert loop.value(odd[0], SSID) == before_odd  # all or nothing: the odd device kept both
    assert loop.value(odd[0], PII) != 900
    # and as the NBI reads them back from the devices now
    got = acs.json("get", "-q", ALL, SSID, PII)
    assert all(r["outcome"] == "ok" for r in got["results"]) and len(got["values"]) == 30
    for dev, values in got["values"].items():
        if dev == ODD_ID:
            assert values[SSID] == before_odd and values[PII] != 900
        else:
            assert values == {SSID: "cli-bulk-2", PII: 900}, dev


def test_faults_retry_and_tasks(acs: Acs, fleets):
    faults = acs.json("faults", "ls", "--device", ODD_ID)
    assert len(faults) == 2 and {f["code"] for f in faults} == {"cwmp.9003"}
    table = acs("faults", "ls").stdout
    assert ODD_ID in table and "Invalid arguments" in table
    retried = acs.json("faults", "retry", "--device", ODD_ID)
    assert [r["action"] for r in retried] == ["task retried", "task retried"]
    assert acs.json("faults", "ls", "--device", ODD_ID) == []
    pending = acs.json("tasks", "ls", "--device", ODD_ID)
    assert len(pending) == 2 and {t["status"] for t in pending} == {"pending"}
    assert all(t["name"] == "setParameterValues" for t in pending)
    assert len(acs.json("tasks", "ls", "--device", ODD_ID, "--all")) >= 3  # and the done getParameterValues
    acs("tasks", "rm", "--device", ODD_ID, code=2)  # two at once: --yes needed without a terminal
    acs("tasks", "rm", "--device", ODD_ID, "--yes")
    assert acs.json("tasks", "ls", "--device", ODD_ID) == []
    assert "no task matches" in acs("tasks", "rm", "--device", ODD_ID, code=3).stderr


def test_get_and_reboot_one_device(acs: Acs, fleets, loop: FleetLoop):
    normal, _ = fleets
    cpe = normal[5]
    dev = device_id(cpe)
    out = acs("get", dev, IGD + "ManagementServer.", "--timeout", "20s").stdout  # refreshObject of a subtree
    assert f"{IGD}ManagementServer.ConnectionRequestURL" in out and cpe.connection_request_url in out
    boots = cpe.device.boot_time
    result = acs("reboot", dev, "--json")
    assert json.loads(result.stdout)["summary"]["ok"] == 1
    deadline = time.monotonic() + 30
    while loop.run(_attr(cpe.device, "boot_time")) == boots and time.monotonic() < deadline:
        time.sleep(0.2)
    assert cpe.device.boot_time != boots  # the simulated device did reboot
    acs("reboot", "--query", ALL, code=2)  # a query needs --yes when nobody can be asked


async def _attr(obj: Any, name: str) -> Any:
    return getattr(obj, name)


def test_bulk_download_of_a_file(acs: Acs, fleets, loop: FleetLoop, tmp_path: Path):
    normal, _ = fleets
    image = tmp_path / "fw.bin"
    image.write_bytes(bytes(range(256)) * 64)
    acs("files", "put", "HG500-9.9.9.bin", str(image), "--oui", "ACE5E1", "--product-class", "HG500", "--version", "9.9.9")
    listed = acs.json("files", "ls")
    assert [(f["_id"], f["length"]) for f in listed] == [("HG500-9.9.9.bin", 16384)]
    report = acs.json("download", "-q", "_deviceId._SerialNumber=~^CLI0000[0-4]$", "--file", "HG500-9.9.9.bin", "--yes",
                      "--rate", "unlimited", "--concurrency", "5", "--timeout", "60s")
    assert report["summary"]["ok"] == 5, report
    for cpe in normal[:5]:
        assert loop.value(cpe, SOFTWARE) == "HG500-9.9.9"
    assert loop.value(normal[6], SOFTWARE) == "HG500-2.4.1"
    assert "no file 'nope.bin'" in acs("download", device_id(normal[0]), "--file", "nope.bin", code=3).stderr


def test_presets_export_import_round_trip(acs: Acs, fleets, tmp_path: Path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "lab-wifi.json").write_text(json.dumps({  # named by its file
        "weight": 10, "channel": "wifi", "precondition": {"_tags": "lab"}, "events": {"0 BOOTSTRAP": True},
        "configurations": [{"type": "value", "name": SSID, "value": "lab-net"}]}))
    (src / "more.json").write_text(json.dumps([  # an array, named by _id
        {"_id": "slow-inform", "weight": 5, "precondition": "{\"_tags\": \"slow\"}",
         "configurations": [{"type": "value", "name": PII, "value": 3600}]},
        {"_id": "add-tag", "precondition": {"_tags": "never"}, "configurations": [{"type": "add_tag", "tag": "seen"}]}]))
    out = acs("presets", "import", str(src)).stdout
    assert "3 imported, 0 refused" in out
    first = tmp_path / "export-1"
    acs("presets", "export", str(first))
    assert sorted(p.name for p in first.iterdir()) == ["add-tag.json", "lab-wifi.json", "slow-inform.json"]
    exported = {p.stem: json.loads(p.read_text()) for p in first.iterdir()}
    assert exported["lab-wifi"]["precondition"] == '{"_tags":"lab"}' and exported["lab-wifi"]["weight"] == 10
    acs("presets", "rm", "lab-wifi", "slow-inform", "add-tag")
    assert acs.json("presets", "ls") == []
    acs("presets", "import", str(first))
    second = tmp_path / "export-2.json"
    acs("presets", "export", str(second))
    assert sorted(json.loads(second.read_text()), key=lambda p: p["_id"]) == sorted(exported.values(), key=lambda p: p["_id"])
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"weight": "heavy"}))
    refused = acs("presets", "import", str(bad), code=1)
    assert "weight must be an integer" in refused.stdout


def test_credentials_rekey(acs: Acs, fleets):
    """The fleet's connection-request credentials were stored sealed with the stack's one key:
    a rekey reads them all and has nothing to rewrite; the report holds no secret."""
    report = acs.json("credentials", "rekey")
    assert report["scanned"] >= len(fleets[0]) and report["unreadable"] == 0 and report["rewritten"] == 0, report
    assert set(report) == {"scanned", "rewritten", "changedMeanwhile", "unreadable", "unreadableDevices"}


def test_backup_and_restore_onto_a_fresh_stack(acs: Acs, fleets, loop: FleetLoop, stack: Stack, tmp_path: Path):
    normal, _ = fleets
    # what the inventory holds: tags, presets, a file, a task still queued
    acs("devices", "tag", device_id(normal[1]), "lab", "floor-2")
    acs("devices", "tag", device_id(normal[2]), "lab")
    acs("presets", "import", str(_preset(tmp_path, "backup-preset", {"_tags": "lab"}, PII, 1200)))
    firmware = bytes(range(251)) * 101
    (tmp_path / "img").write_bytes(firmware)
    acs("files", "put", "HG500-backup.bin", str(tmp_path / "img"), "--product-class", "HG500")
    queued = acs.json("set", device_id(normal[7]), f"{SSID}=later", "--no-connection-request")
    assert queued["summary"]["queued"] == 1
    before = {"presets": acs.json("presets", "ls"), "files": _files(acs),
              "tags": _tags(acs), "tasks": _pending(acs)}
    archive = tmp_path / "inventory.tar.gz"
    manifest = acs.json("backup", str(archive))
    assert manifest["counts"]["devices"] == 30 and manifest["counts"]["tagged_devices"] == 2
    assert manifest["counts"]["tasks"] == 1 and manifest["counts"]["files"] == len(before["files"])

    # a second, fresh ACS: nothing in it, and the devices not known yet
    loop.stop()
    st2 = start_stack()
    try:
        acs2 = Acs(st2)
        early = acs2("restore", str(archive), "--only", "tags", code=1)
        # the table's row for tags: nothing restored or there already, both tagged devices missing
        # (the title names the archive's path, which may hold any digits)
        row = next(ln for ln in early.stdout.splitlines() if re.match(r"\W*tags\b", ln))
        assert re.findall(r"\d+", row) == ["0", "0", "2", "0"], early.stdout
        assert "tags: 2 devices not known here yet" in early.stderr
        start_fleets(loop, st2)
        wait_registered(st2, NORMAL + 1)
        report = acs2.json("restore", str(archive))
        assert report["presets"]["restored"] == len(before["presets"]) and report["presets"]["failed"] == []
        assert report["tags"]["restored"] == 3 and report["tasks"]["restored"] == 1
        assert report["files"]["restored"] == len(before["files"])
        after = {"presets": acs2.json("presets", "ls"), "files": _files(acs2), "tags": _tags(acs2), "tasks": _pending(acs2)}
        assert after == before
        assert acs2("files", "get", "HG500-backup.bin", str(tmp_path / "back")).exit_code == 0
        assert (tmp_path / "back").read_bytes() == firmware
        again = acs2.json("restore", str(archive), "--only", "tasks,tags")  # idempotent
        assert again["tasks"] == {"restored": 0, "unchanged": 1, "missing_devices": [], "failed": []}
        assert _pending(acs2) == before["tasks"]
    finally:
        loop.stop()
        st2.stop()


def _preset(tmp_path: Path, name: str, precondition: dict, path: str, value: Any) -> Path:
    f = tmp_path / f"{name}.json"
    f.write_text(json.dumps({"weight": 1, "precondition": precondition, "configurations": [
        {"type": "value", "name": path, "value": value}]}))
    return f


def _files(acs: Acs) -> list[tuple[Any, ...]]:
    return sorted((f["_id"], f["length"], f["metadata"].get("md5"), f["metadata"].get("productClass"))
                  for f in acs.json("files", "ls"))


def _tags(acs: Acs) -> dict[str, list[str]]:
    return {d["_id"]: sorted(d["_tags"]) for d in acs.json("devices", "ls", "-p", "_tags") if d.get("_tags")}


def _pending(acs: Acs) -> list[tuple[Any, ...]]:
    return sorted((t["device"], t["name"], json.dumps(t.get("parameterValues"))) for t in acs.json("tasks", "ls", "--status", "pending"))

