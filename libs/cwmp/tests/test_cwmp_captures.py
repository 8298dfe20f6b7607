"""Every real capture in shared/cwmp-captures parses, with its quirks read the tolerant way."""

from __future__ import annotations

import csv
from datetime import UTC, datetime

import pytest
from cwmp_xsd import CAPTURES, missing_reason

from cwmp import messages as m
from cwmp import soap, versions
from cwmp.errors import EncodeError
from cwmp.events import EventCode

if missing_reason(CAPTURES / "INDEX.tsv"):
    pytest.skip(missing_reason(CAPTURES / "INDEX.tsv"), allow_module_level=True)

with (CAPTURES / "INDEX.tsv").open(newline="") as fh:
    INDEX = list(csv.DictReader(fh, delimiter="\t"))


def _expected_rpc(row: dict[str, str]) -> str | None:
    """"Inform[CPE->ACS]" -> "Inform"; the empty POST -> None."""
    kind = row["message_types"]
    return None if kind.startswith("empty") else kind.split("[", 1)[0]


def _sent_by_cpe(row: dict[str, str]) -> bool:
    return "CPE->ACS" in row["message_types"] or row["message_types"].startswith("empty")


def test_index_lists_captures_from_both_sides() -> None:
    assert len(INDEX) >= 40
    assert sum(_sent_by_cpe(r) for r in INDEX) > sum(not _sent_by_cpe(r) for r in INDEX) > 0


@pytest.mark.parametrize("row", INDEX, ids=[r["file"] for r in INDEX])
def test_capture_parses(row: dict[str, str]) -> None:
    data = (CAPTURES / row["file"]).read_bytes()
    env = soap.parse(data)
    rpc = _expected_rpc(row)
    if rpc is None:
        assert env is None
        return
    assert env is not None
    assert env.body is not None and env.body.RPC == rpc
    assert env.cwmp_ns == "urn:dslforum-org:" + row["cwmp_namespace"]
    assert env.cwmp_version == versions.version_for_namespace(env.cwmp_ns)
    # What the codec read, it can write and read back unchanged; except values kept as raw
    # text because they did not fit their declared type, which build() refuses to send.
    params = getattr(env.body, "parameter_list", [])
    misfits = [p for p in params if isinstance(p, m.ParameterValueStruct) and isinstance(p.value, str) and p.type != "xsd:string"]
    if misfits:
        with pytest.raises(EncodeError):
            soap.build(env)
        return
    again = soap.parse(soap.build(env))
    assert again is not None and again.body == env.body and again.id == env.id


def _parse(relative: str) -> m.Envelope:
    env = soap.parse((CAPTURES / relative).read_bytes())
    assert env is not None
    return env


def test_malformed_current_time_is_read_as_unknown_with_a_warning() -> None:
    """cycto.xml sends CurrentTime "2019-03-05T11:54::14": the Inform still counts."""
    env = _parse("Fullrate_cwmp_ex/test/parser/samples/inform/cycto.xml")
    inform = env.body
    assert isinstance(inform, m.Inform)
    assert inform.current_time is None
    assert any("2019-03-05T11:54::14" in w for w in env.extra["warnings"])
    assert inform.device_id.oui == "00a859"  # lower-case OUI kept as sent
    assert inform.retry_count == 942
    assert inform.events == [m.EventStruct(EventCode.PERIODIC, "")]


def test_current_time_without_zone_is_naive() -> None:
    inform = _parse("Fullrate_cwmp_ex/test/parser/samples/inform/2601.xml").body
    assert isinstance(inform, m.Inform)
    assert inform.current_time == datetime(2015, 1, 19, 23, 8, 24)
    assert inform.current_time.tzinfo is None


def test_whitespace_in_string_values_is_kept() -> None:
    inform = _parse("freeacs_freeacs/tr069/src/test/resources/provision/cpe/Inform.xml").body
    assert isinstance(inform, m.Inform)
    summary = inform.parameter_list[0]
    assert summary.name == "InternetGatewayDevice.DeviceSummary"
    assert summary.value.startswith("InternetGatewayDevice:1.0[](Baseline:1") and summary.value.endswith("IPPing:1)\n                    ")
    assert [e.event_code for e in inform.events] == ["0 BOOTSTRAP", "1 BOOT", "4 VALUE CHANGE"]


def test_array_counts_that_disagree_with_arraytype_are_ignored() -> None:
    """getnames.txt says ParameterInfoStruct[213] and carries 227 entries, one with Writable 30."""
    env = _parse("paraam_tr069-simulator/src/main/resources/dump/microcell/getnames.txt")
    body = env.body
    assert isinstance(body, m.GetParameterNamesResponse)
    assert len(body.parameter_list) == 227
    odd = [p for p in body.parameter_list if p.name == "Device.TraceRouteDiagnostics.MaxHopCount"]
    assert odd[0].writable is True
    assert any("'30' is not a boolean" in w for w in env.extra["warnings"])


def test_values_that_do_not_fit_their_type_are_kept_as_text() -> None:
    """getvalues.txt declares xsd:unsignedInt for "0001-01-01T00:00:00" and "1.0.21 1.0.23"."""
    body = _parse("paraam_tr069-simulator/src/main/resources/dump/microcell/getvalues.txt").body
    assert isinstance(body, m.GetParameterValuesResponse)
    values = {p.name: p for p in body.parameter_list}
    assert values["Device.DeviceInfo.X_00000C_RouterModuleVersion"] == m.ParameterValueStruct(
        "Device.DeviceInfo.X_00000C_RouterModuleVersion", "1.0.21 1.0.23", "xsd:unsignedInt"
    )
    assert values["Device.DeviceInfo.X_00000C_BootTime"].value == "0001-01-01T00:00:00"
    # 0001-01-01 is the protocol's "unknown time": a real dateTime value, kept as one.
    assert values["Device.ManagementServer.PeriodicInformTime"].value == datetime(1, 1, 1)
    assert values["Device.Time.CurrentLocalTime"].value == datetime(1, 1, 1, 0, 0, 43)
    assert {type(p.value) for p in body.parameter_list} >= {str, int, bool, datetime}


def test_soap_enc_array_type_attribute_and_no_header() -> None:
    hgw4 = _parse("Fullrate_cwmp_ex/test/parser/extracted_from_inform_test_exs/sample_hgw4.xml")
    assert isinstance(hgw4.body, m.Inform) and len(hgw4.body.parameter_list) == 8
    vap = _parse("Fullrate_cwmp_ex/test/parser/extracted_from_inform_test_exs/sample_vap.xml")
    assert vap.id is None and isinstance(vap.body, m.Inform)
    assert vap.body.device_id.oui == "001404"


def test_acs_side_captures_read_as_acs_messages() -> None:
    gpn = _parse("freeacs_freeacs/tr069/src/test/resources/discover/4_GetParameterNames.xml").body
    assert gpn == m.GetParameterNames("InternetGatewayDevice.", False)
    spv = _parse("freeacs_freeacs/tr069/src/test/resources/discover/8_SetParameterValues.xml").body
    assert spv == m.SetParameterValues(
        [m.ParameterValueStruct("InternetGatewayDevice.ManagementServer.PeriodicInformInterval", 0, "xsd:unsignedInt")],
        "No data in DB",
    )
    ir = _parse("freeacs_freeacs/tr069/src/test/resources/provision/acs/InformResponse.xml")
    assert ir.body == m.InformResponse(1) and ir.cwmp_ns == versions.CWMP_1_2 and ir.id == "1"


def test_unsynced_clock_current_time_is_kept() -> None:
    inform = _parse("freeacs_freeacs/tr069/src/test/resources/digest/1_inform.xml").body
    assert isinstance(inform, m.Inform)
    assert inform.current_time == datetime(1970, 1, 2, 0, 8, 34)
    assert inform.current_time.replace(tzinfo=UTC).year == 1970
