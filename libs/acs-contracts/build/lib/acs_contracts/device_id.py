"""Device ids: ``OUI-ProductClass-SerialNumber``, each part escaped as GenieACS does.

Each part is percent-encoded like JavaScript's encodeURIComponent, with "-" also encoded
(``%2D``) so the id splits back unambiguously. An empty ProductClass gives ``OUI-Serial``.
This is the Kafka partition key of every session event and the ``_id`` of the device document.
"""

from __future__ import annotations

from urllib.parse import quote, unquote

_SAFE = "!'()*._~"  # encodeURIComponent leaves these (and alphanumerics) alone; "-" is escaped


def _escape(part: str) -> str:
    return quote(part, safe=_SAFE).replace("-", "%2D")


def make_device_id(oui: str, product_class: str, serial_number: str) -> str:
    if product_class:
        return f"{_escape(oui)}-{_escape(product_class)}-{_escape(serial_number)}"
    return f"{_escape(oui)}-{_escape(serial_number)}"


def split_device_id(device_id: str) -> tuple[str, str, str]:
    """Back to (oui, product_class, serial_number)."""
    parts = device_id.split("-")
    if len(parts) == 3:
        return unquote(parts[0]), unquote(parts[1]), unquote(parts[2])
    if len(parts) == 2:
        return unquote(parts[0]), "", unquote(parts[1])
    raise ValueError(f"not a device id: {device_id!r}")
