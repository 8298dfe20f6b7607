"""What authentication and scopes cost the NBI: calls per second of GET /whoami with a static
token and with a user's API token (looked up in MongoDB on every call, so revocation is
immediate), the median time of a 100-device page for an unscoped admin and for a tenant's admin
(its scope AND-ed into the query), and the median POST /login (argon2id). In process (the NBI
app over a real SecantusDB, no HTTP server), sequential calls: the NBI's own cost per call.

    .venv/bin/python -m benchmarks.nbi_auth [--short]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from acs_devstack.servers import mongo_server, mongo_uri, new_workdir
from inventory.accounts import Accounts, hash_password
from inventory.app import create_app
from inventory.config import Settings
from inventory.runtime import Runtime
from inventory.security_settings import SecuritySettings

STATIC = "bench-static-admin"


async def _rate(c: httpx.AsyncClient, headers: dict[str, str], calls: int) -> float:
    t = time.perf_counter()
    for _ in range(calls):
        r = await c.get("/whoami", headers=headers)
        assert r.status_code == 200, r.text
    return calls / (time.perf_counter() - t)


async def _median_ms(call: Any, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        await call()
        times.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(times), 2)


async def measure(uri: str, devices: int, calls: int) -> dict[str, Any]:
    settings = Settings(mongodb_uri=uri, mongodb_database=f"bench_auth_{uuid.uuid4().hex[:6]}", tokens={STATIC: "admin"},
                        security=SecuritySettings(rate_per_s=0, login_rate_per_min=0))
    rt = Runtime(settings)
    await rt.start()
    try:
        now = datetime.now(UTC)
        await rt.db.devices.insert_many([{"_id": f"BENCH-{t}-{i:06d}", "_tenant": t, "_tags": [], "_lastInform": now,
                                          "_deviceId": {"_OUI": "BENCH", "_ProductClass": t, "_SerialNumber": str(i)}}
                                         for t in ("red", "blue") for i in range(devices)])
        accounts = Accounts(rt.db.db)
        user = {"_id": "bench-red-admin", "role": "admin", "tenant": "red", "scope": None, "source": "local",
                "passwordHash": await hash_password("bench-password-1")}
        await accounts.users.insert_one(user)
        token, _doc = await accounts.issue(user, name="bench", kind="api", role="admin", scope=None,
                                           lifetime=timedelta(days=1))
        static, scoped = {"Authorization": f"Bearer {STATIC}"}, {"Authorization": f"Bearer {token}"}
        app = create_app(settings, rt)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://nbi") as c:
            await _rate(c, static, 20)  # warm up
            page = {"limit": "100", "projection": "_id"}

            async def list_as(h: dict[str, str]) -> None:
                assert (await c.get("/devices/", params=page, headers=h)).status_code == 200

            async def login() -> None:
                r = await c.post("/login", json={"username": "bench-red-admin", "password": "bench-password-1"})
                assert r.status_code == 200, r.text

            return {
                "devices_per_tenant": devices,
                "static_token_calls_per_s": round(await _rate(c, static, calls)),
                "user_token_calls_per_s": round(await _rate(c, scoped, calls)),
                "device_page_unscoped_ms": await _median_ms(lambda: list_as(static), 30),
                "device_page_tenant_ms": await _median_ms(lambda: list_as(scoped), 30),
                "login_ms": await _median_ms(login, 5),
            }
    finally:
        await rt.stop()


def figures(short: bool) -> dict[str, Any]:
    server = mongo_server(new_workdir("acs-bench-auth-")).start()
    try:
        return asyncio.run(measure(mongo_uri(server.port), 200 if short else 5000, 100 if short else 1000))
    finally:
        server.stop()


def main() -> int:
    ap = argparse.ArgumentParser(prog="benchmarks.nbi_auth")
    ap.add_argument("--short", action="store_true")
    print(json.dumps(figures(ap.parse_args().short), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
