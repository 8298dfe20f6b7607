"""The session-affinity channel: how a scheduler's answer reaches the one gateway instance that
holds the CPE's HTTP request, and how that gateway hands the scheduler its next event early.

Each gateway listens on a TCP port and advertises ``host:port`` in every session event it
publishes (``SessionEvent.reply_to``). A scheduler keeps one persistent connection per gateway
it has heard from. On it the scheduler writes:

* ``Assignment`` frames: the session-events partitions its consumer owns, sent when it connects
  and again after every rebalance;
* ``Reply`` frames: the answer to one CPE POST.

and the gateway writes ``EventCopy`` frames: a session event, sent to the scheduler that
announced its partition at the moment the gateway publishes it, so that the scheduler handles it
while the broker stores it rather than after its next fetch (a development broker answers a
waiting fetch only when ``fetch.max.wait`` runs out). The gateway still answers the CPE only once
the broker has acknowledged the event, so nothing reaches a CPE that is not durable. The copy is
taken only when that cannot reorder the device's events (see task_scheduler.consumer); the record
itself, when fetched, is recognised by its request id header and not handled twice. Nothing is
lost if a copy is dropped: the fetch brings the record.

Frames are a 4-byte big-endian length, a 1-byte kind, then the payload: JSON for ``Reply`` and
``Assignment``, a fixed header then raw key and value for ``EventCopy``. There is no
acknowledgement (a lost reply is a gateway timeout, which ends the CPE's session cleanly and
leaves its tasks pending for the next session).

This module is sans-I/O: framing and the frame schemas only. ``VERSION`` is the channel's
version, announced in every ``Assignment``; a gateway ignores announcements of a version it does
not speak (and so sends that scheduler no copies). Version 1 had replies only, as bare JSON with
no kind byte; they are still read, so gateways can be upgraded before schedulers.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import orjson

VERSION = 2
MAX_FRAME = 16 * 1024 * 1024
# The answer to an Inform event (whose request id is the session id): ``NO_MORE`` (204 with
# ``end_session``) says the ACS has nothing for this session, so the gateway answers the CPE's
# empty POST itself without publishing it; ``CONTINUE`` says publish the next POST as usual.
CONTINUE = 100
NO_MORE = 204
_LEN = struct.Struct(">I")
_COPY = struct.Struct(">iH")  # partition, key length
_REPLY, _ASSIGNMENT, _EVENT = b"R", b"A", b"E"


@dataclass(slots=True)
class Reply:
    """The scheduler's answer to one CPE POST.

    status 200: ``body`` is the SOAP envelope to send (the next ACS RPC, or the response to a
    CPE request). status 204: the ACS has nothing more, end the session. status 100 (only
    in answer to an Inform event): the session goes on, see ``CONTINUE``. ``end_session`` tells
    the gateway the session is over for its metrics (204, or a final fault).
    """

    request_id: str
    status: int
    body: bytes = b""
    end_session: bool = False
    outcome: str = "ok"

    def encode_frame(self) -> bytes:
        return _frame(_REPLY, orjson.dumps(
            {"rid": self.request_id, "status": self.status, "body": self.body.decode("utf-8"),
             "end": self.end_session, "outcome": self.outcome}))


@dataclass(slots=True)
class Assignment:
    """The session-events partitions a scheduler's consumer owns now (all of them, not a change)."""

    topic: str
    partitions: tuple[int, ...]
    version: int = VERSION

    def encode_frame(self) -> bytes:
        return _frame(_ASSIGNMENT, orjson.dumps({"v": self.version, "topic": self.topic, "partitions": list(self.partitions)}))


@dataclass(slots=True)
class EventCopy:
    """A session event being published: the partition it goes to, its key and value."""

    partition: int
    key: bytes
    value: bytes

    def encode_frame(self) -> bytes:
        return _frame(_EVENT, _COPY.pack(self.partition, len(self.key)) + self.key + self.value)


Frame = Reply | Assignment | EventCopy


def _frame(kind: bytes, payload: bytes) -> bytes:
    return _LEN.pack(len(payload) + 1) + kind + payload


class FrameDecoder:
    """Feed bytes as they arrive, get complete frames out. Raises ValueError on a frame too large,
    of an unknown kind or malformed: the connection is then closed."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        out: list[Frame] = []
        while len(self._buf) >= 4:
            (n,) = _LEN.unpack_from(self._buf)
            if n > MAX_FRAME or n == 0:
                raise ValueError(f"frame of {n} bytes (at most {MAX_FRAME})")
            if len(self._buf) < 4 + n:
                break
            kind, payload = bytes(self._buf[4:5]), bytes(self._buf[5 : 4 + n])
            if kind == b"{":  # version 1: a reply, JSON only
                kind, payload = _REPLY, kind + payload
            del self._buf[: 4 + n]
            out.append(_decode(kind, payload))
        return out


def _decode(kind: bytes, payload: bytes) -> Frame:
    try:
        if kind == _REPLY:
            d = orjson.loads(payload)
            return Reply(request_id=d["rid"], status=d["status"], body=d["body"].encode("utf-8"),
                         end_session=d.get("end", False), outcome=d.get("outcome", "ok"))
        if kind == _ASSIGNMENT:
            d = orjson.loads(payload)
            return Assignment(topic=d["topic"], partitions=tuple(int(p) for p in d["partitions"]), version=int(d["v"]))
        if kind == _EVENT:
            partition, klen = _COPY.unpack_from(payload)
            start = _COPY.size
            if len(payload) < start + klen:
                raise ValueError("event copy shorter than its key")
            return EventCopy(partition, payload[start : start + klen], payload[start + klen :])
    except (orjson.JSONDecodeError, KeyError, TypeError, struct.error, AttributeError) as e:
        raise ValueError(f"malformed {kind!r} frame: {e}") from e
    raise ValueError(f"unknown frame kind {kind!r}")
