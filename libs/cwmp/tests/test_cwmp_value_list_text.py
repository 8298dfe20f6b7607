"""parse() reads ParameterValueStruct lists from the document's text (soap's fast path); for
every input it must return or raise exactly what reading the whole element tree gives."""

from __future__ import annotations

from unittest import mock

import pytest
from cwmp_samples import representative
from cwmp_strategies import for_class
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cwmp import messages as m
from cwmp import soap, versions
from cwmp._decode import read_value_list
from cwmp.errors import SoapParseError
from cwmp.xmlsafe import text_encoding

ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
ONE = '<ParameterValueStruct><Name>A.B</Name><Value xsi:type="xsd:unsignedInt">7</Value></ParameterValueStruct>'


def inform(items: str, *, list_attributes: str = "", declaration: str = '<?xml version="1.0" encoding="UTF-8"?>\n') -> bytes:
    return (
        f'{declaration}<soap:Envelope xmlns:soap="{ENV}" xmlns:xsi="{XSI}" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:cwmp="urn:dslforum-org:cwmp-1-0">'
        '<soap:Header><cwmp:ID soap:mustUnderstand="1">7</cwmp:ID></soap:Header><soap:Body><cwmp:Inform>'
        "<DeviceId><Manufacturer>Acme</Manufacturer><OUI>00D09E</OUI><ProductClass>HGW</ProductClass>"
        "<SerialNumber>S1</SerialNumber></DeviceId><Event><EventStruct><EventCode>1 BOOT</EventCode>"
        "<CommandKey></CommandKey></EventStruct></Event><MaxEnvelopes>1</MaxEnvelopes>"
        "<CurrentTime>2024-01-02T03:04:05Z</CurrentTime><RetryCount>0</RetryCount>"
        f"<ParameterList{list_attributes}>{items}</ParameterList></cwmp:Inform></soap:Body></soap:Envelope>"
    ).encode()


def outcome(data: bytes) -> object:
    try:
        return soap.parse(data)
    except SoapParseError as err:
        return type(err), str(err), err.envelope_id, err.cwmp_ns


def tree_outcome(data: bytes) -> object:
    """What parse() gives when the whole document is read as an element tree."""
    with mock.patch.object(soap, "_parse_with_value_list_text", return_value=None):
        return outcome(data)


def read_from_text(data: bytes) -> bool:
    return soap._parse_with_value_list_text(data, soap.DEFAULT_MAX_BYTES) is not None


def same_as_tree(data: bytes) -> object:
    result = outcome(data)
    assert result == tree_outcome(data)
    return result


# ---------------------------------------------------------------- read from the text, same result
@pytest.mark.parametrize(
    "items",
    [
        ONE,
        "",
        "\n  " + ONE.replace("><", ">\n    <") + "\n",
        ONE.replace("><", ">\r\n<"),  # CRLF line ends
        '<ParameterValueStruct><Name>A</Name><Value xsi:type="xsd:string"/></ParameterValueStruct>',
        '<ParameterValueStruct><Name>A</Name><Value xsi:type="xsd:string"></Value></ParameterValueStruct>',
        '<ParameterValueStruct><Name>A</Name><Value xsi:type="xsd:unsignedInt"/></ParameterValueStruct>',
        "<ParameterValueStruct><Name>A</Name><Value>untyped</Value></ParameterValueStruct>",
        "<ParameterValueStruct><Name></Name><Value xsi:type = 'xsd:boolean' >1</Value></ParameterValueStruct>",
        '<ParameterValueStruct><Name>A&amp;B</Name><Value xsi:type="xsd:string">&lt;x&gt; &#13;&#x41;&quot;&apos;</Value></ParameterValueStruct>',
        '<ParameterValueStruct><Name>A</Name><Value xsi:type="xsd:int">-12</Value></ParameterValueStruct>',
        '<ParameterValueStruct><Name>A</Name><Value xsi:type="xsd:int">2147483648</Value></ParameterValueStruct>',
        '<ParameterValueStruct><Name>A</Name><Value xsi:type="xsd:unsignedInt"> 12 </Value></ParameterValueStruct>',
        '<ParameterValueStruct><Name>A</Name><Value xsi:type="xsd:boolean">TRUE</Value></ParameterValueStruct>',
        '<ParameterValueStruct><Name>A</Name><Value xsi:type="xsd:dateTime">0001-01-01T00:00:00Z</Value></ParameterValueStruct>',
        '<ParameterValueStruct><Name>A</Name><Value xsi:type="SOAP-ENC:base64">AAEC</Value></ParameterValueStruct>',
        '<ParameterValueStruct><Name>A</Name><Value type="xsd:int">5</Value></ParameterValueStruct>',  # lone attribute
        '<ParameterValueStruct><Name>\u00e9t\u00e9 \U0001f600</Name><Value xsi:type="xsd:string">]] &gt;</Value></ParameterValueStruct>',
    ],
)
def test_usual_lists_are_read_from_the_text(items: str) -> None:
    data = inform(items)
    assert read_from_text(data)
    env = same_as_tree(data)
    assert isinstance(env, m.Envelope) and env.id == "7"


def test_other_prefix_iso_8859_1_and_no_declaration() -> None:
    items = '<ParameterValueStruct><Name>caf\u00e9</Name><Value i:type="xsd:string">\u00e9</Value></ParameterValueStruct>'
    data = inform(items).replace(b'xmlns:xsi="', b'xmlns:i="')
    assert read_from_text(data) and same_as_tree(data)
    latin1 = data.decode().replace("UTF-8", "ISO-8859-1").encode("iso-8859-1")
    assert read_from_text(latin1) and same_as_tree(latin1)
    undeclared = inform(ONE, declaration="  \n")
    assert read_from_text(undeclared) and same_as_tree(undeclared)


def test_sample_messages_with_value_lists() -> None:
    for cls in (m.Inform, m.GetParameterValuesResponse, m.SetParameterValues):
        for ns in (versions.CWMP_1_0, versions.CWMP_1_2):
            data = soap.build_message(representative(cls), id="9", cwmp_ns=ns)
            assert read_from_text(data)
            env = same_as_tree(data)
            assert isinstance(env, m.Envelope) and env.body == representative(cls)


# ---------------------------------------------------------------- anything else: read as a tree
@pytest.mark.parametrize(
    "items",
    [
        '<ParameterValueStruct><Name>A</Name><Value xsi:type="xsd:string">a--b</Value></ParameterValueStruct>',
        '<ParameterValueStruct><Name>A</Name><Value xsi:type="xsd:string">a-</Value></ParameterValueStruct>',
        '<ParameterValueStruct><Name>A</Name><Value xsi:type="xsd:string"><![CDATA[<x>]]></Value></ParameterValueStruct>',
        '<ParameterValueStruct><Name>A</Name><Value xsi:type="xsd:string">a<!-- c --></Value></ParameterValueStruct>',
        '<ParameterValueStruct><Name>A</Name><Value xsi:type="xsd:string">a<b/>c</Value></ParameterValueStruct>',
        '<ParameterValueStruct><Value xsi:type="xsd:int">5</Value><Name>A</Name></ParameterValueStruct>',
        '<ParameterValueStruct><cwmp:Name>A</cwmp:Name><cwmp:Value xsi:type="xsd:int">5</cwmp:Value></ParameterValueStruct>',
        '<ParameterValueStruct><Name>A</Name><Value xmlns:xsi="urn:other" xsi:type="xsd:int">5</Value></ParameterValueStruct>',
        '<ParameterValueStruct><Name>A</Name><Value xmlns:q="urn:x" q:type="xsd:int">5</Value></ParameterValueStruct>',
        '<ParameterValueStruct><Name>A</Name><Value foo="bar">5</Value></ParameterValueStruct>',
        '<ParameterValueStruct><Name>A</Name><Value xsi:type="vendor:thing">5</Value></ParameterValueStruct>',
        '<ParameterValueStruct><Name>A</Name><Value xsi:type="xsd:int" a="1">5</Value></ParameterValueStruct>',
        "<ParameterValueStruct><Name>A</Name></ParameterValueStruct>",
        "<ParameterValueStruct><Value>5</Value></ParameterValueStruct>",
        "<ParameterValueStruct/>",
        ONE + "<Extra/>",
        # not well-formed, or not namespace-well-formed: the same error either way
        '<ParameterValueStruct><Name>A</Name><Value xsi:type="xsd:int">5</ParameterValueStruct>',
        '<ParameterValueStruct><Name>A</Name><Value xsi:type="xsd:int"/>5</Value></ParameterValueStruct>',
        '<ParameterValueStruct><Name>A</Name><Value xsi:type="xsd:string">]]></Value></ParameterValueStruct>',
        '<ParameterValueStruct><Name>A</Name><Value xsi:type="xsd:string">\x01</Value></ParameterValueStruct>',
        '<ParameterValueStruct><Name>A</Name><Value xsi:type="xsd:string">\ufffe</Value></ParameterValueStruct>',
        '<ParameterValueStruct><Name>A</Name><Value xsi:type="xsd:string">&#0;&#xD800;</Value></ParameterValueStruct>',
        '<ParameterValueStruct><Name>A&nbsp;</Name><Value xsi:type="xsd:string">x</Value></ParameterValueStruct>',
        '<ParameterValueStruct><Name>A</Name><Value xsi:type="xsd:string">&#00000065;&#X41;</Value></ParameterValueStruct>',
        '<ParameterValueStruct><Name>A</Name><Value xsi:type="xsd:string">&#' + "9" * 5000 + ";</Value></ParameterValueStruct>",
        '<ParameterValueStruct><Name>A & B</Name><Value xsi:type="xsd:string">x</Value></ParameterValueStruct>',
        '<ParameterValueStruct><Name>A</Name><Value foo:type="xsd:int">5</Value></ParameterValueStruct>',
        '<ParameterValueStruct><Name>A</Name><Value xsi:type="xsd:int>5</Value></ParameterValueStruct>',
        '<ParameterValueStruct><Name>A</Name><Value xsi:type="xsd:int" xsi:type="xsd:int">5</Value></ParameterValueStruct>',
        '<ParameterValueStruct><Name>A</Name><Value xsi:type="/>">5</Value></ParameterValueStruct>',
        ONE + "</ParameterList><ParameterList>" + ONE,
    ],
)
def test_unusual_lists_read_as_the_tree_does(items: str) -> None:
    same_as_tree(inform(items))


def test_a_list_that_is_not_the_message_field_reads_as_the_tree_does() -> None:
    elsewhere = inform(ONE).replace(b"<DeviceId>", b"<DeviceId><ParameterList>" + ONE.encode() + b"</ParameterList>", 1)
    elsewhere = elsewhere.replace(b"<ParameterList>" + ONE.encode() + b"</ParameterList></cwmp:Inform>", b"</cwmp:Inform>")
    commented = inform(ONE).replace(b"<soap:Body>", b"<soap:Body><!-- <ParameterList>" + ONE.encode() + b"</ParameterList> -->")
    in_header = inform(ONE).replace(b"</soap:Header>", b"<cwmp:X><ParameterList>" + ONE.encode() + b"</ParameterList></cwmp:X></soap:Header>")
    for data in (elsewhere, commented, in_header):
        assert not read_from_text(data)
        same_as_tree(data)
    qualified = inform(ONE).replace(b"ParameterList>", b"cwmp:ParameterList>").replace(b"<ParameterList", b"<cwmp:ParameterList")
    default_ns = inform(ONE, list_attributes=' xmlns="urn:x"')
    for data in (qualified, default_ns):
        same_as_tree(data)


def test_other_encodings_are_read_as_a_tree() -> None:
    undeclared_latin1 = inform(ONE).replace(b"Acme", b"Acm\xe9").replace(b' encoding="UTF-8"', b"")
    utf16 = inform(ONE).decode().replace("UTF-8", "UTF-16").encode("utf-16")
    for data in (undeclared_latin1, utf16, b"\xef\xbb\xbf" + inform(ONE)):
        assert not read_from_text(data)
        same_as_tree(data)


def test_hostile_input_in_the_list_is_refused_as_before() -> None:
    flood = " ".join(f'a{i}="1"' for i in range(33))
    for items in (f"<ParameterValueStruct {flood}><Name>A</Name><Value/></ParameterValueStruct>", "<a>" * 300 + "</a>" * 300):
        result = same_as_tree(inform(items))
        assert isinstance(result, tuple) and result[0].__name__ == "HostileXmlError"
    result = same_as_tree(b"<!DOCTYPE x [<!ENTITY e 'v'>]>" + inform(ONE, declaration=""))
    assert isinstance(result, tuple) and result[0].__name__ == "HostileXmlError"


# ---------------------------------------------------------------- generated and mutated documents
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
_lists = st.sampled_from([m.Inform, m.GetParameterValuesResponse, m.SetParameterValues]).flatmap(for_class)


@FUZZ
@given(message=_lists, ns=st.sampled_from([versions.CWMP_1_0, versions.CWMP_1_2]), spacing=st.sampled_from(["\n  ", "\r\n\t"]))
def test_generated_messages(message: m.Message, ns: str, spacing: str) -> None:
    data = soap.build_message(message, id="1", cwmp_ns=ns)
    env = same_as_tree(data)
    assert isinstance(env, m.Envelope) and env.body == message
    same_as_tree(data.replace(b"><", f">{spacing}<".encode()))  # spacing is text in empty elements


_FRAGMENTS = [
    "<", ">", "/", "/>", "=", '"', "'", " ", "\n", "\r", "\t", "\x01", "\x7f", "\u00e9", "\ufffd", "&", "&amp;", "&lt;",
    "&#1;", "&#9;", "&#13;", "&#x110000;", "&#xD800;", "&#65;", "&x;", "]]>", "]]", "--", "-", "<!--", "-->",
    "<![CDATA[x]]>", "<?pi x?>", "</Value>", "<Value>", "<Value/>", '<Value xsi:type="xsd:int"/>', "</Name>", "<Name>",
    "<Name/>", "<ParameterValueStruct>", "</ParameterValueStruct>", "<x/>", "<x>", "</x>", ' xsi:type="xsd:int"',
    ' foo:type="xsd:int"', ' xmlns:xsi="urn:x"', ' xmlns="urn:x"', " type='xsd:boolean'", ' a="1"', "xsd:", "1", "-1",
    "true", "<ParameterList>", "</ParameterList>",
]
_SEED = inform(
    ONE
    + '<ParameterValueStruct><Name>A.C</Name><Value xsi:type="xsd:string">x</Value></ParameterValueStruct>'
    + '<ParameterValueStruct><Name>A.D</Name><Value xsi:type="xsd:boolean">true</Value></ParameterValueStruct>'
).decode()


@FUZZ
@given(st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(_FRAGMENTS), st.integers(0, 3)), min_size=1, max_size=4))
def test_mutated_lists(edits: list[tuple[int, str, int]]) -> None:
    text = _SEED
    start, end = text.index("<ParameterList>"), text.index("</ParameterList>") + 16
    for pos, fragment, cut in edits:
        pos = start + pos % (end - start)
        text = text[:pos] + fragment + text[pos + cut :]
        end = max(start + 1, end + len(fragment) - cut)
    same_as_tree(text.encode("utf-8"))


# ---------------------------------------------------------------- read_value_list itself
def test_read_value_list_reads_the_usual_shape_only() -> None:
    values, attribute_names = read_value_list(" " + ONE + ONE.replace("xsi:type", "i:type") + "\n")  # type: ignore[misc]
    assert values == [m.ParameterValueStruct("A.B", 7, "xsd:unsignedInt")] * 2
    assert attribute_names == {"xsi:type", "i:type"}
    assert read_value_list("") == ([], set())
    for unusual in ("<x/>", ONE + "<", ONE.replace("Name>", "Nam>"), ONE.replace("7", "]]>"), ONE.replace("7", "&bad;")):
        assert read_value_list(unusual) is None


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (b"<a/>", "utf-8"),
        (b' \n<?xml version="1.0"?><a>\xc3\xa9</a>', "utf-8"),
        (b"<?xml version='1.0' encoding='utf-8' standalone='yes'?><a/>", "utf-8"),
        (b'<?xml version="1.0" encoding="ISO-8859-1"?><a>\xe9</a>', "iso-8859-1"),
        (b"<a>\xe9</a>", None),  # not UTF-8: parse_document retries it as ISO-8859-1
        (b'<?xml version="1.0" encoding="UTF-8"?><a>\xe9</a>', None),
        (b'<?xml version="1.1"?><a/>', None),
        (b'<?xml version="1.0" encoding="windows-1252"?><a/>', None),
        ("<a/>".encode("utf-16-le"), None),
        (b"\xef\xbb\xbf<a/>", None),
    ],
)
def test_text_encoding(data: bytes, encoding: str | None) -> None:
    assert text_encoding(data) == encoding
