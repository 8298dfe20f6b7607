"""CWMP SOAP envelopes: ``parse`` (bytes from a peer -> Envelope) and ``build`` (Envelope -> bytes).

Sans-I/O: no sockets, no files; the caller hands in one HTTP body and gets one back.

Reading is tolerant of real CPEs (any prefixes, qualified or unqualified children, SOAP-ENC
arrays with wrong or missing arrayType, ISO-8859-1, an empty Header, odd whitespace) and
hardened against hostile input (see ``xmlsafe``). What could not be read exactly is
listed in ``Envelope.extra["warnings"]``; header elements the codec does not know are
kept in ``Envelope.extra["headers"]`` (local name -> text).

Writing is strict: UTF-8, the peer's cwmp namespace, XSD element order, and only RPCs
and header elements that the namespace's schema defines (``EncodeError`` otherwise).
NoMoreRequests is read but never written (no schema defines it).
"""

from __future__ import annotations

import re
import secrets
from functools import lru_cache

from lxml import etree

from . import messages as m
from ._decode import decode_fault, decode_struct, local_name, read_value_list
from ._encode import encode_body
from .errors import BodyTooLarge, CwmpError, EncodeError, SoapParseError, UnknownMethod
from .messages import Envelope, Message
from .values import STRING, decode_boolean, parse_int
from .versions import (
    CWMP_1_0,
    CWMP_1_2,
    HEADER_SINCE,
    RPC_SINCE,
    detect_version,
    is_cwmp_namespace,
    rpc_available,
    version_for_namespace,
)
from .xmlsafe import DEFAULT_MAX_BYTES, SOAP_ENC, SOAP_ENV, XSD, XSI, escape, parse_document, text_encoding

__all__ = ["parse", "build", "build_message", "Envelope", "DEFAULT_MAX_BYTES"]

_ENVELOPE = f"{{{SOAP_ENV}}}Envelope"
_HEADER = f"{{{SOAP_ENV}}}Header"
_BODY = f"{{{SOAP_ENV}}}Body"


# ---------------------------------------------------------------- reading
def parse(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Envelope | None:
    """Read one HTTP body. None for an empty (or whitespace-only) body: the CPE's empty POST.

    Raises ``SoapParseError`` (or its subclasses ``UnknownMethod``, ``InvalidArguments``,
    ``HostileXmlError``, ``BodyTooLarge``); never anything else for any input bytes.
    """
    if not isinstance(data, bytes):
        if isinstance(data, (bytearray, memoryview)):
            data = bytes(data)
        elif isinstance(data, str):
            data = data.encode("utf-8")
        else:
            raise TypeError(f"parse() takes bytes, not {type(data).__name__}")
    if len(data) > max_bytes:
        raise BodyTooLarge(len(data), max_bytes)
    if not data or data.isspace():
        return None
    if data[-1:] == b"\x00":
        # Some CPEs send a C string terminator. UTF-16 text has NUL bytes all through it, so
        # strip only when the rest has none.
        stripped = data.rstrip(b"\x00")
        if b"\x00" not in stripped:
            data = stripped
            if not data or data.isspace():
                return None
    env = _parse_with_value_list_text(data, max_bytes)
    if env is not None:
        return env
    root = parse_document(data, max_bytes)
    try:
        return _read_envelope(root)
    except CwmpError:
        raise
    except _UNEXPECTED as err:
        # Last resort, so that no input can crash the caller; the fuzz tests keep it unused.
        raise SoapParseError(f"unreadable envelope: {type(err).__name__}: {err}") from None


_UNEXPECTED = (ValueError, TypeError, AttributeError, LookupError, ArithmeticError, RecursionError)

# The fast path of parse(), for an envelope whose ParameterValueStruct list (Inform,
# GetParameterValuesResponse, SetParameterValues) is in the usual shape. An lxml element per
# Name and Value, built and then read, is most of what parse() costs; instead
#  - ``read_value_list`` reads the list from its text, and checks all of it but the
#    characters and the prefixes of the <Value> attributes;
#  - libxml2 parses a stand-in document, with every check of ``parse_document``: the same
#    bytes with the list's content moved into a comment, where libxml2 checks every
#    character, and stand-in items put in its place. They have Names no document contains
#    (random), so finding them as the message's parameter_list proves the list is that
#    field, and use each <Value> attribute name the list uses, so libxml2 checks its prefix.
# The parser reaches the list in the same state in both documents and leaves it balanced, so
# the original is as well-formed as the stand-in, and its tree is the stand-in's with the
# items put back. Whatever does not fit is read as a whole tree, which gives the same result
# or raises the same error.
_STAND_IN_NAME = f"cwmp-stand-in-{secrets.token_hex(8)}"
_VALUE_LIST_START = re.compile(
    rb"<ParameterList(?:[ \t\r\n]+[^\x00-\x20=/>\"'<]+[ \t\r\n]*=[ \t\r\n]*(?:\"[^\"<]*\"|'[^'<]*'))*+[ \t\r\n]*>"
)


@lru_cache(maxsize=64)
def _stand_in(attribute_names: tuple[str, ...]) -> tuple[bytes, list[m.ParameterValueStruct]]:
    """Stand-in items for a list that uses these <Value> attribute names, and what they read as."""
    values = [f'<Value {name}="xsd:string"/>' for name in attribute_names] or ["<Value/>"]
    names = [f"{_STAND_IN_NAME}-{i}" for i in range(len(values))]
    items = "".join(f"<ParameterValueStruct><Name>{n}</Name>{v}</ParameterValueStruct>" for n, v in zip(names, values, strict=True))
    return items.encode("ascii"), [m.ParameterValueStruct(n, "", STRING) for n in names]


def _parse_with_value_list_text(data: bytes, max_bytes: int) -> Envelope | None:
    """parse() for an envelope whose (first) ParameterList reads from its text, or None."""
    start = data.find(b"<ParameterList")
    tag = _VALUE_LIST_START.match(data, start) if start >= 0 else None
    if tag is None:
        return None
    content, end = tag.end(), data.rfind(b"</ParameterList")  # the list is usually near the end
    first = data.find(b"<", content)
    if end < content or (first != end and not data.startswith(b"<ParameterValueStruct>", first)):
        return None  # not a list of ParameterValueStructs: not worth reading its text
    encoding = text_encoding(data)
    if encoding is None:
        return None
    try:
        read = read_value_list(data[content:end].decode(encoding))
    except UnicodeDecodeError:
        return None
    if read is None:
        return None
    values, attribute_names = read
    stand_in, expected = _stand_in(tuple(sorted(attribute_names)))
    document = b"".join((data[:content], stand_in, b"<!--", data[content:end], b"-->", data[end:]))
    try:
        env = _read_envelope(parse_document(document, max_bytes + len(document) - len(data)))
    except (CwmpError, *_UNEXPECTED):
        return None  # the usual way raises the same error, or reads the list otherwise
    if getattr(env.body, "parameter_list", None) != expected:
        return None
    env.body.parameter_list = values  # type: ignore[union-attr]
    return env


def _read_envelope(root: etree._Element) -> Envelope:
    if root.tag != _ENVELOPE:
        if local_name(root.tag) != "Envelope":
            raise SoapParseError(f"not a SOAP envelope: the root element is <{local_name(root.tag)}>")
        raise SoapParseError("the Envelope is not in the SOAP 1.1 namespace")
    header, body = _header_and_body(root)
    warnings: list[str] = []
    env = Envelope(body=None)
    header_ns = _read_header(header, env, warnings) if header is not None else None
    if body is None:
        raise SoapParseError("the Envelope has no Body")
    body_ns = _read_body(body, env, header_ns, warnings)
    env.cwmp_ns = _pick_ns(body_ns, header_ns)
    env.cwmp_version = detect_version(
        env.cwmp_ns,
        supported_cwmp_versions=env.supported_cwmp_versions,
        use_cwmp_version=env.use_cwmp_version,
        session_timeout=env.session_timeout,
    )
    if warnings:
        env.extra["warnings"] = warnings
    return env


def _header_and_body(root: etree._Element) -> tuple[etree._Element | None, etree._Element | None]:
    """The Envelope's (first) Header and Body, in whatever order and namespace prefix."""
    if len(root) == 2 and root[0].tag == _HEADER and root[1].tag == _BODY:
        return root[0], root[1]  # the usual shape, without an iterator
    header = body = None
    for child in root:
        name = local_name(child.tag)
        if name == "Body" and body is None:
            body = child
        elif name == "Header" and header is None:
            header = child
    return header, body


def _read_body(body: etree._Element, env: Envelope, header_ns: str | None, warnings: list[str]) -> str | None:
    """The Body's first element into ``env.body`` (an RPC, or a Fault); the cwmp namespace it is
    in, None for an empty Body. A CwmpError carries the envelope's ID and namespace."""
    for extra in body[1:]:
        warnings.append(f"Body: extra element <{local_name(extra.tag)}> ignored")
    if not len(body):
        return None
    element = body[0]
    tag = element.tag
    ns = tag[1 : tag.index("}")] if tag[0] == "{" else ""
    name = tag[len(ns) + 2 :] if ns else tag
    try:
        if name == "Fault":  # soapenv:Fault, or (tolerated) a bare cwmp:Fault
            env.body, body_ns = decode_fault(element, warnings)
            return body_ns
        cls = m.MESSAGE_TYPES.get(name)
        if cls is None:
            raise UnknownMethod(name, ns or None)
        env.body = decode_struct(element, cls, name, warnings)
        return ns
    except CwmpError as err:
        err.envelope_id = env.id
        err.cwmp_ns = _pick_ns(ns, header_ns)
        raise


def _pick_ns(body_ns: str | None, header_ns: str | None) -> str:
    if is_cwmp_namespace(body_ns):
        return body_ns  # type: ignore[return-value]
    if is_cwmp_namespace(header_ns):
        return header_ns  # type: ignore[return-value]
    return CWMP_1_0


def _read_header(header: etree._Element, env: Envelope, warnings: list[str]) -> str | None:
    header_ns = None
    for h in header:
        tag = h.tag
        ns = tag[1 : tag.index("}")] if tag[0] == "{" else ""
        name = tag[len(ns) + 2 :] if ns else tag
        if header_ns is None and is_cwmp_namespace(ns):
            header_ns = ns
        text = h.text or ""
        if name == "ID":
            env.id = text
        elif name == "HoldRequests":
            env.hold_requests = _header_bool(name, text, warnings)
        elif name == "NoMoreRequests":
            env.no_more_requests = _header_bool(name, text, warnings)
        elif name == "SessionTimeout":
            value = parse_int(text)
            if value is not None and 0 <= value <= 0xFFFFFFFF:
                env.session_timeout = value
            else:
                warnings.append(f"Header.SessionTimeout: {text.strip()[:64]!r} is not an unsignedInt; ignored")
        elif name == "SupportedCWMPVersions":
            env.supported_cwmp_versions = text.strip()
        elif name == "UseCWMPVersion":
            env.use_cwmp_version = text.strip()
        else:
            env.extra.setdefault("headers", {})[name] = text
    return header_ns


def _header_bool(name: str, text: str, warnings: list[str]) -> bool | None:
    value = decode_boolean(text)
    if value is True or value is False:
        return value
    warnings.append(f"Header.{name}: {text.strip()[:64]!r} is not a boolean; ignored")
    return None


# ---------------------------------------------------------------- writing
def _head(ns: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP_ENV}" xmlns:SOAP-ENC="{SOAP_ENC}"'
        f' xmlns:xsd="{XSD}" xmlns:xsi="{XSI}" xmlns:cwmp="{ns}">'
    )


_HEADS = {ns: _head(ns) for ns in ("urn:dslforum-org:cwmp-1-0", "urn:dslforum-org:cwmp-1-1", CWMP_1_2)}


def build(envelope: Envelope) -> bytes:
    """Write ``envelope`` as UTF-8 bytes in ``envelope.cwmp_ns``. Raises ``EncodeError``."""
    ns = envelope.cwmp_ns
    head = _HEADS.get(ns)
    if head is None:
        raise EncodeError(f"{ns!r} is not a CWMP namespace")
    version = version_for_namespace(ns)
    out = [head]
    _write_header(envelope, ns, out)
    message = envelope.body
    if message is None:
        out.append("<SOAP-ENV:Body/></SOAP-ENV:Envelope>")
    else:
        if not isinstance(message, Message):
            raise EncodeError(f"Envelope.body must be a CWMP message, got {type(message).__name__}")
        if not rpc_available(message.RPC, version):  # type: ignore[arg-type]
            raise EncodeError(
                f"{message.RPC} needs CWMP {RPC_SINCE[message.RPC]} or later; namespace {ns} cannot carry it"
            )
        out.append("<SOAP-ENV:Body>")
        try:
            encode_body(message, out)
        except EncodeError:
            raise
        except (TypeError, AttributeError, ValueError) as err:  # a field holding a wrong kind of object
            raise EncodeError(f"{message.RPC}: cannot encode: {err}") from None
        out.append("</SOAP-ENV:Body></SOAP-ENV:Envelope>")
    return "".join(out).encode("utf-8")


def _write_header(env: Envelope, ns: str, out: list[str]) -> None:
    parts = []
    if env.id is not None:
        parts.append(f'<cwmp:ID SOAP-ENV:mustUnderstand="1">{escape(env.id)}</cwmp:ID>')
    if env.hold_requests is not None:
        if not isinstance(env.hold_requests, bool):
            raise EncodeError(f"HoldRequests must be a bool, got {env.hold_requests!r}")
        parts.append(f'<cwmp:HoldRequests SOAP-ENV:mustUnderstand="1">{int(env.hold_requests)}</cwmp:HoldRequests>')
    late = (
        ("SessionTimeout", env.session_timeout),
        ("SupportedCWMPVersions", env.supported_cwmp_versions),
        ("UseCWMPVersion", env.use_cwmp_version),
    )
    for name, value in late:
        if value is not None and ns != CWMP_1_2:
            raise EncodeError(f"the {name} header needs CWMP {HEADER_SINCE[name]}; namespace {ns} cannot carry it")
    if env.session_timeout is not None:
        st = env.session_timeout
        if not isinstance(st, int) or isinstance(st, bool) or not 0 <= st <= 0xFFFFFFFF:
            raise EncodeError(f"SessionTimeout must be an unsignedInt, got {st!r}")
        parts.append(f"<cwmp:SessionTimeout>{int(st)}</cwmp:SessionTimeout>")
    if env.supported_cwmp_versions is not None:
        parts.append(
            '<cwmp:SupportedCWMPVersions SOAP-ENV:mustUnderstand="0">'
            f"{escape(env.supported_cwmp_versions)}</cwmp:SupportedCWMPVersions>"
        )
    if env.use_cwmp_version is not None:
        parts.append(
            f'<cwmp:UseCWMPVersion SOAP-ENV:mustUnderstand="1">{escape(env.use_cwmp_version)}</cwmp:UseCWMPVersion>'
        )
    if parts:
        out.append("<SOAP-ENV:Header>")
        out.extend(parts)
        out.append("</SOAP-ENV:Header>")


def build_message(
    message: Message,
    *,
    id: str | None = None,  # noqa: A002 - the protocol's own name
    cwmp_ns: str = CWMP_1_0,
    hold_requests: bool | None = None,
    session_timeout: int | None = None,
    supported_cwmp_versions: str | None = None,
    use_cwmp_version: str | None = None,
) -> bytes:
    """``build`` for one message with the given header values."""
    return build(
        Envelope(
            body=message,
            id=id,
            hold_requests=hold_requests,
            session_timeout=session_timeout,
            supported_cwmp_versions=supported_cwmp_versions,
            use_cwmp_version=use_cwmp_version,
            cwmp_ns=cwmp_ns,
        )
    )
