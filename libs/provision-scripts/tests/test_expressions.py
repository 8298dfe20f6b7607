"""GenieACS 1.2 precondition expressions as JSON device queries."""

from __future__ import annotations

import pytest
from provision_scripts.expressions import ExpressionError, looks_like_expression, to_query


@pytest.mark.parametrize(("expr", "query"), [
    ('DeviceID.ProductClass = "HG8245" AND Tags.lab IS NOT NULL',
     {"$and": [{"_deviceId._ProductClass": "HG8245"}, {"_tags": "lab"}]}),
    ("Tags.lab IS NULL OR Tags.lab = false", {"$or": [{"_tags": {"$ne": "lab"}}, {"_tags": {"$ne": "lab"}}]}),
    ('InternetGatewayDevice.DeviceInfo.SoftwareVersion LIKE "V1._%"',
     {"InternetGatewayDevice.DeviceInfo.SoftwareVersion": {"$regex": "^V1\\...*$"}}),
    ('NOT DeviceID.OUI <> "202BC1"', {"$nor": [{"_deviceId._OUI": {"$ne": "202BC1"}}]}),
    ("300 <= Device.ManagementServer.PeriodicInformInterval", {"Device.ManagementServer.PeriodicInformInterval": {"$gte": 300}}),
    ("DeviceID.ID = 'a-b' AND (X.Y > 1.5 OR X.Z IS NULL)",
     {"$and": [{"_id": "a-b"}, {"$or": [{"X.Y": {"$gt": 1.5}}, {"X.Z": {"$exists": False}}]}]}),
    ('x.y NOT LIKE "a%"', {"$nor": [{"x.y": {"$regex": "^a.*$"}}]}),
    ("", {}),
])
def test_expressions(expr, query):
    assert to_query(expr) == query


@pytest.mark.parametrize("expr", ["A = ", "A = 1 AND (", "1 = 2", "DeviceID.Nope = 1", "Tags.x > 1", "A.*.B = 1",
                                  'A LIKE B', "A = 1 2", "A ~ 1"])
def test_bad_expressions_say_what_is_wrong(expr):
    with pytest.raises(ExpressionError):
        to_query(expr)


def test_json_queries_are_not_expressions():
    assert not looks_like_expression('{"_tags": "lab"}') and not looks_like_expression("  ")
    assert looks_like_expression("Tags.lab IS NOT NULL")
