"""Offline loading of the official CWMP schemas (see shared/cwmp-xsd/HOWTO.txt) for tests."""

from __future__ import annotations

import functools

import pytest
import xmlschema
from lxml import etree

from acs_devstack.shared import missing_reason, shared_dir

SHARED = shared_dir()
XSD_DIR = SHARED / "cwmp-xsd"
BBF = XSD_DIR / "BroadbandForum_cwmp-data-models"
SOAP = XSD_DIR / "sissaschool_xmlschema"
CAPTURES = SHARED / "cwmp-captures"

URI_MAP = {
    "http://schemas.xmlsoap.org/soap/envelope/": (SOAP / "soap-envelope.xsd").resolve().as_uri(),
    "http://schemas.xmlsoap.org/soap/encoding/": (SOAP / "soap-encoding.xsd").resolve().as_uri(),
    "http://www.broadband-forum.org/cwmp/cwmp-1-2.xsd": (BBF / "cwmp-1-2.xsd").resolve().as_uri(),
    "http://www.broadband-forum.org/cwmp/cwmp-1-3.xsd": (BBF / "cwmp-1-3.xsd").resolve().as_uri(),
}
_XS = "{http://www.w3.org/2001/XMLSchema}"


@functools.cache
def schema(version: str) -> xmlschema.XMLSchema10:
    """The schema for CWMP ``version`` ("1.0".."1.4"), loaded without network access."""
    if reason := missing_reason(BBF):
        pytest.skip(reason)
    name = {"1.0": "cwmp-1-0", "1.1": "cwmp-1-1", "1.2": "cwmp-1-2", "1.3": "cwmp-1-3", "1.4": "cwmp-1-4"}[version]
    path = BBF / f"{name}.xsd"
    kwargs = {"uri_mapper": URI_MAP, "allow": "local", "use_fallback": False}
    if version != "1.4":
        return xmlschema.XMLSchema10(str(path.resolve()), **kwargs)
    # xmlschema 4.x cannot load cwmp-1-4.xsd as is (include + redefine of the same file):
    # drop the include and merge the redefines, in memory, as HOWTO.txt describes.
    root = etree.parse(str(path)).getroot()
    for inc in root.findall(_XS + "include"):
        root.remove(inc)
    redefines = root.findall(_XS + "redefine")
    for r in redefines[1:]:
        redefines[0].extend(list(r))
        root.remove(r)
    return xmlschema.XMLSchema10(root, base_url=str(BBF.resolve()), **kwargs)


def errors(version: str, element: etree._Element) -> list[str]:
    """Validation errors of ``element`` (an Envelope, a Body child or a header element)."""
    namespaces = {k or "": v for k, v in element.nsmap.items()}
    return [str(e.reason or e) for e in schema(version).iter_errors(element, namespaces=namespaces)]
