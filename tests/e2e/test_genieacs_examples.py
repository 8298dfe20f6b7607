"""GenieACS's documented NBI examples get GenieACS's answers (tools/genieacs-compat)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from pymongo import MongoClient

from acs_devstack.servers import mongo_uri
from acs_devstack.stack import Stack
from cpe_simulator import SimulatedCpe

from .conftest import cpe_device_id, eventually, igd_model

REPO = Path(__file__).resolve().parents[2]
MAC = "InternetGatewayDevice.WANDevice.1.WANConnectionDevice.1.WANIPConnection.1.MACAddress"


def _examples():
    spec = importlib.util.spec_from_file_location("nbi_examples", REPO / "tools" / "genieacs-compat" / "nbi_examples.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


async def test_genieacs_documented_examples():
    st = Stack(partitions=2).start_servers()
    cpes = []
    try:
        st.add_inventory()
        st.add_scheduler()
        st.add_gateway()
        db = MongoClient(mongo_uri(st.mongo.port)).acs
        # the BM632w dump the documentation uses where ../shared has it, else the built-in gateway
        model = igd_model()
        serials = ("0000000", "SR552NA084-0003269")
        for serial in serials:
            cpe = SimulatedCpe(model, acs_url=st.cwmp_url(0), serial=serial)
            did = cpe_device_id(model, serial)
            db.credentials.update_one({"_id": did}, {"$set": {"connectionRequest": {"username": serial, "password": f"cr-{serial}"}}}, upsert=True)
            await cpe.start()
            cpes.append(cpe)
            await eventually(lambda did=did: db.devices.find_one({"_id": did}), timeout=20)
        for cpe in cpes:
            await cpe.wait_idle()
        device, device_with_dash = (cpe_device_id(model, s) for s in serials)
        assert device_with_dash.endswith("SR552NA084%2D0003269")
        checks = await _examples().run(st.nbi_url, st.nbi_token, device, device_with_dash, mac=cpes[0].get(MAC))
        failed = [f"{c.example}: {c.detail}" for c in checks if not c.ok]
        assert not failed, "\n".join(failed)
        assert len(checks) >= 30
    finally:
        for cpe in cpes:
            await cpe.stop()
        st.stop()
