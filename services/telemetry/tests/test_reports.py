"""TR-232 report encodings to samples: JSON name-value and object hierarchy, CSV per row and per
column with their separators, gzip, timestamps, and clear errors for bad input."""

from __future__ import annotations

import gzip

import orjson
import pytest

from telemetry.reports import ReportError, decompress, parse_report, report_format

NOW = 1_700_000_000.0


def test_json_name_value_pairs_keep_types_and_collection_time():
    body = orjson.dumps({"Report": [
        {"CollectionTime": 1364529149, "Device.WiFi.Radio.1.Stats.ErrorsSent": 15, "Device.DeviceInfo.UpTime": "3600",
         "Device.WiFi.Radio.1.Enable": True, "Device.DeviceInfo.SoftwareVersion": "V1.2"},
        {"CollectionTime": 1364529209, "Device.WiFi.Radio.1.Stats.ErrorsSent": 17},
    ]})
    samples = parse_report(body, "NameValuePair", NOW)
    assert samples == [
        {"name": "Device.WiFi.Radio.1.Stats.ErrorsSent", "value": 15, "t": 1364529149.0},
        {"name": "Device.DeviceInfo.UpTime", "value": 3600, "t": 1364529149.0},
        {"name": "Device.WiFi.Radio.1.Enable", "value": True, "t": 1364529149.0},
        {"name": "Device.DeviceInfo.SoftwareVersion", "value": "V1.2", "t": 1364529149.0},
        {"name": "Device.WiFi.Radio.1.Stats.ErrorsSent", "value": 17, "t": 1364529209.0},
    ]


def test_json_object_hierarchy_flattens_objects_and_instance_arrays():
    body = orjson.dumps({"Report": [{"CollectionTime": "2013-03-29T03:52:29Z", "Device": {
        "WiFi": {"Radio": {"1": {"Stats": {"ErrorsSent": 4}}, "2": {"Stats": {"ErrorsSent": 9}}}},
        "Ethernet": {"Interface": [{"Stats": {"BytesSent": 100}}, {"Stats": {"BytesSent": 200}}]}}}]})
    got = {s["name"]: (s["value"], s["t"]) for s in parse_report(body, "ObjectHierarchy", NOW)}
    assert got == {
        "Device.WiFi.Radio.1.Stats.ErrorsSent": (4, 1364529149.0),
        "Device.WiFi.Radio.2.Stats.ErrorsSent": (9, 1364529149.0),
        "Device.Ethernet.Interface.1.Stats.BytesSent": (100, 1364529149.0),
        "Device.Ethernet.Interface.2.Stats.BytesSent": (200, 1364529149.0),
    }


def test_json_without_timestamp_takes_the_time_of_receipt():
    samples = parse_report(b'{"Report": [{"Device.X.Y": 1.5}]}', "NameValuePair", NOW)
    assert samples == [{"name": "Device.X.Y", "value": 1.5, "t": NOW}]


def test_csv_parameter_per_row_with_types_and_crlf():
    body = (b"ReportTimestamp,ParameterName,ParameterValue,ParameterType\r\n"
            b"1364529149,Device.MoCA.Interface.1.Stats.BroadcastPacketsReceived,15648,unsignedInt\r\n"
            b"1364529149,Device.WiFi.Radio.1.Enable,1,boolean\r\n"
            b'1364529149,Device.DeviceInfo.Description,"a, b",string\r\n')
    assert parse_report(body, "ParameterPerRow", NOW) == [
        {"name": "Device.MoCA.Interface.1.Stats.BroadcastPacketsReceived", "value": 15648, "t": 1364529149.0},
        {"name": "Device.WiFi.Radio.1.Enable", "value": True, "t": 1364529149.0},
        {"name": "Device.DeviceInfo.Description", "value": "a, b", "t": 1364529149.0},
    ]


def test_csv_parameter_per_column_with_another_separator_and_lf_rows():
    body = (b"ReportTimestamp;Device.A.Errors;Device.A.Bytes\n"
            b"1364529149;1;100\n"
            b"1364529209;3;250\n")
    assert parse_report(body, "ParameterPerColumn", NOW) == [
        {"name": "Device.A.Errors", "value": 1, "t": 1364529149.0},
        {"name": "Device.A.Bytes", "value": 100, "t": 1364529149.0},
        {"name": "Device.A.Errors", "value": 3, "t": 1364529209.0},
        {"name": "Device.A.Bytes", "value": 250, "t": 1364529209.0},
    ]


def test_csv_without_timestamp_column():
    body = b"ParameterName|ParameterValue|ParameterType\nDevice.A.B|7|int\n"
    assert parse_report(body, "ParameterPerRow", NOW) == [{"name": "Device.A.B", "value": 7, "t": NOW}]


def test_gzip_is_undone_and_bounded():
    raw = b'{"Report": [{"Device.A": 1}]}'
    assert decompress(gzip.compress(raw), "gzip", 1000) == raw
    with pytest.raises(ReportError, match="larger than"):
        decompress(gzip.compress(b"x" * 5000), "gzip", 1000)
    with pytest.raises(ReportError, match="bad gzip"):
        decompress(b"not gzip at all", "gzip", 1000)
    with pytest.raises(ReportError, match="unsupported Content-Encoding"):
        decompress(raw, "br", 1000)


@pytest.mark.parametrize(("body", "fmt", "message"), [
    (b"{not json", "NameValuePair", "not JSON"),
    (b'{"Reports": []}', "NameValuePair", "Report"),
    (b'{"Report": [1]}', "NameValuePair", "must be an object"),
    (b'{"Report": [{"CollectionTime": "yesterday", "A": 1}]}', "NameValuePair", "bad timestamp"),
    (b'{"Report": [{"CollectionTime": 1e300, "A": 1}]}', "NameValuePair", "bad timestamp"),
    (b"ReportTimestamp,ParameterName,ParameterValue\nnan,A,1\n", "ParameterPerRow", "bad timestamp"),
    (b"Name,Value\nA,1\n", "ParameterPerRow", "header"),
    (b"ReportTimestamp,ParameterName,ParameterValue\n1,A\n", "ParameterPerRow", "row 2 has 2 fields"),
    (b"ReportTimestamp,ParameterName,ParameterValue,ParameterType\n1,A,x,int\n", "ParameterPerRow", "not a int"),
])
def test_bad_reports_are_refused_with_the_reason(body, fmt, message):
    with pytest.raises(ReportError, match=message):
        parse_report(body, fmt, NOW)


def test_report_format_from_header_or_content_type():
    assert report_format("ObjectHierarchy", "application/json") == "ObjectHierarchy"
    assert report_format("", "application/json; charset=utf-8") == "NameValuePair"
    assert report_format("", "text/csv") == "ParameterPerRow"
    with pytest.raises(ReportError, match="unknown BBF-Report-Format"):
        report_format("XML", "")
    with pytest.raises(ReportError, match="neither JSON nor CSV"):
        report_format("", "text/plain")
