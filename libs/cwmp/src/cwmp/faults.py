"""CWMP fault codes: the ACS range (8000-8899) and the CPE range (9000-9899).

``fault_string`` gives the standard description of a code, ``soap_faultcode`` the SOAP 1.1
``faultcode`` ("Client" when the caller's arguments are at fault, "Server" otherwise), and
``make_fault`` a ready ``messages.Fault``.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum

from .messages import Fault, SetParameterValuesFault


class FaultCode(IntEnum):
    # ACS faults (sent by the ACS in answer to a CPE request)
    ACS_METHOD_NOT_SUPPORTED = 8000
    ACS_REQUEST_DENIED = 8001
    ACS_INTERNAL_ERROR = 8002
    ACS_INVALID_ARGUMENTS = 8003
    ACS_RESOURCES_EXCEEDED = 8004
    ACS_RETRY_REQUEST = 8005
    ACS_VERSION_INCOMPATIBLE = 8006
    # CPE faults (sent by the CPE in answer to an ACS request, or in TransferComplete)
    METHOD_NOT_SUPPORTED = 9000
    REQUEST_DENIED = 9001
    INTERNAL_ERROR = 9002
    INVALID_ARGUMENTS = 9003
    RESOURCES_EXCEEDED = 9004
    INVALID_PARAMETER_NAME = 9005
    INVALID_PARAMETER_TYPE = 9006
    INVALID_PARAMETER_VALUE = 9007
    NON_WRITABLE_PARAMETER = 9008
    NOTIFICATION_REQUEST_REJECTED = 9009
    DOWNLOAD_FAILURE = 9010
    UPLOAD_FAILURE = 9011
    TRANSFER_AUTHENTICATION_FAILURE = 9012
    UNSUPPORTED_TRANSFER_PROTOCOL = 9013
    MULTICAST_JOIN_FAILURE = 9014
    FILE_SERVER_UNREACHABLE = 9015
    FILE_ACCESS_FAILURE = 9016
    DOWNLOAD_INCOMPLETE = 9017
    FILE_CORRUPTED = 9018
    FILE_AUTHENTICATION_FAILURE = 9019
    TIME_WINDOWS_MISSED = 9020
    CANCEL_NOT_PERMITTED = 9021
    INVALID_UUID_FORMAT = 9022
    UNKNOWN_EXECUTION_ENVIRONMENT = 9023
    DISABLED_EXECUTION_ENVIRONMENT = 9024
    DU_EE_MISMATCH = 9025
    DUPLICATE_DEPLOYMENT_UNIT = 9026
    SYSTEM_RESOURCES_EXCEEDED = 9027
    UNKNOWN_DEPLOYMENT_UNIT = 9028
    INVALID_DEPLOYMENT_UNIT_STATE = 9029
    DU_DOWNGRADE_NOT_PERMITTED = 9030
    DU_VERSION_NOT_SPECIFIED = 9031
    DU_VERSION_EXISTS = 9032


_STRINGS: dict[int, str] = {
    8000: "Method not supported",
    8001: "Request denied (no reason specified)",
    8002: "Internal error",
    8003: "Invalid arguments",
    8004: "Resources exceeded",
    8005: "Retry request",
    8006: "ACS version incompatible with CPE",
    9000: "Method not supported",
    9001: "Request denied (no reason specified)",
    9002: "Internal error",
    9003: "Invalid arguments",
    9004: "Resources exceeded",
    9005: "Invalid parameter name",
    9006: "Invalid parameter type",
    9007: "Invalid parameter value",
    9008: "Attempt to set a non-writable parameter",
    9009: "Notification request rejected",
    9010: "File transfer failure",
    9011: "Upload failure",
    9012: "File transfer server authentication failure",
    9013: "Unsupported protocol for file transfer",
    9014: "File transfer failure: unable to join multicast group",
    9015: "File transfer failure: unable to contact file server",
    9016: "File transfer failure: unable to access file",
    9017: "File transfer failure: unable to complete download",
    9018: "File transfer failure: file corrupted or otherwise unusable",
    9019: "File transfer failure: file authentication failure",
    9020: "File transfer failure: unable to complete download within specified time windows",
    9021: "Cancelation of file transfer not permitted in current transfer state",
    9022: "Invalid UUID format",
    9023: "Unknown Execution Environment",
    9024: "Disabled Execution Environment",
    9025: "Deployment Unit to Execution Environment mismatch",
    9026: "Duplicate Deployment Unit",
    9027: "System resources exceeded",
    9028: "Unknown Deployment Unit",
    9029: "Invalid Deployment Unit state",
    9030: "Invalid Deployment Unit Update: downgrade not permitted",
    9031: "Invalid Deployment Unit Update: version not specified",
    9032: "Invalid Deployment Unit Update: version already exists",
}

# Faults caused by what the requester sent; everything else is the receiver's ("Server").
_CLIENT_FAULTS = frozenset({8003, 9003, 9005, 9006, 9007, 9008, 9022})


def is_acs_fault(code: int) -> bool:
    """8000-8899: faults the ACS sends (8800-8899 vendor specific)."""
    return 8000 <= code <= 8899


def is_cpe_fault(code: int) -> bool:
    """9000-9899: faults the CPE sends (9800-9899 vendor specific)."""
    return 9000 <= code <= 9899


def is_vendor_fault(code: int) -> bool:
    return 8800 <= code <= 8899 or 9800 <= code <= 9899


def fault_string(code: int) -> str:
    """The standard description of ``code``; a generic one for vendor or unassigned codes."""
    text = _STRINGS.get(int(code))
    if text is not None:
        return text
    if is_vendor_fault(code):
        return "Vendor fault"
    if is_acs_fault(code) or is_cpe_fault(code):
        return "Unassigned fault"
    return "Unknown fault"


def soap_faultcode(code: int) -> str:
    """SOAP 1.1 faultcode for a CWMP fault: "Client" or "Server"."""
    return "Client" if int(code) in _CLIENT_FAULTS else "Server"


def make_fault(
    code: int,
    text: str | None = None,
    set_parameter_values_faults: Iterable[SetParameterValuesFault] = (),
) -> Fault:
    """A ``messages.Fault`` with the standard string and SOAP faultcode for ``code``."""
    return Fault(
        fault_code=int(code),
        fault_string=fault_string(code) if text is None else text,
        faultcode=soap_faultcode(code),
        faultstring="CWMP fault",
        set_parameter_values_faults=list(set_parameter_values_faults),
    )
