"""The ACS's XMPP connector against a real Prosody: TLS session, IQ errors as outcomes, and the
reconnect with back-off after the server went away."""

from __future__ import annotations

import asyncio
import shutil

import pytest

from acs_devstack.polling import eventually
from inventory.xmpp_client import XmppConnector, XmppSettings, _host_port


@pytest.fixture
def prosody():
    if shutil.which("prosody") is None or shutil.which("prosodyctl") is None:
        pytest.skip("prosody not found (tools/install-system-packages.sh installs Debian's prosody)")
    from acs_devstack.prosody import Prosody

    server = Prosody(domain="unit.acs.test")
    server.register("acs", "acs-pw")
    server.start()
    yield server
    server.stop()


def _connector(server, password: str = "acs-pw") -> XmppConnector:
    settings = XmppSettings("acs@unit.acs.test", password, server.address, str(server.cert_path), backoff_max_s=2.0)
    return XmppConnector(settings, "unit")


async def test_session_errors_and_reconnect(prosody):
    states: list[int] = []
    acs = _connector(prosody)
    acs.on_change = states.append
    acs.start()
    try:
        assert await acs.wait_online(30), acs.last_error
        assert acs.jid == "acs@unit.acs.test/unit"
        assert acs.client.is_connected() and states == [1]
        # nobody is bound to that JID: the server answers for the CPE
        status, error = await acs.connection_request("cpe@unit.acs.test/cwmp", "u", "p")
        assert (status, error) == ("unreachable", "XMPP error service-unavailable")
        await asyncio.to_thread(prosody.stop)
        await eventually(lambda: not acs.online.is_set(), what="offline once the server stopped")
        assert states[-1] == 0
        status, _ = await acs.connection_request("cpe@unit.acs.test/cwmp", "u", "p")
        assert status == "unreachable"  # fails fast while disconnected
        await asyncio.to_thread(prosody.start)
        assert await acs.wait_online(60), acs.last_error  # back again by itself
        assert states[-1] == 1
    finally:
        await acs.stop()


async def test_wrong_password_never_comes_online(prosody):
    acs = _connector(prosody, password="wrong")
    acs.start()
    try:
        assert not await acs.wait_online(5)
        status, error = await acs.connection_request("cpe@unit.acs.test/cwmp", "u", "p")
        assert status == "unreachable" and error
    finally:
        await acs.stop()


def test_server_address_must_be_host_and_port():
    assert _host_port("") == (None, None)
    assert _host_port("xmpp.example:5222") == ("xmpp.example", 5222)
    assert _host_port("[2001:db8::1]:5222") == ("2001:db8::1", 5222)
    with pytest.raises(ValueError):
        _host_port("xmpp.example")
