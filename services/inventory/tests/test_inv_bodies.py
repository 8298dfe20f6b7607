"""NBI write bodies checked by pydantic models (inventory.bodies): the OpenAPI describes them,
and a refusal is a 400 naming the field to fix."""

from __future__ import annotations

import pytest
from inv_support import ADMIN, OPERATOR

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _body_schema(doc: dict, path: str, method: str) -> dict:
    return doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]


async def test_openapi_describes_campaign_and_alarm_rule_bodies(nbi):
    doc = (await nbi.get("/openapi.json")).json()
    campaign = _body_schema(doc, "/campaigns", "post")
    assert set(campaign["required"]) == {"fileName", "query"} and campaign["additionalProperties"] is False
    assert campaign["properties"]["failureThreshold"]["maximum"] == 1
    rule = _body_schema(doc, "/alarm-rules/{name}", "put")
    assert rule["required"] == ["kind"]
    assert rule["properties"]["kind"]["enum"] == ["threshold", "rate", "missing-informs"]


@pytest.mark.parametrize("body, error", [
    ([1], "a campaign is a JSON object"),
    ({"fileName": "fw.bin", "query": {}, "colour": "red"}, "unknown campaign fields ['colour']"),
    ({"query": {}}, "fileName is required"),
    ({"fileName": "fw.bin", "query": {}, "maxConcurrent": 2.5}, "maxConcurrent: Input should be a valid integer"),
    ({"fileName": "fw.bin", "query": {}, "canaryPercent": True}, "canaryPercent: Input should be a valid number"),
    ({"fileName": "fw.bin", "query": {}, "name": "a b"}, "name: 1-64 letters, digits, '_', '-', '.'"),
])
async def test_campaign_refusals_name_the_field(nbi, body, error):
    r = await nbi.post("/campaigns", json=body, headers=OPERATOR)
    assert r.status_code == 400 and r.json()["error"] == error, r.text


@pytest.mark.parametrize("body, error", [
    ({"kind": "threshold", "parameter": "Device.X", "value": 1, "enabled": "yes"}, "enabled must be true or false"),
    ({"kind": "threshold", "parameter": "Device.X"}, "value must be a number"),
    ({"kind": "missing-informs", "missingS": 0}, "missingS: Input should be greater than 0"),
    ({"kind": "threshold", "parameter": "Device.X", "value": 1, "severity": "x"},
     "severity: Input should be 'critical', 'major', 'minor' or 'warning'"),
])
async def test_alarm_rule_refusals_name_the_field(nbi, body, error):
    r = await nbi.put("/alarm-rules/bad", json=body, headers=ADMIN)
    assert r.status_code == 400 and r.json()["error"] == error, r.text


@pytest.mark.parametrize("body, error", [
    ({"role": "operator", "password": "short"}, "password: String should have at least 10 characters"),
    ({"role": "root"}, "role: Input should be 'readonly', 'operator' or 'admin'"),
    ({"role": "operator", "tenant": "a b"}, "tenant: String should match pattern '^[A-Za-z0-9_][A-Za-z0-9_.@\\-]{0,127}$'"),
    ({"role": "operator", "disabled": "no"}, "disabled: Input should be a valid boolean"),
    ({"role": "operator", "colour": "red"}, "unknown user fields ['colour']"),
    ({}, "role is one of readonly, operator, admin"),
])
async def test_user_refusals_name_the_field(nbi, body, error):
    r = await nbi.put("/users/bodies-refused", json=body, headers=ADMIN)
    assert r.status_code == 400 and r.json()["error"] == error, r.text
    assert (await nbi.get("/users/bodies-refused", headers=ADMIN)).status_code == 404  # nothing stored


async def test_token_refusals_name_the_field(nbi):
    assert (await nbi.put("/users/bodies-tokens", json={"role": "operator"}, headers=ADMIN)).status_code in (200, 201)
    for body, error in (({"expiresInDays": 0}, "expiresInDays: Input should be greater than 0"),
                        ({"expiresInDays": "90"}, "expiresInDays: Input should be a valid number"),
                        ({"expiresInDays": 10**6}, "expiresInDays is a number of days, more than 0 and at most "),
                        ({"name": 5}, "name: Input should be a valid string"),
                        ({"role": "root"}, "role: Input should be 'readonly', 'operator' or 'admin'"),
                        ({"label": "x"}, "unknown token fields ['label']")):
        r = await nbi.post("/tokens", params={"user": "bodies-tokens"}, json=body, headers=ADMIN)
        assert r.status_code == 400 and r.json()["error"].startswith(error), (body, r.text)
    r = await nbi.post("/tokens", params={"user": "bodies-tokens"}, json={"name": "ci", "expiresInDays": 1.5}, headers=ADMIN)
    assert r.status_code == 201 and r.json()["name"] == "ci" and r.json()["role"] == "operator", r.text
