"""KPI sampling riding on periodic sessions: a preset's refresh-only declaration makes the engine
read a KPI when our copy is older than asked, and what it read goes out as samples (published on
the parameter-changes topic with source "sampling", where the history writer takes them);
values read for other reasons, and values still fresh, are not samples."""

from __future__ import annotations

import copy
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cpe_simulator.datamodel import DataModel
from cpe_simulator.device import Device
from task_scheduler.provisioning import Provisioner, ProvisioningSettings

sys.path.insert(0, str(Path(__file__).resolve().parent))  # under --import-mode=importlib
from test_provisioning_support import drive, inform, store  # noqa: E402


class Clock:
    def __init__(self) -> None:
        self.t = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.t

    def advance(self, by: timedelta) -> None:
        self.t += by


CHANNELS = "InternetGatewayDevice.LANDevice.1.WLANConfiguration.*.Channel"
SSID = "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.SSID"


def test_kpis_read_on_schedule_become_samples_and_fresh_ones_do_not():
    clock = Clock()
    p = Provisioner(ProvisioningSettings(bootstrap_defaults=False), now=clock)
    p.load([{"_id": "kpis", "declarations": [{"path": CHANNELS, "refresh": 900}, {"path": SSID, "value": "home-wifi"}]}])
    dev = Device(DataModel.default(), serial="KPI1")

    def session(stored=None):
        doc, codes = inform(dev, ["2 PERIODIC"], stored)
        before = copy.deepcopy(doc)
        run = p.session("dev", doc, codes)
        rpcs = drive(run, dev)
        return rpcs, run.outcome, store(before, run)

    rpcs, out, doc = session()
    assert rpcs[0] == "GetParameterValues"
    names = {s["name"] for s in out.samples}
    assert names and all(n.endswith(".Channel") for n in names)  # the KPI; not the SSID it read to set
    assert all(isinstance(s["value"], int) for s in out.samples)

    clock.advance(timedelta(minutes=5))
    rpcs, out, doc = session(doc)
    assert rpcs == [] and out.samples == []  # still fresh: nothing read, nothing sampled

    clock.advance(timedelta(minutes=11))
    rpcs, out, doc = session(doc)
    assert rpcs == ["GetParameterValues"] and {s["name"] for s in out.samples} == names


def test_a_secret_read_for_freshness_is_not_read_again_while_fresh_and_is_no_sample():
    """Secrets (e.g. a Wi-Fi KeyPassphrase) are never stored, only when they were read: that is
    what keeps a declaration asking for a fresh copy from reading them on every session."""
    clock = Clock()
    key = "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.KeyPassphrase"
    p = Provisioner(ProvisioningSettings(bootstrap_defaults=False), now=clock)
    p.load([{"_id": "keys", "declarations": [{"path": key, "refresh": 3600}]}])
    dev = Device(DataModel.default(), serial="KPI2")
    doc, codes = inform(dev, ["2 PERIODIC"])
    before = copy.deepcopy(doc)
    run = p.session("dev", doc, codes)
    assert drive(run, dev) == ["GetParameterValues"] and run.outcome.samples == []
    doc = store(before, run)
    assert "_value" not in doc["InternetGatewayDevice"]["LANDevice"]["1"]["WLANConfiguration"]["1"]["KeyPassphrase"]
    clock.advance(timedelta(minutes=10))
    doc, codes = inform(dev, ["2 PERIODIC"], doc)
    run = p.session("dev", doc, codes)
    assert run is None or drive(run, dev) == []
