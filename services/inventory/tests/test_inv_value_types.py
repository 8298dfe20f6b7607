"""setParameterValues values are checked by cwmp.values' type rules (the rules the scheduler's
codec writes values by), widened only where the NBI takes JSON numbers or types CWMP sends as text."""

from __future__ import annotations

import pytest

from cwmp import values
from cwmp.errors import EncodeError
from inventory.task_bodies import XSD_TYPES, value_fits


def test_the_nbi_names_the_types_cwmp_values_knows():
    assert set(values.SCHEMA_TYPES) == XSD_TYPES
    assert set(values.INT_RANGES) <= set(values.SCHEMA_INT_RANGES)


@pytest.mark.parametrize("text", ["12", " 12 ", "+7", "-1", "4294967296", "١٢", "0" * 70 + "1", "abc", "", "1.5",
                                  "true", "TRUE", " 0 ", "yes", "2020-01-01T00:00:00Z", "2020-13-01T00:00:00Z",
                                  "2020-01-01T00:00:00.5+02:00", "QUJD", "QQ=", "AB", "ABC", "ab cd"])
@pytest.mark.parametrize("xsd", [values.INT, values.UNSIGNED_INT, values.LONG, values.UNSIGNED_LONG, values.BOOLEAN,
                                 values.DATETIME, values.BASE64, values.HEX_BINARY])
def test_a_string_fits_when_the_codec_can_send_it(text, xsd):
    try:
        values.encode_value(text, xsd)
        sendable = True
    except EncodeError:
        sendable = False
    assert value_fits(text, xsd) is sendable


@pytest.mark.parametrize("value, xsd, fits", [
    (5.0, "xsd:unsignedInt", True), (5.5, "xsd:unsignedInt", False), (True, "xsd:int", False),
    (-1, "xsd:unsignedInt", False), (2**64 - 1, "xsd:integer", True), (2**64 - 1, "xsd:long", False),
    ("127", "xsd:byte", True), ("128", "xsd:byte", False), (70000, "xsd:unsignedShort", False),
    (1.0, "xsd:boolean", True), (2, "xsd:boolean", False), (0, "xsd:boolean", True),
    ("1e3", "xsd:double", True), (True, "xsd:float", False), ("x", "xsd:decimal", False),
    (20200101, "xsd:dateTime", False), (1234, "xsd:base64", False), (12, "xsd:hexBinary", False),
    (1.5, "xsd:string", True), (None, "xsd:string", False), ([1], "xsd:string", False), ({}, "xsd:int", False),
])
def test_json_values(value, xsd, fits):
    assert value_fits(value, xsd) is fits
