"""Queries as MongoDB filters (the NBI's back end): GenieACS's text values also match typed ones,
dates and ObjectIds are converted where the field is one, and refused operators say so."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from bson import ObjectId
from device_query.errors import QueryError
from device_query.mongo import device_query, file_query, task_query

P = "InternetGatewayDevice.DeviceInfo.SoftwareVersion"


def test_parameters_match_their_value_and_its_typed_forms():
    assert device_query({P: "V1"}) == {f"{P}._value": "V1"}
    assert device_query({P: "5"}) == {f"{P}._value": {"$in": ["5", 5]}}
    assert device_query({P: {"$ne": "true"}}) == {f"{P}._value": {"$nin": ["true", True]}}
    assert device_query({P: {"$gt": "10"}}) == {f"{P}._value": {"$gt": 10}}
    assert device_query({P: {"$in": ["1", "x"]}}) == {f"{P}._value": {"$in": ["1", 1, "x"]}}
    assert device_query({P: {"$exists": 1}}) == {P: {"$exists": True}}  # objects have no _value


def test_document_fields_and_dates():
    when = datetime(2017, 12, 11, 13, 16, 23, tzinfo=UTC)
    assert device_query({"_lastInform": {"$lt": "2017-12-11 13:16:23 +0000"}}) == {"_lastInform": {"$lt": when}}
    assert device_query({"_tags": "lab", f"{P}._timestamp": {"$gte": "2017-12-11T13:16:23Z"}}) == {
        "_tags": "lab", f"{P}._timestamp": {"$gte": when}}
    assert device_query({"$or": [{"_tags": "a"}, {"_deviceId._OUI": {"$regex": "^20", "$options": "i"}}]}) == {
        "$or": [{"_tags": "a"}, {"_deviceId._OUI": {"$regex": "^20", "$options": "i"}}]}
    oid = "66321a2b9c1e4f0001a1b2c3"
    assert task_query({"_id": oid}) == {"_id": ObjectId(oid)}
    assert file_query({"_id": "fw.bin"}) == {"filename": "fw.bin"}
    assert device_query({"_tags": {"$elemMatch": {"$regex": "^l"}}}) == {"_tags": {"$elemMatch": {"$regex": "^l"}}}
    assert device_query(None) == {}


@pytest.mark.parametrize("q, error", [
    ({"$where": "1"}, "not allowed here"), ({"a": {"$function": 1}}, "not allowed"), ({"a": {"$in": 1}}, "array"),
    ({"$or": []}, "non-empty array"), ({"a": {"$regex": "("}}, "does not compile"), ({"a": {"$options": "i"}}, "without $regex"),
    ({"bad key!": 1}, "invalid field name"), ({"a": {"$eq": 1, "b": 2}}, "mixed"), ([1], "JSON object"),
    ({"a": {"$size": -1}}, "non-negative"), ({"a": {"$not": {"b": 1}}}, "operator expression"),
])
def test_refused_queries_say_why(q, error):
    with pytest.raises(QueryError) as e:
        device_query(q)
    assert error in e.value.message


def test_nesting_is_bounded():
    q: dict = {"_tags": "x"}
    for _ in range(40):
        q = {"$and": [q]}
    with pytest.raises(QueryError, match="nests too deeply"):
        device_query(q)
