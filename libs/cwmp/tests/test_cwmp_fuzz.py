"""Fuzzing parse(): any bytes give an Envelope, None or a typed SoapParseError, never anything else."""

from __future__ import annotations

from cwmp_samples import representative
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from lxml import etree

from cwmp import messages as m
from cwmp import soap, versions
from cwmp.errors import SoapParseError

SEEDS = [
    soap.build_message(representative(cls), id="1", cwmp_ns=versions.CWMP_1_2)
    for cls in (m.Inform, m.GetParameterValuesResponse, m.Fault, m.SetParameterValues, m.ChangeDUState, m.DUStateChangeComplete)
]
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def check(data: bytes) -> None:
    try:
        env = soap.parse(data)
    except SoapParseError as err:
        assert err.fault_code in (8000, 8002, 8003)
        assert "unreadable envelope" not in str(err), err  # the codec's own last-resort guard
        return
    assert env is None or isinstance(env, m.Envelope)


@FUZZ
@given(st.binary(max_size=512))
@example(b"<")
@example(b"<?xml")
@example(b"\xef\xbb\xbf")
def test_random_bytes(data: bytes) -> None:
    check(data)


@FUZZ
@given(
    seed=st.sampled_from(SEEDS),
    cuts=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 40), st.binary(max_size=12)), min_size=1, max_size=4),
)
def test_mutated_envelopes(seed: bytes, cuts: list[tuple[int, int, bytes]]) -> None:
    """Splice random bytes into real envelopes: deep enough to reach the decoders."""
    data = bytearray(seed)
    for pos, length, insert in cuts:
        pos %= len(data) + 1
        data[pos : pos + length] = insert
    check(bytes(data))


_TOKENS = [
    "<", ">", "/", "</", "/>", "=", '"', " ", "Name", "Value", "ParameterValueStruct", "ParameterList", "Event",
    "EventStruct", "DeviceId", "OUI", "CurrentTime", "Status", "FaultCode", "detail", "Fault", "xsi:type=\"xsd:int\"",
    "xsi:type=\"xsd:dateTime\"", "xsi:type=\"xsd:boolean\"", "1", "-1", "9999999999999999999999", "2024-01-01T00:00:00Z",
    "0000-00-00T00:00:00", "true", "&amp;", "&#0;", "&#x41;", "<![CDATA[x]]>",
]


@FUZZ
@given(st.sampled_from(SEEDS), st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(_TOKENS)), min_size=1, max_size=6))
def test_token_insertions(seed: bytes, inserts: list[tuple[int, str]]) -> None:
    text = seed.decode()
    for pos, token in inserts:
        pos %= len(text) + 1
        text = text[:pos] + token + text[pos:]
    check(text.encode())


_TEXTS = ["", " ", "1", "-1", "30", "true", "x", "9" * 30, "2024-01-01T00:00:00Z", "0000-00-00T00:00:00",
          "99999999999999999999999-01-01T00:00:00", "é", "xsd:int", "cwmp:InstallOpStruct", "aGk="]
_TAGS = ["Name", "Value", "Results", "Operations", "FaultCode", "FaultStruct", "Fault", "detail",
         "ParameterValueStruct", "EventStruct", "StartTime", "Foo"]
_edits = st.tuples(st.integers(0, 10_000), st.integers(0, 4), st.integers(0, 100))


@FUZZ
@given(st.sampled_from(SEEDS), st.lists(_edits, min_size=1, max_size=5))
def test_tree_mutations(seed: bytes, edits: list[tuple[int, int, int]]) -> None:
    """Well-formed but wrong documents: elements dropped, doubled, renamed, retyped, refilled."""
    root = etree.fromstring(seed)
    for target, op, pick in edits:
        elements = list(root.iter())
        el = elements[target % len(elements)]
        parent = el.getparent()
        if op == 0 and parent is not None:
            parent.remove(el)
        elif op == 1 and parent is not None:
            parent.insert(pick % (len(parent) + 1), etree.fromstring(etree.tostring(el)))
        elif op == 2:
            el.text = _TEXTS[pick % len(_TEXTS)]
        elif op == 3:
            ns = etree.QName(el).namespace
            el.tag = (f"{{{ns}}}" if ns and pick % 2 else "") + _TAGS[pick % len(_TAGS)]
        else:
            el.set("{http://www.w3.org/2001/XMLSchema-instance}type", _TEXTS[pick % len(_TEXTS)])
    check(etree.tostring(root))
