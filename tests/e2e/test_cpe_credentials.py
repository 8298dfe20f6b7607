"""The CPE credential lifecycle on a real stack (gateway with Digest, scheduler, NBI, broker,
database) and a simulated CPE that logs in with its own ManagementServer.Username/Password:
per-device credentials at first contact, stored encrypted, rotated, with a grace window for
the previous ones, never shown by the NBI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from acs_contracts.cpe_secrets import Secrets
from acs_devstack.stack import Stack
from cpe_simulator import SimulatedCpe

from .conftest import cpe_device_id, eventually, igd_model, inventory_db, nbi_client

pytestmark = pytest.mark.e2e

DEFAULT_USER, DEFAULT_PW = "acs", "default-pw"
GRACE_S = 900  # expiry is tested by moving previousUntil into the past: no test waits for a clock
SERIAL = "CREDLIFE1"


@pytest.fixture(scope="module")
def cred_stack() -> Iterator[Stack]:
    st = Stack(partitions=2, scheduler_env={"SCHEDULER_CPE_CREDENTIAL_ROTATION_DAYS": "1",
                                            "SCHEDULER_CPE_CREDENTIAL_GRACE_S": str(GRACE_S)}).start_servers()
    try:
        st.add_inventory()
        st.add_scheduler()
        # every login reads the stored credentials (the test edits them in the database)
        st.add_gateway(GATEWAY_CPE_AUTH="digest", GATEWAY_CPE_USERNAME=DEFAULT_USER, GATEWAY_CPE_PASSWORD=DEFAULT_PW,
                       GATEWAY_CPE_CREDENTIAL_CACHE_S="0")
        yield st
    finally:
        st.stop()


def _tree_set(cpe: SimulatedCpe, leaf: str, value: str) -> None:
    path = cpe.device.path(f"ManagementServer.{leaf}")
    cpe.device.tree.set(path, value)
    assert cpe.device.text(path) == value


def _login_as(cpe: SimulatedCpe, username: str, password: str) -> None:
    _tree_set(cpe, "Username", username)
    _tree_set(cpe, "Password", password)


def _value_at(doc: dict | None, segs: list[str]) -> object:
    node: object = doc
    for seg in segs:
        node = node.get(seg) if isinstance(node, dict) else None
    return node.get("_value") if isinstance(node, dict) else None


def _own(cpe: SimulatedCpe) -> tuple[str, str]:
    return cpe.device.management("Username"), cpe.device.management("Password")


async def _logins(http, st: Stack, outcome: str) -> float:
    text = (await http.get(f"{st.gateways[0].admin_url}/metrics")).text
    sample = f'acs_gateway_cpe_logins_total{{outcome="{outcome}"}} '
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(sample))


async def test_per_device_credentials_rotation_and_grace(cred_stack, http):
    st = cred_stack
    keys = Secrets([st.credentials_keys])
    model = igd_model()
    device = cpe_device_id(model, SERIAL)
    cpe = SimulatedCpe(model, acs_url=st.cwmp_url(0), serial=SERIAL, username=DEFAULT_USER, password=DEFAULT_PW,
                       auth="digest")
    seen_passwords: set[str] = {DEFAULT_PW}
    with inventory_db(st) as db:
        # --- first contact with the shared default credentials: the device gets its own
        report = await cpe.run_session(["0 BOOTSTRAP", "1 BOOT"])
        assert report.ok, report.error
        user1, pw1 = _own(cpe)
        assert user1 == device and pw1 != DEFAULT_PW and len(pw1) >= 16
        seen_passwords.add(pw1)
        stored = await eventually(lambda: db.credentials.find_one({"_id": device, "cpe.rotatedAt": {"$exists": True}}),
                                  timeout=30)
        raw = json.dumps(stored, default=str)
        cr_user, cr_pw = cpe.connection_request_credentials()
        seen_passwords.add(cr_pw)
        assert pw1 not in raw and cr_pw not in raw  # only ciphertext at rest
        assert set(stored["cpe"]["password"]) == {"enc"} and keys.open(stored["cpe"]["password"]) == pw1
        assert keys.open(stored["connectionRequest"]["password"]) == cr_pw and stored["connectionRequest"]["username"] == cr_user
        assert stored["cpe"]["previous"] == {"default": True} and "pending" not in stored["cpe"]
        until = stored["cpe"]["previousUntil"].replace(tzinfo=UTC)
        assert until - stored["cpe"]["rotatedAt"].replace(tzinfo=UTC) == timedelta(seconds=GRACE_S)

        # --- the next session logs in with them
        current_before = await _logins(http, st, "current")
        report = await cpe.run_session(["2 PERIODIC"])
        assert report.ok, report.error
        assert await _logins(http, st, "current") == current_before + 1

        # --- the default credentials: accepted for this device only inside the grace window
        db.credentials.update_one({"_id": device}, {"$set": {"cpe.previousUntil": datetime.now(UTC) - timedelta(seconds=1)}})
        _login_as(cpe, DEFAULT_USER, DEFAULT_PW)
        refused_before = await _logins(http, st, "refused")
        report = await cpe.run_session(["2 PERIODIC"])
        outcomes = {o: await _logins(http, st, o) for o in ("current", "pending", "previous_in_grace", "default", "refused")}
        assert not report.ok and report.http_status == 401, (report, outcomes)
        assert await _logins(http, st, "refused") > refused_before
        _login_as(cpe, user1, pw1)

        # --- rotation: due once rotatedAt is older than SCHEDULER_CPE_CREDENTIAL_ROTATION_DAYS
        db.credentials.update_one({"_id": device}, {"$set": {"cpe.rotatedAt": datetime.now(UTC) - timedelta(days=2)}})
        report = await cpe.run_session(["2 PERIODIC"])
        assert report.ok, report.error
        assert "SetParameterValues" in report.rpcs
        user2, pw2 = _own(cpe)
        assert user2 == device and pw2 not in (pw1, DEFAULT_PW)
        seen_passwords.add(pw2)
        cr_pw2 = cpe.connection_request_credentials()[1]
        assert cr_pw2 != cr_pw
        seen_passwords.add(cr_pw2)
        stored = await eventually(lambda: (d := db.credentials.find_one({"_id": device})) and
                                  keys.open(d["cpe"]["password"]) == pw2 and d, timeout=30)
        assert keys.open(stored["cpe"]["previous"]["password"]) == pw1  # kept for the grace window
        assert keys.open(stored["connectionRequest"]["password"]) == cr_pw2
        raw = json.dumps(stored, default=str)
        assert not any(p in raw for p in seen_passwords)

        # --- the new ones work; the old ones only inside the grace window
        report = await cpe.run_session(["2 PERIODIC"])
        assert report.ok, report.error
        _login_as(cpe, user1, pw1)
        stale_before = await _logins(http, st, "previous_in_grace")
        report = await cpe.run_session(["2 PERIODIC"])
        assert report.ok, report.error
        assert await _logins(http, st, "previous_in_grace") == stale_before + 1
        # a device still on its previous credentials was given fresh ones in that session
        user3, pw3 = _own(cpe)
        assert pw3 not in (pw1, pw2) and "SetParameterValues" in report.rpcs
        seen_passwords.update({pw3, cpe.connection_request_credentials()[1]})
        await eventually(lambda: keys.open(db.credentials.find_one({"_id": device})["cpe"]["password"]) == pw3, timeout=30)
        db.credentials.update_one({"_id": device}, {"$set": {"cpe.previousUntil": datetime.now(UTC) - timedelta(seconds=1)}})
        _login_as(cpe, user1, pw1)
        report = await cpe.run_session(["2 PERIODIC"])
        assert not report.ok and report.http_status == 401, report  # the grace window is over
        _login_as(cpe, user3, pw3)

        # --- a session cut short after its SPV reached the CPE: the CPE logs in with the pending
        # values, which the gateway accepts and the scheduler then makes current
        pending_pw = "pending-" + pw3[::-1]
        seen_passwords.add(pending_pw)
        db.credentials.update_one({"_id": device}, {"$set": {"cpe.pending": {"username": device,
                                                                           "password": keys.seal(pending_pw)}}})
        _login_as(cpe, device, pending_pw)
        report = await cpe.run_session(["2 PERIODIC"])
        assert report.ok, report.error
        assert "SetParameterValues" not in report.rpcs  # nothing new to set: those are the new ones
        stored = await eventually(lambda: (d := db.credentials.find_one({"_id": device})) and "pending" not in d["cpe"] and d,
                                  timeout=30)
        assert keys.open(stored["cpe"]["password"]) == pending_pw and keys.open(stored["cpe"]["previous"]["password"]) == pw3

        # --- a connection request still reaches the CPE after the rotations
        reports = len(cpe.reports)
        await cpe.start(bootstrap=False)  # its listener; the BOOT Inform tells the ACS its URL
        try:
            await eventually(lambda: len(cpe.reports) > reports and cpe.reports[-1].ok, timeout=60)
            url_path = cpe.device.path("ManagementServer.ConnectionRequestURL").split(".")
            await eventually(lambda: _value_at(db.devices.find_one({"_id": device}), url_path) == cpe.connection_request_url,
                             timeout=30)
            async with nbi_client(st) as nbi:
                r = await nbi.post(f"/devices/{device}/tasks", params={"connection_request": "", "timeout": "20000"},
                                   json={"name": "getParameterValues",
                                         "parameterNames": [cpe.device.path("DeviceInfo.SoftwareVersion")]})
                assert r.status_code == 200, r.text
                assert r.json()["connectionRequest"]["status"] == "ok", r.json()

                # --- the NBI never shows the passwords (device document, its routes, tasks, faults, audit)
                pages = [await nbi.get("/devices/", params={"query": json.dumps({"_id": device})}),
                         await nbi.get("/devices/", params={"query": json.dumps({"_id": device}),
                                                            "projection": cpe.device.path("ManagementServer")}),
                         await nbi.get("/tasks/", params={"query": json.dumps({"device": device})}),
                         await nbi.get("/faults/"), await nbi.get("/audit")]
                for page in pages:
                    assert page.status_code == 200, (page.url, page.text)
                    leaked = [p for p in seen_passwords - {DEFAULT_PW} if p in page.text]
                    assert not leaked, (page.url, "shows a CPE password")
                [doc] = pages[0].json()
                ms = doc[cpe.device.path("")[:-1]]["ManagementServer"]
                assert "_value" not in ms.get("Password", {}) and "_value" not in ms.get("ConnectionRequestPassword", {})
                assert ms["Username"]["_value"] == device
        finally:
            await cpe.stop()
        device_doc = json.dumps(db.devices.find_one({"_id": device}), default=str)
        assert not any(p in device_doc for p in seen_passwords - {DEFAULT_PW})
