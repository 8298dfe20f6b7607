"""Hardened XML reading and XML text escaping.

Reading: CPE bodies are untrusted, so the parser never loads a DTD, never resolves an
entity, never touches the network or a file, and stays within libxml2's default limits
(depth 256, no huge text nodes). A document type declaration is refused outright, before
and after parsing. Elements with more than ``MAX_ATTRIBUTES`` attributes are refused.
Bodies that are not valid UTF-8 and declare no other encoding are read as ISO-8859-1, a
common CPE habit.

Writing: ``escape`` makes a str safe as element text and refuses characters XML 1.0
cannot carry; a carriage return is written as ``&#13;`` so it survives a reader's
newline normalisation.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

from lxml import etree

from .errors import BodyTooLarge, EncodeError, HostileXmlError, SoapParseError

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP_ENC = "http://schemas.xmlsoap.org/soap/encoding/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XSD = "http://www.w3.org/2001/XMLSchema"

MAX_ATTRIBUTES = 32  # per element; a CWMP element carries at most a handful
DEFAULT_MAX_BYTES = 4_194_304

_HAS_TOO_MANY_ATTRIBUTES = etree.XPath(f"boolean(//@*[{MAX_ATTRIBUTES + 1}])", regexp=False)
_RESOURCE_LIMIT = 114  # libxml2 XML_ERR_RESOURCE_LIMIT (depth, text size, amplification)
_ENTITY_LOOP = 89  # XML_ERR_ENTITY_LOOP
_HOSTILE_WORDS = ("amplification", "excessive depth", "huge", "entity loop", "xml_parse_huge")


def _make_parser(encoding: str | None) -> etree.XMLParser:
    return etree.XMLParser(
        encoding=encoding,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        strip_cdata=True,
        collect_ids=False,
    )


class _Parsers(threading.local):
    """lxml parsers must not be shared between threads; one pair per thread."""

    def __init__(self) -> None:
        self.auto = _make_parser(None)
        self.latin1 = _make_parser("iso-8859-1")


_parsers = _Parsers()


def _is_hostile(err: etree.XMLSyntaxError) -> bool:
    if err.code in (_RESOURCE_LIMIT, _ENTITY_LOOP):
        return True
    msg = (err.msg or "").lower()
    return any(word in msg for word in _HOSTILE_WORDS)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def parse_document(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._Element:
    """Parse untrusted bytes into an element tree, or raise a typed error. ``data`` must
    not be empty (the caller handles the empty POST)."""
    if len(data) > max_bytes:
        raise BodyTooLarge(len(data), max_bytes)
    # A DOCTYPE (the only place entities can be declared) must precede the root element,
    # so scanning up to the first "Envelope" is enough in the usual case; the check on the
    # parsed document below is the one that always holds.
    root_at = data.find(b"Envelope")
    if data.find(b"<!DOCTYPE", 0, root_at if root_at >= 0 else len(data)) >= 0:
        raise HostileXmlError("document type declarations are not accepted")
    if data[:1].isspace():
        data = data.lstrip()  # an XML declaration must come first; some CPEs send a newline
    try:
        root = etree.fromstring(data, _parsers.auto)
    except etree.XMLSyntaxError as err:
        if _is_hostile(err):
            raise HostileXmlError(f"XML refused: {err.msg}") from None
        if not _is_utf8(data):  # undeclared ISO-8859-1, a common CPE habit
            try:
                root = etree.fromstring(data, _parsers.latin1)
            except etree.XMLSyntaxError as err2:
                if _is_hostile(err2):
                    raise HostileXmlError(f"XML refused: {err2.msg}") from None
                raise SoapParseError(f"not well-formed XML: {err.msg}") from None
        else:
            raise SoapParseError(f"not well-formed XML: {err.msg}") from None
    except ValueError as err:  # lxml refuses e.g. str input with an encoding declaration
        raise SoapParseError(f"not well-formed XML: {err}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise HostileXmlError("document type declarations are not accepted")
    if _HAS_TOO_MANY_ATTRIBUTES(root):
        raise HostileXmlError(f"an element has more than {MAX_ATTRIBUTES} attributes")
    return root


_XML_DECLARATION = re.compile(
    rb"<\?xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*([\"'])1\.0\1"
    rb"(?:[ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*([\"'])([A-Za-z0-9._-]+)\2)?"
    rb"(?:[ \t\r\n]+standalone[ \t\r\n]*=[ \t\r\n]*([\"'])(?:yes|no)\4)?[ \t\r\n]*\?>"
)


def text_encoding(data: bytes) -> str | None:
    """The codec, "utf-8" or "iso-8859-1", in which ``parse_document`` reads ``data`` as
    XML 1.0 (by its declaration or the UTF-8 default); None for any other encoding or
    version, and for bytes that it reads only when retrying them as ISO-8859-1."""
    if data[:1].isspace():
        data = data.lstrip()
    declared = None
    if data.startswith(b"<?xml"):
        match = _XML_DECLARATION.match(data)
        if match is None:
            return None
        declared = match[3]
    elif not data.startswith(b"<"):  # a byte order mark, EBCDIC ...
        return None
    if b"\x00" in data:  # UTF-16 or UTF-32 (not an XML character in any other encoding)
        return None
    if declared is not None and declared.lower() == b"iso-8859-1":
        return "iso-8859-1"
    if (declared is None or declared.lower() == b"utf-8") and (data.isascii() or _is_utf8(data)):
        return "utf-8"
    return None


# ---------------------------------------------------------------- writing
# Characters XML 1.0 cannot carry. The common case (nothing to escape) is detected with
# C-speed str/bytes methods; a regex costs several ns per character, too slow for bulk text.
_ILLEGAL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ASCII_WORK = bytes(c for c in range(32) if c not in (9, 10)) + b"&<>"  # controls but TAB/LF, and & < >


def _needs_work(text: str) -> bool:
    if text.isascii():
        raw = text.encode("ascii")
        return len(raw.translate(None, _ASCII_WORK)) != len(raw)
    # Every character XML forbids is non-printable; so are TAB/LF/CR, which merely
    # send the text down the careful path.
    return not text.isprintable() or "&" in text or "<" in text or ">" in text


def _escape_slow(text: str) -> str:
    bad = _ILLEGAL_RE.search(text)
    if bad is not None:
        raise EncodeError(f"character U+{ord(bad.group()):04X} cannot be sent in XML: {text[:64]!r}")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def escape(text: str) -> str:
    """Element text for ``text``; raises EncodeError for characters XML 1.0 cannot carry."""
    if type(text) is not str:
        if not isinstance(text, str):
            raise EncodeError(f"expected a str, got {type(text).__name__}: {text!r}")
        text = str(text)
    if _needs_work(text):
        return _escape_slow(text)
    return text


def escape_join(items: Iterable[str], separator: str) -> str:
    """``separator.join(escape(i) for i in items)``, checking all items in one C-level pass
    when none needs escaping; ``separator`` is trusted markup and is not escaped."""
    items = items if isinstance(items, list) else list(items)
    try:
        plain = "".join(items)
    except TypeError:
        bad = next(i for i in items if not isinstance(i, str))
        raise EncodeError(f"expected a str, got {type(bad).__name__}: {bad!r}") from None
    if _needs_work(plain):
        return separator.join([escape(i) for i in items])
    return separator.join(items)
