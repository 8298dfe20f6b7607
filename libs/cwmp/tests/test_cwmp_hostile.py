"""Hostile input: every attack ends in a typed error, quickly, in bounded memory, offline."""

from __future__ import annotations

import socket
import time
import tracemalloc
from pathlib import Path

import pytest

from cwmp import soap
from cwmp.errors import BodyTooLarge, HostileXmlError, SoapParseError

ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SECRET = "s3cr3t-cwmp-xxe-marker"


def wrap(body: str, doctype: str = "") -> bytes:
    return (
        f'<?xml version="1.0"?>{doctype}<s:Envelope xmlns:s="{ENV}" xmlns:cwmp="urn:dslforum-org:cwmp-1-0">'
        f"<s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection attempt during a test fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the codec tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def assert_refused(data: bytes, error: type[Exception] = HostileXmlError, *, max_bytes: int | None = None, seconds: float = 2.0, megabytes: float = 64) -> Exception:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(error) as info:
            if max_bytes is None:
                soap.parse(data)
            else:
                soap.parse(data, max_bytes=max_bytes)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < seconds, f"took {elapsed:.2f}s"
    assert peak < megabytes * 2**20 + 2 * len(data), f"peak {peak / 2**20:.1f} MiB"
    assert info.value.fault_code == 8002
    assert SECRET not in str(info.value)
    return info.value


def test_billion_laughs() -> None:
    entities = '<!ENTITY a0 "lol">' + "".join(f'<!ENTITY a{i} "{("&a" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    assert_refused(wrap("<cwmp:Reboot><CommandKey>&a9;</CommandKey></cwmp:Reboot>", f"<!DOCTYPE s:Envelope [{entities}]>"))


def test_quadratic_blowup() -> None:
    big = "x" * 50_000
    assert_refused(wrap("<cwmp:Reboot><CommandKey>" + "&big;" * 5000 + "</CommandKey></cwmp:Reboot>", f'<!DOCTYPE s:Envelope [<!ENTITY big "{big}">]>'))


def test_xxe_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    doctype = f'<!DOCTYPE s:Envelope [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>'
    assert_refused(wrap("<cwmp:Reboot><CommandKey>&xxe;</CommandKey></cwmp:Reboot>", doctype))


def test_xxe_http_and_external_dtd() -> None:
    assert_refused(wrap("<cwmp:Reboot><CommandKey>&x;</CommandKey></cwmp:Reboot>", '<!DOCTYPE s:Envelope [<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]>'))
    assert_refused(wrap("<cwmp:Reboot/>", '<!DOCTYPE s:Envelope SYSTEM "http://127.0.0.1:9/evil.dtd">'))
    assert_refused(wrap("<cwmp:Reboot/>", '<!DOCTYPE s:Envelope PUBLIC "-//X//Y" "file:///etc/passwd">'))
    assert_refused(wrap("<cwmp:Reboot/>", '<!DOCTYPE s:Envelope [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd"> %p;]>'))


def test_dtd_in_utf16_is_refused_after_parsing() -> None:
    """The byte scan cannot see a UTF-16 DOCTYPE; the parsed document's DTD check does."""
    for encoding in ("utf-16", "utf-16-be"):
        data = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>'.encode(encoding)
        err = assert_refused(data)
        assert "document type" in str(err)


def test_undeclared_entity() -> None:
    assert_refused(wrap("<cwmp:Reboot><CommandKey>&xxe;</CommandKey></cwmp:Reboot>"), SoapParseError)


def test_deep_nesting() -> None:
    depth = 100_000
    assert_refused(wrap("<a>" * depth + "</a>" * depth))
    assert_refused(wrap("<cwmp:Reboot>" + "<x>" * 300 + "</x>" * 300 + "</cwmp:Reboot>"))


def test_attribute_flood() -> None:
    attrs = " ".join(f'a{i}="1"' for i in range(50_000))
    assert_refused(wrap(f"<cwmp:Reboot {attrs}/>"))
    assert_refused(wrap("<cwmp:Reboot " + " ".join(f'a{i}="1"' for i in range(33)) + "/>"))
    # 32 attributes is still accepted (and ignored)
    env = soap.parse(wrap("<cwmp:Reboot " + " ".join(f'a{i}="1"' for i in range(32)) + "><CommandKey/></cwmp:Reboot>"))
    assert env is not None


def test_oversized_body() -> None:
    data = wrap("<cwmp:Reboot><CommandKey>" + "x" * 5_000_000 + "</CommandKey></cwmp:Reboot>")
    err = assert_refused(data, BodyTooLarge)
    assert isinstance(err, BodyTooLarge) and err.limit == 4_194_304 and err.size == len(data)
    assert_refused(wrap("<cwmp:GetRPCMethods/>"), BodyTooLarge, max_bytes=100)


def test_huge_text_node() -> None:
    """Over libxml2's 10 MB text-node limit, with the body limit raised to let it reach the parser."""
    data = wrap("<cwmp:Reboot><CommandKey>" + "x" * 11_000_000 + "</CommandKey></cwmp:Reboot>")
    assert_refused(data, max_bytes=50_000_000, megabytes=128)


def test_huge_digit_strings_stay_bounded() -> None:
    """A 1 MB number must not reach int() (quadratic / refused by Python beyond 4300 digits)."""
    digits = "9" * 1_000_000
    body = (
        "<cwmp:GetParameterValuesResponse><ParameterList><ParameterValueStruct><Name>n</Name>"
        f'<Value xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xsd:unsignedInt">{digits}</Value>'
        "</ParameterValueStruct></ParameterList></cwmp:GetParameterValuesResponse>"
    )
    started = time.perf_counter()
    env = soap.parse(wrap(body))
    assert time.perf_counter() - started < 2
    assert env is not None and env.body.parameter_list[0].value == digits  # type: ignore[union-attr]
    started = time.perf_counter()
    with pytest.raises(SoapParseError):
        soap.parse(wrap(f"<cwmp:SetParameterValuesResponse><Status>{digits}</Status></cwmp:SetParameterValuesResponse>"))
    assert time.perf_counter() - started < 2


def test_many_elements_within_the_limit_are_fine_and_bounded() -> None:
    items = "".join(f"<string>InternetGatewayDevice.X.{i}.</string>" for i in range(60_000))
    data = wrap(f"<cwmp:GetParameterValues><ParameterNames>{items}</ParameterNames></cwmp:GetParameterValues>")
    assert len(data) < 4_194_304
    started = time.perf_counter()
    env = soap.parse(data)
    assert time.perf_counter() - started < 5
    assert env is not None and len(env.body.parameter_names) == 60_000  # type: ignore[union-attr]


def test_processing_instructions_and_xinclude_are_inert(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    body = (
        '<?xml-stylesheet href="http://127.0.0.1:9/x.xsl"?>'
        f'<cwmp:Reboot><CommandKey><xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="{secret.as_uri()}" parse="text"/></CommandKey></cwmp:Reboot>'
    )
    env = soap.parse(wrap(body))
    assert env is not None and SECRET not in repr(env)


def test_doctype_hidden_behind_a_comment_is_still_refused(tmp_path: Path) -> None:
    """The byte scan stops at the first "Envelope"; the parsed-document check does not."""
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    doctype = f'<!-- Envelope --><!DOCTYPE s:Envelope [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>'
    err = assert_refused(wrap("<cwmp:Reboot><CommandKey>&xxe;</CommandKey></cwmp:Reboot>", doctype))
    assert "document type" in str(err)
