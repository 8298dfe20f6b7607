"""The authorization matrix: every NBI route x every role x in and out of scope.

The routes are read from the app itself, so a route added without a rule here fails
``test_every_route_has_a_rule``. For each route, callers of tenant "red" (readonly, operator,
admin) and the static unscoped admin call it on objects of "red" (in scope) and of "blue" (out of
scope). A role below the route's is refused with 403; a call in scope gets through the checks
(not 401, 403, 404 nor 5xx); a call naming an out-of-scope object answers 404, as an object
that does not exist; a list shows red's objects and never blue's; fleet-wide settings are
changed only by the unscoped admin (403 for a tenant's users); and no route answers anything
but 401 without a token (public: the sign-in routes only).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bson import ObjectId
from sec_support import ROLES, Caller

from acs_contracts import mongo_collections as mc
from inventory.accounts import Accounts
from inventory.principal import RANK

pytestmark = pytest.mark.asyncio(loop_scope="session")

# Open without a token: signing in, health and metrics (no data), and the API's documentation
# (public unless NBI_DOCS_PUBLIC=false; tests/security/test_schemathesis.py checks both ways).
PUBLIC = {("POST", "/login"), ("GET", "/login/methods"), ("GET", "/oidc/login"), ("GET", "/oidc/callback"), ("GET", "/healthz"),
          ("GET", "/readyz"), ("GET", "/metrics"), ("GET", "/docs"), ("GET", "/openapi.json")}
Params = dict[str, str]
Make = Callable[[Any, str, Caller], Awaitable[Params]]


def _hex() -> str:
    return uuid.uuid4().hex[:10]


def _now() -> datetime:
    return datetime.now(UTC)


# ------------------------------------------------------------------------ object factories

async def device(rt: Any, tenant: str, _c: Caller) -> Params:
    dev = f"A1B2C3-{tenant}-{_hex()}"
    await rt.db.devices.insert_one({
        "_id": dev, "_tenant": tenant, "_tags": ["x"], "_registered": _now(), "_lastInform": _now(),
        "_deviceId": {"_Manufacturer": "Acme", "_OUI": "A1B2C3", "_ProductClass": tenant, "_SerialNumber": dev},
        "InternetGatewayDevice": {"_object": True, "DeviceInfo": {"_object": True, "SoftwareVersion": {
            "_value": "V1", "_type": "xsd:string", "_writable": False, "_object": False, "_timestamp": _now()}}},
    })
    return {"device_id": dev, "tag": "x", "marker": dev}


async def task(rt: Any, tenant: str, c: Caller) -> Params:
    p = await device(rt, tenant, c)
    oid = ObjectId()
    await rt.db.tasks.insert_one({"_id": oid, "device": p["device_id"], "name": "reboot", "status": "fault",
                                  "timestamp": _now()})
    return {**p, "task_id": str(oid), "marker": str(oid)}


async def fault(rt: Any, tenant: str, c: Caller) -> Params:
    p = await device(rt, tenant, c)
    fid = f"{p['device_id']}:default"
    await rt.db.faults.insert_one({"_id": fid, "device": p["device_id"], "channel": "default", "code": "cwmp.9002",
                                   "message": "matrix", "timestamp": _now(), "retries": 0})
    return {**p, "fault_id": fid, "marker": fid}


async def alarm(rt: Any, tenant: str, c: Caller) -> Params:
    p = await device(rt, tenant, c)
    aid = f"{p['device_id']}:matrix"
    await rt.db.db[mc.ALARMS].insert_one({"_id": aid, "device": p["device_id"], "rule": "matrix", "state": "raised",
                                          "severity": "major", "raisedAt": _now(), "acknowledged": False})
    return {**p, "alarm_id": aid, "marker": aid}


async def preset(rt: Any, tenant: str, _c: Caller) -> Params:
    name = f"{tenant}-p-{_hex()}"
    await rt.db.presets.insert_one({"_id": name, "_tenant": tenant, "weight": 0, "channel": "default",
                                    "precondition": f'{{"_tenant": "{tenant}"}}', "configurations": [],
                                    "events": {"6 CONNECTION REQUEST": True}})
    return {"name": name, "marker": name}


async def file(rt: Any, tenant: str, _c: Caller) -> Params:
    name = f"{tenant}-f-{_hex()}.bin"
    await rt.db.fs.upload_from_stream(name, b"firmware", metadata={"_tenant": tenant, "fileType": "1 Firmware Upgrade Image"})
    return {"name": name, "marker": name}


async def campaign(rt: Any, tenant: str, c: Caller) -> Params:
    f = await file(rt, tenant, c)
    cid = f"{tenant}-c-{_hex()}"
    await rt.db.db[mc.CAMPAIGNS].insert_one({
        "_id": cid, "_tenant": tenant, "status": "running", "fileName": f["name"], "fileType": "1 Firmware Upgrade Image",
        "query": "{}", "total": 0, "currentWave": -1, "acceptedWave": -1, "waves": {}, "created": _now(),
        "updated": _now(), "reason": None})
    return {"cid": cid, "marker": cid, "file": f["name"]}


async def user(rt: Any, tenant: str, _c: Caller) -> Params:
    name = f"{tenant}-u-{_hex()}"
    await Accounts(rt.db.db).users.insert_one({"_id": name, "tenant": tenant, "role": "readonly", "scope": None,
                                               "source": "local"})
    return {"name": name, "marker": name}


async def own_token(rt: Any, tenant: str, c: Caller) -> Params:
    """In scope: a token of the caller itself; out of scope: one of another tenant's user."""
    accounts = Accounts(rt.db.db)
    owner = c.user if (c.tenant == tenant and c.user) else f"{tenant}-readonly"
    doc = await accounts.users.find_one({"_id": owner})
    if doc is None:  # the static admin has no user: its "own" token is red-readonly's, via ?user=
        doc = await accounts.users.find_one({"_id": f"{tenant}-readonly"})
    _value, t = await accounts.issue(doc, name="m", kind="api", role="readonly", scope=None, lifetime=timedelta(days=1))
    return {"token_id": t["id"], "user": doc["_id"], "marker": t["id"]}


async def script(rt: Any, collection: str) -> Params:
    name = f"s{_hex()}"
    await rt.db.db[collection].insert_one({"_id": name, "script": "log('matrix');"})
    return {"name": name, "marker": name}


async def provision(rt: Any, _t: str, _c: Caller) -> Params:
    return await script(rt, mc.PROVISIONS)


async def virtual_parameter(rt: Any, _t: str, _c: Caller) -> Params:
    return await script(rt, mc.VIRTUAL_PARAMETERS)


async def alarm_rule(rt: Any, _t: str, _c: Caller) -> Params:
    name = f"r{_hex()}"
    await rt.db.db[mc.ALARM_RULES].insert_one({"_id": name, "kind": "threshold", "parameter": "X.Y", "op": ">",
                                               "value": 1, "severity": "major"})
    return {"name": name, "marker": name}


async def nothing(_rt: Any, _t: str, _c: Caller) -> Params:
    return {}


# ------------------------------------------------------------------------------------ rules

@dataclass(frozen=True)
class Rule:
    role: str  # the least role
    kind: str  # object | list | plain | global (fleet-wide write) | self (a caller's own tokens)
    make: Make = nothing
    body: Callable[[Params], dict[str, Any]] = field(default=lambda p: {})


PRESET_BODY = {"weight": 0, "precondition": "{}", "configurations": []}
SCRIPT = {"content": b"log('x');", "headers": {"Content-Type": "application/javascript"}}
RULE_BODY = {"kind": "threshold", "parameter": "X.Y", "op": ">", "value": 2}

RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/access"): Rule("readonly", "plain"),
    ("GET", "/whoami"): Rule("readonly", "plain"),
    ("POST", "/logout"): Rule("readonly", "plain"),
    ("GET", "/overview"): Rule("readonly", "plain"),
    ("GET", "/history/aggregate"): Rule("readonly", "plain", body=lambda p: {"params": {"parameter": "X.Y"}}),
    ("GET", "/audit"): Rule("admin", "plain"),
    ("GET", "/alarm-rules"): Rule("readonly", "plain"),
    ("PUT", "/alarm-rules/{name}"): Rule("admin", "global", alarm_rule, lambda p: {"json": RULE_BODY}),
    ("DELETE", "/alarm-rules/{name}"): Rule("admin", "global", alarm_rule),
    ("GET", "/alarms"): Rule("readonly", "list", alarm),
    ("POST", "/alarms/{alarm_id}/ack"): Rule("operator", "object", alarm),
    ("POST", "/credentials/rekey"): Rule("admin", "global"),
    ("GET", "/campaigns"): Rule("readonly", "list", campaign),
    ("POST", "/campaigns"): Rule("operator", "create-campaign", file),
    ("GET", "/campaigns/{cid}"): Rule("readonly", "object", campaign),
    ("POST", "/campaigns/{cid}/abort"): Rule("operator", "object", campaign),
    ("POST", "/campaigns/{cid}/pause"): Rule("operator", "object", campaign),
    ("POST", "/campaigns/{cid}/resume"): Rule("operator", "object", campaign),
    ("GET", "/devices/"): Rule("readonly", "list", device),
    ("DELETE", "/devices/{device_id}"): Rule("admin", "object", device),
    ("GET", "/devices/{device_id}/history"): Rule("readonly", "object", device),
    ("POST", "/devices/{device_id}/tags/{tag}"): Rule("operator", "object", device),
    ("DELETE", "/devices/{device_id}/tags/{tag}"): Rule("operator", "object", device),
    ("POST", "/devices/{device_id}/tasks"): Rule("operator", "object", device, lambda p: {"json": {"name": "reboot"}}),
    ("GET", "/faults/"): Rule("readonly", "list", fault),
    ("DELETE", "/faults/{fault_id}"): Rule("operator", "object", fault),
    ("GET", "/files/"): Rule("readonly", "list", file),
    ("GET", "/files/{name}"): Rule("readonly", "object", file),
    ("HEAD", "/files/{name}"): Rule("readonly", "object", file),
    ("PUT", "/files/{name}"): Rule("admin", "object", file, lambda p: {"content": b"new firmware"}),
    ("DELETE", "/files/{name}"): Rule("admin", "object", file),
    ("GET", "/presets/"): Rule("readonly", "list", preset),
    ("GET", "/presets/{name}"): Rule("readonly", "object", preset),
    ("PUT", "/presets/{name}"): Rule("admin", "object", preset, lambda p: {"json": PRESET_BODY}),
    ("DELETE", "/presets/{name}"): Rule("admin", "object", preset),
    ("POST", "/presets/{name}/apply"): Rule("operator", "object", preset),
    ("GET", "/provisions/"): Rule("readonly", "plain"),
    ("GET", "/provisions/{name}"): Rule("readonly", "plain", provision),
    ("PUT", "/provisions/{name}"): Rule("admin", "global", provision, lambda p: SCRIPT),
    ("DELETE", "/provisions/{name}"): Rule("admin", "global", provision),
    ("GET", "/virtual_parameters/"): Rule("readonly", "plain"),
    ("GET", "/virtual_parameters/{name}"): Rule("readonly", "plain", virtual_parameter),
    ("PUT", "/virtual_parameters/{name}"): Rule("admin", "global", virtual_parameter, lambda p: SCRIPT),
    ("DELETE", "/virtual_parameters/{name}"): Rule("admin", "global", virtual_parameter),
    ("GET", "/tasks/"): Rule("readonly", "list", task),
    ("DELETE", "/tasks/{task_id}"): Rule("operator", "object", task),
    ("POST", "/tasks/{task_id}/retry"): Rule("operator", "object", task),
    ("GET", "/tokens"): Rule("readonly", "self", own_token),
    ("POST", "/tokens"): Rule("readonly", "self", own_token, lambda p: {"json": {"name": "m", "role": "readonly"}}),
    ("DELETE", "/tokens/{token_id}"): Rule("readonly", "self", own_token),
    ("GET", "/users"): Rule("admin", "list", user),
    ("GET", "/users/{name}"): Rule("admin", "object", user),
    ("PUT", "/users/{name}"): Rule("admin", "object", user, lambda p: {"json": {"role": "readonly"}}),
    ("DELETE", "/users/{name}"): Rule("admin", "object", user),
}


def app_routes(app: Any) -> set[tuple[str, str]]:
    """(method, path) of every route of the app, also inside included routers and hidden ones;
    a path without its trailing slash is the same route as with it (an alias)."""
    from fastapi.routing import APIRoute

    out: set[tuple[str, str]] = set()

    def walk(routes: list[Any], prefix: str = "") -> None:
        for r in routes:
            if isinstance(r, APIRoute):
                path = (prefix + r.path_format).replace("{name:path}", "{name}")
                for m in r.methods or ():
                    out.add((m, path))
            elif (inner := getattr(r, "original_router", None)) is not None:
                walk(inner.routes, prefix + str(getattr(getattr(r, "include_context", None), "prefix", "") or ""))

    walk(app.routes)
    return out


def rule_of(method: str, path: str) -> Rule | None:
    return RULES.get((method, path)) or RULES.get((method, path + "/"))


def allowed(status: int) -> bool:
    return status not in (401, 403, 404) and status < 500


async def test_every_route_has_a_rule(sec_app):
    missing = sorted(r for r in app_routes(sec_app) if r not in PUBLIC and rule_of(*r) is None)
    assert not missing, f"routes without an authorization rule in tests/security/test_authz_matrix.py: {missing}"
    stale = sorted(set(RULES) - app_routes(sec_app))
    assert not stale, f"rules of routes that no longer exist: {stale}"


async def _call(nbi: Any, method: str, path: str, rule: Rule, p: Params, headers: dict[str, str],
                extra_params: dict[str, str] | None = None) -> Any:
    kwargs = dict(rule.body(p))
    kwargs["headers"] = {**kwargs.get("headers", {}), **headers}
    if extra_params:
        kwargs["params"] = {**kwargs.get("params", {}), **extra_params}
    url = path.format(**p)
    return await nbi.request(method, url, **kwargs)


def _roles(route_role: str) -> list[tuple[str | None, str]]:
    return [("red", r) for r in ROLES] + [(None, "admin")]


@pytest.mark.parametrize("method, path", sorted(RULES), ids=[f"{m} {p}" for m, p in sorted(RULES)])
async def test_matrix(sec_nbi, sec_runtime, callers, method, path):
    rule = RULES[(method, path)]
    rt = sec_runtime
    template = path
    anyone = callers[("red", "readonly")]
    p0 = await rule.make(rt, "red", anyone)
    anonymous = await _call(sec_nbi, method, template, rule, p0, {})
    assert anonymous.status_code == 401, (method, path, "without a token", anonymous.text)
    for key in _roles(rule.role):
        caller = callers[key]
        who = f"{caller.tenant or 'unscoped'}/{caller.role}"
        mine = await rule.make(rt, "red", caller)
        theirs = await rule.make(rt, "blue", caller)
        if RANK[caller.role] < RANK[rule.role]:
            r = await _call(sec_nbi, method, template, rule, mine, caller.headers)
            assert r.status_code == 403, (method, path, who, "below the route's role", r.status_code, r.text)
            continue
        if rule.kind == "global":
            r = await _call(sec_nbi, method, template, rule, mine, caller.headers)
            if caller.tenant is None:
                assert allowed(r.status_code), (method, path, who, r.status_code, r.text)
            else:
                assert r.status_code == 403, (method, path, who, "fleet-wide write by a tenant", r.status_code, r.text)
            continue
        if rule.kind == "plain":
            r = await _call(sec_nbi, method, template, rule, mine, caller.headers)
            assert allowed(r.status_code), (method, path, who, r.status_code, r.text)
            continue
        if rule.kind == "self":
            own = await own_token(rt, "red", caller)
            as_static = {"user": own["user"]} if caller.user is None else None
            r = await _call(sec_nbi, method, template, rule, own, caller.headers, as_static)
            assert allowed(r.status_code), (method, path, who, r.status_code, r.text)
            if caller.tenant is not None:  # another tenant's user or token: not found
                other = await own_token(rt, "blue", caller)
                target = {"user": other["user"]} if "{token_id}" not in path else None
                r = await _call(sec_nbi, method, template, rule, other, caller.headers, target)
                assert r.status_code == 404, (method, path, who, "another tenant's token", r.status_code, r.text)
            continue
        if rule.kind == "list":
            r = await _call(sec_nbi, method, template, rule, mine, caller.headers)
            assert r.status_code == 200, (method, path, who, r.status_code, r.text)
            assert mine["marker"] in r.text, (method, path, who, "own object missing from the list")
            if caller.tenant is not None:
                assert theirs["marker"] not in r.text, (method, path, who, "another tenant's object listed")
            else:
                assert theirs["marker"] in r.text, (method, path, who, "the unscoped admin sees every tenant")
            continue
        if rule.kind == "create-campaign":
            body = {"fileName": mine["name"], "query": "{}", "name": f"m{ObjectId()}"}
            r = await sec_nbi.post(path, json=body, headers=caller.headers)
            assert r.status_code == 201, (method, path, who, r.status_code, r.text)
            created = await rt.db.db[mc.CAMPAIGN_DEVICES].distinct("device", {"campaign": body["name"]})
            tenants = {d["_tenant"] for d in await rt.db.devices.find({"_id": {"$in": created}}, {"_tenant": 1}).to_list(None)}
            assert tenants == ({"red"} if caller.tenant else {"red", "blue"}), (who, tenants)
            if caller.tenant is not None:
                body = {"fileName": theirs["name"], "query": "{}", "name": f"m{ObjectId()}"}
                r = await sec_nbi.post(path, json=body, headers=caller.headers)
                assert r.status_code == 400 and "no file" in r.text, (who, "another tenant's file", r.text)
            continue
        assert rule.kind == "object"
        r = await _call(sec_nbi, method, template, rule, mine, caller.headers)
        assert allowed(r.status_code), (method, path, who, "in scope", r.status_code, r.text)
        r = await _call(sec_nbi, method, template, rule, theirs, caller.headers)
        if caller.tenant is not None:
            assert r.status_code == 404, (method, path, who, "out of scope", r.status_code, r.text)
        else:
            assert allowed(r.status_code), (method, path, who, "the unscoped admin", r.status_code, r.text)
