"""Fault codes and CWMP version handling."""

from __future__ import annotations

import pytest

from cwmp import faults, versions
from cwmp.faults import FaultCode


def test_fault_code_ranges_and_strings() -> None:
    codes = {int(c) for c in FaultCode}
    assert codes == set(range(8000, 8007)) | set(range(9000, 9033))
    assert faults.fault_string(8000) == "Method not supported"
    assert faults.fault_string(FaultCode.NON_WRITABLE_PARAMETER) == "Attempt to set a non-writable parameter"
    assert faults.fault_string(9032) == "Invalid Deployment Unit Update: version already exists"
    assert faults.fault_string(9850) == "Vendor fault"
    assert faults.fault_string(8850) == "Vendor fault"
    assert faults.fault_string(9500) == "Unassigned fault"
    assert faults.fault_string(42) == "Unknown fault"
    assert all(faults.fault_string(c) not in ("Vendor fault", "Unassigned fault", "Unknown fault") for c in codes)


@pytest.mark.parametrize(("code", "acs", "cpe"), [(8000, True, False), (8899, True, False), (8900, False, False), (9000, False, True), (9899, False, True), (9900, False, False), (0, False, False)])
def test_fault_ranges(code: int, acs: bool, cpe: bool) -> None:
    assert faults.is_acs_fault(code) is acs and faults.is_cpe_fault(code) is cpe


def test_make_fault() -> None:
    fault = faults.make_fault(FaultCode.INVALID_PARAMETER_VALUE)
    assert (fault.fault_code, fault.fault_string, fault.faultcode) == (9007, "Invalid parameter value", "Client")
    assert faults.make_fault(8002).faultcode == "Server"
    assert type(fault.fault_code) is int


def test_namespaces() -> None:
    assert versions.namespace_for("1.0") == "urn:dslforum-org:cwmp-1-0"
    assert versions.namespace_for("1.1") == "urn:dslforum-org:cwmp-1-1"
    assert {versions.namespace_for(v) for v in ("1.2", "1.3", "1.4")} == {"urn:dslforum-org:cwmp-1-2"}
    assert versions.version_for_namespace("urn:dslforum-org:cwmp-1-2") == "1.2"
    assert versions.version_for_namespace("urn:other") is None
    with pytest.raises(ValueError):
        versions.namespace_for("2.0")


@pytest.mark.parametrize(
    ("ns", "supported", "acs", "chosen"),
    [
        (versions.CWMP_1_0, None, versions.VERSIONS, "1.0"),
        (versions.CWMP_1_2, None, versions.VERSIONS, "1.2"),
        (versions.CWMP_1_2, "1.0,1.1,1.2,1.3,1.4", versions.VERSIONS, "1.4"),
        (versions.CWMP_1_2, "1.0,1.1,1.2,1.3,1.4", ("1.0", "1.1", "1.2", "1.3"), "1.3"),
        (versions.CWMP_1_2, "1.4, 1.5", versions.VERSIONS, "1.4"),
        (versions.CWMP_1_2, "2.0", versions.VERSIONS, None),
        (versions.CWMP_1_1, None, ("1.0",), None),
    ],
)
def test_choose_version(ns: str, supported: str | None, acs: tuple[str, ...], chosen: str | None) -> None:
    assert versions.choose_version(ns, supported, acs) == chosen


def test_version_helpers() -> None:
    assert versions.parse_version_list(" 1.0 ,1.4;junk, 1.10") == ["1.0", "1.4", "1.10"]
    assert versions.version_key("1.10") > versions.version_key("1.4")
    assert versions.rpc_available("ChangeDUState", "1.2") and not versions.rpc_available("ChangeDUState", "1.1")
    assert versions.rpc_available("Inform", "1.0")
    assert versions.supported_versions_header() == "1.0,1.1,1.2,1.3,1.4"
