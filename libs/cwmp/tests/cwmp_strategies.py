"""Hypothesis strategies for every CWMP message, built from the dataclasses' type hints.

Values stay inside what the wire can carry: XML 1.0 characters, datetimes with whole-minute
offsets up to 14 h (message dateTime fields never at 0001-01-01, the "unknown time"),
non-zero fault codes for a Fault (0 means "no cwmp:Fault detail").
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import strategies as st

from cwmp import messages as m
from cwmp.events import STANDARD_EVENT_CODES, EventCode

_XML_CHARS = st.characters(
    codec="utf-8",
    exclude_categories=("Cs",),
    exclude_characters="".join(chr(c) for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)) + "\ufffe\uffff",
)
text = st.text(_XML_CHARS, max_size=24)
names = st.from_regex(r"(Device|InternetGatewayDevice)\.([A-Za-z0-9_]{1,12}\.){0,4}[A-Za-z0-9_]{0,12}", fullmatch=True)
ints = st.integers(min_value=-(2**31), max_value=2**32 - 1)

_offsets = st.one_of(
    st.none(),
    st.just(UTC),
    st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda mins: timezone(timedelta(minutes=mins))),
)


def datetimes(min_year: int = 1) -> st.SearchStrategy[datetime]:
    return st.builds(
        lambda naive, tz: naive.replace(tzinfo=tz),
        st.datetimes(min_value=datetime(min_year, 1, 1), max_value=datetime(9999, 12, 30)),
        _offsets,
    )


event_codes = st.one_of(
    st.sampled_from(sorted(STANDARD_EVENT_CODES)),
    st.from_regex(r"X [0-9A-F]{6} [A-Za-z]{1,10}", fullmatch=True),
).map(EventCode)

_VALUE_BY_TYPE: dict[str, st.SearchStrategy] = {
    "xsd:string": text,
    "xsd:int": st.integers(-(2**31), 2**31 - 1),
    "xsd:unsignedInt": st.integers(0, 2**32 - 1),
    "xsd:long": st.integers(-(2**63), 2**63 - 1),
    "xsd:unsignedLong": st.integers(0, 2**64 - 1),
    "xsd:boolean": st.booleans(),
    "xsd:dateTime": datetimes(),
    "xsd:base64": st.binary(max_size=24),
    "xsd:hexBinary": st.binary(max_size=24),
}
parameter_values = st.sampled_from(sorted(_VALUE_BY_TYPE)).flatmap(
    lambda t: st.builds(m.ParameterValueStruct, names, _VALUE_BY_TYPE[t], st.just(t))
)
fault_codes = st.one_of(st.integers(8000, 8899), st.integers(9000, 9899))

_SPECIAL: dict[object, st.SearchStrategy] = {
    m.ParameterValueStruct: parameter_values,
    m.Fault: st.builds(
        m.Fault,
        fault_code=fault_codes,
        fault_string=text,
        faultcode=st.sampled_from(["Client", "Server"]),
        faultstring=text,
        set_parameter_values_faults=st.lists(st.builds(m.SetParameterValuesFault, names, st.integers(9000, 9899), text), max_size=3),
    ),
}


def _for_hint(hint: object) -> st.SearchStrategy:
    if hint in _SPECIAL:
        return _SPECIAL[hint]
    if hint is str:
        return text
    if hint is int:
        return ints
    if hint is bool:
        return st.booleans()
    if hint is EventCode:
        return event_codes
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if set(args) == {datetime, type(None)}:
            return st.one_of(st.none(), datetimes(min_year=2))
        return st.one_of(*[_for_hint(a) for a in args])
    if origin is list:
        return st.lists(_for_hint(args[0]), max_size=3)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return for_class(hint)
    raise TypeError(f"no strategy for {hint!r}")


def for_class(cls: type) -> st.SearchStrategy:
    if cls in _SPECIAL:
        return _SPECIAL[cls]
    hints = typing.get_type_hints(cls)
    return st.builds(cls, **{f.name: _for_hint(hints[f.name]) for f in dataclasses.fields(cls)})


messages = st.sampled_from(sorted(m.MESSAGE_TYPES.values(), key=lambda c: c.RPC)).flatmap(for_class)
