"""Bulk Data on the simulated CPE: the BulkData object in its model, a profile configured by
SetParameterValues/AddObject, and reports in every TR-232 encoding read back by the ACS's parser."""

from __future__ import annotations

import gzip
import time

import pytest

from cpe_simulator.bulkdata import BulkDataReporter, collect, encode, ensure_bulkdata, read_profiles
from cpe_simulator.datamodel import DataModel
from cpe_simulator.device import Device
from cwmp import messages as m

telemetry_reports = pytest.importorskip("telemetry.reports", reason="the ACS's report parser (services/telemetry) is not installed")

ROOT = "InternetGatewayDevice."
P = ROOT + "BulkData.Profile.1."
UPTIME = ROOT + "DeviceInfo.UpTime"


@pytest.fixture(scope="module")
def model() -> DataModel:
    return ensure_bulkdata(DataModel.default())


def configured(model: DataModel, encoding: str, fmt: str, timestamp: str = "Unix-Epoch", **extra: str) -> Device:
    dev = Device(model, serial="BULK0001")
    enc = "JSONEncoding." if encoding == "JSON" else "CSVEncoding."
    values = {P + "Enable": True, P + "EncodingType": encoding, P + "ReportingInterval": 60,
              P + enc + "ReportFormat": fmt, P + enc + ("ReportTimestamp" if encoding == "JSON" else "RowTimestamp"): timestamp,
              P + "HTTP.URL": "http://127.0.0.1:1/bulkdata", P + "HTTP.Username": "dev", P + "HTTP.Password": "pw",
              P + "Parameter.1.Reference": UPTIME, **extra}
    dev.handle(m.AddObject(object_name=P + "Parameter."))  # Parameter.2: every WAN connection's address
    values[P + "Parameter.2.Reference"] = ROOT + "WANDevice.*.WANConnectionDevice.*.WANIPConnection.*.ExternalIPAddress"
    resp = dev.handle(m.SetParameterValues(parameter_list=[
        m.ParameterValueStruct(k, v, "xsd:boolean" if isinstance(v, bool) else "xsd:unsignedInt" if isinstance(v, int) else "xsd:string")
        for k, v in values.items()], parameter_key="bd"))
    assert isinstance(resp, m.SetParameterValuesResponse)
    assert any(a.kind == "config" and ".BulkData." in str(a.arg) for a in dev.take_actions())
    return dev


def test_the_builtin_model_carries_bulkdata_and_real_dumps_keep_theirs(model: DataModel):
    assert model.node(ROOT + "BulkData.Profile.1.HTTP.URL").writable
    assert model.node(ROOT + "BulkData.Profile.").writable  # a table: profiles and references can be added
    again = ensure_bulkdata(model)
    assert again is model and sum(1 for p in model.nodes if p.endswith("BulkData.")) == 1


@pytest.mark.parametrize(("encoding", "fmt", "timestamp", "extra"), [
    ("JSON", "NameValuePair", "Unix-Epoch", {}),
    ("JSON", "ObjectHierarchy", "ISO-8601", {}),
    ("CSV", "ParameterPerRow", "Unix-Epoch", {}),
    ("CSV", "ParameterPerColumn", "Unix-Epoch", {P + "CSVEncoding.FieldSeparator": ";", P + "CSVEncoding.RowSeparator": "&#10;"}),
    ("CSV", "ParameterPerRow", "None", {}),
])
def test_reports_in_every_encoding_read_back_by_the_collector(model, encoding, fmt, timestamp, extra):
    dev = configured(model, encoding, fmt, timestamp, **extra)
    [profile] = read_profiles(dev)
    assert (profile.encoding, profile.report_format, profile.interval, profile.username) == (encoding, fmt, 60, "dev")
    t0 = 1_760_000_000.0
    first, second = collect(dev, profile, t0), collect(dev, profile, t0 + 60)
    names = [n for n, _, _ in first[1]]
    assert names[0] == UPTIME and any(n.endswith("ExternalIPAddress") for n in names[1:])
    body, content_type = encode(profile, [first, second])
    assert content_type.startswith("application/json" if encoding == "JSON" else "text/csv")
    if extra:
        assert b";" in body.split(b"\n")[0] and b"\r\n" not in body
    received = time.time()
    samples = telemetry_reports.parse_report(gzip.decompress(gzip.compress(body)), fmt, received)
    got = [(s["name"], s["value"]) for s in samples]
    assert got == [(n, v) for _, rows in (first, second) for n, v, _ in rows]
    assert {s["t"] for s in samples} == ({received} if timestamp == "None" else {t0, t0 + 60})


def test_a_disabled_profile_or_bulkdata_sends_nothing(model):
    dev = configured(model, "JSON", "NameValuePair")
    dev.handle(m.SetParameterValues(parameter_list=[m.ParameterValueStruct(ROOT + "BulkData.Enable", False, "xsd:boolean")],
                                    parameter_key=""))
    assert read_profiles(dev) == []


async def test_a_failed_report_is_retained_and_sent_with_the_next(model):
    dev = configured(model, "JSON", "NameValuePair")  # its URL's port 1 refuses connections
    [profile] = read_profiles(dev)
    reporter = BulkDataReporter(dev)
    assert not await reporter.report_now(profile)
    assert not await reporter.report_now(profile)
    assert reporter.failed == 2 and len(reporter._retained[profile.path]) == 2  # NumberOfRetainedFailedReports
