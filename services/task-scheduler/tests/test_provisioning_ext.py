"""ext() without blocking the scheduler: a script stopped at an extension call it has no answer
for makes the run return ExtensionCalls instead of running Node.js on the event loop; the
answers, awaited, let the round be planned again. Other devices' sessions go on meanwhile."""

from __future__ import annotations

import asyncio
import shutil
import sys
import time
from pathlib import Path

import pytest

from cpe_simulator.datamodel import DataModel
from cpe_simulator.device import Device
from task_scheduler.provisioning import Provisioner, ProvisioningSettings
from task_scheduler.provisioning.engine import ExtensionCalls

sys.path.insert(0, str(Path(__file__).resolve().parent))  # under --import-mode=importlib
from test_provisioning_support import inform  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="extensions run in Node.js, which is not installed")

SSID = "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.SSID"
SLOW_S = 1.0
SCRIPT = f'declare("{SSID}", null, {{value: ext("subscribers", "ssid", "x")}});'


def _provisioner(ext_dir: Path, timeout_s: float = 20) -> Provisioner:
    (ext_dir / "subscribers.js").write_text(
        f"exports.ssid = (args, cb) => setTimeout(() => cb(null, 'sub-' + args[0]), {int(SLOW_S * 1000)});\n"
        "exports.broken = (args, cb) => cb(new Error('directory unavailable'));\n"
        "exports.stuck = (args, cb) => { setInterval(() => {}, 1000); };\n")
    p = Provisioner(ProvisioningSettings(bootstrap_defaults=False, ext_dir=str(ext_dir), ext_timeout_s=timeout_s))
    p.load([{"_id": "wifi", "configurations": [{"type": "provision", "name": "wifi"}]}])
    p.scripts.load([{"_id": "wifi", "script": SCRIPT}], [])
    return p


def _run(p: Provisioner, serial: str):
    dev = Device(DataModel.default(), serial=serial)
    doc, codes = inform(dev, ["2 PERIODIC"])
    return p.session("dev", doc, codes), dev


async def test_a_slow_extension_is_awaited_while_the_event_loop_serves_others(tmp_path):
    p = _provisioner(tmp_path)
    run, _dev = _run(p, "EXT1")
    t0 = time.monotonic()
    first = run.start()
    assert isinstance(first, ExtensionCalls) and time.monotonic() - t0 < SLOW_S  # returned, not run here
    [(_key, call)] = first.calls
    assert call == ("subscribers", "ssid", ["x"])

    ticks = 0

    async def other_devices() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    other = asyncio.create_task(other_devices())
    try:
        answers = await p.answer_extensions(first.calls)
    finally:
        other.cancel()
    assert ticks >= 10  # the loop ran other work while Node.js took its second
    nxt = run.answer_extensions(answers)
    assert nxt.RPC == "SetParameterValues"
    assert [(s.name, s.value) for s in nxt.parameter_list] == [(SSID, "sub-x")]


async def test_an_answer_is_kept_for_the_session(tmp_path):
    p = _provisioner(tmp_path)
    run, dev = _run(p, "EXT2")
    answers = await p.answer_extensions(run.start().calls)
    spv = run.answer_extensions(answers)
    nxt = run.feed(dev.handle(spv))
    assert nxt is None  # the round after the SPV replays the script with the answer kept: no new call
    assert run.outcome.rpcs == ["SetParameterValues"] and not run.outcome.faults


@pytest.mark.parametrize("fn, timeout_s, message", [("broken", 20, "directory unavailable"), ("stuck", 0.5, "longer than")])
async def test_a_failing_or_stuck_extension_faults_the_preset_channel(tmp_path, fn, timeout_s, message):
    p = _provisioner(tmp_path, timeout_s)
    p.scripts.load([{"_id": "wifi", "script": SCRIPT.replace('"ssid"', f'"{fn}"')}], [])
    run, _dev = _run(p, "EXT3")
    answers = await p.answer_extensions(run.start().calls)
    assert run.answer_extensions(answers) is None
    [fault] = run.outcome.faults
    assert fault["code"].startswith("script.") and message in fault["message"]


async def test_the_session_driver_awaits_the_answer_and_sends_what_the_script_declares(tmp_path, database):
    """Through the real session driver (its store over a real SecantusDB): the Inform's answer
    is the SetParameterValues the script declares once its extension answered, and the event loop
    went on meanwhile."""
    from test_abandoned_sessions import Cpe, Scheduler, request_of

    async with Scheduler(database) as sched:
        sched.driver.provisioner = _provisioner(tmp_path)
        cpe = Cpe(sched, "EXTDRV1")
        ticks = 0

        async def other_devices() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        other = asyncio.create_task(other_devices())
        try:
            reply = await cpe.inform("2 PERIODIC")
        finally:
            other.cancel()
        spv = request_of(reply)
        assert spv.RPC == "SetParameterValues" and ticks >= 10
        assert [(p.name, p.value) for p in spv.parameter_list] == [(SSID, "sub-x")]
        assert (await cpe.serve(reply)).status == 204
