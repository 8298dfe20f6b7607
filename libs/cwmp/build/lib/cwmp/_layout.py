"""The wire layout of every CWMP RPC and struct: which child elements, in which order, of
which kind. One table drives both the reader (``_decode``) and the writer (``_encode``),
so the two cannot drift apart; the order is the XSD's sequence order.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from . import messages as m

# Field kinds
STR = "str"  # element text, verbatim
INT = "int"  # integer
BOOL = "bool"  # 0/1/true/false
TIME = "time"  # xsd:dateTime, None <-> 0001-01-01T00:00:00Z ("unknown time")
EVENT = "event"  # EventCode
STRUCT = "struct"  # one nested element, ``item`` is its dataclass
ARRAY = "array"  # SOAP-ENC array of ``item`` (a dataclass, or STR for string arrays)
REPEAT = "repeat"  # the element itself repeats, once per list item (no array wrapper)
OPERATIONS = "operations"  # ChangeDUState Operations: repeated, typed by xsi:type
VALUES = "values"  # SOAP-ENC array of ParameterValueStruct (hot path, own code)


@dataclass(frozen=True, slots=True)
class Field:
    attr: str  # dataclass attribute
    tag: str  # element local name
    kind: str = STR
    item: Any = None  # dataclass for STRUCT / ARRAY / REPEAT, STR for string arrays
    item_tag: str = ""  # ARRAY: element name of each item
    array_type: str = ""  # ARRAY: SOAP-ENC:arrayType without the [n]
    omit_empty: bool = False  # XSD minOccurs="0": left out when the value is empty
    required: bool = True  # set from the dataclass: False when the field has a default


def _f(attr: str, tag: str, kind: str = STR, item: Any = None, item_tag: str = "", array_type: str = "", omit_empty: bool = False) -> Field:
    return Field(attr, tag, kind, item, item_tag, array_type, omit_empty)


def _strings(attr: str, tag: str) -> Field:
    return _f(attr, tag, ARRAY, STR, "string", "xsd:string")


def _array(attr: str, tag: str, cls: type) -> Field:
    return _f(attr, tag, ARRAY, cls, cls.__name__, f"cwmp:{cls.__name__}")


_FAULT_STRUCT = (_f("fault_code", "FaultCode", INT), _f("fault_string", "FaultString"))
_OP_RESULT = (
    _f("uuid", "UUID"),
    _f("deployment_unit_ref", "DeploymentUnitRef"),
    _f("version", "Version"),
    _f("current_state", "CurrentState"),
    _f("resolved", "Resolved", BOOL),
    _f("execution_unit_ref_list", "ExecutionUnitRefList"),
    _f("start_time", "StartTime", TIME),
    _f("complete_time", "CompleteTime", TIME),
    _f("fault", "Fault", STRUCT, m.FaultStruct),
)
_FILE_TRANSFER = (
    _f("command_key", "CommandKey"),
    _f("file_type", "FileType"),
    _f("url", "URL"),
    _f("username", "Username"),
    _f("password", "Password"),
)

_RAW: dict[type, tuple[Field, ...]] = {
    # ------------------------------------------------------------ structs
    m.DeviceIdStruct: (
        _f("manufacturer", "Manufacturer"),
        _f("oui", "OUI"),
        _f("product_class", "ProductClass"),
        _f("serial_number", "SerialNumber"),
    ),
    m.EventStruct: (_f("event_code", "EventCode", EVENT), _f("command_key", "CommandKey")),
    m.ParameterInfoStruct: (_f("name", "Name"), _f("writable", "Writable", BOOL)),
    m.ParameterAttributeStruct: (
        _f("name", "Name"),
        _f("notification", "Notification", INT),
        _strings("access_list", "AccessList"),
    ),
    m.SetParameterAttributesStruct: (
        _f("name", "Name"),
        _f("notification_change", "NotificationChange", BOOL),
        _f("notification", "Notification", INT),
        _f("access_list_change", "AccessListChange", BOOL),
        _strings("access_list", "AccessList"),
    ),
    m.QueuedTransferStruct: (_f("command_key", "CommandKey"), _f("state", "State", INT)),
    m.AllQueuedTransferStruct: (
        _f("command_key", "CommandKey"),
        _f("state", "State", INT),
        _f("is_download", "IsDownload", BOOL),
        _f("file_type", "FileType"),
        _f("file_size", "FileSize", INT),
        _f("target_file_name", "TargetFileName"),
    ),
    m.FaultStruct: _FAULT_STRUCT,
    m.TimeWindowStruct: (
        _f("window_start", "WindowStart", INT),
        _f("window_end", "WindowEnd", INT),
        _f("window_mode", "WindowMode"),
        _f("user_message", "UserMessage"),
        _f("max_retries", "MaxRetries", INT),
    ),
    m.ArgStruct: (_f("name", "Name"), _f("value", "Value")),
    m.InstallOpStruct: (
        _f("url", "URL"),
        _f("uuid", "UUID", omit_empty=True),
        _f("username", "Username", omit_empty=True),
        _f("password", "Password", omit_empty=True),
        _f("execution_env_ref", "ExecutionEnvRef", omit_empty=True),
    ),
    m.UpdateOpStruct: (
        _f("uuid", "UUID", omit_empty=True),
        _f("version", "Version", omit_empty=True),
        _f("url", "URL", omit_empty=True),
        _f("username", "Username", omit_empty=True),
        _f("password", "Password", omit_empty=True),
    ),
    m.UninstallOpStruct: (
        _f("uuid", "UUID"),
        _f("version", "Version", omit_empty=True),
        _f("execution_env_ref", "ExecutionEnvRef", omit_empty=True),
    ),
    m.OpResultStruct: _OP_RESULT,
    m.AutonOpResultStruct: _OP_RESULT + (_f("operation_performed", "OperationPerformed"),),
    m.SetParameterValuesFault: (
        _f("parameter_name", "ParameterName"),
        _f("fault_code", "FaultCode", INT),
        _f("fault_string", "FaultString"),
    ),
    # ------------------------------------------------------------ CPE -> ACS requests
    m.Inform: (
        _f("device_id", "DeviceId", STRUCT, m.DeviceIdStruct),
        _array("events", "Event", m.EventStruct),
        _f("max_envelopes", "MaxEnvelopes", INT),
        _f("current_time", "CurrentTime", TIME),
        _f("retry_count", "RetryCount", INT),
        _f("parameter_list", "ParameterList", VALUES),
    ),
    m.TransferComplete: (
        _f("command_key", "CommandKey"),
        _f("fault", "FaultStruct", STRUCT, m.FaultStruct),
        _f("start_time", "StartTime", TIME),
        _f("complete_time", "CompleteTime", TIME),
    ),
    m.AutonomousTransferComplete: (
        _f("announce_url", "AnnounceURL"),
        _f("transfer_url", "TransferURL"),
        _f("is_download", "IsDownload", BOOL),
        _f("file_type", "FileType"),
        _f("file_size", "FileSize", INT),
        _f("target_file_name", "TargetFileName"),
        _f("fault", "FaultStruct", STRUCT, m.FaultStruct),
        _f("start_time", "StartTime", TIME),
        _f("complete_time", "CompleteTime", TIME),
    ),
    m.DUStateChangeComplete: (
        _f("results", "Results", REPEAT, m.OpResultStruct),
        _f("command_key", "CommandKey"),
    ),
    m.AutonomousDUStateChangeComplete: (_f("results", "Results", REPEAT, m.AutonOpResultStruct),),
    m.RequestDownload: (_f("file_type", "FileType"), _array("file_type_arg", "FileTypeArg", m.ArgStruct)),
    m.Kicked: (_f("command", "Command"), _f("referer", "Referer"), _f("arg", "Arg"), _f("next", "Next")),
    m.GetRPCMethods: (),
    m.GetRPCMethodsResponse: (_strings("method_list", "MethodList"),),
    # ------------------------------------------------------------ ACS -> CPE responses
    m.InformResponse: (_f("max_envelopes", "MaxEnvelopes", INT),),
    m.TransferCompleteResponse: (),
    m.AutonomousTransferCompleteResponse: (),
    m.DUStateChangeCompleteResponse: (),
    m.AutonomousDUStateChangeCompleteResponse: (),
    m.RequestDownloadResponse: (),
    m.KickedResponse: (_f("next_url", "NextURL"),),
    # ------------------------------------------------------------ ACS -> CPE requests
    m.GetParameterNames: (_f("parameter_path", "ParameterPath"), _f("next_level", "NextLevel", BOOL)),
    m.GetParameterValues: (_strings("parameter_names", "ParameterNames"),),
    m.SetParameterValues: (_f("parameter_list", "ParameterList", VALUES), _f("parameter_key", "ParameterKey")),
    m.GetParameterAttributes: (_strings("parameter_names", "ParameterNames"),),
    m.SetParameterAttributes: (_array("parameter_list", "ParameterList", m.SetParameterAttributesStruct),),
    m.AddObject: (_f("object_name", "ObjectName"), _f("parameter_key", "ParameterKey")),
    m.DeleteObject: (_f("object_name", "ObjectName"), _f("parameter_key", "ParameterKey")),
    m.Reboot: (_f("command_key", "CommandKey"),),
    m.Download: _FILE_TRANSFER
    + (
        _f("file_size", "FileSize", INT),
        _f("target_file_name", "TargetFileName"),
        _f("delay_seconds", "DelaySeconds", INT),
        _f("success_url", "SuccessURL"),
        _f("failure_url", "FailureURL"),
    ),
    m.Upload: _FILE_TRANSFER + (_f("delay_seconds", "DelaySeconds", INT),),
    m.FactoryReset: (),
    m.ScheduleInform: (_f("delay_seconds", "DelaySeconds", INT), _f("command_key", "CommandKey")),
    m.GetQueuedTransfers: (),
    m.GetAllQueuedTransfers: (),
    m.ScheduleDownload: _FILE_TRANSFER
    + (
        _f("file_size", "FileSize", INT),
        _f("target_file_name", "TargetFileName"),
        _array("time_windows", "TimeWindowList", m.TimeWindowStruct),
    ),
    m.CancelTransfer: (_f("command_key", "CommandKey"),),
    m.ChangeDUState: (_f("operations", "Operations", OPERATIONS), _f("command_key", "CommandKey")),
    # ------------------------------------------------------------ CPE -> ACS responses
    m.GetParameterNamesResponse: (_array("parameter_list", "ParameterList", m.ParameterInfoStruct),),
    m.GetParameterValuesResponse: (_f("parameter_list", "ParameterList", VALUES),),
    m.SetParameterValuesResponse: (_f("status", "Status", INT),),
    m.GetParameterAttributesResponse: (_array("parameter_list", "ParameterList", m.ParameterAttributeStruct),),
    m.SetParameterAttributesResponse: (),
    m.AddObjectResponse: (_f("instance_number", "InstanceNumber", INT), _f("status", "Status", INT)),
    m.DeleteObjectResponse: (_f("status", "Status", INT),),
    m.RebootResponse: (),
    m.DownloadResponse: (
        _f("status", "Status", INT),
        _f("start_time", "StartTime", TIME),
        _f("complete_time", "CompleteTime", TIME),
    ),
    m.UploadResponse: (
        _f("status", "Status", INT),
        _f("start_time", "StartTime", TIME),
        _f("complete_time", "CompleteTime", TIME),
    ),
    m.FactoryResetResponse: (),
    m.ScheduleInformResponse: (),
    m.GetQueuedTransfersResponse: (_array("transfer_list", "TransferList", m.QueuedTransferStruct),),
    m.GetAllQueuedTransfersResponse: (_array("transfer_list", "TransferList", m.AllQueuedTransferStruct),),
    m.ScheduleDownloadResponse: (),
    m.CancelTransferResponse: (),
    m.ChangeDUStateResponse: (),
}

# ChangeDUState operations: xsi:type local name <-> dataclass
OPERATION_TYPES: dict[str, type] = {
    "InstallOpStruct": m.InstallOpStruct,
    "UpdateOpStruct": m.UpdateOpStruct,
    "UninstallOpStruct": m.UninstallOpStruct,
}


def _with_requiredness(cls: type, fields: tuple[Field, ...]) -> tuple[Field, ...]:
    has_default = {
        f.name
        for f in dataclasses.fields(cls)
        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
    }
    declared = {f.name for f in dataclasses.fields(cls)}
    out = []
    for f in fields:
        if f.attr not in declared:
            raise AssertionError(f"{cls.__name__} has no field {f.attr}")
        out.append(dataclasses.replace(f, required=f.attr not in has_default and f.kind != TIME))
    return tuple(out)


LAYOUTS: dict[type, tuple[Field, ...]] = {cls: _with_requiredness(cls, fields) for cls, fields in _RAW.items()}
