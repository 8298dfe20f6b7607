"""Typed CWMP messages: one dataclass per RPC of TR-069 Amendment 6 (CWMP 1.0-1.4).

These are plain values with no I/O. `cwmp.soap` turns them into SOAP envelopes and
back. Field names follow the protocol's own element names in snake_case, so
``ParameterValueStruct.name`` is ``<Name>``, ``Download.command_key`` is ``<CommandKey>``.

Every message class has ``RPC`` (the SOAP body element's local name) and ``DIRECTION``:
``"cpe"`` for messages the CPE sends, ``"acs"`` for messages the ACS sends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from .events import EventCode

# A parameter value in its Python form: str (xsd:string, and anything unparsable),
# int (int/unsignedInt/long/unsignedLong), bool (boolean), datetime (dateTime),
# bytes (base64/hexBinary). ``ParameterValueStruct.type`` keeps the xsd type name.
Value = str | int | bool | datetime | bytes


@dataclass(slots=True)
class DeviceIdStruct:
    manufacturer: str
    oui: str
    product_class: str
    serial_number: str


@dataclass(slots=True)
class EventStruct:
    event_code: EventCode
    command_key: str = ""


@dataclass(slots=True)
class ParameterValueStruct:
    name: str
    value: Value
    type: str = "xsd:string"  # xsd type name with the "xsd:" prefix, e.g. "xsd:unsignedInt"


@dataclass(slots=True)
class ParameterInfoStruct:
    name: str
    writable: bool


@dataclass(slots=True)
class ParameterAttributeStruct:
    name: str
    notification: int  # 0 off, 1 passive, 2 active (3-6 in 1.4 for lightweight notification)
    access_list: list[str] = field(default_factory=list)


@dataclass(slots=True)
class SetParameterAttributesStruct:
    name: str
    notification_change: bool
    notification: int
    access_list_change: bool
    access_list: list[str] = field(default_factory=list)


@dataclass(slots=True)
class QueuedTransferStruct:
    command_key: str
    state: int  # 1 not yet started, 2 in progress, 3 completed


@dataclass(slots=True)
class AllQueuedTransferStruct:
    command_key: str
    state: int
    is_download: bool
    file_type: str
    file_size: int
    target_file_name: str


@dataclass(slots=True)
class FaultStruct:
    fault_code: int = 0
    fault_string: str = ""


@dataclass(slots=True)
class TimeWindowStruct:
    window_start: int
    window_end: int
    window_mode: str  # "1 At Any Time", "2 Immediately", "3 When Idle", "4 Confirmation Needed"
    user_message: str = ""
    max_retries: int = 0


@dataclass(slots=True)
class ArgStruct:
    name: str
    value: str


# ChangeDUState operations (CWMP 1.2+)
@dataclass(slots=True)
class InstallOpStruct:
    url: str
    uuid: str = ""
    username: str = ""
    password: str = ""
    execution_env_ref: str = ""


@dataclass(slots=True)
class UpdateOpStruct:
    uuid: str = ""
    version: str = ""
    url: str = ""
    username: str = ""
    password: str = ""


@dataclass(slots=True)
class UninstallOpStruct:
    uuid: str
    version: str = ""
    execution_env_ref: str = ""


OperationStruct = InstallOpStruct | UpdateOpStruct | UninstallOpStruct


@dataclass(slots=True)
class OpResultStruct:
    uuid: str
    deployment_unit_ref: str
    version: str
    current_state: str  # "Installed", "Uninstalled", "Failed"
    resolved: bool
    execution_unit_ref_list: str
    start_time: datetime | None
    complete_time: datetime | None
    fault: FaultStruct = field(default_factory=FaultStruct)


@dataclass(slots=True)
class AutonOpResultStruct:
    uuid: str
    deployment_unit_ref: str
    version: str
    current_state: str
    resolved: bool
    execution_unit_ref_list: str
    start_time: datetime | None
    complete_time: datetime | None
    fault: FaultStruct = field(default_factory=FaultStruct)
    operation_performed: str = "Install"


class Message:
    """Base of every CWMP body message."""

    __slots__ = ()

    RPC: ClassVar[str]
    DIRECTION: ClassVar[str]


# ---------------------------------------------------------------- CPE -> ACS requests
@dataclass(slots=True)
class Inform(Message):
    RPC: ClassVar[str] = "Inform"
    DIRECTION: ClassVar[str] = "cpe"
    device_id: DeviceIdStruct
    events: list[EventStruct]
    max_envelopes: int = 1
    current_time: datetime | None = None
    retry_count: int = 0
    parameter_list: list[ParameterValueStruct] = field(default_factory=list)


@dataclass(slots=True)
class TransferComplete(Message):
    RPC: ClassVar[str] = "TransferComplete"
    DIRECTION: ClassVar[str] = "cpe"
    command_key: str
    fault: FaultStruct = field(default_factory=FaultStruct)
    start_time: datetime | None = None
    complete_time: datetime | None = None


@dataclass(slots=True)
class AutonomousTransferComplete(Message):
    RPC: ClassVar[str] = "AutonomousTransferComplete"
    DIRECTION: ClassVar[str] = "cpe"
    announce_url: str
    transfer_url: str
    is_download: bool
    file_type: str
    file_size: int
    target_file_name: str
    fault: FaultStruct = field(default_factory=FaultStruct)
    start_time: datetime | None = None
    complete_time: datetime | None = None


@dataclass(slots=True)
class DUStateChangeComplete(Message):
    RPC: ClassVar[str] = "DUStateChangeComplete"
    DIRECTION: ClassVar[str] = "cpe"
    results: list[OpResultStruct]
    command_key: str = ""


@dataclass(slots=True)
class AutonomousDUStateChangeComplete(Message):
    RPC: ClassVar[str] = "AutonomousDUStateChangeComplete"
    DIRECTION: ClassVar[str] = "cpe"
    results: list[AutonOpResultStruct]


@dataclass(slots=True)
class RequestDownload(Message):
    RPC: ClassVar[str] = "RequestDownload"
    DIRECTION: ClassVar[str] = "cpe"
    file_type: str
    file_type_arg: list[ArgStruct] = field(default_factory=list)


@dataclass(slots=True)
class Kicked(Message):
    RPC: ClassVar[str] = "Kicked"
    DIRECTION: ClassVar[str] = "cpe"
    command: str
    referer: str
    arg: str
    next: str


# GetRPCMethods goes both ways; one class, DIRECTION is "both".
@dataclass(slots=True)
class GetRPCMethods(Message):
    RPC: ClassVar[str] = "GetRPCMethods"
    DIRECTION: ClassVar[str] = "both"


@dataclass(slots=True)
class GetRPCMethodsResponse(Message):
    RPC: ClassVar[str] = "GetRPCMethodsResponse"
    DIRECTION: ClassVar[str] = "both"
    method_list: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- ACS -> CPE responses to CPE requests
@dataclass(slots=True)
class InformResponse(Message):
    RPC: ClassVar[str] = "InformResponse"
    DIRECTION: ClassVar[str] = "acs"
    max_envelopes: int = 1


@dataclass(slots=True)
class TransferCompleteResponse(Message):
    RPC: ClassVar[str] = "TransferCompleteResponse"
    DIRECTION: ClassVar[str] = "acs"


@dataclass(slots=True)
class AutonomousTransferCompleteResponse(Message):
    RPC: ClassVar[str] = "AutonomousTransferCompleteResponse"
    DIRECTION: ClassVar[str] = "acs"


@dataclass(slots=True)
class DUStateChangeCompleteResponse(Message):
    RPC: ClassVar[str] = "DUStateChangeCompleteResponse"
    DIRECTION: ClassVar[str] = "acs"


@dataclass(slots=True)
class AutonomousDUStateChangeCompleteResponse(Message):
    RPC: ClassVar[str] = "AutonomousDUStateChangeCompleteResponse"
    DIRECTION: ClassVar[str] = "acs"


@dataclass(slots=True)
class RequestDownloadResponse(Message):
    RPC: ClassVar[str] = "RequestDownloadResponse"
    DIRECTION: ClassVar[str] = "acs"


@dataclass(slots=True)
class KickedResponse(Message):
    RPC: ClassVar[str] = "KickedResponse"
    DIRECTION: ClassVar[str] = "acs"
    next_url: str = ""


# ---------------------------------------------------------------- ACS -> CPE requests
@dataclass(slots=True)
class GetParameterNames(Message):
    RPC: ClassVar[str] = "GetParameterNames"
    DIRECTION: ClassVar[str] = "acs"
    parameter_path: str
    next_level: bool


@dataclass(slots=True)
class GetParameterValues(Message):
    RPC: ClassVar[str] = "GetParameterValues"
    DIRECTION: ClassVar[str] = "acs"
    parameter_names: list[str]


@dataclass(slots=True)
class SetParameterValues(Message):
    RPC: ClassVar[str] = "SetParameterValues"
    DIRECTION: ClassVar[str] = "acs"
    parameter_list: list[ParameterValueStruct]
    parameter_key: str = ""


@dataclass(slots=True)
class GetParameterAttributes(Message):
    RPC: ClassVar[str] = "GetParameterAttributes"
    DIRECTION: ClassVar[str] = "acs"
    parameter_names: list[str]


@dataclass(slots=True)
class SetParameterAttributes(Message):
    RPC: ClassVar[str] = "SetParameterAttributes"
    DIRECTION: ClassVar[str] = "acs"
    parameter_list: list[SetParameterAttributesStruct]


@dataclass(slots=True)
class AddObject(Message):
    RPC: ClassVar[str] = "AddObject"
    DIRECTION: ClassVar[str] = "acs"
    object_name: str  # ends with "."
    parameter_key: str = ""


@dataclass(slots=True)
class DeleteObject(Message):
    RPC: ClassVar[str] = "DeleteObject"
    DIRECTION: ClassVar[str] = "acs"
    object_name: str  # ends with "<instance>."
    parameter_key: str = ""


@dataclass(slots=True)
class Reboot(Message):
    RPC: ClassVar[str] = "Reboot"
    DIRECTION: ClassVar[str] = "acs"
    command_key: str = ""


@dataclass(slots=True)
class Download(Message):
    RPC: ClassVar[str] = "Download"
    DIRECTION: ClassVar[str] = "acs"
    command_key: str
    file_type: str  # "1 Firmware Upgrade Image", "2 Web Content", "3 Vendor Configuration File", ...
    url: str
    username: str = ""
    password: str = ""
    file_size: int = 0
    target_file_name: str = ""
    delay_seconds: int = 0
    success_url: str = ""
    failure_url: str = ""


@dataclass(slots=True)
class Upload(Message):
    RPC: ClassVar[str] = "Upload"
    DIRECTION: ClassVar[str] = "acs"
    command_key: str
    file_type: str  # "1 Vendor Configuration File", "2 Vendor Log File", ...
    url: str
    username: str = ""
    password: str = ""
    delay_seconds: int = 0


@dataclass(slots=True)
class FactoryReset(Message):
    RPC: ClassVar[str] = "FactoryReset"
    DIRECTION: ClassVar[str] = "acs"


@dataclass(slots=True)
class ScheduleInform(Message):
    RPC: ClassVar[str] = "ScheduleInform"
    DIRECTION: ClassVar[str] = "acs"
    delay_seconds: int
    command_key: str = ""


@dataclass(slots=True)
class GetQueuedTransfers(Message):
    RPC: ClassVar[str] = "GetQueuedTransfers"
    DIRECTION: ClassVar[str] = "acs"


@dataclass(slots=True)
class GetAllQueuedTransfers(Message):
    RPC: ClassVar[str] = "GetAllQueuedTransfers"
    DIRECTION: ClassVar[str] = "acs"


@dataclass(slots=True)
class ScheduleDownload(Message):
    RPC: ClassVar[str] = "ScheduleDownload"
    DIRECTION: ClassVar[str] = "acs"
    command_key: str
    file_type: str
    url: str
    username: str = ""
    password: str = ""
    file_size: int = 0
    target_file_name: str = ""
    time_windows: list[TimeWindowStruct] = field(default_factory=list)


@dataclass(slots=True)
class CancelTransfer(Message):
    RPC: ClassVar[str] = "CancelTransfer"
    DIRECTION: ClassVar[str] = "acs"
    command_key: str


@dataclass(slots=True)
class ChangeDUState(Message):
    RPC: ClassVar[str] = "ChangeDUState"
    DIRECTION: ClassVar[str] = "acs"
    operations: list[OperationStruct]
    command_key: str = ""


# ---------------------------------------------------------------- CPE -> ACS responses
@dataclass(slots=True)
class GetParameterNamesResponse(Message):
    RPC: ClassVar[str] = "GetParameterNamesResponse"
    DIRECTION: ClassVar[str] = "cpe"
    parameter_list: list[ParameterInfoStruct]


@dataclass(slots=True)
class GetParameterValuesResponse(Message):
    RPC: ClassVar[str] = "GetParameterValuesResponse"
    DIRECTION: ClassVar[str] = "cpe"
    parameter_list: list[ParameterValueStruct]


@dataclass(slots=True)
class SetParameterValuesResponse(Message):
    RPC: ClassVar[str] = "SetParameterValuesResponse"
    DIRECTION: ClassVar[str] = "cpe"
    status: int  # 0 applied, 1 applied and committed later (e.g. after reboot)


@dataclass(slots=True)
class GetParameterAttributesResponse(Message):
    RPC: ClassVar[str] = "GetParameterAttributesResponse"
    DIRECTION: ClassVar[str] = "cpe"
    parameter_list: list[ParameterAttributeStruct]


@dataclass(slots=True)
class SetParameterAttributesResponse(Message):
    RPC: ClassVar[str] = "SetParameterAttributesResponse"
    DIRECTION: ClassVar[str] = "cpe"


@dataclass(slots=True)
class AddObjectResponse(Message):
    RPC: ClassVar[str] = "AddObjectResponse"
    DIRECTION: ClassVar[str] = "cpe"
    instance_number: int
    status: int = 0


@dataclass(slots=True)
class DeleteObjectResponse(Message):
    RPC: ClassVar[str] = "DeleteObjectResponse"
    DIRECTION: ClassVar[str] = "cpe"
    status: int = 0


@dataclass(slots=True)
class RebootResponse(Message):
    RPC: ClassVar[str] = "RebootResponse"
    DIRECTION: ClassVar[str] = "cpe"


@dataclass(slots=True)
class DownloadResponse(Message):
    RPC: ClassVar[str] = "DownloadResponse"
    DIRECTION: ClassVar[str] = "cpe"
    status: int  # 0 completed, 1 will complete later with TransferComplete
    start_time: datetime | None = None
    complete_time: datetime | None = None


@dataclass(slots=True)
class UploadResponse(Message):
    RPC: ClassVar[str] = "UploadResponse"
    DIRECTION: ClassVar[str] = "cpe"
    status: int
    start_time: datetime | None = None
    complete_time: datetime | None = None


@dataclass(slots=True)
class FactoryResetResponse(Message):
    RPC: ClassVar[str] = "FactoryResetResponse"
    DIRECTION: ClassVar[str] = "cpe"


@dataclass(slots=True)
class ScheduleInformResponse(Message):
    RPC: ClassVar[str] = "ScheduleInformResponse"
    DIRECTION: ClassVar[str] = "cpe"


@dataclass(slots=True)
class GetQueuedTransfersResponse(Message):
    RPC: ClassVar[str] = "GetQueuedTransfersResponse"
    DIRECTION: ClassVar[str] = "cpe"
    transfer_list: list[QueuedTransferStruct] = field(default_factory=list)


@dataclass(slots=True)
class GetAllQueuedTransfersResponse(Message):
    RPC: ClassVar[str] = "GetAllQueuedTransfersResponse"
    DIRECTION: ClassVar[str] = "cpe"
    transfer_list: list[AllQueuedTransferStruct] = field(default_factory=list)


@dataclass(slots=True)
class ScheduleDownloadResponse(Message):
    RPC: ClassVar[str] = "ScheduleDownloadResponse"
    DIRECTION: ClassVar[str] = "cpe"


@dataclass(slots=True)
class CancelTransferResponse(Message):
    RPC: ClassVar[str] = "CancelTransferResponse"
    DIRECTION: ClassVar[str] = "cpe"


@dataclass(slots=True)
class ChangeDUStateResponse(Message):
    RPC: ClassVar[str] = "ChangeDUStateResponse"
    DIRECTION: ClassVar[str] = "cpe"


# ---------------------------------------------------------------- Faults (both ways)
@dataclass(slots=True)
class SetParameterValuesFault:
    parameter_name: str
    fault_code: int
    fault_string: str = ""


@dataclass(slots=True)
class Fault(Message):
    """A SOAP Fault carrying a cwmp:Fault detail.

    ACS faults are 8000-8006 (vendor 8800-8899); CPE faults 9000-9032 (vendor 9800-9899).
    ``faultcode`` is "Client" or "Server" as SOAP 1.1 says.
    """

    RPC: ClassVar[str] = "Fault"
    DIRECTION: ClassVar[str] = "both"
    fault_code: int
    fault_string: str = ""
    faultcode: str = "Client"
    faultstring: str = "CWMP fault"
    set_parameter_values_faults: list[SetParameterValuesFault] = field(default_factory=list)


# Registry: element local name -> class. Used by the codec and by tests.
MESSAGE_TYPES: dict[str, type[Message]] = {
    cls.RPC: cls
    for cls in list(globals().values())
    if isinstance(cls, type) and issubclass(cls, Message) and cls is not Message
}


@dataclass(slots=True)
class Envelope:
    """One SOAP envelope: header fields plus exactly one body message (or None for an empty body).

    ``cwmp_ns`` is the cwmp namespace URI the peer used (answer in the same one);
    ``cwmp_version`` is the detected version ("1.0".."1.4"), which for 1.3/1.4 comes
    from SupportedCWMPVersions/UseCWMPVersion since they share the cwmp-1-2 namespace.
    """

    body: Message | None
    id: str | None = None
    hold_requests: bool | None = None
    session_timeout: int | None = None
    supported_cwmp_versions: str | None = None
    use_cwmp_version: str | None = None
    no_more_requests: bool | None = None
    cwmp_ns: str = "urn:dslforum-org:cwmp-1-0"
    cwmp_version: str = "1.0"
    extra: dict[str, Any] = field(default_factory=dict)
