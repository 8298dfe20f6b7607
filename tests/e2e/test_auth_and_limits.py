"""CPE authentication and back-pressure at the gateway."""

from __future__ import annotations

import httpx
import pytest

from acs_devstack.stack import Stack

from .conftest import eventually
from .scripted_cpe import ScriptedCpe


@pytest.fixture(scope="module")
def auth_stack():
    st = Stack(partitions=2).start_servers()
    try:
        st.add_scheduler()
        st.add_gateway(GATEWAY_CPE_AUTH="digest", GATEWAY_CPE_USERNAME="acs", GATEWAY_CPE_PASSWORD="default-pw")
        st.add_gateway(GATEWAY_CPE_AUTH="basic", GATEWAY_CPE_USERNAME="acs", GATEWAY_CPE_PASSWORD="default-pw")
        st.add_gateway(GATEWAY_MAX_INFLIGHT="0", GATEWAY_RETRY_AFTER_S="7")
        yield st
    finally:
        st.stop()


@pytest.fixture(scope="module")
def auth_db(auth_stack):
    from pymongo import MongoClient

    from acs_devstack.servers import mongo_uri

    c = MongoClient(mongo_uri(auth_stack.mongo.port))
    yield c.acs
    c.close()


async def _counter(http: httpx.AsyncClient, gateway, sample: str) -> float:
    """The value of one sample (``name{labels}``) of a gateway's /metrics, 0 when absent."""
    text = (await http.get(f"{gateway.admin_url}/metrics")).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(sample + " "))


async def test_unauthenticated_inform_gets_401_and_never_reaches_kafka(auth_stack, auth_db, http):
    gateway = auth_stack.gateways[0]
    refused = 'acs_gateway_rejected_total{reason="auth"}'
    refused_before = await _counter(http, gateway, refused)
    informs_before = await _counter(http, gateway, 'acs_gateway_informs_total{event_code="2 PERIODIC"}')
    cpe = ScriptedCpe("NOAUTH1", [auth_stack.cwmp_url(0)])
    a = await cpe.inform(http, ["2 PERIODIC"])
    assert a.status == 401
    assert "Digest" in a.headers["www-authenticate"] and "nonce=" in a.headers["www-authenticate"]
    cpe.auth = httpx.DigestAuth("acs", "wrong")
    assert (await cpe.inform(http, ["2 PERIODIC"])).status == 401
    # An Inform is published before it is answered, so after the 401s the counters are final:
    # three requests were refused (the digest client's first try carries no credentials, its
    # second the wrong ones) and none was acknowledged (published).
    assert await _counter(http, gateway, refused) == refused_before + 3
    assert await _counter(http, gateway, 'acs_gateway_informs_total{event_code="2 PERIODIC"}') == informs_before
    assert auth_db.devices.find_one({"_id": "202BC1-BM632w-NOAUTH1"}) is None


async def test_digest_with_default_credentials(auth_stack, auth_db, http):
    cpe = ScriptedCpe("DIGEST1", [auth_stack.cwmp_url(0)], auth=httpx.DigestAuth("acs", "default-pw"))
    assert (await cpe.inform(http, ["2 PERIODIC"])).status == 200
    assert (await cpe.empty(http)).status == 204
    await eventually(lambda: auth_db.devices.find_one({"_id": "202BC1-BM632w-DIGEST1"}))


async def test_per_device_credentials_from_the_inventory(auth_stack, auth_db, http):
    auth_db.credentials.insert_one({"_id": "202BC1-BM632w-OWNPW1", "cpe": {"username": "cpe-ownpw1", "password": "s3cret"}})
    cpe = ScriptedCpe("OWNPW1", [auth_stack.cwmp_url(1)], auth=httpx.BasicAuth("acs", "default-pw"))
    assert (await cpe.inform(http, ["2 PERIODIC"])).status == 401  # the default no longer opens this device
    cpe.auth = httpx.BasicAuth("cpe-ownpw1", "s3cret")
    assert (await cpe.inform(http, ["2 PERIODIC"])).status == 200
    assert (await cpe.empty(http)).status == 204


async def test_backpressure_gives_503_with_retry_after(auth_stack, http):
    cpe = ScriptedCpe("BUSY1", [auth_stack.cwmp_url(2)])
    a = await cpe.inform(http, ["2 PERIODIC"])
    assert a.status == 503 and a.headers["retry-after"] == "7"
