"""The session-affinity channel: how a scheduler's answer reaches the one gateway instance that
holds the CPE's HTTP request.

Each gateway listens on a TCP port and advertises ``host:port`` in every session event it
publishes (``SessionEvent.reply_to``). A scheduler keeps one persistent connection per gateway
it has heard from and writes ``Reply`` frames on it: the answer to one CPE POST.

Frames are a 4-byte big-endian length, a 1-byte kind, then the payload (JSON for ``Reply``).
There is no acknowledgement (a lost reply is a gateway timeout, which ends the CPE's session
cleanly and leaves its tasks pending for the next session).

Who may write replies: a reply is a SOAP envelope the gateway hands to a CPE (a Download with a
firmware URL, a SetParameterValues), so a stranger reaching the listener must not be able to
write one. With a shared secret (``ACS_AFFINITY_SECRET``, the same for every gateway and
scheduler) each connection opens with a ``Hello`` frame (kind ``H``): a timestamp, a random nonce
and their HMAC-SHA256 under the secret. The gateway closes a connection whose first frame is not
a valid, fresh, unseen Hello (:class:`HelloVerifier`); no round trip is added. Without a secret
the channel is open, for a gateway whose reply port only the schedulers can reach.

This module is sans-I/O: framing and the frame schema only. ``VERSION`` 3 carries replies only.
Version 2 also carried partition announcements (kind ``A``) and early event copies (kind ``E``)
for a development broker that answered a waiting fetch only when ``fetch.max.wait`` ran out;
on Apache Kafka they saved the CPE nothing (see docs/architecture.md), so they went. Frames of
those kinds from a version-2 peer are skipped, and version-1 replies (bare JSON, no kind byte)
are still read, so services of either release can share a cluster during an upgrade.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import struct
import time
from collections import OrderedDict
from dataclasses import dataclass

import orjson

VERSION = 3
MAX_FRAME = 16 * 1024 * 1024
# The answer to an Inform event (whose request id is the session id): ``NO_MORE`` (204 with
# ``end_session``) says the ACS has nothing for this session, so the gateway answers the CPE's
# empty POST itself without publishing it; ``CONTINUE`` says publish the next POST as usual.
CONTINUE = 100
NO_MORE = 204
_LEN = struct.Struct(">I")
_REPLY = b"R"
_HELLO = b"H"
HELLO_MAX_SKEW_S = 60.0  # a Hello older or newer than this (clocks apart, or replayed later) is refused
_VERSION_2_KINDS = (b"A", b"E")  # partition announcements, event copies: skipped


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


@dataclass(slots=True, frozen=True)
class Hello:
    """A scheduler's proof that it holds the channel's secret, first on each connection."""

    timestamp: float
    nonce: str
    mac: str

    @classmethod
    def sign(cls, secret: bytes, now: float | None = None) -> Hello:
        ts = time.time() if now is None else now
        nonce = secrets.token_hex(16)
        return cls(ts, nonce, _mac(secret, ts, nonce))

    def encode_frame(self) -> bytes:
        return _frame(_HELLO, orjson.dumps({"t": self.timestamp, "n": self.nonce, "mac": self.mac}))


def _mac(secret: bytes, ts: float, nonce: str) -> str:
    return hmac.new(secret, f"acs-affinity-v{VERSION}|{ts!r}|{nonce}".encode(), hashlib.sha256).hexdigest()


class HelloVerifier:
    """Checks Hellos against the secret, the clock and the nonces seen within the skew window
    (so a Hello copied off the network cannot open a second connection)."""

    def __init__(self, secret: bytes, max_skew_s: float = HELLO_MAX_SKEW_S) -> None:
        self.secret = secret
        self.max_skew_s = max_skew_s
        self._seen: OrderedDict[str, float] = OrderedDict()

    def verify(self, hello: Hello, now: float | None = None) -> str | None:
        """None when ``hello`` opens the connection, else why not."""
        now = time.time() if now is None else now
        while self._seen and next(iter(self._seen.values())) < now - 2 * self.max_skew_s:
            self._seen.popitem(last=False)
        if not hmac.compare_digest(hello.mac, _mac(self.secret, hello.timestamp, hello.nonce)):
            return "bad signature"
        if abs(now - hello.timestamp) > self.max_skew_s:
            return f"timestamp {now - hello.timestamp:+.0f} s off"
        if hello.nonce in self._seen:
            return "nonce replayed"
        self._seen[hello.nonce] = now
        return None


def _frame(kind: bytes, payload: bytes) -> bytes:
    return _LEN.pack(len(payload) + 1) + kind + payload


class FrameDecoder:
    """Feed bytes as they arrive, get complete frames out. Raises ValueError on a frame too large,
    of an unknown kind or malformed: the connection is then closed."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[Reply | Hello]:
        self._buf += data
        out: list[Reply | Hello] = []
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
            if kind in _VERSION_2_KINDS:
                continue
            out.append(_decode(kind, payload))
        return out


def _decode(kind: bytes, payload: bytes) -> Reply | Hello:
    if kind not in (_REPLY, _HELLO):
        raise ValueError(f"unknown frame kind {kind!r}")
    try:
        d = orjson.loads(payload)
        if kind == _HELLO:
            return Hello(timestamp=float(d["t"]), nonce=str(d["n"]), mac=str(d["mac"]))
        return Reply(request_id=d["rid"], status=d["status"], body=d["body"].encode("utf-8"),
                     end_session=d.get("end", False), outcome=d.get("outcome", "ok"))
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError, ValueError) as e:
        raise ValueError(f"malformed {kind!r} frame: {e}") from e
