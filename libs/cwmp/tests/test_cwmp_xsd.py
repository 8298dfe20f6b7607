"""Everything ``build`` writes validates against the official CWMP schemas, per version."""

from __future__ import annotations

import pytest
from cwmp_samples import representative
from cwmp_xsd import errors
from lxml import etree

from cwmp import messages as m
from cwmp import soap, versions
from cwmp.errors import EncodeError

CASES = [
    (version, cls)
    for version in versions.VERSIONS
    for cls in m.MESSAGE_TYPES.values()
    if versions.rpc_available(cls.RPC, version)
]
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"


def _headers(version: str) -> dict[str, object]:
    headers: dict[str, object] = {"id": "sess-1 & <2>", "hold_requests": False}
    if versions.supports(version, "1.3"):
        headers["session_timeout"] = 60
    if versions.supports(version, "1.4"):
        headers["supported_cwmp_versions"] = "1.0,1.1,1.2,1.3,1.4"
        headers["use_cwmp_version"] = version
    return headers


def test_every_message_type_has_a_sample_and_every_rpc_a_version() -> None:
    assert {cls for _, cls in CASES} == set(m.MESSAGE_TYPES.values())
    assert len(CASES) > 200


@pytest.mark.parametrize(("version", "cls"), CASES, ids=[f"{v}-{c.RPC}" for v, c in CASES])
def test_built_envelope_validates(version: str, cls: type[m.Message]) -> None:
    message = representative(cls)
    data = soap.build_message(message, cwmp_ns=versions.namespace_for(version), **_headers(version))  # type: ignore[arg-type]
    root = etree.fromstring(data)
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    # The whole envelope (the Body's lax wildcard still checks the cwmp element) ...
    assert errors(version, root) == []
    header, body = root
    # ... the Body child on its own (for a Fault: the cwmp:Fault detail) ...
    child = body[0]
    if cls is m.Fault:
        assert child.tag == f"{{{SOAP_ENV}}}Fault"
        child = child.find("detail")[0]
    assert child.tag == f"{{{versions.namespace_for(version)}}}{'Fault' if cls is m.Fault else cls.RPC}"
    assert errors(version, child) == []
    # ... and every header element, each against the schema that defines it.
    names = [etree.QName(h).localname for h in header]
    assert names[:2] == ["ID", "HoldRequests"]
    for h in header:
        assert errors(version, h) == [], etree.QName(h).localname
    # What was written reads back as what was given.
    assert soap.parse(data).body == message  # type: ignore[union-attr]


def test_schema_check_is_not_vacuous() -> None:
    """The validator does reject what real CPEs get wrong (lower-case OUI, missing element)."""
    data = soap.build_message(representative(m.Inform), id="1")
    bad = data.replace(b"<OUI>00D09E</OUI>", b"<OUI>00d09e</OUI>").replace(b"<MaxEnvelopes>1</MaxEnvelopes>", b"")
    assert len(errors("1.0", etree.fromstring(bad)[1][0])) == 2
    header = etree.fromstring(b'<c:SessionTimeout xmlns:c="urn:dslforum-org:cwmp-1-2">-1</c:SessionTimeout>')
    assert errors("1.3", header)


@pytest.mark.parametrize(
    ("rpc", "version"),
    [("GetAllQueuedTransfers", "1.0"), ("AutonomousTransferComplete", "1.0"), ("ChangeDUState", "1.1"), ("ScheduleDownloadResponse", "1.0")],
)
def test_rpc_missing_from_the_version_is_refused(rpc: str, version: str) -> None:
    with pytest.raises(EncodeError, match=rpc):
        soap.build_message(representative(m.MESSAGE_TYPES[rpc]), cwmp_ns=versions.namespace_for(version))


@pytest.mark.parametrize("header", ["session_timeout", "supported_cwmp_versions", "use_cwmp_version"])
def test_late_headers_need_the_cwmp_1_2_namespace(header: str) -> None:
    value = 30 if header == "session_timeout" else "1.4"
    with pytest.raises(EncodeError, match="namespace"):
        soap.build_message(m.InformResponse(1), cwmp_ns=versions.CWMP_1_1, **{header: value})  # type: ignore[arg-type]
    data = soap.build_message(m.InformResponse(1), cwmp_ns=versions.CWMP_1_2, **{header: value})  # type: ignore[arg-type]
    assert errors("1.4", etree.fromstring(data)) == []


def test_no_header_when_no_header_field_is_set() -> None:
    root = etree.fromstring(soap.build_message(m.GetRPCMethods()))
    assert [etree.QName(c).localname for c in root] == ["Body"]
    assert errors("1.0", root) == []


def test_unknown_namespace_is_refused() -> None:
    with pytest.raises(EncodeError):
        soap.build_message(m.GetRPCMethods(), cwmp_ns="urn:example:not-cwmp")
