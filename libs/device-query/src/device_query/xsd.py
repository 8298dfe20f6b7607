"""The CWMP value types (XML Schema names, TR-069 A.2.3) a declaration may give its value."""

from __future__ import annotations

DECLARATION_TYPES = frozenset({
    "xsd:string", "xsd:int", "xsd:unsignedInt", "xsd:long", "xsd:unsignedLong", "xsd:boolean",
    "xsd:dateTime", "xsd:base64", "xsd:hexBinary",
})
