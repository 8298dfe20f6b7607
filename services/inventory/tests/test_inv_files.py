"""Files: NBI management, the CPE file server (signed URLs, Range, ETag/Content-MD5), uploads."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from urllib.parse import urlsplit

import pytest
from inv_support import ADMIN, OPERATOR, READONLY, SECRET

from acs_contracts.file_urls import sign_download_url, sign_upload_url

pytestmark = pytest.mark.asyncio(loop_scope="session")

CONTENT = bytes(range(256)) * 2000  # 512000 bytes, spans several GridFS chunks
MD5 = hashlib.md5(CONTENT).hexdigest()
DEVICE = "A1B2C3-Router-F0001"


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


async def put_firmware(nbi, name="fw-1.bin", content=CONTENT, **headers):
    hdrs = {**ADMIN, "fileType": "1 Firmware Upgrade Image", "oui": "A1B2C3", "productClass": "Router",
            "version": "2.0", **headers}
    r = await nbi.put(f"/files/{name}", content=content, headers=hdrs)
    assert r.status_code == 201, r.text
    return r


async def test_put_list_get_delete(nbi, runtime):
    assert (await nbi.put("/files/x.bin", content=b"x", headers=OPERATOR)).status_code == 403
    await put_firmware(nbi, content=b"old contents")
    await put_firmware(nbi)  # replaces the first
    assert await runtime.db.fs_files.count_documents({"filename": "fw-1.bin"}) == 1
    r = await nbi.get("/files/", params={"query": json.dumps({"metadata.fileType": "1 Firmware Upgrade Image", "_id": "fw-1.bin"})}, headers=READONLY)
    [listed] = r.json()
    assert listed["_id"] == "fw-1.bin" and listed["length"] == len(CONTENT)
    assert listed["metadata"] == {"fileType": "1 Firmware Upgrade Image", "oui": "A1B2C3", "productClass": "Router",
                                  "version": "2.0", "md5": MD5}
    assert listed["uploadDate"].endswith("Z")
    r = await nbi.get("/files/fw-1.bin", headers=READONLY)
    assert r.status_code == 200 and r.content == CONTENT
    assert r.headers["etag"] == f'"{MD5}"'
    assert r.headers["content-md5"] == base64.b64encode(hashlib.md5(CONTENT).digest()).decode()
    r = await nbi.put("/files/bad.bin", content=b"x", headers={**ADMIN, "fileType": "firmware"})
    assert r.status_code == 400
    await put_firmware(nbi, name="temp.bin", content=b"t")
    assert (await nbi.delete("/files/temp.bin", headers=ADMIN)).status_code == 200
    assert (await nbi.get("/files/temp.bin", headers=READONLY)).status_code == 404
    assert (await nbi.delete("/files/temp.bin", headers=ADMIN)).status_code == 404


async def test_signed_download_with_range(nbi, fileserver):
    await put_firmware(nbi)
    url = path_of(sign_download_url("http://fs.example:7567", "fw-1.bin", DEVICE, time.time() + 60, SECRET))
    r = await fileserver.get(url)
    assert r.status_code == 200 and r.content == CONTENT and r.headers["accept-ranges"] == "bytes"
    assert r.headers["content-md5"] == base64.b64encode(bytes.fromhex(MD5)).decode()
    etag = r.headers["etag"]
    r = await fileserver.get(url, headers={"Range": "bytes=262100-262200"})
    assert r.status_code == 206 and r.content == CONTENT[262100:262201]
    assert r.headers["content-range"] == f"bytes 262100-262200/{len(CONTENT)}"
    assert "content-md5" not in r.headers
    r = await fileserver.get(url, headers={"Range": "bytes=-10"})
    assert r.status_code == 206 and r.content == CONTENT[-10:]
    r = await fileserver.get(url, headers={"Range": "bytes=500000-"})
    assert r.status_code == 206 and r.content == CONTENT[500000:]
    r = await fileserver.get(url, headers={"Range": f"bytes={len(CONTENT)}-"})
    assert r.status_code == 416 and r.headers["content-range"] == f"bytes */{len(CONTENT)}"
    r = await fileserver.get(url, headers={"Range": "bytes=0-9", "If-Range": '"other"'})
    assert r.status_code == 200 and len(r.content) == len(CONTENT)  # changed file: whole body
    r = await fileserver.get(url, headers={"If-None-Match": etag})
    assert r.status_code == 304
    r = await fileserver.head(url)
    assert r.status_code == 200 and r.headers["content-length"] == str(len(CONTENT)) and r.content == b""


async def test_signed_download_refusals(nbi, fileserver):
    await put_firmware(nbi)
    good = path_of(sign_download_url("http://fs", "fw-1.bin", DEVICE, time.time() + 60, SECRET))
    assert (await fileserver.get("/files/fw-1.bin")).status_code == 403
    # another device reusing this device's URL
    other = good.replace("F0001", "F0002")
    assert (await fileserver.get(other)).status_code == 403
    # expired, forged, wrong secret
    expired = path_of(sign_download_url("http://fs", "fw-1.bin", DEVICE, time.time() - 1, SECRET))
    assert (await fileserver.get(expired)).status_code == 403
    forged = good[:-4] + ("0000" if not good.endswith("0000") else "1111")
    assert (await fileserver.get(forged)).status_code == 403
    wrong = path_of(sign_download_url("http://fs", "fw-1.bin", DEVICE, time.time() + 60, b"not-the-secret"))
    assert (await fileserver.get(wrong)).status_code == 403
    # a valid signature for a device of another OUI: the file is restricted to OUI A1B2C3
    foreign = path_of(sign_download_url("http://fs", "fw-1.bin", "FFEE00-Router-X1", time.time() + 60, SECRET))
    r = await fileserver.get(foreign)
    assert r.status_code == 403 and "OUI" in r.json()["detail"]
    missing = path_of(sign_download_url("http://fs", "nope.bin", DEVICE, time.time() + 60, SECRET))
    assert (await fileserver.get(missing)).status_code == 404


async def test_upload_target(fileserver, runtime):
    url = path_of(sign_upload_url("http://fs", DEVICE, "cfg-7", "1 Vendor Configuration File", time.time() + 60, SECRET))
    body = b"<config>...</config>" * 100
    r = await fileserver.put(url, content=body, headers={"Content-Type": "text/xml"})
    assert r.status_code == 201
    r = await fileserver.put(url, content=body + b"!")  # a retry replaces the earlier upload
    assert r.status_code == 201
    docs = [d async for d in runtime.db.fs_files.find({"metadata.device": DEVICE})]
    assert len(docs) == 1
    meta = docs[0]["metadata"]
    assert meta["fileType"] == "1 Vendor Configuration File" and meta["commandKey"] == "cfg-7"
    assert meta["md5"] == hashlib.md5(body + b"!").hexdigest()
    stream = await runtime.db.fs.open_download_stream(docs[0]["_id"])
    assert await stream.read() == body + b"!"
    # refused: tampered device, expired token
    assert (await fileserver.put(url.replace("F0001", "F0009"), content=b"x")).status_code == 403
    old = path_of(sign_upload_url("http://fs", DEVICE, "k", "2 Vendor Log File", time.time() - 5, SECRET))
    assert (await fileserver.put(old, content=b"x")).status_code == 403
