"""One representative, schema-valid instance of every CWMP message, for codec tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from cwmp import messages as m
from cwmp.events import EventCode

T0 = datetime(2024, 5, 17, 8, 30, 12, tzinfo=UTC)
T1 = datetime(2024, 5, 17, 8, 31, 2, 250000, tzinfo=timezone(timedelta(hours=2)))
UUID = "3f2a9b1c-5d4e-4f6a-8b7c-9d0e1f2a3b4c"
IGD = "InternetGatewayDevice."

_OP_RESULT = {
    "uuid": UUID,
    "deployment_unit_ref": "Device.SoftwareModules.DeploymentUnit.1",
    "version": "2.1",
    "current_state": "Installed",
    "resolved": True,
    "execution_unit_ref_list": "Device.SoftwareModules.ExecutionUnit.1",
    "start_time": T0,
    "complete_time": T1,
    "fault": m.FaultStruct(0, ""),
}


def _values() -> list[m.ParameterValueStruct]:
    return [
        m.ParameterValueStruct(IGD + "DeviceInfo.SoftwareVersion", "V5.2.10 <beta> & co", "xsd:string"),
        m.ParameterValueStruct(IGD + "ManagementServer.PeriodicInformInterval", 300, "xsd:unsignedInt"),
        m.ParameterValueStruct(IGD + "Time.LocalTimeZone", -120, "xsd:int"),
        m.ParameterValueStruct(IGD + "X_TEST.Counter", 2**40, "xsd:unsignedLong"),
        m.ParameterValueStruct(IGD + "X_TEST.Delta", -(2**40), "xsd:long"),
        m.ParameterValueStruct(IGD + "ManagementServer.PeriodicInformEnable", True, "xsd:boolean"),
        m.ParameterValueStruct(IGD + "Time.CurrentLocalTime", T1, "xsd:dateTime"),
        m.ParameterValueStruct(IGD + "X_TEST.Blob", b"\x00\x01binary", "xsd:base64"),
        m.ParameterValueStruct(IGD + "X_TEST.Hex", b"\xde\xad\xbe\xef", "xsd:hexBinary"),
    ]


def representative(cls: type[m.Message]) -> m.Message:
    """A filled-in instance of ``cls``, valid under every schema version that defines it."""
    return _SAMPLES[cls]()


_SAMPLES = {
    m.Inform: lambda: m.Inform(
        device_id=m.DeviceIdStruct("Acme Networks", "00D09E", "HGW-1", "SN0001"),
        events=[m.EventStruct(EventCode.BOOT), m.EventStruct(EventCode.M_REBOOT, "reboot-42")],
        max_envelopes=1,
        current_time=T0,
        retry_count=2,
        parameter_list=_values(),
    ),
    m.TransferComplete: lambda: m.TransferComplete("dl-7", m.FaultStruct(9010, "Download failed"), T0, T1),
    m.AutonomousTransferComplete: lambda: m.AutonomousTransferComplete(
        announce_url="http://203.0.113.5/announce",
        transfer_url="http://203.0.113.5/fw.bin",
        is_download=True,
        file_type="1 Firmware Upgrade Image",
        file_size=123456,
        target_file_name="fw.bin",
        fault=m.FaultStruct(0, ""),
        start_time=T0,
        complete_time=T1,
    ),
    m.DUStateChangeComplete: lambda: m.DUStateChangeComplete([m.OpResultStruct(**_OP_RESULT)], "cdu-1"),
    m.AutonomousDUStateChangeComplete: lambda: m.AutonomousDUStateChangeComplete(
        [m.AutonOpResultStruct(**_OP_RESULT, operation_performed="Install")]
    ),
    m.RequestDownload: lambda: m.RequestDownload("3 Vendor Configuration File", [m.ArgStruct("Version", "1.2")]),
    m.Kicked: lambda: m.Kicked("provision", "http://portal.example/", "plan=gold", "http://portal.example/done"),
    m.GetRPCMethods: lambda: m.GetRPCMethods(),
    m.GetRPCMethodsResponse: lambda: m.GetRPCMethodsResponse(["GetRPCMethods", "GetParameterValues", "Reboot"]),
    m.InformResponse: lambda: m.InformResponse(1),
    m.TransferCompleteResponse: lambda: m.TransferCompleteResponse(),
    m.AutonomousTransferCompleteResponse: lambda: m.AutonomousTransferCompleteResponse(),
    m.DUStateChangeCompleteResponse: lambda: m.DUStateChangeCompleteResponse(),
    m.AutonomousDUStateChangeCompleteResponse: lambda: m.AutonomousDUStateChangeCompleteResponse(),
    m.RequestDownloadResponse: lambda: m.RequestDownloadResponse(),
    m.KickedResponse: lambda: m.KickedResponse("http://portal.example/next"),
    m.GetParameterNames: lambda: m.GetParameterNames(IGD + "LANDevice.", True),
    m.GetParameterValues: lambda: m.GetParameterValues([IGD + "DeviceInfo.", IGD + "ManagementServer.URL"]),
    m.SetParameterValues: lambda: m.SetParameterValues(_values(), "key-1"),
    m.GetParameterAttributes: lambda: m.GetParameterAttributes([IGD + "DeviceInfo.SoftwareVersion"]),
    m.SetParameterAttributes: lambda: m.SetParameterAttributes(
        [
            m.SetParameterAttributesStruct(IGD + "DeviceInfo.SoftwareVersion", True, 2, True, ["Subscriber"]),
            m.SetParameterAttributesStruct(IGD + "DeviceInfo.UpTime", True, 0, False, []),
        ]
    ),
    m.AddObject: lambda: m.AddObject(IGD + "WANDevice.1.WANConnectionDevice.", "key-2"),
    m.DeleteObject: lambda: m.DeleteObject(IGD + "WANDevice.1.WANConnectionDevice.3.", "key-3"),
    m.Reboot: lambda: m.Reboot("reboot-42"),
    m.Download: lambda: m.Download(
        command_key="dl-7",
        file_type="1 Firmware Upgrade Image",
        url="http://files.example/fw.bin",
        username="cpe",
        password="secret",
        file_size=123456,
        target_file_name="fw.bin",
        delay_seconds=10,
        success_url="",
        failure_url="",
    ),
    m.Upload: lambda: m.Upload("ul-1", "1 Vendor Configuration File", "http://files.example/up", "u", "p", 5),
    m.FactoryReset: lambda: m.FactoryReset(),
    m.ScheduleInform: lambda: m.ScheduleInform(60, "si-1"),
    m.GetQueuedTransfers: lambda: m.GetQueuedTransfers(),
    m.GetAllQueuedTransfers: lambda: m.GetAllQueuedTransfers(),
    m.ScheduleDownload: lambda: m.ScheduleDownload(
        command_key="sd-1",
        file_type="1 Firmware Upgrade Image",
        url="http://files.example/fw.bin",
        file_size=1000,
        target_file_name="fw.bin",
        time_windows=[
            m.TimeWindowStruct(0, 3600, "1 At Any Time", "", -1),
            m.TimeWindowStruct(7200, 9000, "2 Immediately", "Update tonight", 3),
        ],
    ),
    m.CancelTransfer: lambda: m.CancelTransfer("dl-7"),
    m.ChangeDUState: lambda: m.ChangeDUState(
        [
            m.InstallOpStruct("http://files.example/app.ipk", UUID, "u", "p", "Device.SoftwareModules.ExecEnv.1"),
            m.UpdateOpStruct(UUID, "2.2", "http://files.example/app2.ipk"),
            m.UninstallOpStruct(UUID, "2.2", "Device.SoftwareModules.ExecEnv.1"),
            m.InstallOpStruct("http://files.example/other.ipk"),
        ],
        "cdu-1",
    ),
    m.GetParameterNamesResponse: lambda: m.GetParameterNamesResponse(
        [m.ParameterInfoStruct(IGD + "LANDevice.1.", False), m.ParameterInfoStruct(IGD + "LANDevice.1.Enable", True)]
    ),
    m.GetParameterValuesResponse: lambda: m.GetParameterValuesResponse(_values()),
    m.SetParameterValuesResponse: lambda: m.SetParameterValuesResponse(1),
    m.GetParameterAttributesResponse: lambda: m.GetParameterAttributesResponse(
        [m.ParameterAttributeStruct(IGD + "DeviceInfo.SoftwareVersion", 2, ["Subscriber"])]
    ),
    m.SetParameterAttributesResponse: lambda: m.SetParameterAttributesResponse(),
    m.AddObjectResponse: lambda: m.AddObjectResponse(4, 0),
    m.DeleteObjectResponse: lambda: m.DeleteObjectResponse(1),
    m.RebootResponse: lambda: m.RebootResponse(),
    m.DownloadResponse: lambda: m.DownloadResponse(1),
    m.UploadResponse: lambda: m.UploadResponse(0, T0, T1),
    m.FactoryResetResponse: lambda: m.FactoryResetResponse(),
    m.ScheduleInformResponse: lambda: m.ScheduleInformResponse(),
    m.GetQueuedTransfersResponse: lambda: m.GetQueuedTransfersResponse(
        [m.QueuedTransferStruct("dl-7", 2), m.QueuedTransferStruct("dl-8", 1)]
    ),
    m.GetAllQueuedTransfersResponse: lambda: m.GetAllQueuedTransfersResponse(
        [m.AllQueuedTransferStruct("dl-7", 2, True, "1 Firmware Upgrade Image", 1000, "fw.bin")]
    ),
    m.ScheduleDownloadResponse: lambda: m.ScheduleDownloadResponse(),
    m.CancelTransferResponse: lambda: m.CancelTransferResponse(),
    m.ChangeDUStateResponse: lambda: m.ChangeDUStateResponse(),
    m.Fault: lambda: m.Fault(
        fault_code=9003,
        fault_string="Invalid arguments",
        faultcode="Client",
        set_parameter_values_faults=[
            m.SetParameterValuesFault(IGD + "ManagementServer.PeriodicInformInterval", 9007, "Invalid parameter value"),
            m.SetParameterValuesFault(IGD + "DeviceInfo.SoftwareVersion", 9008, "Attempt to set a non-writable parameter"),
        ],
    ),
}
