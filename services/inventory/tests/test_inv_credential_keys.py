"""POST /credentials/rekey: stored CPE secrets re-encrypted with the first key, plaintext sealed,
what no key opens reported (never rewritten), answers with counts only, admins only. On its own
database: a rekey rewrites every document there, other modules' included."""

from __future__ import annotations

import pytest
from inv_support import ADMIN, OPERATOR

from acs_contracts.cpe_secrets import Secrets, new_key

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
async def keys(own):
    runtime, _ = own
    old, new, lost = new_key(), new_key(), new_key()
    kept = runtime.cr.secrets
    coll = runtime.db.credentials
    await coll.delete_many({"_id": {"$regex": "^REKEY-"}})
    before = Secrets([old])
    await coll.insert_many([
        {"_id": "REKEY-1", "cpe": {"username": "u1", "password": before.seal("cwmp-1"), "rotatedAt": 1,
                                   "previous": {"username": "u0", "password": before.seal("cwmp-0")},
                                   "pending": {"username": "u2", "password": before.seal("cwmp-2")}},
         "connectionRequest": {"username": "cr", "password": before.seal("cr-1")}},
        {"_id": "REKEY-2", "connectionRequest": {"username": "cr", "password": "plain-cr"}},  # an import without a key
        {"_id": "REKEY-3", "cpe": {"username": "u", "password": Secrets([lost]).seal("gone")}},
    ])
    runtime.cr.secrets = Secrets([new, old])
    try:
        yield old, new
    finally:
        runtime.cr.secrets = kept
        await coll.delete_many({"_id": {"$regex": "^REKEY-"}})


async def test_rekey_seals_every_secret_with_the_first_key(own, keys):
    runtime, nbi = own
    old, new = keys
    r = await nbi.post("/credentials/rekey", headers=ADMIN)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body == {"scanned": 3, "rewritten": 2, "changedMeanwhile": 0, "unreadable": 1, "unreadableDevices": ["REKEY-3"]}
    assert "cwmp" not in r.text and "plain-cr" not in r.text
    only_new = Secrets([new])
    one = await runtime.db.credentials.find_one({"_id": "REKEY-1"})
    assert [only_new.open(one["cpe"]["password"]), only_new.open(one["cpe"]["previous"]["password"]),
            only_new.open(one["cpe"]["pending"]["password"]), only_new.open(one["connectionRequest"]["password"])] \
        == ["cwmp-1", "cwmp-0", "cwmp-2", "cr-1"]
    assert one["cpe"]["rotatedAt"] == 1 and one["cpe"]["username"] == "u1"  # only the secrets change
    two = await runtime.db.credentials.find_one({"_id": "REKEY-2"})
    assert isinstance(two["connectionRequest"]["password"], dict)  # the plaintext is sealed now
    assert only_new.open(two["connectionRequest"]["password"]) == "plain-cr"
    three = await runtime.db.credentials.find_one({"_id": "REKEY-3"})
    assert three["cpe"]["password"]["enc"]  # left as it was: nothing here can open it
    again = (await nbi.post("/credentials/rekey", headers=ADMIN)).json()
    assert again == {**body, "rewritten": 0}  # what the first key seals already is left alone


async def test_rekey_is_for_admins_and_needs_a_key(own):
    runtime, nbi = own
    assert (await nbi.post("/credentials/rekey", headers=OPERATOR)).status_code == 403
    kept = runtime.cr.secrets
    runtime.cr.secrets = Secrets([])
    try:
        r = await nbi.post("/credentials/rekey", headers=ADMIN)
    finally:
        runtime.cr.secrets = kept
    assert r.status_code == 409 and "ACS_CREDENTIALS_KEYS" in r.text
