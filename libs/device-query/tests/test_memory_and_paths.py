"""Queries evaluated in memory (preset preconditions) and path patterns resolved against a device document."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from device_query import paths
from device_query.errors import QueryError
from device_query.memory import compile_query

DOC = {
    "_id": "202BC1-BM632w-X1",
    "_deviceId": {"_OUI": "202BC1", "_ProductClass": "BM632w", "_SerialNumber": "X1"},
    "_tags": ["lab", "north"],
    "_lastInform": datetime(2026, 5, 1, tzinfo=UTC),
    "InternetGatewayDevice": {
        "_object": True,
        "DeviceInfo": {"SoftwareVersion": {"_value": "V100R001", "_type": "xsd:string"},
                       "UpTime": {"_value": 3600, "_type": "xsd:unsignedInt"}},
        "ManagementServer": {"PeriodicInformEnable": {"_value": True, "_type": "xsd:boolean"}},
        "LANDevice": {"_object": True, "1": {"WLANConfiguration": {"_object": True,
            "1": {"SSID": {"_value": "home"}, "Enable": {"_value": True}},
            "2": {"SSID": {"_value": "guest"}, "Enable": {"_value": False}}}}},
    },
}


@pytest.mark.parametrize("q, expected", [
    ({}, True),
    ({"_tags": "lab"}, True),
    ({"_tags": "south"}, False),
    ({"_tags": {"$in": ["south", "north"]}}, True),
    ({"_tags": {"$nin": ["south"]}}, True),
    ({"_deviceId._OUI": "202BC1", "_deviceId._SerialNumber": {"$regex": "^x", "$options": "i"}}, True),
    ({"InternetGatewayDevice.DeviceInfo.UpTime": {"$gt": "1000"}}, True),
    ({"InternetGatewayDevice.DeviceInfo.UpTime": {"$lte": 3599}}, False),
    ({"InternetGatewayDevice.DeviceInfo.UpTime": "3600"}, True),
    ({"InternetGatewayDevice.ManagementServer.PeriodicInformEnable": "true"}, True),
    ({"InternetGatewayDevice.DeviceInfo.SoftwareVersion": {"$ne": "V100R001"}}, False),
    ({"InternetGatewayDevice.DeviceInfo.Missing": {"$exists": False}}, True),
    ({"InternetGatewayDevice.LANDevice": {"$exists": True}}, True),
    ({"$or": [{"_tags": "x"}, {"InternetGatewayDevice.DeviceInfo.SoftwareVersion": {"$regex": "^V1"}}]}, True),
    ({"$and": [{"_tags": "lab"}, {"_tags": "x"}]}, False),
    ({"$nor": [{"_tags": "x"}]}, True),
    ({"InternetGatewayDevice.DeviceInfo.SoftwareVersion": {"$not": {"$regex": "^V2"}}}, True),
    ({"_lastInform": {"$gte": "2026-04-30T00:00:00Z"}}, True),
    ({"InternetGatewayDevice.DeviceInfo.UpTime": {"$gt": "abc"}}, False),
])
def test_preconditions(q, expected):
    assert compile_query(q)(DOC) is expected


@pytest.mark.parametrize("q", [
    {"$where": "1"}, {"a": {"$expr": 1}}, {"a": {"$in": 1}}, {"$or": []}, {"a": {"$regex": "("}},
    {"a": {"$options": "i"}}, {"bad key!": 1}, {"a": {"b": 1}}, [1],
])
def test_refused_queries(q):
    with pytest.raises(QueryError):
        compile_query(q)


def test_patterns_resolve_wildcards_and_aliases():
    full = lambda p: True  # noqa: E731
    res = paths.resolve(DOC, paths.parse("InternetGatewayDevice.LANDevice.*.WLANConfiguration.*.SSID"), full)
    assert res.paths == ["InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.SSID",
                         "InternetGatewayDevice.LANDevice.1.WLANConfiguration.2.SSID"]
    res = paths.resolve(DOC, paths.parse("InternetGatewayDevice.LANDevice.1.WLANConfiguration.[SSID:guest,Enable:false]"), full)
    assert res.paths == ["InternetGatewayDevice.LANDevice.1.WLANConfiguration.2"]
    res = paths.resolve(DOC, paths.parse("Device.DeviceInfo.UpTime"), full)
    assert res.paths == [] and res.complete  # another root: nothing to do
    partial = lambda p: p != "InternetGatewayDevice.LANDevice.1.WLANConfiguration"  # noqa: E731
    res = paths.resolve(DOC, paths.parse("InternetGatewayDevice.LANDevice.*.WLANConfiguration.*.SSID"), partial)
    assert res.unknown_tables == ["InternetGatewayDevice.LANDevice.1.WLANConfiguration"]
    res = paths.resolve(DOC, paths.parse("InternetGatewayDevice.DeviceInfo.ModelName"), lambda p: False)
    assert res.unknown_leaves == ["InternetGatewayDevice.DeviceInfo.ModelName"]
    assert str(paths.parse("A.[IP:10.0.0.1].B")[1]) == "[IP:10.0.0.1]"  # dots inside an alias value


@pytest.mark.parametrize("bad", ["", "A..B", ".A", "A.[x]", "A.[K:v", "*.A", "1.A", "A.B c"])
def test_bad_patterns(bad):
    with pytest.raises(paths.PathError):
        paths.parse(bad)
