"""Downloads a script declares (GenieACS's ``Downloads.*``), through the real session driver: the
Download goes out with a provisioning CommandKey; the CPE's TransferComplete for it records
StartTime and CompleteTime on the Downloads instance, and a failed transfer faults the channel
that declared it (instead of being dropped as an unknown CommandKey)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from acs_contracts.affinity import CONTINUE
from acs_contracts.mongo_collections import DEVICES, FAULTS
from cwmp import messages as m
from task_scheduler.provisioning import Provisioner, ProvisioningSettings

sys.path.insert(0, str(Path(__file__).resolve().parent))  # under --import-mode=importlib
from test_abandoned_sessions import Cpe, Scheduler, request_of  # noqa: E402

SCRIPT = """
    const fw = "Downloads.[FileType:1 Firmware Upgrade Image]";
    declare(fw, {path: 1}, {path: 1});
    declare(fw + ".FileName", {value: 1}, {value: "fw-2.bin"});
    declare(fw + ".Download", {value: 1}, {value: Date.parse("2026-01-01T00:00:00Z")});
"""


def _provisioner() -> Provisioner:
    p = Provisioner(ProvisioningSettings(bootstrap_defaults=False, files_base_url="http://files.example:7567",
                                         files_secret="s3cret"))
    p.load([{"_id": "fw", "channel": "firmware", "configurations": [{"type": "provision", "name": "fw"}]}])
    p.scripts.load([{"_id": "fw", "script": SCRIPT}], [])
    return p


async def _pushed(sched: Scheduler, cpe: Cpe) -> str:
    """A periodic session that pushes the firmware; the Download's CommandKey."""
    first = await cpe.inform("2 PERIODIC")
    download = request_of(first)
    assert isinstance(download, m.Download) and download.command_key.startswith("prov-")
    assert (await cpe.serve(first)).status == 204
    await sched.drained()
    return download.command_key


@pytest.mark.parametrize("fault", [m.FaultStruct(), m.FaultStruct(9010, "Download failure: checksum")])
async def test_transfer_complete_of_a_scripted_download_is_recorded(fault, database):
    db = database
    async with Scheduler(db) as sched:
        sched.driver.provisioner = _provisioner()
        cpe = Cpe(sched, f"SCRDL{fault.fault_code}")
        key = await _pushed(sched, cpe)
        start, end = datetime(2026, 12, 7, 10, 0, tzinfo=UTC), datetime(2026, 12, 7, 10, 2, tzinfo=UTC)
        assert (await cpe.inform("7 TRANSFER COMPLETE", "M Download")).status == CONTINUE
        done = await cpe.request(m.TransferComplete(command_key=key, fault=fault, start_time=start, complete_time=end))
        assert isinstance(request_of(done), m.TransferCompleteResponse)
        await cpe.serve(await cpe.empty())
        await sched.drained()

        inst = (await db.doc(DEVICES, cpe.id))["Downloads"]["1"]
        assert inst["FileName"]["_value"] == "fw-2.bin" and inst["_commandKey"] == key
        assert inst["StartTime"]["_value"] == start and inst["CompleteTime"]["_value"] == end
        recorded = (await db.doc(FAULTS, f"{cpe.id}:firmware"))
        if fault.fault_code:
            assert recorded["code"] == "cwmp.9010" and "checksum" in recorded["message"]
        else:
            assert recorded is None
