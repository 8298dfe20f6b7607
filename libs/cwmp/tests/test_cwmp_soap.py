"""parse/build behaviour: tolerant reading of real-CPE variations, typed errors, headers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cwmp import messages as m
from cwmp import soap, versions
from cwmp.errors import CwmpError, EncodeError, InvalidArguments, SoapParseError, UnknownMethod
from cwmp.events import EventCode

ENV = "http://schemas.xmlsoap.org/soap/envelope/"
ENC = "http://schemas.xmlsoap.org/soap/encoding/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"


def envelope(body: str, header: str = '<cwmp:ID soap:mustUnderstand="1">7</cwmp:ID>', ns: str = versions.CWMP_1_0) -> bytes:
    return (
        f'<soap:Envelope xmlns:soap="{ENV}" xmlns:enc="{ENC}" xmlns:xsi="{XSI}" '
        f'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:cwmp="{ns}">'
        f"<soap:Header>{header}</soap:Header><soap:Body>{body}</soap:Body></soap:Envelope>"
    ).encode()


INFORM = """<cwmp:Inform>
  <DeviceId><Manufacturer>Acme</Manufacturer><OUI>00D09E</OUI><ProductClass>HGW</ProductClass><SerialNumber>S1</SerialNumber></DeviceId>
  <Event enc:arrayType="cwmp:EventStruct[1]"><EventStruct><EventCode>1 BOOT</EventCode><CommandKey></CommandKey></EventStruct></Event>
  <MaxEnvelopes>1</MaxEnvelopes><CurrentTime>2024-01-02T03:04:05Z</CurrentTime><RetryCount>0</RetryCount>
  <ParameterList enc:arrayType="cwmp:ParameterValueStruct[1]">
    <ParameterValueStruct><Name>IGD.DeviceInfo.UpTime</Name><Value xsi:type="xsd:unsignedInt">42</Value></ParameterValueStruct>
  </ParameterList>
</cwmp:Inform>"""


def inform_of(data: bytes) -> tuple[m.Envelope, m.Inform]:
    env = soap.parse(data)
    assert env is not None and isinstance(env.body, m.Inform)
    return env, env.body


# ---------------------------------------------------------------- the empty POST and whitespace
@pytest.mark.parametrize("body", [b"", b"   ", b"\r\n\t \n", b"\x00", b"\n\x00"])
def test_empty_body_is_none(body: bytes) -> None:
    assert soap.parse(body) is None


def test_leading_whitespace_before_xml_declaration_and_trailing_nul() -> None:
    data = b'\r\n  <?xml version="1.0" encoding="UTF-8"?>\n' + envelope(INFORM) + b"\n\x00"
    env, inform = inform_of(data)
    assert env.id == "7" and inform.retry_count == 0


def test_basic_inform() -> None:
    env, inform = inform_of(envelope(INFORM))
    assert inform.device_id == m.DeviceIdStruct("Acme", "00D09E", "HGW", "S1")
    assert inform.events == [m.EventStruct(EventCode.BOOT, "")]
    assert isinstance(inform.events[0].event_code, EventCode)
    assert inform.current_time == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert inform.parameter_list == [m.ParameterValueStruct("IGD.DeviceInfo.UpTime", 42, "xsd:unsignedInt")]
    assert (env.cwmp_ns, env.cwmp_version, env.extra) == (versions.CWMP_1_0, "1.0", {})


# ---------------------------------------------------------------- tolerance
def test_other_prefixes_and_default_namespace() -> None:
    data = (
        f'<E:Envelope xmlns:E="{ENV}"><E:Body>'
        f'<Inform xmlns="{versions.CWMP_1_1}">'
        "<DeviceId><Manufacturer>A</Manufacturer><OUI>00D09E</OUI><ProductClass/><SerialNumber>1</SerialNumber></DeviceId>"
        "<Event/><MaxEnvelopes>1</MaxEnvelopes><CurrentTime>2024-01-02T03:04:05</CurrentTime><RetryCount>1</RetryCount>"
        "<ParameterList/></Inform></E:Body></E:Envelope>"
    ).encode()
    env, inform = inform_of(data)
    assert env.cwmp_ns == versions.CWMP_1_1 and env.cwmp_version == "1.1" and env.id is None
    assert inform.device_id.product_class == "" and inform.events == [] and inform.parameter_list == []


def test_namespace_qualified_children_and_other_order() -> None:
    body = INFORM.replace("<DeviceId>", "<cwmp:DeviceId>").replace("</DeviceId>", "</cwmp:DeviceId>")
    body = body.replace("<OUI>00D09E</OUI>", "<cwmp:OUI>00D09E</cwmp:OUI>")
    body = body.replace(
        "<Name>IGD.DeviceInfo.UpTime</Name><Value xsi:type=\"xsd:unsignedInt\">42</Value>",
        "<cwmp:Value xsi:type=\"xsd:unsignedInt\">42</cwmp:Value><cwmp:Name>IGD.DeviceInfo.UpTime</cwmp:Name>",
    )
    body = body.replace("<MaxEnvelopes>1</MaxEnvelopes><CurrentTime>2024-01-02T03:04:05Z</CurrentTime>",
                        "<CurrentTime>2024-01-02T03:04:05Z</CurrentTime><MaxEnvelopes>1</MaxEnvelopes>")
    _, inform = inform_of(envelope(body))
    assert inform.device_id.oui == "00D09E"
    assert inform.parameter_list == [m.ParameterValueStruct("IGD.DeviceInfo.UpTime", 42, "xsd:unsignedInt")]


def test_quirky_scalars() -> None:
    body = INFORM.replace("<RetryCount>0</RetryCount>", "<RetryCount> 00 </RetryCount>")
    body = body.replace("<MaxEnvelopes>1</MaxEnvelopes>", "<MaxEnvelopes>2</MaxEnvelopes>")
    body = body.replace("<OUI>00D09E</OUI>", "<OUI>00d09e</OUI>")
    body = body.replace("<EventCode>1 BOOT</EventCode>", "<EventCode>\n 1   BOOT </EventCode>")
    _, inform = inform_of(envelope(body))
    assert (inform.retry_count, inform.max_envelopes, inform.device_id.oui) == (0, 2, "00d09e")
    assert inform.events[0].event_code == EventCode.BOOT


def test_arrays_without_array_type_or_with_wrong_counts_and_xsi_array() -> None:
    body = INFORM.replace('enc:arrayType="cwmp:EventStruct[1]"', 'xsi:type="enc:Array" enc:arrayType="cwmp:EventStruct[0009]"')
    body = body.replace(' enc:arrayType="cwmp:ParameterValueStruct[1]"', "")
    _, inform = inform_of(envelope(body))
    assert len(inform.events) == 1 and len(inform.parameter_list) == 1


def test_empty_header_and_no_header() -> None:
    env = soap.parse(envelope(INFORM, header=""))
    assert env is not None and env.id is None and isinstance(env.body, m.Inform)
    data = f'<s:Envelope xmlns:s="{ENV}"><s:Body><cwmp:GetRPCMethods xmlns:cwmp="{versions.CWMP_1_2}"/></s:Body></s:Envelope>'
    env = soap.parse(data.encode())
    assert env is not None and env.body == m.GetRPCMethods() and env.cwmp_ns == versions.CWMP_1_2


def test_comments_cdata_and_character_references() -> None:
    body = INFORM.replace("<Manufacturer>Acme</Manufacturer>", "<Manufacturer><!-- x -->Ac<![CDATA[m&]]>&#101;&amp;</Manufacturer>")
    _, inform = inform_of(envelope(body))
    assert inform.device_id.manufacturer == "Acm&e&"


def test_iso_8859_1_declared_and_undeclared() -> None:
    body = INFORM.replace("<Manufacturer>Acme</Manufacturer>", "<Manufacturer>Société Générale</Manufacturer>")
    declared = b'<?xml version="1.0" encoding="ISO-8859-1"?>' + envelope(body).decode().encode("latin-1")
    assert inform_of(declared)[1].device_id.manufacturer == "Société Générale"
    undeclared = envelope(body).decode().encode("latin-1")
    assert inform_of(undeclared)[1].device_id.manufacturer == "Société Générale"
    utf8 = envelope(body)
    assert inform_of(utf8)[1].device_id.manufacturer == "Société Générale"


def test_values_without_type_or_with_odd_type_spellings() -> None:
    values = (
        '<ParameterValueStruct><Name>a</Name><Value>  text  </Value></ParameterValueStruct>'
        '<ParameterValueStruct><Name>b</Name><Value xsi:type="xs:boolean">TRUE</Value></ParameterValueStruct>'
        '<ParameterValueStruct><Name>c</Name><Value xsi:type="unsignedint">7</Value></ParameterValueStruct>'
        '<ParameterValueStruct><Name>d</Name><Value xsi:type="enc:base64">aGk=</Value></ParameterValueStruct>'
        '<ParameterValueStruct><Name>e</Name><Value xsi:type="xsd:int">12abc</Value></ParameterValueStruct>'
        '<ParameterValueStruct><Name>f</Name><Value xsi:type="xsd:dateTime">0000-00-00T00:00:00</Value></ParameterValueStruct>'
        '<ParameterValueStruct><Name>g</Name><Value xsi:type="xsd:string" foo="bar"/></ParameterValueStruct>'
    )
    body = f'<cwmp:GetParameterValuesResponse><ParameterList>{values}</ParameterList></cwmp:GetParameterValuesResponse>'
    env = soap.parse(envelope(body))
    assert env is not None and isinstance(env.body, m.GetParameterValuesResponse)
    assert [(p.name, p.value, p.type) for p in env.body.parameter_list] == [
        ("a", "  text  ", "xsd:string"),
        ("b", True, "xsd:boolean"),
        ("c", 7, "xsd:unsignedInt"),
        ("d", b"hi", "xsd:base64"),
        ("e", "12abc", "xsd:int"),
        ("f", "0000-00-00T00:00:00", "xsd:dateTime"),
        ("g", "", "xsd:string"),
    ]


def test_optional_fields_fall_back_with_warnings() -> None:
    body = INFORM.replace("<MaxEnvelopes>1</MaxEnvelopes>", "<MaxEnvelopes>lots</MaxEnvelopes>")
    body = body.replace("<RetryCount>0</RetryCount>", "")
    env, inform = inform_of(envelope(body))
    assert inform.max_envelopes == 1 and inform.retry_count == 0
    assert env.extra["warnings"] == ["Inform.MaxEnvelopes: 'lots' is not an integer; default used"]


def test_extra_body_elements_and_unknown_headers_are_reported() -> None:
    data = envelope(INFORM + "<cwmp:Other/>", header='<cwmp:ID soap:mustUnderstand="1">7</cwmp:ID><x:Trace xmlns:x="urn:x">abc</x:Trace>')
    env = soap.parse(data)
    assert env is not None and isinstance(env.body, m.Inform)
    assert env.extra["headers"] == {"Trace": "abc"}
    assert env.extra["warnings"] == ["Body: extra element <Other> ignored"]


def test_empty_body_element() -> None:
    env = soap.parse(envelope(""))
    assert env is not None and env.body is None and env.id == "7"


# ---------------------------------------------------------------- headers and versions
def test_headers_read() -> None:
    header = (
        '<cwmp:ID soap:mustUnderstand="1"> id-1 </cwmp:ID><cwmp:HoldRequests soap:mustUnderstand="1">true</cwmp:HoldRequests>'
        "<cwmp:NoMoreRequests>1</cwmp:NoMoreRequests><cwmp:SessionTimeout>45</cwmp:SessionTimeout>"
    )
    env = soap.parse(envelope("<cwmp:GetRPCMethods/>", header=header, ns=versions.CWMP_1_2))
    assert env is not None
    assert (env.id, env.hold_requests, env.no_more_requests, env.session_timeout) == (" id-1 ", True, True, 45)
    assert env.cwmp_version == "1.3"


@pytest.mark.parametrize(
    ("ns", "header", "version"),
    [
        (versions.CWMP_1_0, "", "1.0"),
        (versions.CWMP_1_1, "", "1.1"),
        (versions.CWMP_1_2, "", "1.2"),
        (versions.CWMP_1_2, "<cwmp:SessionTimeout>30</cwmp:SessionTimeout>", "1.3"),
        (versions.CWMP_1_2, "<cwmp:SupportedCWMPVersions>1.0,1.1,1.2,1.3,1.4</cwmp:SupportedCWMPVersions>", "1.4"),
        (versions.CWMP_1_2, "<cwmp:SupportedCWMPVersions>1.0, 1.4, 2.0</cwmp:SupportedCWMPVersions>", "1.4"),
        (versions.CWMP_1_2, '<cwmp:UseCWMPVersion soap:mustUnderstand="1">1.3</cwmp:UseCWMPVersion>', "1.3"),
        (versions.CWMP_1_0, "<cwmp:SupportedCWMPVersions>1.0,1.4</cwmp:SupportedCWMPVersions>", "1.0"),
    ],
)
def test_version_detection(ns: str, header: str, version: str) -> None:
    env = soap.parse(envelope("<cwmp:GetRPCMethods/>", header=header, ns=ns))
    assert env is not None and env.cwmp_ns == ns and env.cwmp_version == version


def test_headers_round_trip() -> None:
    data = soap.build_message(
        m.InformResponse(1), id="x<1>", cwmp_ns=versions.CWMP_1_2, hold_requests=True, session_timeout=30,
        supported_cwmp_versions="1.0,1.1,1.2,1.3,1.4", use_cwmp_version="1.4",
    )
    env = soap.parse(data)
    assert env is not None
    assert (env.id, env.hold_requests, env.session_timeout) == ("x<1>", True, 30)
    assert (env.supported_cwmp_versions, env.use_cwmp_version, env.cwmp_version) == ("1.0,1.1,1.2,1.3,1.4", "1.4", "1.4")


def test_answer_in_the_peers_namespace() -> None:
    env = soap.parse(envelope(INFORM, ns=versions.CWMP_1_1))
    assert env is not None
    reply = soap.build(m.Envelope(body=m.InformResponse(1), id=env.id, cwmp_ns=env.cwmp_ns))
    assert f'xmlns:cwmp="{versions.CWMP_1_1}"'.encode() in reply
    assert b'<cwmp:ID SOAP-ENV:mustUnderstand="1">7</cwmp:ID>' in reply


def test_bad_header_values_are_ignored_with_warnings() -> None:
    header = "<cwmp:HoldRequests>maybe</cwmp:HoldRequests><cwmp:SessionTimeout>-5</cwmp:SessionTimeout>"
    env = soap.parse(envelope("<cwmp:GetRPCMethods/>", header=header, ns=versions.CWMP_1_2))
    assert env is not None and env.hold_requests is None and env.session_timeout is None
    assert len(env.extra["warnings"]) == 2


# ---------------------------------------------------------------- faults
def test_cpe_fault_with_set_parameter_values_faults() -> None:
    body = (
        "<soap:Fault><faultcode>soap:Client</faultcode><faultstring>CWMP fault</faultstring><detail>"
        "<cwmp:Fault><FaultCode>9003</FaultCode><FaultString>Invalid arguments</FaultString>"
        "<SetParameterValuesFault><ParameterName>IGD.X</ParameterName><FaultCode>9007</FaultCode><FaultString>bad</FaultString></SetParameterValuesFault>"
        "<SetParameterValuesFault><ParameterName>IGD.Y</ParameterName><FaultCode>9008</FaultCode></SetParameterValuesFault>"
        "</cwmp:Fault></detail></soap:Fault>"
    )
    env = soap.parse(envelope(body))
    assert env is not None
    assert env.body == m.Fault(
        fault_code=9003,
        fault_string="Invalid arguments",
        faultcode="Client",
        faultstring="CWMP fault",
        set_parameter_values_faults=[m.SetParameterValuesFault("IGD.X", 9007, "bad"), m.SetParameterValuesFault("IGD.Y", 9008, "")],
    )


def test_soap_fault_without_cwmp_detail() -> None:
    env = soap.parse(envelope("<soap:Fault><faultcode>Server</faultcode><faultstring>oops</faultstring></soap:Fault>"))
    assert env is not None and isinstance(env.body, m.Fault)
    assert (env.body.fault_code, env.body.fault_string, env.body.faultcode) == (0, "oops", "Server")
    assert env.extra["warnings"]


def test_bare_cwmp_fault_in_the_body_is_tolerated() -> None:
    env = soap.parse(envelope("<cwmp:Fault><FaultCode>9002</FaultCode><FaultString>Internal error</FaultString></cwmp:Fault>", ns=versions.CWMP_1_1))
    assert env is not None and isinstance(env.body, m.Fault)
    assert (env.body.fault_code, env.body.fault_string, env.cwmp_ns) == (9002, "Internal error", versions.CWMP_1_1)


def test_acs_fault_round_trip() -> None:
    fault = m.Fault(fault_code=8005, fault_string="Retry request", faultcode="Server")
    env = soap.parse(soap.build_message(fault, id="9", cwmp_ns=versions.CWMP_1_2))
    assert env is not None and env.body == fault


# ---------------------------------------------------------------- errors
def test_unknown_method_is_8000_and_carries_the_request_id() -> None:
    with pytest.raises(UnknownMethod) as info:
        soap.parse(envelope("<cwmp:SetVouchers><VoucherList/></cwmp:SetVouchers>", ns=versions.CWMP_1_1))
    err = info.value
    assert err.fault_code == 8000 and err.method == "SetVouchers"
    assert (err.envelope_id, err.cwmp_ns) == ("7", versions.CWMP_1_1)
    assert isinstance(err, SoapParseError) and "SetVouchers" in str(err)


def test_missing_required_field_is_8003() -> None:
    with pytest.raises(InvalidArguments) as info:
        soap.parse(envelope("<cwmp:GetParameterValues/>"))
    assert info.value.fault_code == 8003 and "ParameterNames" in str(info.value)
    assert info.value.envelope_id == "7"
    with pytest.raises(InvalidArguments, match="DeviceId"):
        soap.parse(envelope(INFORM.replace("<DeviceId>", "<Device>").replace("</DeviceId>", "</Device>")))
    with pytest.raises(InvalidArguments, match="'x' is not an integer"):
        soap.parse(envelope("<cwmp:SetParameterValuesResponse><Status>x</Status></cwmp:SetParameterValuesResponse>"))


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"hello", "not well-formed"),
        (b"<a><b></a>", "not well-formed"),
        (b"<html><body/></html>", "not a SOAP envelope"),
        (b'<Envelope xmlns="urn:other"><Body/></Envelope>', "SOAP 1.1"),
        (f'<s:Envelope xmlns:s="{ENV}"><s:Header/></s:Envelope>'.encode(), "no Body"),
        (envelope(INFORM) + envelope(INFORM), "not well-formed"),
        (b"\xff\xfe<\x00a\x00", "not well-formed"),
    ],
)
def test_malformed_input_is_8002(data: bytes, match: str) -> None:
    with pytest.raises(SoapParseError, match=match) as info:
        soap.parse(data)
    assert info.value.fault_code == 8002 and isinstance(info.value, CwmpError)


@pytest.mark.parametrize(
    "message",
    [
        m.Reboot(command_key=None),  # type: ignore[arg-type]
        m.Inform(device_id=None, events=[]),  # type: ignore[arg-type]
        m.GetParameterValues(parameter_names=["ok", 5]),  # type: ignore[list-item]
        m.GetParameterValues(parameter_names="InternetGatewayDevice."),  # type: ignore[arg-type]
        m.SetParameterValues([m.ParameterValueStruct("a", None)]),  # type: ignore[arg-type]
        m.SetParameterValues([m.ParameterValueStruct("a", "1", 5)]),  # type: ignore[arg-type]
        m.SetParameterValues([m.ParameterValueStruct("a", "x", "xsd:unsignedInt")]),
        m.SetParameterValues([m.ParameterValueStruct("a", "bell\x07", "xsd:string")]),
        m.ScheduleInform(delay_seconds="60"),  # type: ignore[arg-type]
        m.GetParameterNames("InternetGatewayDevice.", next_level="yes"),  # type: ignore[arg-type]
        m.DownloadResponse(status=0, start_time="2024-01-01"),  # type: ignore[arg-type]
        m.ChangeDUState([m.ArgStruct("a", "b")]),  # type: ignore[list-item]
        m.Fault(fault_code="9000"),  # type: ignore[arg-type]
    ],
)
def test_build_refuses_wrong_field_values_with_encode_error(message: m.Message) -> None:
    with pytest.raises(EncodeError):
        soap.build_message(message, cwmp_ns=versions.CWMP_1_2)


def test_array_items_in_unusual_shapes_and_warnings_reported_once() -> None:
    items = (
        "<ParameterInfoStruct><Name>a.</Name><Writable>30</Writable></ParameterInfoStruct>"
        "<ParameterInfoStruct><cwmp:Writable>1</cwmp:Writable><cwmp:Name>b</cwmp:Name></ParameterInfoStruct>"
        "<ParameterInfoStruct><Name>c<!-- note --></Name><Writable> false </Writable><Extra/></ParameterInfoStruct>"
    )
    env = soap.parse(envelope(f"<cwmp:GetParameterNamesResponse><ParameterList>{items}</ParameterList></cwmp:GetParameterNamesResponse>"))
    assert env is not None
    assert env.body == m.GetParameterNamesResponse(
        [m.ParameterInfoStruct("a.", True), m.ParameterInfoStruct("b", True), m.ParameterInfoStruct("c", False)]
    )
    assert env.extra["warnings"] == ["GetParameterNamesResponse.ParameterList[0].Writable: '30' is not a boolean; read as True"]
