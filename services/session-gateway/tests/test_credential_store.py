"""The gateway's credential store against a real MongoDB-protocol server (SecantusDB): stored
credentials decrypted, cached, and re-read once when a login is refused (a device rotated since
it was cached is not refused for the cache's lifetime)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient

from acs_contracts.cpe_secrets import Secrets, new_key
from acs_devstack.servers import mongo_server, mongo_uri, new_workdir
from session_gateway import auth
from session_gateway.credentials import CredentialStore

SECRET = b"g" * 32
DEFAULT = auth.Credentials("acs", "default-pw")
DEVICE = "202BC1-BM632w-STORE1"


@pytest_asyncio.fixture(loop_scope="session")
async def db() -> AsyncIterator:
    if shutil.which("secantusd-py") is None and not Path(sys.executable).with_name("secantusd-py").exists():
        pytest.skip("secantusd-py (SecantusDB) is not installed")
    srv = mongo_server(new_workdir("acs-gw-creds-")).start()
    client: AsyncMongoClient = AsyncMongoClient(mongo_uri(srv.port))
    try:
        yield client.acs
    finally:
        await client.close()
        srv.stop()


def _basic(user: str, password: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def test_refused_login_rereads_a_rotated_device_once(db) -> None:
    keys = Secrets([new_key()])
    now = datetime.now(UTC)
    await db.credentials.insert_one({"_id": DEVICE, "cpe": {
        "username": "dev", "password": keys.seal("pw-1"), "rotatedAt": now,
        "previous": {"default": True}, "previousUntil": now + timedelta(hours=1)}})
    store = CredentialStore(db, DEFAULT, keys, ttl_s=300, reread_after_s=0)

    def login(header: str | None):
        return lambda dev: auth.verify_device(header, "POST", "basic", dev, DEFAULT, SECRET)

    which, creds, _, dev = await store.check(DEVICE, login(_basic("dev", "pw-1")))
    assert which == auth.CURRENT and creds == auth.Credentials("dev", "pw-1") and dev.previous_default
    assert (await store.check(DEVICE, login(_basic("acs", "default-pw"))))[0] == auth.PREVIOUS  # inside the window
    # rotated behind the cache's back: the new password is accepted at once, the old one no more
    await db.credentials.update_one({"_id": DEVICE}, {"$set": {"cpe.password": keys.seal("pw-2"),
                                                              "cpe.previous": {"username": "dev", "password": keys.seal("pw-1")}}})
    which, creds, _, _ = await store.check(DEVICE, login(_basic("dev", "pw-2")))
    assert which == auth.CURRENT and creds == auth.Credentials("dev", "pw-2")
    assert (await store.check(DEVICE, login(_basic("dev", "pw-1"))))[0] == auth.PREVIOUS
    assert (await store.check(DEVICE, login(_basic("acs", "default-pw"))))[0] == auth.REFUSED
    # a request without credentials (a Digest client's first try) never costs a read
    await db.credentials.update_one({"_id": DEVICE}, {"$set": {"cpe.password": keys.seal("pw-3")}})
    assert (await store.check(DEVICE, login(None), may_reread=False))[0] == auth.REFUSED
    assert (await store.check(DEVICE, login(_basic("dev", "pw-2")), may_reread=False))[0] == auth.CURRENT  # still cached


async def test_unknown_device_uses_the_default_and_plaintext_legacy_reads(db) -> None:
    keys = Secrets([new_key()])
    store = CredentialStore(db, DEFAULT, keys)
    ok = await store.check("NO-SUCH-DEVICE", lambda dev: auth.verify_device(
        _basic("acs", "default-pw"), "POST", "basic", dev, DEFAULT, SECRET))
    assert ok[0] == auth.DEFAULT
    await db.credentials.insert_one({"_id": "LEGACY1", "cpe": {"username": "old", "password": "plain"}})
    got = await store.check("LEGACY1", lambda dev: auth.verify_device(
        _basic("old", "plain"), "POST", "basic", dev, DEFAULT, SECRET))
    assert got[0] == auth.CURRENT and got[3].rotated_at == 0.0
