"""The CWMP hot path without a broker: what a request holds while it waits, and what it answers.

A gateway with 10,000 open sessions keeps 10,000 requests waiting for the broker or the
scheduler, so a waiting request must not keep its body or its parsed envelope alive.
"""

import asyncio
import base64
import dataclasses
import gc
import hashlib
import hmac
import time

import orjson
from starlette.requests import Request

from acs_contracts.affinity import Reply
from acs_contracts.kafka_topics import SESSION_EVENTS, SESSION_MESSAGES, SessionMessage
from acs_devstack.polling import eventually
from cwmp import messages as m
from cwmp import soap
from session_gateway.app import Gateway
from session_gateway.config import Settings
from session_gateway.publisher import BrokerUnavailable
from session_gateway.session_cookie import COOKIE_NAME, SessionToken, decode_token, encode_token

SECRET = b"k" * 32
NS = "urn:dslforum-org:cwmp-1-0"


class FakePublisher:
    """Records events; each publish waits until the test releases it (the broker's ack)."""

    def __init__(self, fail: bool = False) -> None:
        self.events: list[tuple[str, bytes]] = []
        self.topics: list[str] = []
        self.ack = asyncio.Event()
        self.fail = fail

    async def publish(self, device_id: str, event: bytes, topic: str = SESSION_EVENTS) -> tuple[int, int]:
        self.events.append((device_id, event))
        self.topics.append(topic)
        await self.ack.wait()
        if self.fail:
            raise BrokerUnavailable("down")
        return 2, 40 + len(self.events)  # the broker's acknowledgement: partition, offset


def _gateway(publisher: FakePublisher) -> Gateway:
    gw = Gateway(Settings(secret=SECRET, reply_timeout_s=5, instance_id="gw-test"))
    gw.publisher = publisher  # type: ignore[assignment]
    return gw


def _request(body: bytes, cookie: str = "") -> Request:
    headers = [(b"content-length", str(len(body)).encode())]
    if cookie:
        headers.append((b"cookie", f"{COOKIE_NAME}={cookie}".encode()))
    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers, "client": ("10.0.0.7", 4000),
             "server": ("127.0.0.1", 7547), "query_string": b"", "scheme": "http", "root_path": ""}
    sent = False

    async def receive() -> dict:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)  # the client sends nothing more (a disconnect would end the request)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(scope, receive)


def _gpv_response(n: int) -> bytes:
    params = [m.ParameterValueStruct(f"InternetGatewayDevice.X.{i}.Value", f"value-{i}") for i in range(n)]
    return soap.build(m.Envelope(body=m.GetParameterValuesResponse(parameter_list=params), id="7", cwmp_ns=NS))


def _alive(cls: type) -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is cls)


def _cookie() -> str:
    return encode_token(SessionToken("OUI-PC-SN1", "s1", time.time(), NS, "1.0"), SECRET)


async def test_waiting_request_holds_no_parsed_message_and_answers_with_the_reply():
    pub = FakePublisher()
    gw = _gateway(pub)
    baseline = _alive(m.GetParameterValuesResponse)  # other tests' objects may still be around
    task = asyncio.create_task(gw.handle(_request(_gpv_response(200), _cookie())))
    await eventually(lambda: pub.events, interval=0, what="the event published")
    # only the encoded event, awaiting the broker: no message object, none of its values
    assert _alive(m.GetParameterValuesResponse) == baseline
    assert not any(type(o) is m.ParameterValueStruct and o.name.startswith("InternetGatewayDevice.X.")
                   for o in gc.get_objects())
    device_id, raw = pub.events[0]
    event = orjson.loads(raw)
    assert device_id == "OUI-PC-SN1" and event["kind"] == "message" and len(event["body"]["parameter_list"]) == 200
    pub.ack.set()
    await asyncio.sleep(0.01)  # a window in which the broker's ack alone must NOT end the request
    assert not task.done() and gw.inflight == 1
    assert gw.listener.deliver(Reply(request_id=event["request_id"], status=200, body=b"<next/>"))
    resp = await task
    assert resp.status_code == 200 and resp.body == b"<next/>" and gw.inflight == 0


async def test_broker_down_answers_503_with_retry_after_and_forgets_the_request():
    pub = FakePublisher(fail=True)
    pub.ack.set()
    gw = _gateway(pub)
    resp = await gw.handle(_request(b"", _cookie()))
    assert resp.status_code == 503 and resp.headers["retry-after"] == "10"
    assert not gw.listener._waiting  # noqa: SLF001


async def test_reply_timeout_ends_the_session_with_204():
    pub = FakePublisher()
    pub.ack.set()
    gw = _gateway(pub)
    gw.s = Settings(secret=SECRET, reply_timeout_s=0.05, instance_id="gw-test")
    resp = await gw.handle(_request(b"", _cookie()))
    assert resp.status_code == 204 and not gw.listener._waiting  # noqa: SLF001


async def test_the_inform_goes_to_session_events_and_later_messages_to_session_messages_with_its_position():
    """The scheduler reads the two topics side by side: each later message says where its
    session's Inform lies (the broker's acknowledgement of it, kept in the signed cookie), so a
    scheduler that reads the message first holds it until it has taken the Inform."""
    pub = FakePublisher()
    pub.ack.set()
    gw = _gateway(pub)
    inform = m.Inform(device_id=m.DeviceIdStruct("Acme", "112233", "X", "SN9"), events=[m.EventStruct("1 BOOT", "")])
    resp = await gw.handle(_request(soap.build_message(inform, id="1")))
    assert resp.status_code == 200 and pub.topics == [SESSION_EVENTS]
    cookie = resp.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    token = decode_token(cookie, SECRET, 60)
    assert token is not None and (token.inform_partition, token.inform_offset) == (2, 41)

    gw.s = Settings(secret=SECRET, reply_timeout_s=0.05, instance_id="gw-test")  # the empty POST: no reply comes
    assert (await gw.handle(_request(b"", cookie))).status_code == 204
    assert pub.topics == [SESSION_EVENTS, SESSION_MESSAGES]
    message = SessionMessage.decode(pub.events[1][1])
    assert message.kind == "empty" and message.session_id == token.session_id
    assert (message.inform_partition, message.inform_offset) == (2, 41)


async def test_a_cookie_of_the_previous_release_still_continues_its_session():
    """Five fields, no Inform position: the message goes out with -1 (handled as soon as read)."""
    old = SessionToken("OUI-PC-SN1", "s1", time.time(), NS, "1.0")
    payload = base64.urlsafe_b64encode(orjson.dumps(list(dataclasses.astuple(old))[:5])).rstrip(b"=").decode()
    signature = base64.urlsafe_b64encode(hmac.new(SECRET, payload.encode(), hashlib.sha256).digest()[:16]).rstrip(b"=")
    assert decode_token(f"{payload}.{signature.decode()}", SECRET, 60) == old
    assert (old.inform_partition, old.inform_offset) == (-1, -1)
