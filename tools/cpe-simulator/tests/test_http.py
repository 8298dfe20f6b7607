"""Simulated CPEs against a real (tiny, in-process) ACS over HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from cpesim_acs import MiniAcs

from acs_devstack.polling import eventually
from cpe_simulator import Fleet, SimulatedCpe
from cwmp import messages as m

IGD = "InternetGatewayDevice."
MS = IGD + "ManagementServer."

pytestmark = pytest.mark.timeout(30)


def _cpe(model, acs: MiniAcs, serial: str = "SIM00000001", **kw) -> SimulatedCpe:
    kw.setdefault("username", acs.username)
    kw.setdefault("password", acs.password)
    return SimulatedCpe(model, acs_url=acs.url, serial=serial, boot_delay_s=0.0, periodic_interval=3600, **kw)


def _answer(rec, rpc: str):
    return next(resp for req, resp in rec.answers if req.RPC == rpc)


async def test_rpcs_faults_and_download_over_http(igd_model):
    firmware = b"\x7fELF" + bytes(range(256)) * 40
    async with MiniAcs(auth="digest", file_auth=("fw", "pw")) as acs:
        acs.files["fw-2.1.bin"] = firmware
        acs.plans.append(
            [
                m.GetParameterValues([MS + "PeriodicInformInterval", IGD + "DeviceInfo."]),
                m.SetParameterValues(
                    [
                        m.ParameterValueStruct(MS + "PeriodicInformInterval", 1800, "xsd:unsignedInt"),
                        m.ParameterValueStruct(IGD + "IPPingDiagnostics.DiagnosticsState", "Later", "xsd:string"),
                    ],
                    "pk-1",
                ),
                m.AddObject(IGD + "WANDevice.1.WANConnectionDevice.", "pk-2"),
                m.Download("dl-7", "1 Firmware Upgrade Image", acs.file_url("fw-2.1.bin"), "fw", "pw", len(firmware)),
            ]
        )
        cpe = _cpe(igd_model, acs)
        await cpe.start()
        try:
            first = await acs.next_session()
            assert first.serial == "SIM00000001"
            assert [e for e, _ in first.events] == ["0 BOOTSTRAP", "1 BOOT"]
            assert len(first.client_ports) == 1 and first.posts == 6  # one keep-alive connection per session

            gpv = _answer(first, "GetParameterValues")
            values = {p.name: p.value for p in gpv.parameter_list}
            assert values[MS + "PeriodicInformInterval"] == 3600
            assert values[IGD + "DeviceInfo.SerialNumber"] == "SIM00000001"
            spv = _answer(first, "SetParameterValues")
            assert isinstance(spv, m.Fault) and spv.fault_code == 9003
            assert [(f.parameter_name, f.fault_code) for f in spv.set_parameter_values_faults] == [
                (IGD + "IPPingDiagnostics.DiagnosticsState", 9007)
            ]
            added = _answer(first, "AddObject")
            assert isinstance(added, m.AddObjectResponse) and added.instance_number == 2
            assert _answer(first, "Download").status == 1

            second = await acs.next_session()
            assert ("7 TRANSFER COMPLETE", "") in second.events and ("M Download", "dl-7") in second.events
            assert ("1 BOOT", "") in second.events  # the new image booted
            (tc,) = second.cpe_requests
            assert isinstance(tc, m.TransferComplete) and tc.command_key == "dl-7" and tc.fault.fault_code == 0
            assert acs.file_gets == ["fw-2.1.bin"]
            assert cpe.get(IGD + "DeviceInfo.SoftwareVersion") == "fw-2.1"
            assert cpe.get(MS + "PeriodicInformInterval") == 3600  # the faulted SPV changed nothing
            assert cpe.get(MS + "ParameterKey") == "pk-2"
            assert not cpe.device.requests and not cpe.device.events
        finally:
            await cpe.stop()


async def test_failed_download_reports_9010(igd_model):
    async with MiniAcs() as acs:
        acs.plans.append([m.Download("dl-x", "3 Vendor Configuration File", acs.file_url("missing.xml"))])
        cpe = _cpe(igd_model, acs, username=None, password=None)
        report = await cpe.run_session(["1 BOOT"])
        assert report.ok and report.rpcs == ["Download"] and report.http_status == 204
        await cpe.wait_idle()
        report = await cpe.run_session()
        assert report.events == ["7 TRANSFER COMPLETE", "M Download"]
        await acs.next_session()
        rec = await acs.next_session()
        (tc,) = rec.cpe_requests
        assert tc.fault.fault_code == 9010 and "404" in tc.fault.fault_string


async def test_reboot_upload_schedule_inform_and_diagnostics(igd_model):
    async with MiniAcs(auth="basic") as acs:
        ping = IGD + "IPPingDiagnostics."
        acs.plans.append(
            [
                m.SetParameterValues(
                    [
                        m.ParameterValueStruct(ping + "Host", "192.0.2.10", "xsd:string"),
                        m.ParameterValueStruct(ping + "NumberOfRepetitions", 3, "xsd:unsignedInt"),
                        m.ParameterValueStruct(ping + "DiagnosticsState", "Requested", "xsd:string"),
                    ]
                ),
                m.Upload("up-1", "1 Vendor Configuration File", acs.upload_url("cfg.xml")),
                m.ScheduleInform(1, "si-1"),
                m.Reboot("rb-1"),
            ]
        )
        cpe = _cpe(igd_model, acs)
        await cpe.start()
        try:
            await acs.next_session()  # the boot session that carried the RPCs
            seen: set[tuple[str, str]] = set()
            requests: list[m.Message] = []
            while not {("M Reboot", "rb-1"), ("8 DIAGNOSTICS COMPLETE", ""), ("M Upload", "up-1"),
                       ("3 SCHEDULED", ""), ("M ScheduleInform", "si-1")} <= seen:  # fmt: skip
                rec = await acs.next_session()
                seen.update(rec.events)
                requests.extend(rec.cpe_requests)
            assert ("1 BOOT", "") in seen
            assert [r.command_key for r in requests if isinstance(r, m.TransferComplete)] == ["up-1"]
            assert b"InternetGatewayDevice.ManagementServer.URL" in acs.uploads["cfg.xml"]
            assert cpe.get(ping + "DiagnosticsState") == "Complete"
            assert cpe.get(ping + "SuccessCount") + cpe.get(ping + "FailureCount") == 3
        finally:
            await cpe.stop()


async def test_digest_connection_request(igd_model):
    async with MiniAcs() as acs:
        cpe = _cpe(igd_model, acs, connection_request_username="cr-user", connection_request_password="cr-pass")
        await cpe.start()
        try:
            await acs.next_session()  # boot
            url = cpe.connection_request_url
            assert url and cpe.get(MS + "ConnectionRequestURL") == url
            async with aiohttp.ClientSession() as http, http.get(url) as resp:
                assert resp.status == 401 and resp.headers["WWW-Authenticate"].startswith("Digest ")
            async with aiohttp.ClientSession(middlewares=(aiohttp.DigestAuthMiddleware("cr-user", "wrong"),)) as http, \
                    http.get(url) as resp:
                assert resp.status == 401
            async with aiohttp.ClientSession(middlewares=(aiohttp.DigestAuthMiddleware("cr-user", "cr-pass"),)) as http, \
                    http.get(url) as resp:
                assert resp.status == 200
            rec = await acs.next_session()
            assert rec.events == [("6 CONNECTION REQUEST", "")]

            # while a session runs, a connection request is refused with 503
            acs.hold_inform = asyncio.Event()
            acs.inform_arrived.clear()
            # the ACS answered 204; the device is closing its connection
            await eventually(lambda: not cpe.in_session, interval=0.01, what="the session ended")
            assert cpe.connection_request()  # as a valid request would: a session starts
            await asyncio.wait_for(acs.inform_arrived.wait(), 5)
            async with aiohttp.ClientSession(middlewares=(aiohttp.DigestAuthMiddleware("cr-user", "cr-pass"),)) as http:
                async with http.get(url) as resp:
                    assert resp.status == 503
                async with http.post(url) as resp:
                    assert resp.status == 405
            acs.hold_inform.set()
            await acs.next_session()
        finally:
            await cpe.stop()


async def test_active_notification_starts_a_session(igd_model):
    path = IGD + "LANDevice.1.LANEthernetInterfaceConfig.1.Enable"
    async with MiniAcs() as acs:
        acs.plans.append([m.SetParameterAttributes([m.SetParameterAttributesStruct(path, True, 2, False)])])
        cpe = _cpe(igd_model, acs)
        await cpe.start()
        try:
            await acs.next_session()
            cpe.set_local_value(path, False)
            rec = await acs.next_session()
            assert rec.events == [("4 VALUE CHANGE", "")]
            assert any(p.name == path and p.value is False for p in rec.inform.parameter_list)
        finally:
            await cpe.stop()


async def test_503_retry_after_and_retry_count(igd_model):
    async with MiniAcs() as acs:
        acs.busy.append(503)
        cpe = _cpe(igd_model, acs)
        await cpe.start()
        try:
            rec = await acs.next_session()
            assert rec.inform.retry_count == 1
            assert [e for e, _ in rec.events] == ["0 BOOTSTRAP", "1 BOOT"]
            assert cpe.reports[0].http_status == 503 and cpe.reports[0].retry_after == 1.0
        finally:
            await cpe.stop()


async def test_fleet_boot_storm_and_periodic(igd_model, tr181_model):
    async with MiniAcs() as acs:
        fleet = Fleet([igd_model, tr181_model], count=6, acs_url=acs.url, periodic_interval=1, boot_delay_s=0.0)
        await fleet.start(boot_within_s=0.3)
        try:
            seen: dict[str, set[str]] = {}
            while len(seen) < 6 or not all("2 PERIODIC" in ev for ev in seen.values()):
                rec = await acs.next_session()
                seen.setdefault(rec.serial, set()).update(e for e, _ in rec.events)
            assert set(seen) == {f"SIM{i:08d}" for i in range(6)}
            urls = {cpe.connection_request_url for cpe in fleet}
            assert len(urls) == 6 and len({u.rsplit("/cr/", 1)[0] for u in urls}) == 1  # one shared port
            assert fleet.stats.sessions_ok >= 6 and fleet.stats.sessions_failed == 0
            assert fleet[1].device.root == "Device."
        finally:
            await fleet.stop()
        summary = fleet.stats.summary()
        assert summary["sessions"]["ok"] >= 11 and summary["events"]["1 BOOT"] == 6
        assert summary["session_duration_ms"]["max"] > 0


UNKNOWN_RPC = (
    b'<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/" '
    b'xmlns:cwmp="urn:dslforum-org:cwmp-1-2"><soap-env:Header><cwmp:ID soap-env:mustUnderstand="1">raw-1</cwmp:ID>'
    b"</soap-env:Header><soap-env:Body><cwmp:X_Frobnicate><Level>9</Level></cwmp:X_Frobnicate></soap-env:Body>"
    b"</soap-env:Envelope>"
)


async def test_unknown_method_is_answered_with_9000(igd_model):
    async with MiniAcs() as acs:
        acs.plans.append([UNKNOWN_RPC, m.GetRPCMethods()])
        cpe = _cpe(igd_model, acs)
        report = await cpe.run_session(["1 BOOT"])
        assert report.ok and report.faults == [9000]
        rec = await acs.next_session()
        fault = rec.answers[0][1]
        assert isinstance(fault, m.Fault) and fault.fault_code == 9000 and rec.raw_answer_ids == ["raw-1"]
        assert isinstance(rec.answers[1][1], m.GetRPCMethodsResponse)  # the session went on


async def test_fault_injection_drops_sessions_and_fails_downloads(igd_model):
    async with MiniAcs() as acs:
        acs.files["cfg.xml"] = b"<cfg/>"
        acs.plans.append([m.GetRPCMethods()])
        dropper = _cpe(igd_model, acs, serial="SIMDROP", drop_session_rate=1.0)
        report = await dropper.run_session(["1 BOOT"])
        assert not report.ok and report.error.startswith("dropped") and dropper.retry_count == 1
        assert dropper.device.events == [("1 BOOT", "")]  # kept for the retry
        dropper.drop_session_rate = 0.0
        assert (await dropper.run_session()).ok
        retried = await acs.next_session()
        assert retried.inform.retry_count == 1 and retried.events == [("1 BOOT", "")]

        acs.plans.append([m.Download("dl", "3 Vendor Configuration File", acs.file_url("cfg.xml"))])
        failing = _cpe(igd_model, acs, serial="SIMFAIL", fail_downloads=True)
        await failing.run_session(["1 BOOT"])
        await failing.wait_idle()
        await failing.run_session()
        await acs.next_session()
        (tc,) = (await acs.next_session()).cpe_requests
        assert tc.fault.fault_code == 9010 and acs.file_gets == []

    fleet = Fleet(igd_model, count=20, acs_url="http://127.0.0.1:9/acs", fail_downloads=0.25)
    assert sum(c.fail_downloads for c in fleet) == 5


async def test_cli_runs_a_small_fleet(igd_model):
    from cpesim_paths import IGD_CSV

    from cpe_simulator.cli import parse_args, run

    async with MiniAcs(auth="digest") as acs:
        args = parse_args(
            ["--acs-url", acs.url, "--devices", "3", "--datamodel", str(IGD_CSV), "--periodic-interval", "1",
             "--boot-storm", "0.2", "--username", acs.username, "--password", acs.password, "--duration", "1.5",
             "--quiet"]  # fmt: skip
        )
        summary = await run(args)
    assert summary["sessions"]["ok"] >= 3 and summary["sessions"]["failed"] == 0
    assert summary["events"]["1 BOOT"] == 3 and summary["config"]["devices"] == 3


async def test_every_rpc_answer_goes_over_the_wire(tr181_model):
    unit = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
    async with MiniAcs() as acs:
        acs.files["app.ipk"] = b"package"
        acs.files["fw.bin"] = b"firmware"
        acs.plans.append(
            [
                m.GetRPCMethods(),
                m.GetParameterNames("Device.ManagementServer.", True),
                m.GetParameterAttributes(["Device.ManagementServer.PeriodicInformInterval"]),
                m.SetParameterAttributes([m.SetParameterAttributesStruct("Device.ManagementServer.URL", True, 1, False)]),
                m.DeleteObject("Device.Bridging.Bridge.1."),
                m.ScheduleDownload("sd-1", "1 Firmware Upgrade Image", acs.file_url("fw.bin"),
                                   time_windows=[m.TimeWindowStruct(0, 30, "1 At Any Time")]),  # fmt: skip
                m.GetQueuedTransfers(),
                m.GetAllQueuedTransfers(),
                m.ChangeDUState([m.InstallOpStruct(url=acs.file_url("app.ipk"), uuid=unit)], "du-1"),
            ]
        )
        cpe = _cpe(tr181_model, acs)
        await cpe.start()
        try:
            first = await acs.next_session()
            kinds = [type(resp).__name__ for _, resp in first.answers]
            assert "Fault" not in kinds, first.answers
            assert kinds[0] == "GetRPCMethodsResponse" and kinds[-1] == "ChangeDUStateResponse"
            assert not cpe.device.tree.exists("Device.Bridging.Bridge.1.")
            done: dict[str, m.Message] = {}
            while not {"DUStateChangeComplete", "TransferComplete"} <= set(done):
                rec = await acs.next_session()
                done.update((r.RPC, r) for r in rec.cpe_requests)

            acs.plans.append([m.FactoryReset()])
            await eventually(lambda: not cpe.in_session, interval=0.01, what="the session ended")  # no event for it
            assert cpe.connection_request()
            assert (await acs.next_session()).answers[0][1] == m.FactoryResetResponse()
            rec = await acs.next_session()
            assert [e for e, _ in rec.events] == ["0 BOOTSTRAP", "1 BOOT"]
            assert cpe.device.tree.exists("Device.Bridging.Bridge.1.")  # back to the dump
        finally:
            await cpe.stop()
    assert done["DUStateChangeComplete"].results[0].current_state == "Installed"
    assert done["TransferComplete"].command_key == "sd-1"
    assert set(acs.file_gets) == {"app.ipk", "fw.bin"}
