"""The cluster under test: real broker and database, real service processes, real HTTP."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from pymongo import MongoClient

from acs_contracts.device_id import make_device_id
from acs_devstack import shared
from acs_devstack.polling import eventually  # noqa: F401 - the e2e tests' poll (store writes are batched)
from acs_devstack.servers import mongo_uri
from acs_devstack.stack import Stack
from cpe_simulator import DataModel

# Real device dumps where the shared reference folder is there (CI may have none).
IGD_DUMP = shared.shared_path(shared.IGD_DUMP)
TR181_DUMP = shared.shared_path(shared.TR181_DUMP)
_SHARED_REASON = shared.missing_reason(TR181_DUMP, IGD_DUMP)
# For what only a real dump has (e.g. a TR-181 device); everything else runs on igd_model().
requires_shared = pytest.mark.skipif(_SHARED_REASON is not None, reason=_SHARED_REASON or "")


@functools.cache
def igd_model() -> DataModel:
    """A TR-098 gateway: the real BM632w dump when the shared folder has it, else the simulator's
    built-in model (another identity: take OUI, product class and values from the model)."""
    return DataModel.load_or_default(IGD_DUMP)


def tr181_model() -> DataModel:
    """The real TR-181 dump; call only from tests marked ``requires_shared``."""
    return DataModel.load(TR181_DUMP)


def cpe_device_id(model: DataModel, serial: str) -> str:
    """The id the ACS gives a simulated CPE of ``model`` with ``serial``: OUI-ProductClass-Serial,
    each part escaped as GenieACS does (``-`` in a serial becomes ``%2D``)."""
    return make_device_id(model.identity.oui, model.identity.product_class, serial)


def pytest_collection_modifyitems(items):
    for item in items:
        if "/tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@contextmanager
def full_stack(**scheduler_env: str) -> Iterator[Stack]:
    """Broker, database, inventory (NBI), one scheduler and one gateway, stopped afterwards."""
    st = Stack(partitions=2, scheduler_env=scheduler_env).start_servers()
    try:
        st.add_inventory()
        st.add_scheduler()
        st.add_gateway()
        yield st
    finally:
        st.stop()


def nbi_client(st: Stack, timeout: float = 60) -> httpx.AsyncClient:
    """An NBI client of ``st`` with its bearer token (``async with`` it)."""
    return httpx.AsyncClient(base_url=st.nbi_url, timeout=timeout, headers={"Authorization": f"Bearer {st.nbi_token}"})


async def put_preset(st: Stack, nbi: httpx.AsyncClient, name: str, preset: dict | None) -> None:
    """Store (or, with None, delete) a preset and wait (bounded) until the scheduler has reloaded
    its presets (SCHEDULER_PRESETS_POLL_S), so the next session sees them."""
    health = f"{st.schedulers[0].admin_url}/healthz"
    async with httpx.AsyncClient(timeout=30) as c:
        async def generation() -> int:
            return (await c.get(health)).json()["presets"]["generation"]

        before = await generation()
        r = await (nbi.put(f"/presets/{name}", json=preset) if preset is not None else nbi.delete(f"/presets/{name}"))
        assert r.status_code == 200, r.text

        async def reloaded() -> bool:
            return await generation() > before

        await eventually(reloaded, what=f"the scheduler reloading its presets after {name!r}")


@contextmanager
def inventory_db(st: Stack):
    client = MongoClient(mongo_uri(st.mongo.port))
    try:
        yield client.acs
    finally:
        client.close()


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """Two gateways (for non-sticky sessions) and one scheduler. The built-in BOOTSTRAP
    provisioning is off: these tests script every RPC of the CPE by hand."""
    st = Stack(partitions=4, gateway_env={"GATEWAY_REPLY_TIMEOUT_S": "5"},
               scheduler_env={"SCHEDULER_BOOTSTRAP_DEFAULTS": "off"}).start_servers()
    try:
        st.add_scheduler()
        st.add_gateway()
        st.add_gateway()
        yield st
    finally:
        st.stop()


@pytest.fixture(scope="module")
def db(stack: Stack):
    client = MongoClient(mongo_uri(stack.mongo.port))
    yield client.acs
    client.close()


@pytest.fixture
async def http() -> httpx.AsyncClient:
    async with httpx.AsyncClient(timeout=30) as c:
        yield c


