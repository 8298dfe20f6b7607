"""File transfers over real HTTP: what Download, ScheduleDownload, ChangeDUState and Upload fetch or send.

Each transfer opens its own connection (a CPE's file transfer is separate from its CWMP session),
answers Basic/Digest challenges with the credentials the ACS gave, and turns every failure into the
FaultStruct the TransferComplete carries: 9010 for downloads, 9011 for uploads.
"""

from __future__ import annotations

from datetime import datetime

import aiohttp

from cwmp import messages as m
from cwmp.faults import FaultCode

from .device import now
from .httpauth import client_middlewares

CHUNK = 64 * 1024


class TransferResult:
    __slots__ = ("fault", "size", "started", "completed")

    def __init__(self, fault: m.FaultStruct, size: int, started: datetime, completed: datetime) -> None:
        self.fault, self.size, self.started, self.completed = fault, size, started, completed

    @property
    def ok(self) -> bool:
        return self.fault.fault_code == 0


def _session(username: str, password: str, timeout_s: float) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=timeout_s),
        middlewares=client_middlewares(username, password),
        connector=aiohttp.TCPConnector(limit=1, force_close=True),
    )


async def download(url: str, *, username: str = "", password: str = "", file_size: int = 0,
                   timeout_s: float = 120.0) -> TransferResult:  # fmt: skip
    """GET ``url`` to the end (the body is counted, not kept) and check FileSize when given."""
    started = now()
    size = 0
    code, text = 0, ""
    try:
        async with _session(username, password, timeout_s) as http, http.get(url) as resp:
            if resp.status != 200:
                code, text = FaultCode.DOWNLOAD_FAILURE, f"HTTP {resp.status} from file server"
            else:
                async for chunk in resp.content.iter_chunked(CHUNK):
                    size += len(chunk)
                if file_size and size != file_size:
                    code, text = FaultCode.DOWNLOAD_FAILURE, f"got {size} bytes, FileSize says {file_size}"
    except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
        code, text = FaultCode.DOWNLOAD_FAILURE, f"file server unreachable: {exc.__class__.__name__}: {exc}"
    return TransferResult(m.FaultStruct(int(code), text), size, started, now())


async def upload(url: str, body: bytes, *, username: str = "", password: str = "",
                 timeout_s: float = 120.0) -> TransferResult:  # fmt: skip
    """PUT ``body`` to ``url``; any 2xx answer is a success."""
    started = now()
    code, text = 0, ""
    try:
        async with _session(username, password, timeout_s) as http, http.put(
            url, data=body, headers={"Content-Type": "application/octet-stream"}
        ) as resp:
            await resp.read()
            if not 200 <= resp.status < 300:
                code, text = FaultCode.UPLOAD_FAILURE, f"HTTP {resp.status} from file server"
    except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
        code, text = FaultCode.UPLOAD_FAILURE, f"file server unreachable: {exc.__class__.__name__}: {exc}"
    return TransferResult(m.FaultStruct(int(code), text), len(body), started, now())


def injected_failure() -> TransferResult:
    """The result a device configured to fail downloads reports."""
    t = now()
    return TransferResult(m.FaultStruct(int(FaultCode.DOWNLOAD_FAILURE), "download failed (injected fault)"), 0, t, t)


def missed_windows() -> TransferResult:
    """ScheduleDownload whose last TimeWindow closed before the device got to it."""
    t = now()
    return TransferResult(m.FaultStruct(int(FaultCode.TIME_WINDOWS_MISSED), "time windows missed"), 0, t, t)
