"""GenieACS's documented NBI examples get GenieACS's answers (tools/genieacs-compat)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from pymongo import MongoClient

from acs_devstack.servers import mongo_uri
from acs_devstack.stack import Stack
from cpe_simulator import DataModel, SimulatedCpe

from .conftest import SHARED_MODELS, eventually

REPO = Path(__file__).resolve().parents[2]
MODEL = SHARED_MODELS / "genieacs_genieacs-sim" / "data_model_202BC1-BM632w-8KA8WA1151100043.csv"


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
        model = DataModel.load(MODEL)
        for serial in ("0000000", "SR552NA084-0003269"):
            cpe = SimulatedCpe(model, acs_url=st.cwmp_url(0), serial=serial)
            did = f"202BC1-BM632w-{serial.replace('-', '%2D')}"
            db.credentials.update_one({"_id": did}, {"$set": {"connectionRequest": {"username": serial, "password": f"cr-{serial}"}}}, upsert=True)
            await cpe.start()
            cpes.append(cpe)
            await eventually(lambda: db.devices.find_one({"_id": did}), timeout=20)
        for cpe in cpes:
            await cpe.wait_idle()
        checks = await _examples().run(st.nbi_url, st.nbi_token, "202BC1-BM632w-0000000", "202BC1-BM632w-SR552NA084%2D0003269")
        failed = [f"{c.example}: {c.detail}" for c in checks if not c.ok]
        assert not failed, "\n".join(failed)
        assert len(checks) >= 30
    finally:
        for cpe in cpes:
            await cpe.stop()
        st.stop()
