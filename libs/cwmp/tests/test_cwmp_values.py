"""Parameter values: tolerant decoding, strict encoding, type inference."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from cwmp_strategies import datetimes
from hypothesis import given, settings
from hypothesis import strategies as st

from cwmp.errors import EncodeError
from cwmp.values import decode_value, encode_value, infer_type, normalize_type, parse_datetime

UTC = UTC


@pytest.mark.parametrize(
    ("text", "xsd_type", "expected"),
    [
        ("hello ", "xsd:string", ("hello ", "xsd:string")),
        (" x ", None, (" x ", "xsd:string")),
        (None, "xsd:string", ("", "xsd:string")),
        ("42", "xsd:unsignedInt", (42, "xsd:unsignedInt")),
        (" 007\n", "xsd:unsignedInt", (7, "xsd:unsignedInt")),
        ("+5", "xsd:int", (5, "xsd:int")),
        ("-2147483648", "xsd:int", (-(2**31), "xsd:int")),
        ("2147483648", "xsd:int", ("2147483648", "xsd:int")),
        ("-1", "xsd:unsignedInt", ("-1", "xsd:unsignedInt")),
        ("4294967296", "xsd:unsignedInt", ("4294967296", "xsd:unsignedInt")),
        ("18446744073709551615", "xsd:unsignedLong", (2**64 - 1, "xsd:unsignedLong")),
        ("-9223372036854775808", "xsd:long", (-(2**63), "xsd:long")),
        ("1_000", "xsd:int", ("1_000", "xsd:int")),
        ("٣", "xsd:int", ("٣", "xsd:int")),
        ("", "xsd:unsignedInt", ("", "xsd:unsignedInt")),
        ("1", "xsd:boolean", (True, "xsd:boolean")),
        ("0", "xsd:boolean", (False, "xsd:boolean")),
        (" TRUE ", "xsd:boolean", (True, "xsd:boolean")),
        ("false", "xsd:boolean", (False, "xsd:boolean")),
        ("yes", "xsd:boolean", ("yes", "xsd:boolean")),
        ("2024-05-17T08:30:12Z", "xsd:dateTime", (datetime(2024, 5, 17, 8, 30, 12, tzinfo=UTC), "xsd:dateTime")),
        ("2024-05-17T08:30:12", "xsd:dateTime", (datetime(2024, 5, 17, 8, 30, 12), "xsd:dateTime")),
        ("2024-05-17T08:30:12.5+02:00", "xsd:dateTime", (datetime(2024, 5, 17, 8, 30, 12, 500000, tzinfo=timezone(timedelta(hours=2))), "xsd:dateTime")),
        ("2024-05-17T08:30:12.123456789-05:30", "xsd:dateTime", (datetime(2024, 5, 17, 8, 30, 12, 123456, tzinfo=timezone(timedelta(hours=-5, minutes=-30))), "xsd:dateTime")),
        ("0001-01-01T00:00:00Z", "xsd:dateTime", (datetime(1, 1, 1, tzinfo=UTC), "xsd:dateTime")),
        ("0000-00-00T00:00:00", "xsd:dateTime", ("0000-00-00T00:00:00", "xsd:dateTime")),
        (" 0000-01-01T00:00:00Z ", "xsd:dateTime", ("0000-01-01T00:00:00Z", "xsd:dateTime")),
        ("2024-02-30T00:00:00", "xsd:dateTime", ("2024-02-30T00:00:00", "xsd:dateTime")),
        ("2024-05-17 08:30:12", "xsd:dateTime", ("2024-05-17 08:30:12", "xsd:dateTime")),
        ("2024-05-17", "xsd:dateTime", ("2024-05-17", "xsd:dateTime")),
        ("aGVs\nbG8=", "xsd:base64", (b"hello", "xsd:base64")),
        ("aGVsbG8", "xsd:base64", ("aGVsbG8", "xsd:base64")),
        ("DEADbeef", "xsd:hexBinary", (b"\xde\xad\xbe\xef", "xsd:hexBinary")),
        ("ABC", "xsd:hexBinary", ("ABC", "xsd:hexBinary")),
        ("x", "xsd:unsignedByte", ("x", "xsd:unsignedByte")),
        ("5", "xs:unsignedInt", (5, "xsd:unsignedInt")),
        ("5", "UnsignedInt", (5, "xsd:unsignedInt")),
        ("aGk=", "SOAP-ENC:base64", (b"hi", "xsd:base64")),
        ("aGk=", "xsd:base64Binary", (b"hi", "xsd:base64")),
    ],
)
def test_decode(text: str | None, xsd_type: str | None, expected: tuple[object, str]) -> None:
    value, typ = decode_value(text, xsd_type)
    assert (value, typ) == expected
    assert type(value) is type(expected[0])


def test_decode_never_raises_on_garbage() -> None:
    for t in ("xsd:int", "xsd:boolean", "xsd:dateTime", "xsd:base64", "xsd:hexBinary", "weird", ""):
        for text in ("\x00", "9" * 10_000, "-" * 50, "2024-01-01T00:00:00+99:99", "é", "  "):
            decode_value(text, t)


@pytest.mark.parametrize(
    ("value", "xsd_type", "text"),
    [
        ("a&b", "xsd:string", "a&b"),
        (5, "xsd:string", "5"),
        (True, "xsd:string", "true"),
        (7, "xsd:unsignedInt", "7"),
        (" 7 ", "xsd:unsignedInt", "7"),
        (True, "xsd:boolean", "true"),
        (0, "xsd:boolean", "false"),
        ("1", "xsd:boolean", "1"),
        (datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), "xsd:dateTime", "2024-01-02T03:04:05Z"),
        (datetime(2024, 1, 2, 3, 4, 5, 60), "xsd:dateTime", "2024-01-02T03:04:05.000060"),
        (datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-3, minutes=-30))), "xsd:dateTime", "2024-01-02T03:04:05-03:30"),
        ("2024-01-02T03:04:05Z", "xsd:dateTime", "2024-01-02T03:04:05Z"),
        (b"hi", "xsd:base64", "aGk="),
        (b"\x01\xab", "xsd:hexBinary", "01AB"),
        ("x", "xsd:anyVendorType", "x"),
    ],
)
def test_encode(value: object, xsd_type: str, text: str) -> None:
    assert encode_value(value, xsd_type) == text  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "xsd_type"),
    [
        ("abc", "xsd:int"),
        (2**31, "xsd:int"),
        (-1, "xsd:unsignedInt"),
        (2**64, "xsd:unsignedLong"),
        (1.5, "xsd:int"),
        (2, "xsd:boolean"),
        ("maybe", "xsd:boolean"),
        ("yesterday", "xsd:dateTime"),
        (datetime(2024, 1, 1, tzinfo=timezone(timedelta(seconds=30))), "xsd:dateTime"),
        ("not base64!", "xsd:base64"),
        ("XYZ", "xsd:hexBinary"),
        (None, "xsd:string"),
    ],
)
def test_encode_refuses_values_that_do_not_fit(value: object, xsd_type: str) -> None:
    with pytest.raises(EncodeError):
        encode_value(value, xsd_type)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "xsd_type"),
    [
        ("s", "xsd:string"),
        (True, "xsd:boolean"),
        (5, "xsd:int"),
        (-5, "xsd:int"),
        (2**31, "xsd:unsignedInt"),
        (-(2**40), "xsd:long"),
        (2**63, "xsd:unsignedLong"),
        (datetime(2024, 1, 1), "xsd:dateTime"),
        (b"x", "xsd:base64"),
    ],
)
def test_infer_type(value: object, xsd_type: str) -> None:
    assert infer_type(value) == xsd_type  # type: ignore[arg-type]


def test_infer_type_refuses_what_no_type_holds() -> None:
    with pytest.raises(EncodeError):
        infer_type(2**64)
    with pytest.raises(EncodeError):
        infer_type(1.5)  # type: ignore[arg-type]


def test_normalize_type_cache_is_bounded() -> None:
    for i in range(3000):
        normalize_type(f"vendor:type{i}")
    from cwmp import values

    assert len(values._type_cache) <= 1024 + 2


@settings(max_examples=200, deadline=None)
@given(st.one_of(
    st.tuples(st.sampled_from(["xsd:int"]), st.integers(-(2**31), 2**31 - 1)),
    st.tuples(st.sampled_from(["xsd:unsignedInt"]), st.integers(0, 2**32 - 1)),
    st.tuples(st.sampled_from(["xsd:long"]), st.integers(-(2**63), 2**63 - 1)),
    st.tuples(st.sampled_from(["xsd:unsignedLong"]), st.integers(0, 2**64 - 1)),
    st.tuples(st.sampled_from(["xsd:boolean"]), st.booleans()),
    st.tuples(st.sampled_from(["xsd:dateTime"]), datetimes()),
    st.tuples(st.sampled_from(["xsd:base64", "xsd:hexBinary"]), st.binary(max_size=40)),
    st.tuples(st.sampled_from(["xsd:string"]), st.text()),
))
def test_encode_decode_round_trip(pair: tuple[str, object]) -> None:
    xsd_type, value = pair
    decoded, typ = decode_value(encode_value(value, xsd_type), xsd_type)  # type: ignore[arg-type]
    assert typ == xsd_type and decoded == value and type(decoded) is type(value)


def test_parse_datetime_unknown_and_bad() -> None:
    assert parse_datetime("0001-01-01T00:00:00Z") == datetime(1, 1, 1, tzinfo=UTC)
    assert parse_datetime("2019-03-05T11:54::14") is None
    assert parse_datetime("99999-01-01T00:00:00") is None
    assert parse_datetime("2024-01-01T24:00:00") is None
    assert parse_datetime("9" * 30 + "-01-01T00:00:00") is None  # OverflowError inside, not out
