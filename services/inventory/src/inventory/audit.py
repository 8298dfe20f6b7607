"""The audit log: who changed what, from where, on which devices, and with what result.

Every write that reaches the NBI (POST, PUT, PATCH, DELETE; the console and the ``acs`` CLI
only use the NBI, so theirs too) is recorded, refused ones included: a 401 or 403 is exactly
what a security review looks for. A record holds the caller (the token's fingerprint, never the
token, its role and the client's User-Agent), the source address, the route, the devices it
named (path, or the query of a bulk operation), the body sent (secret values masked), the state
*before* for the documents it replaces (presets, provisions, virtual parameters, files) and for
the parameters a setParameterValues task sets, the status and the NBI's answer.

Records are appended to the ``audit`` collection first (the system of record; the NBI has no
route that edits or deletes them) and then published on ``acs.audit.v1`` for operators' own
pipelines. Publishing is an outbox: a record written while Kafka is away keeps
``published: false`` and the publisher loop sends it when the broker is back, so none is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, unquote

import orjson
from bson import ObjectId
from device_query.values import parse_date
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pymongo.errors import PyMongoError

from acs_contracts.kafka_topics import AUDIT, AuditRecord
from acs_contracts.mongo_collections import AUDIT_LOG
from acs_contracts.retrying import until_back
from acs_contracts.settings import KafkaSettings

from . import auth
from .errors import bad_request
from .shapes import dumps, to_json

log = logging.getLogger(__name__)

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
BODY_LIMIT = 64 << 10  # bodies above this (file uploads) are streamed through and recorded by size
_SECRET = re.compile(r"(pass(word|phrase)?|secret|psk|key(passphrase)?|token)$", re.IGNORECASE)  # token: POST /login, /tokens
# Named documents whose previous version a write replaces: route prefix -> collection.
_DOCUMENTS = {"presets": "presets", "provisions": "provisions", "virtual_parameters": "virtualParameters",
              "files": "files"}

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def token_fingerprint(token: str) -> str:
    """Names a token in the log without revealing it: the first 12 hex digits of its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()[:12]


def is_secret_path(path: str) -> bool:
    """TR-069 parameters whose values are credentials (…Password, …KeyPassphrase, …PreSharedKey)."""
    leaf = path.rstrip(".").rsplit(".", 1)[-1]
    return bool(_SECRET.search(leaf)) or "PreSharedKey" in leaf


def mask(value: Any, key: str = "") -> Any:
    """A body with the values of secret parameters and secret-looking fields replaced by "***"."""
    if key and is_secret_path(key) and not isinstance(value, (dict, list)):
        return "***"
    if isinstance(value, dict):
        return {k: mask(v, k) for k, v in value.items()}
    if isinstance(value, list):
        # [name, value, type?] rows of setParameterValues / addObject
        if len(value) >= 2 and isinstance(value[0], str) and not isinstance(value[1], (dict, list)) \
                and is_secret_path(value[0]):
            return [value[0], "***", *value[2:]]
        return [mask(v) for v in value]
    return value


def _json_body(body: bytes, content_type: str) -> Any:
    if not body:
        return None
    if "json" in content_type:
        try:
            return mask(orjson.loads(body))
        except orjson.JSONDecodeError:
            return {"unparsed": len(body)}
    if content_type.startswith("text/") or "javascript" in content_type:
        return body.decode("utf-8", "replace")  # scripts (provisions, virtual parameters)
    return {"bytes": len(body)}


def _tree_value(doc: dict[str, Any] | None, path: str) -> Any:
    node: Any = doc
    for seg in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(seg)
    return node.get("_value") if isinstance(node, dict) else None


class AuditTrail:
    """Appends records and publishes them (outbox: the collection holds what is not yet sent)."""

    def __init__(self, db: Any, kafka: KafkaSettings | None, partitions: int, retention_days: int) -> None:
        self.db = db
        self.collection = db.db[AUDIT_LOG]
        self.kafka = kafka if kafka is not None and kafka.bootstrap else None  # None: MongoDB only
        self.partitions = partitions  # of acs.session-events.v1, should the inventory create the topics
        self.retention_days = retention_days
        self._wake = asyncio.Event()
        self._producer: Any = None

    async def before(self, method: str, path: str, body: Any) -> Any:
        """The state a write is about to change, where the log keeps it."""
        parts = path.strip("/").split("/", 1)
        try:
            if len(parts) == 2 and parts[0] in _DOCUMENTS and method in ("PUT", "DELETE") and "/" not in parts[1]:
                doc = await self.db.db[_DOCUMENTS[parts[0]]].find_one({"_id": parts[1]}, {"content": 0})
                return mask(to_json(doc)) if doc else None
            m = re.fullmatch(r"devices/([^/]+)/tasks", path.strip("/"))
            if m and method == "POST" and isinstance(body, dict) and body.get("name") == "setParameterValues":
                names = [row[0] for row in body.get("parameterValues") or [] if isinstance(row, list) and row
                         and isinstance(row[0], str)]
                device_id = unquote(m.group(1))
                doc = await self.db.devices.find_one({"_id": device_id}, dict.fromkeys(names, 1)) if names else None
                return {n: "***" if is_secret_path(n) else to_json(_tree_value(doc, n)) for n in names}
        except PyMongoError as e:
            return {"unavailable": type(e).__name__}
        return None

    async def append(self, record: dict[str, Any]) -> None:
        record["published"] = False
        if self.retention_days > 0:
            record["expiresAt"] = record["timestamp"] + timedelta(days=self.retention_days)
        await self.collection.insert_one(record)
        self._wake.set()

    async def run(self) -> None:
        """Publish what is not yet on the topic, oldest first; wait for the broker when it is away."""
        if self.kafka is None:
            log.info("ACS_KAFKA_BOOTSTRAP is not set: the audit log is kept in MongoDB only")
            return
        while True:
            # broker or database away: the records wait in the outbox; the producer is built afresh
            async for attempt in until_back("audit publisher", log, first_s=1.0, max_s=30.0, before_sleep=self._close_producer):
                with attempt:
                    await self._publish_pending()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 5.0)
            self._wake.clear()

    async def _publish_pending(self) -> None:
        while True:
            batch = await self.collection.find({"published": False}).sort("_id", 1).limit(200).to_list(None)
            if not batch:
                return
            producer = await self._producer_started()
            for doc in batch:
                await producer.send_and_wait(AUDIT, AuditRecord.of(to_json(_public(doc))).encode(), key=doc["actor"]["token"].encode())
            await self.collection.update_many({"_id": {"$in": [d["_id"] for d in batch]}}, {"$set": {"published": True}})

    async def _producer_started(self) -> Any:
        if self._producer is None:
            from aiokafka import AIOKafkaProducer

            from acs_contracts.kafka_client import ensure_topics, producer_kwargs

            await ensure_topics(self.partitions, self.kafka)  # the inventory may be the first service up
            producer = AIOKafkaProducer(**producer_kwargs(self.kafka))
            await producer.start()
            self._producer = producer
        return self._producer

    async def _close_producer(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            with contextlib.suppress(Exception):
                await producer.stop()

    async def close(self) -> None:
        await self._close_producer()


class AuditMiddleware:
    """Records every write the NBI is asked for (pure ASGI: the body is read once and replayed)."""

    def __init__(self, app: ASGIApp, tokens_of: Callable[[], Any], trail_of: Callable[[], AuditTrail | None]) -> None:
        self.app = app
        self.tokens_of = tokens_of
        self.trail_of = trail_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        trail = self.trail_of() if scope["type"] == "http" and scope["method"] in WRITE_METHODS else None
        if trail is None:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        content_type = headers.get("content-type", "")
        length = int(headers.get("content-length") or 0) if (headers.get("content-length") or "0").isdigit() else 0
        body = b""
        downstream_receive = receive
        if length <= BODY_LIMIT and "multipart" not in content_type and "octet-stream" not in content_type:
            body, downstream_receive = await _buffered(receive)
        parsed = _json_body(body, content_type) if body else ({"bytes": length} if length else None)
        before = await trail.before(scope["method"], scope["path"], parsed)
        status, answer = 500, bytearray()

        async def capture(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and len(answer) < BODY_LIMIT:
                answer.extend(message.get("body", b"")[: BODY_LIMIT - len(answer)])
            await send(message)

        scope.setdefault("state", {})  # shared with the request, so the route's principal is seen below
        try:
            await self.app(scope, downstream_receive, capture)
        finally:
            record = self._record(scope, headers, parsed, before, status, bytes(answer))
            try:
                await trail.append(record)
            except PyMongoError as e:  # the write itself happened (or not) already; say so loudly
                log.error("audit record not stored (%s): %s", type(e).__name__, orjson.dumps(to_json(record)).decode())

    def _record(self, scope: Scope, headers: dict[str, str], body: Any, before: Any, status: int,
                answer: bytes) -> dict[str, Any]:
        token = auth.token_from_header(headers.get("authorization", ""))
        role = auth.role_of(self.tokens_of(), token) if token else None
        principal = (scope.get("state") or {}).get("principal")  # set by the role dependency
        actor = principal.actor() if principal is not None else {}
        if principal is not None:
            role = principal.role
        route = scope.get("route")
        template = getattr(route, "path", None) or scope["path"]
        params = scope.get("path_params") or {}
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        devices = [params["device_id"]] if "device_id" in params else []
        result: Any = None
        if answer:
            try:
                result = mask(orjson.loads(answer))
            except orjson.JSONDecodeError:
                result = None
        client = scope.get("client") or ("", 0)
        return {
            "_id": ObjectId(),
            "timestamp": datetime.now(UTC),
            "actor": {"token": token_fingerprint(token) if token else "anonymous", "role": role,
                      "client": headers.get("user-agent", "")[:200], **actor},
            "sourceIp": client[0],
            "forwardedFor": headers.get("x-forwarded-for", "")[:200] or None,
            "method": scope["method"],
            "path": scope["path"],
            "action": f"{scope['method']} {template}",
            "query": query or None,
            "devices": devices,
            "deviceQuery": query.get("query"),
            "before": before,
            "after": None if scope["method"] == "DELETE" else body,
            "status": status,
            "result": result,
        }


async def _buffered(receive: Receive) -> tuple[bytes, Receive]:
    """Reads the whole (small) body, then gives the app a receive that replays it."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"", receive  # a disconnect before the body: let the app see it
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    body = b"".join(chunks)
    sent = False

    async def replay() -> MutableMapping[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


def _public(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in ("published", "expiresAt")}


# ------------------------------------------------------------------------------------ NBI route

router = APIRouter(tags=["audit"])

# Fields a query may name, and the operators it may use on them: the log is filtered, never
# evaluated (no $where, no $expr), so a query cannot run code or reach another collection.
_FIELDS = {"timestamp", "actor.token", "actor.role", "actor.client", "actor.user", "actor.tenant", "sourceIp", "method", "path", "action",
           "devices", "deviceQuery", "status"}
_OPERATORS = {"$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists"}


def audit_filter(text: str | None) -> dict[str, Any]:
    """``?query=`` (JSON) to a MongoDB filter over the whitelisted fields; dates as text."""
    if not text:
        return {}
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError as e:
        raise bad_request("query is not JSON", str(e)) from e
    if not isinstance(raw, dict):
        raise bad_request("query must be a JSON object")
    out: dict[str, Any] = {}
    for key, cond in raw.items():
        if key not in _FIELDS:
            raise bad_request("unknown field in query", {"field": key, "fields": sorted(_FIELDS)})
        out[key] = _condition(key, cond)
    return out


def _condition(key: str, cond: Any) -> Any:
    if isinstance(cond, dict):
        bad = set(cond) - _OPERATORS
        if bad:
            raise bad_request("operator not allowed in query", {"field": key, "operators": sorted(bad)})
        return {op: _value(key, v) for op, v in cond.items()}
    return _value(key, cond)


def _value(key: str, v: Any) -> Any:
    if isinstance(v, list):
        return [_value(key, x) for x in v]
    if isinstance(v, dict):
        raise bad_request("nested objects are not allowed in query values", {"field": key})
    if key == "timestamp" and v is not None and not isinstance(v, bool):
        dt = parse_date(v)
        if dt is None:
            raise bad_request("timestamp is not a date", {"value": v})
        return dt
    return v


@router.get("/audit", dependencies=[auth.admin], summary="The audit log (admins): writes through the NBI, newest first")
async def list_audit(request: Request, query: str | None = Query(None, description='JSON filter, e.g. {"devices": "<id>"}'),
                     limit: int = Query(100, ge=1, le=1000), skip: int = Query(0, ge=0)) -> Response:
    trail: AuditTrail = request.app.state.rt.audit
    flt = audit_filter(query)
    p = auth.principal_of(request)
    if p.scoped:  # a tenant's admin reads its tenant's records (a user without tenant: its own)
        mine = {"actor.tenant": p.tenant} if p.tenant is not None else {"actor.user": p.user}
        flt = {"$and": [flt, mine]} if flt else mine
    total = await trail.collection.count_documents(flt)
    docs = await trail.collection.find(flt, {"published": 0, "expiresAt": 0}).sort("_id", -1).skip(skip).limit(limit).to_list(None)
    return Response(dumps([to_json(d) for d in docs]), media_type="application/json",
                    headers={"X-Total-Count": str(total)})


__all__ = ["AuditMiddleware", "AuditTrail", "audit_filter", "router", "token_fingerprint"]
