"""Provision scripts, GenieACS's ``/provisions``: PUT the raw JavaScript, GET it back, DELETE.

Stored as GenieACS stores them (``{"_id": <name>, "script": <text>}`` in ``provisions``), so a
GenieACS export imports as is. A script that does not compile is refused with 400 and the
syntax error's line and column; it is never stored, so the scheduler only ever loads scripts
that compile. ``scripts_router`` serves ``/virtual_parameters`` the same way.
"""

from __future__ import annotations

import re

import orjson
from device_query.mongo import preset_query
from fastapi import APIRouter, Request
from fastapi.responses import Response
from provision_scripts import ScriptError, ScriptSyntaxError, check_syntax

from acs_contracts.mongo_collections import PROVISIONS

from . import auth
from .errors import bad_request, not_found
from .query import paging, parse_json, projection, sort_spec

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$")
MAX_SCRIPT_BYTES = 512 * 1024


def validate_script(body: bytes) -> str:
    """The request body as a script that compiles, or ApiError(400) saying where it does not."""
    if len(body) > MAX_SCRIPT_BYTES:
        raise bad_request(f"a script is at most {MAX_SCRIPT_BYTES} bytes", len(body))
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise bad_request("a script is UTF-8 text") from None
    try:
        check_syntax(text)
    except ScriptSyntaxError as e:
        raise bad_request(f"script does not compile: {e}", {"message": e.message, "line": e.line, "column": e.column}) from None
    except ScriptError as e:  # a script that could not even be parsed within the limits
        raise bad_request(f"script refused: {e.message}", e.detail()) from None
    return text


def scripts_router(collection: str, prefix: str, kind: str, name_pattern: re.Pattern[str] = _NAME) -> APIRouter:
    """GET (list, one), PUT (raw JavaScript) and DELETE of the scripts in ``collection``."""
    router = APIRouter(tags=[kind])

    def checked(name: str) -> str:
        if not name_pattern.match(name):
            raise bad_request(f"invalid {kind} name", name)
        return name

    async def list_scripts(request: Request) -> Response:
        rt = request.app.state.rt
        p = request.query_params
        q = preset_query(parse_json(p.get("query"), "query"))
        skip, limit = paging(p.get("skip"), p.get("limit"))
        return await rt.stream(rt.db.db[collection], q, projection(p.get("projection")), sort_spec(p.get("sort"), device=False),
                               skip, limit, f"find_{collection}")

    router.add_api_route(f"/{prefix}/", list_scripts, methods=["GET"], dependencies=[auth.readonly],
                         summary=f"Search {kind} scripts (JSON documents {{_id, script}})")
    router.add_api_route(f"/{prefix}", list_scripts, methods=["GET"], dependencies=[auth.readonly], include_in_schema=False)

    async def get_script(name: str, request: Request) -> Response:
        rt = request.app.state.rt
        async with rt.metrics.mongo(f"find_{collection}"):
            doc = await rt.db.db[collection].find_one({"_id": checked(name)})
        if doc is None:
            raise not_found(f"no {kind} {name!r}")
        if "application/json" in request.headers.get("accept", ""):
            return Response(orjson.dumps(doc), media_type="application/json")
        return Response(str(doc.get("script") or ""), media_type="application/javascript")

    router.add_api_route(f"/{prefix}/{{name}}", get_script, methods=["GET"], dependencies=[auth.readonly],
                         summary=f"One {kind}: its JavaScript (or the document with Accept: application/json)")

    async def put_script(name: str, request: Request) -> Response:
        rt = request.app.state.rt
        script = validate_script(await rt.read_body(request))
        async with rt.metrics.mongo(f"replace_{collection}"):
            await rt.db.db[collection].replace_one({"_id": checked(name)}, {"_id": name, "script": script}, upsert=True)
        return Response(status_code=200)

    router.add_api_route(f"/{prefix}/{{name}}", put_script, methods=["PUT"], dependencies=[auth.admin],
                         summary=f"Create or replace a {kind} (body: the raw JavaScript; 400 with the syntax error)")

    async def delete_script(name: str, request: Request) -> Response:
        rt = request.app.state.rt
        async with rt.metrics.mongo(f"delete_{collection}"):
            result = await rt.db.db[collection].delete_one({"_id": checked(name)})
        if result.deleted_count == 0:
            raise not_found(f"no {kind} {name!r}")
        return Response(status_code=200)

    router.add_api_route(f"/{prefix}/{{name}}", delete_script, methods=["DELETE"], dependencies=[auth.admin],
                         summary=f"Delete a {kind}")
    return router


router = scripts_router(PROVISIONS, "provisions", "provision")
