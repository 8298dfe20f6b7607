"""The simulator's NAT traversal: STUN binding against a real coturn, the Annex G UDP connection
request check on the same socket, and the XMPP objects added to a model."""

from __future__ import annotations

import hashlib
import hmac
import shutil
import socket
import time

import pytest

from acs_devstack.polling import eventually
from cpe_simulator import DataModel, SimulatedCpe
from cpe_simulator.stun import (
    UdpRequest,
    binding_request,
    is_stun,
    parse_binding_response,
    parse_udp_request,
)
from cpe_simulator.xmpp import with_xmpp

MS = "InternetGatewayDevice.ManagementServer."


def test_binding_request_is_rfc5389_with_the_tr111_attribute():
    tid = bytes(range(12))
    msg = binding_request(tid, binding_change=True)
    assert is_stun(msg) and msg[:2] == b"\x00\x01" and msg[8:20] == tid
    assert b"dslforum.org/TR-111 " in msg and b"\xc0\x02\x00\x00" in msg  # BINDING-CHANGE, empty
    assert parse_binding_response(msg) is None  # a request is no answer
    assert parse_udp_request(msg) is None


def test_udp_request_parsing_refuses_malformed_lines():
    assert parse_udp_request(b"GET http://h:1?ts=1&id=a&un=u&cn=c&sig=00 HTTP/1.1\r\n\r\n") == UdpRequest(1, "a", "u", "c", "00")
    for bad in (b"POST http://h:1?ts=1&id=a&un=u&cn=c&sig=00 HTTP/1.1\r\n", b"GET http://h:1?ts=x&id=a HTTP/1.1\r\n",
                b"\xff\xfe", b"GET http://h:1?ts=1&id=a&un=u&cn=c HTTP/1.1\r\n"):
        assert parse_udp_request(bad) is None


def test_with_xmpp_adds_the_annex_k_objects_once():
    model = with_xmpp(DataModel.default())
    for rel in ("ManagementServer.ConnReqJabberID", "ManagementServer.ConnReqAllowedJabberIDs",
                "XMPP.Connection.1.Enable", "XMPP.Connection.1.Server.1.Port"):
        assert model.root + rel in model.nodes
    assert model.root + "XMPP.Connection.1." in model.children[model.root + "XMPP.Connection."]
    assert with_xmpp(model).nodes.keys() == model.nodes.keys()


def _message(port: int, ts: int, mid: str, user: str, password: str, *, sig: str | None = None) -> bytes:
    cn = "c0ffee"
    sig = sig or hmac.new(password.encode(), f"{ts}{mid}{user}{cn}".encode(), hashlib.sha1).hexdigest()
    uri = f"http://127.0.0.1:{port}?ts={ts}&id={mid}&un={user}&cn={cn}&sig={sig}"
    return f"GET {uri} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()


@pytest.fixture
def coturn():
    if shutil.which("turnserver") is None:
        pytest.skip("turnserver not found (tools/install-system-packages.sh installs Debian's coturn)")
    from acs_devstack.stun_server import StunServer

    server = StunServer().start()
    yield server
    server.stop()


async def test_stun_binding_and_udp_connection_requests(coturn):
    cpe = SimulatedCpe(DataModel.default(), acs_url="http://127.0.0.1:9/", serial="STUN01", connection_request_http=False,
                       parameters={"ManagementServer.STUNEnable": "true", "ManagementServer.STUNServerAddress": "127.0.0.1",
                                   "ManagementServer.STUNServerPort": str(coturn.port)})
    try:
        await cpe._start_nat_traversal()
        agent = cpe.stun
        assert agent is not None and agent.mapped is not None
        # no NAT between us and coturn: the mapped address is the socket's own
        assert cpe.get(MS + "UDPConnectionRequestAddress") == f"127.0.0.1:{agent.port}"
        assert cpe.get(MS + "NATDetected") is False
        assert MS + "UDPConnectionRequestAddress" in cpe.device.changed
        assert "4 VALUE CHANGE" in [str(code) for code, _ in cpe.device.events]

        user, password = cpe.connection_request_credentials()
        ts = int(time.time())
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            target = ("127.0.0.1", agent.port)
            s.sendto(_message(agent.port, ts, "m1", user, password), target)
            s.sendto(_message(agent.port, ts, "m1", user, password), target)  # the repeat of the same message
            s.sendto(_message(agent.port, ts, "m2", user, password, sig="0" * 40), target)
            s.sendto(_message(agent.port, ts - 10, "m3", user, password), target)  # older than the last accepted
            s.sendto(b"hello", target)
            await eventually(lambda: sum(agent.outcomes.values()) >= 5)
        assert agent.outcomes == {"accepted": 1, "replayed": 2, "bad_signature": 1, "malformed": 1}
        assert "6 CONNECTION REQUEST" in [str(code) for code, _ in cpe.device.events]
    finally:
        await cpe.stop()
