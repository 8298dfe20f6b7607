"""Fixtures: a real SecantusDB (MongoDB protocol) on a free port, and the apps in-process."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from pymongo import MongoClient

sys.path.insert(0, str(Path(__file__).resolve().parent))  # inv_support, under --import-mode=importlib

from inv_support import SECRET, TOKENS, free_port  # noqa: E402

from inventory.app import create_app, create_file_app
from inventory.config import Settings
from inventory.runtime import Runtime


def _secantusd() -> str:
    exe = Path(sys.executable).with_name("secantusd-py")
    found = exe if exe.exists() else shutil.which("secantusd-py")
    if not found:
        pytest.skip("secantusd-py (SecantusDB) is not installed")
    return str(found)


@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    data = tmp_path_factory.mktemp("secantus")
    with open(data.parent / f"{data.name}.log", "ab") as log:  # its warnings, where a hang can be read
        proc = subprocess.Popen(
            [_secantusd(), "--host", "127.0.0.1", "--port", str(port), "--storage-path", str(data),
             "--log-level", "WARNING"],
            stdout=log, stderr=subprocess.STDOUT,
        )
    uri = f"mongodb://127.0.0.1:{port}/?directConnection=true"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with MongoClient(uri, serverSelectionTimeoutMS=500) as c:
                    c.admin.command("ping")
                break
            except Exception as e:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("SecantusDB did not start") from e
                time.sleep(0.2)
        yield uri
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def settings(mongo_uri: str) -> Settings:
    return Settings(
        mongodb_uri=mongo_uri,
        mongodb_database=f"inv_{uuid.uuid4().hex[:8]}",
        tokens=TOKENS,
        files_secret=SECRET,
        task_timeout_ms=2000,
        metrics_refresh_s=0.2,
        cr_timeout_s=2.0,
        cr_retry_delay_s=0.2,
        cr_retry_max_delay_s=0.5,
        cr_udp_repeats=3,
        cr_udp_interval_s=0.01,
        cr_username="default-user",
        cr_password="default-pass",
    )


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    rt = Runtime(settings)
    await rt.start()
    try:
        yield rt
    finally:
        await rt.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def nbi(settings: Settings, runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://nbi") as c:
        yield c


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def fileserver(settings: Settings, runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_file_app(settings, runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://fs") as c:
        yield c


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def own(settings: Settings) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    """A runtime and NBI on a database of the module's own, dropped after it: for tests whose
    counts or rewrites must not see, or touch, other modules' documents."""
    mine = settings.model_copy(update={"mongodb_database": f"own_{uuid.uuid4().hex[:8]}"})
    rt = Runtime(mine)
    await rt.start()
    app = create_app(mine, rt)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://nbi") as c:
            yield rt, c
    finally:
        await rt.db.client.drop_database(mine.mongodb_database)
        await rt.stop()
