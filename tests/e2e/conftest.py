"""The cluster under test: real broker and database, real service processes, real HTTP."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from pymongo import MongoClient

from acs_devstack.servers import mongo_uri

SHARED_MODELS = Path(__file__).resolve().parents[3] / "shared" / "datamodels"
from acs_devstack.stack import Stack


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


async def eventually(check, timeout: float = 10.0, interval: float = 0.05):
    """Poll ``check()`` until it returns something truthy (store writes are batched, so a
    document appears a few milliseconds after the session that caused it)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {check}")
        await asyncio.sleep(interval)
