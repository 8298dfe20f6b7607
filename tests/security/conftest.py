"""Fixtures of the security suites: a real SecantusDB (MongoDB protocol) on a free port, the NBI
in-process over it, two tenants ("red", "blue") with a user per role each, and a static
(unscoped) admin token. Rate limits are lifted: these suites make many calls in a burst."""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from acs_devstack.servers import Server, free_port, mongo_server, mongo_uri, new_workdir
from inventory.accounts import Accounts
from inventory.app import create_app
from inventory.config import Settings
from inventory.runtime import Runtime

sys.path.insert(0, str(Path(__file__).resolve().parent))  # sec_support, under --import-mode=importlib

from sec_support import OPEN_LIMITS, ROLES, STATIC_ADMIN, TENANTS, Caller, inventory_env  # noqa: E402


@pytest.fixture(scope="session")
def mongo() -> Iterator[str]:
    server = mongo_server(new_workdir("acs-sec-")).start()
    try:
        yield mongo_uri(server.port)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def sec_settings(mongo: str) -> Settings:
    return Settings(mongodb_uri=mongo, mongodb_database=f"sec_{uuid.uuid4().hex[:8]}",
                    tokens={STATIC_ADMIN: "admin"}, files_secret=b"security-tests", security=OPEN_LIMITS)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def sec_runtime(sec_settings: Settings) -> AsyncIterator[Runtime]:
    rt = Runtime(sec_settings)
    await rt.start()
    try:
        yield rt
    finally:
        await rt.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def sec_app(sec_settings: Settings, sec_runtime: Runtime):
    return create_app(sec_settings, sec_runtime)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def sec_nbi(sec_app) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sec_app), base_url="http://nbi") as c:
        yield c


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def callers(sec_runtime: Runtime) -> dict[tuple[str | None, str], Caller]:
    """A caller per (tenant, role), and (None, "admin"): the static, unscoped admin."""
    accounts = Accounts(sec_runtime.db.db)
    out: dict[tuple[str | None, str], Caller] = {(None, "admin"): Caller(None, "admin", None, STATIC_ADMIN)}
    for tenant in TENANTS:
        for role in ROLES:
            user = {"_id": f"{tenant}-{role}", "role": role, "tenant": tenant, "scope": None, "source": "local"}
            await accounts.users.replace_one({"_id": user["_id"]}, user, upsert=True)
            value, _doc = await accounts.issue(user, name="matrix", kind="api", role=role, scope=None,
                                               lifetime=timedelta(days=1))
            out[(tenant, role)] = Caller(tenant, role, user["_id"], value)
    return out


@pytest.fixture(scope="session")
def nbi_server(sec_settings: Settings) -> Iterator[str]:
    """The inventory as its own process (uvicorn, real HTTP) over the suites' database."""
    nbi_port, fs_port = free_port(), free_port()
    workdir = new_workdir("acs-sec-nbi-")
    server = Server("inventory", [sys.executable, "-m", "inventory"], nbi_port, workdir / "inventory.log",
                    env=inventory_env(sec_settings, nbi_port, fs_port))
    server.start(60)
    try:
        yield f"http://127.0.0.1:{nbi_port}"
    finally:
        server.stop()
