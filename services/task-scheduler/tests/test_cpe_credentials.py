"""The CPE credential lifecycle, the scheduler's part: when new credentials are set, that the
passwords stay out of the device document and the change events, and what is stored."""

from __future__ import annotations

import copy
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from acs_contracts.cpe_secrets import Secrets, new_key
from task_scheduler import cpe_credentials as cc
from task_scheduler.provisioning import Provisioner, ProvisioningSettings

sys.path.insert(0, str(Path(__file__).resolve().parent))  # under --import-mode=importlib
from test_provisioning_support import IGD_MODEL, device, drive, inform, store  # noqa: E402

NOW = 2_000_000_000.0
DAY = 86400
BOOTSTRAP = ["0 BOOTSTRAP", "1 BOOT"]
PERIODIC = ["2 PERIODIC"]
MS = "InternetGatewayDevice.ManagementServer."


def test_plan_bootstrap_per_device_where_the_gateway_authenticates():
    assert cc.plan("auto", 0, BOOTSTRAP, {"cpeCredential": "default"}, NOW) == cc.CredentialPlan(True, True, "bootstrap")
    assert cc.plan("auto", 0, BOOTSTRAP, {}, NOW) == cc.CredentialPlan(False, True, "bootstrap")  # no CPE auth: shared
    assert cc.plan("shared", 30, BOOTSTRAP, {"cpeCredential": "default"}, NOW).cpe is False
    assert cc.plan("per-device", 0, BOOTSTRAP, {}, NOW).cpe is True
    assert cc.plan("auto", 0, BOOTSTRAP, {}, NOW, bootstrap_defaults=False) is None


def test_plan_rotation_when_due_and_for_stale_logins():
    fresh = {"cpeCredential": "current", "cpeRotatedAt": NOW - 29 * DAY}
    old = {"cpeCredential": "current", "cpeRotatedAt": NOW - 31 * DAY}
    assert cc.plan("auto", 30, PERIODIC, fresh, NOW) is None
    assert cc.plan("auto", 30, PERIODIC, old, NOW) == cc.CredentialPlan(True, True, "rotation")
    assert cc.plan("auto", 0, PERIODIC, old, NOW) is None  # rotation off
    assert cc.plan("auto", 30, PERIODIC, {"cpeCredential": "previous_in_grace", "cpeRotatedAt": NOW}, NOW).why == "stale"
    assert cc.plan("auto", 30, PERIODIC, {"cpeCredential": "default"}, NOW).why == "stale"
    assert cc.plan("auto", 30, PERIODIC, {"cpeCredential": "pending", "cpeRotatedAt": NOW - 99 * DAY}, NOW) is None
    assert cc.plan("shared", 30, PERIODIC, old, NOW) is None
    assert cc.facts_of({"cpeUsername": "u", "cpeCredential": "current", "cpeRotatedAt": 5.0, "id": "1"}) == {
        "cpeCredential": "current", "cpeRotatedAt": 5.0}


def _session(p: Provisioner, dev, codes, stored=None, plan=None):
    doc, codes = inform(dev, codes, copy.deepcopy(stored) if stored is not None else None)
    before = copy.deepcopy(doc)
    run = p.session("dev", doc, codes, credential_plan=plan)
    rpcs = drive(run, dev)
    return run, rpcs, store(before, run)


def test_bootstrap_sets_the_cwmp_credentials_in_the_same_spv_and_keeps_passwords_out():
    dev = device(IGD_MODEL)
    p = Provisioner(ProvisioningSettings())
    run, rpcs, doc = _session(p, dev, BOOTSTRAP, plan=cc.CredentialPlan(True, True, "bootstrap"))
    assert rpcs == ["GetParameterValues", "SetParameterValues"]
    user, pw = dev.value(MS + "Username").value, dev.value(MS + "Password").value
    cr_pw = dev.value(MS + "ConnectionRequestPassword").value
    assert run.outcome.credentials == {"cpe": {"username": user, "password": pw},
                                       "connectionRequest": {"username": user, "password": cr_pw}}
    assert user == "dev" and len(pw) >= 16 and pw != cr_pw
    ms = doc["InternetGatewayDevice"]["ManagementServer"]
    assert "_value" not in ms.get("Password", {}) and "_value" not in ms.get("ConnectionRequestPassword", {})
    assert pw not in repr(doc) and cr_pw not in repr(doc) and pw not in repr(run.outcome.changes)
    assert pw not in repr(run.outcome.sets)

    # a later session that rotates: new values, one SPV riding the session. The password leaves
    # are in the document as BOOTSTRAP's discovery stores them (type and time, never the value).
    for leaf in ("Password", "ConnectionRequestPassword"):
        ms[leaf] = {"_type": "xsd:string", "_timestamp": datetime.now(UTC), "_object": False}
    run2, rpcs2, doc2 = _session(p, dev, PERIODIC, stored=doc, plan=cc.CredentialPlan(True, True, "rotation"))
    assert "SetParameterValues" in rpcs2 and rpcs2.count("SetParameterValues") == 1
    pw2 = dev.value(MS + "Password").value
    assert pw2 != pw and run2.outcome.credentials["cpe"] == {"username": "dev", "password": pw2}
    assert pw2 not in repr(doc2) and pw2 not in repr(run2.outcome.changes)


def test_what_is_stored_pending_committed_promoted():
    keys = Secrets([new_key()])
    now = datetime.fromtimestamp(NOW, UTC)
    new = {"cpe": {"username": "dev", "password": "new-pw", "path": MS + "Password"},
           "connectionRequest": {"username": "dev", "password": "cr-pw", "path": MS + "ConnectionRequestPassword"}}
    staged = cc.staged(keys, new)["$set"]
    assert keys.open(staged["cpe.pending"]["password"]) == "new-pw" and "new-pw" not in repr(staged)
    old = {"username": "dev", "password": keys.seal("old-pw"), "rotatedAt": now - timedelta(days=40)}
    prev = cc.previous_of(old, "current")
    assert keys.open(prev["password"]) == "old-pw"
    assert cc.previous_of(None, "default") == {"default": True}
    done = {k: {"username": v["username"], "password": v["password"]} for k, v in new.items()}
    sets = cc.committed(keys, done, prev, now, 3600)["$set"]
    assert keys.open(sets["cpe"]["password"]) == "new-pw" and sets["cpe"]["previous"] == prev
    assert sets["cpe"]["previousUntil"] == now + timedelta(seconds=3600) and sets["cpe"]["rotatedAt"] == now
    assert keys.open(sets["connectionRequest"]["password"]) == "cr-pw" and "pending" not in sets["cpe"]
    assert "new-pw" not in repr(sets) and "cr-pw" not in repr(sets)
    stored = {"cpe": {**old, "pending": staged["cpe.pending"]}, "connectionRequest": {"pending": staged["connectionRequest.pending"]}}
    promoted = cc.promoted(stored, now, 60)["$set"]
    assert keys.open(promoted["cpe"]["password"]) == "new-pw" and promoted["cpe"]["previous"]["username"] == "dev"
    assert keys.open(promoted["connectionRequest"]["password"]) == "cr-pw"
    assert cc.promoted({"cpe": old}, now, 60) is None
