"""Reaching CPEs that HTTP connection requests cannot reach (issue 18).

(a) A CPE with no HTTP connection request listener, configured for XMPP by a BOOTSTRAP preset: the
ACS's XMPP session (Prosody, Debian's server, on a free port with STARTTLS) carries the TR-069
Annex K connectionRequest IQ, and a SetParameterValues with ``connection_request`` completes.

(b) A CPE behind a NAT built here with network namespaces (its LAN, a router namespace doing
nftables masquerade, the host as the Internet side): it learns its public UDP address from coturn
(STUN), reports UDPConnectionRequestAddress and NATDetected, and the ACS's signed Annex G UDP
message through the NAT wakes it.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import pytest

from acs_devstack import prosody as prosody_mod
from acs_devstack.stack import Stack
from cpe_simulator import SimulatedCpe
from cpe_simulator.xmpp import with_xmpp

from .conftest import cpe_device_id, eventually, igd_model, inventory_db, nbi_client, put_preset

IGD = "InternetGatewayDevice"
MS = f"{IGD}.ManagementServer"
SSID = f"{IGD}.LANDevice.1.WLANConfiguration.1.SSID"


def _stack(**inventory_env: str) -> Stack:
    st = Stack(partitions=2, inventory_env=inventory_env).start_servers()
    try:
        st.add_inventory()
        st.add_scheduler()
        st.add_gateway()
    except BaseException:
        st.stop()
        raise
    return st


async def _metric(nbi, name: str) -> float | None:
    for line in (await nbi.get("/metrics")).text.splitlines():
        if line.startswith((name + " ", name + "{")):
            return float(line.rsplit(" ", 1)[1])
    return None


async def _spv_with_connection_request(nbi, device_id: str, value: str) -> tuple[dict, float]:
    t0 = time.monotonic()
    r = await nbi.post(f"/devices/{device_id}/tasks", params={"connection_request": "", "timeout": 20000},
                       json={"name": "setParameterValues", "parameterValues": [[SSID, value, "xsd:string"]]})
    elapsed = time.monotonic() - t0
    assert r.status_code == 200, r.text
    return r.json(), elapsed


# --- (a) XMPP through Prosody -------------------------------------------------------------------

@pytest.fixture(scope="module")
def xmpp_server():
    reason = prosody_mod.available()
    if reason:
        pytest.skip(reason)
    server = prosody_mod.Prosody(domain="xmpp.acs.test")
    server.register("acs", "acs-xmpp-secret")
    server.register("cpe-xmpp1", "cpe-xmpp-secret")
    server.start()
    yield server
    server.stop()


async def test_xmpp_only_cpe_is_reached_through_prosody(xmpp_server):
    serial = "XMPP0001"
    model = with_xmpp(igd_model())
    device_id = cpe_device_id(model, serial)
    host, port = xmpp_server.address.rsplit(":", 1)
    st = await asyncio.to_thread(
        _stack, NBI_XMPP_JID="acs@xmpp.acs.test", NBI_XMPP_PASSWORD="acs-xmpp-secret",
        NBI_XMPP_SERVER=xmpp_server.address, NBI_XMPP_CA_FILE=str(xmpp_server.cert_path))
    cpe = SimulatedCpe(model, acs_url=st.cwmp_url(0), serial=serial, connection_request_http=False,
                       xmpp_ca_file=str(xmpp_server.cert_path))
    try:
        async with nbi_client(st) as nbi:
            # Bootstrap provisioning gives the device its XMPP account and whom to obey.
            xmpp = f"{IGD}.XMPP.Connection.1"
            preset = {"weight": 10, "events": {"0 BOOTSTRAP": True}, "declarations": [
                {"path": f"{xmpp}.Username", "value": "cpe-xmpp1"},
                {"path": f"{xmpp}.Password", "value": "cpe-xmpp-secret", "secret": True},
                {"path": f"{xmpp}.Domain", "value": "xmpp.acs.test"},
                {"path": f"{xmpp}.Server.1.ServerAddress", "value": host},
                {"path": f"{xmpp}.Server.1.Port", "value": int(port), "type": "xsd:unsignedInt"},
                {"path": f"{MS}.ConnReqAllowedJabberIDs", "value": "acs@xmpp.acs.test"},
                {"path": f"{xmpp}.Enable", "value": True, "type": "xsd:boolean"},
            ]}
            await put_preset(st, nbi, "xmpp-bootstrap", preset)
            await cpe.start()
            with inventory_db(st) as db:
                doc = await eventually(lambda: db.devices.find_one(
                    {"_id": device_id, f"{MS}.ConnReqJabberID._value": {"$regex": "^cpe-xmpp1@xmpp.acs.test/"}}),
                    timeout=60)
            assert not doc[IGD]["ManagementServer"]["ConnectionRequestURL"].get("_value")  # no HTTP way in
            async def xmpp_connected() -> bool:
                return await _metric(nbi, "acs_xmpp_connected") == 1

            await eventually(xmpp_connected, what="the NBI's XMPP connection up")
            await cpe.wait_idle()
            await eventually(lambda: not cpe.in_session and not cpe.device.events, timeout=30)
            task, elapsed = await _spv_with_connection_request(nbi, device_id, "via-xmpp")
            print(f"XMPP connection request + SPV answered in {elapsed * 1000:.0f} ms")
            assert task["connectionRequest"]["status"] == "ok", task["connectionRequest"]
            assert task["connectionRequest"]["transport"] == "xmpp"
            assert cpe.get(SSID) == "via-xmpp"
            assert cpe.xmpp is not None and cpe.xmpp.requests >= 1
            assert await _metric(nbi, 'acs_connection_requests_total{outcome="ok",transport="xmpp"}') >= 1
    finally:
        await cpe.stop()
        await asyncio.to_thread(st.stop)


# --- (b) STUN + UDP through a namespace NAT -----------------------------------------------------

def _nat_missing() -> str | None:
    from acs_devstack import netns, stun_server

    if os.geteuid() != 0:
        return "needs root for network namespaces and nftables"
    return netns.available() or stun_server.available()


def _spawn_logged(argv: list[str], log_path) -> subprocess.Popen:
    with open(log_path, "wb") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)


@pytest.fixture(scope="module")
def nat():
    reason = _nat_missing()
    if reason:
        pytest.skip(reason)
    from acs_devstack.netns import NatNetwork

    with NatNetwork() as network:
        yield network


async def test_cpe_behind_nat_is_reached_by_stun_and_udp(nat, tmp_path):
    from acs_devstack.stun_server import StunServer
    from cpe_simulator import DataModel

    serial = "NAT0001"
    device_id = cpe_device_id(DataModel.default(), serial)
    stun = await asyncio.to_thread(StunServer(host=nat.host_address).start)
    st = Stack(partitions=2, listen_host=nat.host_address).start_servers()
    proc = None
    try:
        await asyncio.to_thread(st.add_inventory)
        await asyncio.to_thread(st.add_scheduler)
        await asyncio.to_thread(st.add_gateway)
        # One simulated CPE inside the LAN namespace: its HTTP listener on its private address,
        # STUN towards coturn on the host, keep-alives every 10 s.
        argv = [sys.executable, "-m", "cpe_simulator.cli", "--acs-url", st.cwmp_url(0), "--devices", "1",
                "--serial-format", serial, "--cr-host", nat.cpe_address, "--duration", "600", "--quiet",
                "--param", "ManagementServer.STUNEnable=true",
                "--param", f"ManagementServer.STUNServerAddress={nat.host_address}",
                "--param", f"ManagementServer.STUNServerPort={stun.port}",
                "--param", "ManagementServer.STUNMinimumKeepAlivePeriod=10"]
        proc = await asyncio.to_thread(_spawn_logged, nat.command(argv), tmp_path / "cpe.log")
        with inventory_db(st) as db:
            doc = await eventually(lambda: db.devices.find_one(
                {"_id": device_id, f"{MS}.NATDetected._value": True,
                 f"{MS}.UDPConnectionRequestAddress._value": {"$regex": f"^{nat.public_address}:"}}),
                timeout=60)
            ms = doc[IGD]["ManagementServer"]
            assert ms["ConnectionRequestURL"]["_value"].startswith(f"http://{nat.cpe_address}:")  # private
            # the BOOTSTRAP session and its provisioning are over before the operator's task
            await eventually(lambda: db.credentials.find_one({"_id": device_id}), timeout=60)
            async with nbi_client(st) as nbi:
                task, elapsed = None, 0.0
                deadline = time.monotonic() + 60
                while True:  # the device may still be in its first session: then it is busy
                    try:
                        task, elapsed = await _spv_with_connection_request(nbi, device_id, "via-udp")
                        break
                    except AssertionError:
                        assert time.monotonic() < deadline, "the SPV never completed"
                print(f"STUN/UDP connection request + SPV answered in {elapsed * 1000:.0f} ms")
                cr = task["connectionRequest"]
                assert cr["status"] == "ok" and cr["transport"] == "udp", cr
                assert cr["attempts"][0]["transport"] == "udp"  # NATDetected: UDP before the private URL
                await eventually(lambda: db.devices.find_one({"_id": device_id, f"{SSID}._value": "via-udp"}))
                assert await _metric(nbi, 'acs_connection_requests_total{outcome="ok",transport="udp"}') >= 1
    finally:
        if proc is not None:
            proc.terminate()
            await asyncio.to_thread(proc.wait, 30)
        await asyncio.to_thread(st.stop)
        stun.stop()
