"""The OpenAPI page: public by default, with an Authorize dialog for the bearer token; every
other route keeps its token; NBI_DOCS_PUBLIC=false puts the page behind a token a browser can give."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from inv_support import READONLY

from inventory.app import create_app
from inventory.config import Settings

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session")
async def private_docs(settings, runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"docs_public": False}), runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://nbi") as c:
        yield c


async def test_docs_are_public_by_default():
    assert Settings().docs_public is True
    assert Settings.from_env({"ACS_FILES_SECRET": "x"}).docs_public is True
    assert Settings.from_env({"ACS_FILES_SECRET": "x", "NBI_DOCS_PUBLIC": "false"}).docs_public is False


async def test_docs_and_openapi_without_a_token(nbi):
    page = await nbi.get("/docs")
    assert page.status_code == 200 and "swagger-ui" in page.text
    assert "/openapi.json" in page.text
    assert '"persistAuthorization": true' in page.text  # the token survives a reload of the page
    spec = await nbi.get("/openapi.json")
    assert spec.status_code == 200
    doc = spec.json()
    # the scheme Swagger UI's Authorize dialog offers: an HTTP bearer token
    schemes = doc["components"]["securitySchemes"]
    assert schemes["HTTPBearer"] == {"type": "http", "scheme": "bearer",
                                     "description": "NBI_TOKENS token, a user's API token or session, or an OIDC JWT"}
    operations = [(path, method, op) for path, ops in doc["paths"].items() for method, op in ops.items()]
    assert len(operations) > 20
    for path, method, op in operations:  # every API operation sends the token once authorised
        if (method, path) in PUBLIC:  # signing in is how a token is had
            continue
        assert op.get("security") == [{"HTTPBearer": []}], (method, path)
    assert "/docs" not in doc["paths"] and "/openapi.json" not in doc["paths"]


PUBLIC = {("post", "/login"), ("get", "/login/methods"), ("get", "/oidc/login"), ("get", "/oidc/callback")}


@pytest.mark.parametrize("method, path", [
    ("GET", "/devices/"), ("GET", "/tasks/"), ("GET", "/faults/"), ("GET", "/files/"), ("GET", "/presets/"),
    ("GET", "/campaigns"), ("POST", "/devices/x/tasks"), ("DELETE", "/devices/x"), ("PUT", "/presets/p"),
])
async def test_the_api_still_needs_a_token(nbi, method, path):
    r = await nbi.request(method, path)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


async def test_a_call_as_swagger_makes_it_after_authorize(nbi):
    # "Try it out" after Authorize sends exactly this header
    r = await nbi.get("/devices/", params={"limit": "1"}, headers=READONLY)
    assert r.status_code == 200 and isinstance(r.json(), list)


@pytest.mark.parametrize("path", ["/docs", "/openapi.json"])
async def test_private_docs_ask_a_browser_for_the_token(private_docs, path):
    r = await private_docs.get(path)
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith('Basic realm="ACS NBI')  # a browser shows its login box
    basic = base64.b64encode(b"anyone:tok-readonly").decode()
    assert (await private_docs.get(path, headers={"Authorization": f"Basic {basic}"})).status_code == 200
    assert (await private_docs.get(path, headers=READONLY)).status_code == 200
    wrong = base64.b64encode(b"anyone:wrong").decode()
    r = await private_docs.get(path, headers={"Authorization": f"Basic {wrong}"})
    assert r.status_code == 401 and r.json()["error"] == "invalid token"
    # the API routes keep their Bearer challenge
    assert (await private_docs.get("/devices/")).headers["www-authenticate"] == "Bearer"
