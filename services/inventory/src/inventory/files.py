"""Files in GridFS: managed through the NBI (/files) and served to CPEs by the file server.

The NBI stores firmware and configuration files (PUT with GenieACS's headers fileType, oui,
productClass, version) and records each file's MD5 so both servers can give an ETag and a
Content-MD5. The file server (FS_PORT) only answers signed URLs (acs_contracts.file_urls):
``GET /files/<name>`` for Download RPCs, with Range so an interrupted CPE can resume, and
``PUT /uploads/<device>/<token>`` for Upload RPCs, stored as GridFS files with metadata
{device, fileType, commandKey}. A file restricted to an OUI/ProductClass is refused to other
devices even with a valid signature.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any

from device_query.mongo import file_query
from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from gridfs.errors import NoFile

from acs_contracts.device_id import split_device_id
from acs_contracts.file_urls import InvalidSignature, verify_download, verify_upload

from . import auth, scope
from .errors import ApiError, bad_request, not_found
from .principal import and_
from .query import paging, parse_json, projection, sort_spec

CHUNK = 256 * 1024
META_HEADERS = ("fileType", "oui", "productClass", "version")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def listing(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A fs.files document as GenieACS lists it: ``_id`` is the file name."""
    out = {k: v for k, v in doc.items() if k != "_id"}
    out["_id"] = doc.get("filename")
    return out


async def store(rt: Any, request: Request, filename: str, metadata: dict[str, Any], limit: int | None) -> dict[str, Any]:
    """Stream the request body into a new GridFS file; older files of that name are removed after."""
    md5 = hashlib.md5(usedforsecurity=False)
    size = 0
    grid_in = rt.db.fs.open_upload_stream(filename, chunk_size_bytes=CHUNK, metadata=metadata)
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if limit is not None and size > limit:
                raise ApiError(413, "file too large", {"limit": limit})
            md5.update(chunk)
            await grid_in.write(chunk)
    except BaseException:
        await grid_in.abort()
        raise
    await grid_in.close()
    digest = md5.hexdigest()
    async with rt.metrics.mongo("update_file"):
        await rt.db.fs_files.update_one({"_id": grid_in._id}, {"$set": {"metadata.md5": digest}})
    return {"_id": grid_in._id, "length": size, "md5": digest}


async def remove_older(rt: Any, query: dict[str, Any], keep: Any) -> None:
    async with rt.metrics.mongo("find_files"):
        olds = [d["_id"] async for d in rt.db.fs_files.find({**query, "_id": {"$ne": keep}}, {"_id": 1})]
    for oid in olds:
        try:
            await rt.db.fs.delete(oid)
        except NoFile:
            pass


async def newest(rt: Any, filename: str) -> Mapping[str, Any] | None:
    async with rt.metrics.mongo("find_file"):
        return await rt.db.fs_files.find_one({"filename": filename}, sort=[("uploadDate", -1)])


def _etag(doc: Mapping[str, Any]) -> str:
    md5 = (doc.get("metadata") or {}).get("md5") or doc.get("md5")
    return f'"{md5}"' if md5 else f'"{doc["_id"]}-{doc.get("length", 0)}"'


def _byte_range(header: str, length: int) -> tuple[int, int] | None:
    """One ``bytes=`` range as (first, last); None to ignore the header (RFC 9110 permits it)."""
    m = _RANGE.match(header.strip())
    if not m or (m.group(1) == "" and m.group(2) == ""):
        return None
    first, last = m.group(1), m.group(2)
    if first == "":
        n = int(last)
        if n == 0:
            raise ApiError(416, "range not satisfiable", header)
        return max(0, length - n), length - 1
    start = int(first)
    end = min(int(last), length - 1) if last else length - 1
    if start >= length or (last and int(last) < start):
        raise ApiError(416, "range not satisfiable", header)
    return start, end


async def serve(rt: Any, request: Request, doc: Mapping[str, Any]) -> Response:
    """The file's bytes with ETag, Content-MD5, conditional GET and one byte range."""
    length = int(doc.get("length", 0))
    etag = _etag(doc)
    md5 = (doc.get("metadata") or {}).get("md5")
    headers = {"Accept-Ranges": "bytes", "ETag": etag}
    if isinstance(doc.get("uploadDate"), datetime):
        headers["Last-Modified"] = doc["uploadDate"].astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    start, end, status = 0, length - 1, 200
    range_header = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if range_header and length and (if_range is None or if_range.strip() == etag):
        try:
            rng = _byte_range(range_header, length)
        except ApiError as e:
            return Response(
                content=b'{"error":"range not satisfiable","detail":null}', status_code=416,
                headers={**headers, "Content-Range": f"bytes */{length}"}, media_type="application/json",
            ) if e.status == 416 else Response(status_code=400)
        if rng is not None:
            start, end = rng
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{length}"
    if status == 200 and md5:
        headers["Content-MD5"] = base64.b64encode(bytes.fromhex(md5)).decode()
    count = max(0, end - start + 1)
    headers["Content-Length"] = str(count)
    media = (doc.get("metadata") or {}).get("contentType") or "application/octet-stream"
    if request.method == "HEAD" or count == 0:
        return Response(status_code=status, headers=headers, media_type=media)
    grid_out = await rt.db.fs.open_download_stream(doc["_id"])

    async def body() -> AsyncIterator[bytes]:
        try:
            await grid_out.seek(start)
            left = count
            while left > 0:
                data = await grid_out.read(min(CHUNK, left))
                if not data:
                    break
                left -= len(data)
                yield data
        finally:
            await grid_out.close()

    return StreamingResponse(body(), status_code=status, headers=headers, media_type=media)


# --- NBI ------------------------------------------------------------------------------------------

router = APIRouter(tags=["files"])


@router.get("/files/", dependencies=[auth.readonly], summary="Search files (query on filename/_id, metadata.*)")
@router.get("/files", dependencies=[auth.readonly], include_in_schema=False)
async def list_files(request: Request) -> Response:
    rt = request.app.state.rt
    p = request.query_params
    q = and_(file_query(parse_json(p.get("query"), "query")), scope.owned(request, "metadata._tenant"))  # a tenant's own
    skip, limit = paging(p.get("skip"), p.get("limit"))
    proj = projection(p.get("projection"))
    if proj is not None:
        proj["filename"] = 1
    return await rt.stream(rt.db.fs_files, q, proj, sort_spec(p.get("sort"), device=False), skip, limit,
                           "find_files", transform=listing)


@router.put("/files/{name:path}", dependencies=[auth.admin],
            summary="Upload a file; headers fileType, oui, productClass, version describe it")
async def put_file(name: str, request: Request) -> Response:
    rt = request.app.state.rt
    if not name or len(name) > 256 or "\x00" in name:
        raise bad_request("invalid file name", name)
    metadata = {h: request.headers[h] for h in META_HEADERS if request.headers.get(h)}
    if "fileType" in metadata and not re.match(r"^(?:[1-9][0-9]* .+|X [0-9A-Fa-f]{6} .+)$", metadata["fileType"]):
        raise bad_request("fileType must look like \"1 Firmware Upgrade Image\"", metadata["fileType"])
    # a tenant's file is its own; an unscoped admin replacing one keeps its owner
    owner = scope.principal(request).tenant or ((await newest(rt, name) or {}).get("metadata") or {}).get("_tenant")
    if owner is not None:
        metadata["_tenant"] = owner
    stored = await store(rt, request, name, metadata, None)
    await remove_older(rt, {"filename": name}, stored["_id"])
    return Response(status_code=201, headers={"ETag": f'"{stored["md5"]}"'})


@router.get("/files/{name:path}", dependencies=[auth.readonly], summary="Download a file (Range supported)")
@router.head("/files/{name:path}", dependencies=[auth.readonly], include_in_schema=False)
async def get_file(name: str, request: Request) -> Response:
    rt = request.app.state.rt
    doc = await newest(rt, name)
    if doc is None:
        raise not_found(f"no file {name!r}")
    return await serve(rt, request, doc)


@router.delete("/files/{name:path}", dependencies=[auth.admin], summary="Delete a file")
async def delete_file(name: str, request: Request) -> Response:
    rt = request.app.state.rt
    doc = await newest(rt, name)
    if doc is None:
        raise not_found(f"no file {name!r}")
    await remove_older(rt, {"filename": name}, None)
    return Response(status_code=200)


# --- CPE file server ------------------------------------------------------------------------------

cpe_router = APIRouter()


@cpe_router.api_route("/files/{name:path}", methods=["GET", "HEAD"])
async def cpe_download(name: str, request: Request) -> Response:
    rt = request.app.state.rt
    q = request.query_params
    try:
        grant = verify_download(name, q.get("device", ""), q.get("expires", ""), q.get("sig", ""),
                                rt.settings.files_secret)
    except InvalidSignature as e:
        raise ApiError(403, "forbidden", str(e)) from None
    doc = await newest(rt, name)
    if doc is None:
        raise not_found(f"no file {name!r}")
    meta = doc.get("metadata") or {}
    try:
        oui, product_class, _ = split_device_id(grant.device_id)
    except ValueError:
        raise ApiError(403, "forbidden", "not a device id") from None
    if (meta.get("oui") and meta["oui"] != oui) or (meta.get("productClass") and meta["productClass"] != product_class):
        raise ApiError(403, "forbidden", "file is not for this device's OUI/ProductClass")
    return await serve(rt, request, doc)


@cpe_router.api_route("/uploads/{device_id}/{token}", methods=["PUT", "POST"], status_code=201)
async def cpe_upload(device_id: str, token: str, request: Request) -> Response:
    rt = request.app.state.rt
    try:
        grant = verify_upload(device_id, token, rt.settings.files_secret)
    except InvalidSignature as e:
        raise ApiError(403, "forbidden", str(e)) from None
    now = datetime.now(UTC)
    metadata = {"device": grant.device_id, "fileType": grant.file_type, "commandKey": grant.command_key,
                "contentType": request.headers.get("content-type") or "application/octet-stream"}
    name = f"uploads/{grant.device_id}/{grant.command_key or now.strftime('%Y%m%dT%H%M%S')}"
    stored = await store(rt, request, name, metadata, rt.settings.fs_max_upload_bytes)
    # a CPE retrying the same Upload replaces its earlier (maybe partial) file
    await remove_older(rt, {"metadata.device": grant.device_id, "metadata.commandKey": grant.command_key,
                            "filename": name}, stored["_id"])
    return Response(status_code=201, headers={"ETag": f'"{stored["md5"]}"'})
