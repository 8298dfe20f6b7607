"""Which transports a connection request tries, in which order, from what the device reported."""

from __future__ import annotations

from inv_support import igd_device, leaf

from inventory.cr_transport import Reach, order, projection


def _device(**ms) -> dict:
    doc = igd_device("A1B2C3-Tr-0001")
    node = doc["InternetGatewayDevice"]["ManagementServer"]
    for name, value in ms.items():
        node[name] = leaf(value, "xsd:boolean" if isinstance(value, bool) else "xsd:string")
    return doc


def test_http_first_without_nat():
    reach = Reach.of(_device(ConnectionRequestURL="http://198.51.100.7:7547/", UDPConnectionRequestAddress="198.51.100.7:7547",
                             ConnReqJabberID="cpe@xmpp.example/cwmp"))
    assert order(reach, xmpp=True) == ["http", "xmpp", "udp"]
    assert order(reach, xmpp=False) == ["http", "udp"]  # the ACS has no XMPP account


def test_nat_detected_puts_xmpp_then_udp_before_the_private_url():
    reach = Reach.of(_device(ConnectionRequestURL="http://192.168.1.2:7547/", UDPConnectionRequestAddress="203.0.113.9:40000",
                             ConnReqJabberID="cpe@xmpp.example/cwmp", NATDetected=True))
    assert reach.nat_detected
    assert order(reach, xmpp=True) == ["xmpp", "udp", "http"]
    assert order(Reach.of(_device(ConnectionRequestURL="http://192.168.1.2/", UDPConnectionRequestAddress="203.0.113.9:1",
                                  NATDetected="true")), xmpp=True) == ["udp", "http"]


def test_unusable_addresses_are_left_out():
    reach = Reach.of(_device(ConnectionRequestURL="ftp://198.51.100.7/", UDPConnectionRequestAddress="", ConnReqJabberID=""))
    assert reach.url is None and order(reach, xmpp=True) == []


def test_projection_reads_every_field_the_choice_needs():
    fields = projection()
    for leaf_name in ("ConnectionRequestURL", "UDPConnectionRequestAddress", "ConnReqJabberID", "NATDetected"):
        assert f"InternetGatewayDevice.ManagementServer.{leaf_name}" in fields
        assert f"Device.ManagementServer.{leaf_name}" in fields
