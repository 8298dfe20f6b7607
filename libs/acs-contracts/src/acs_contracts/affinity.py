"""The session-affinity reply channel: how a scheduler's answer reaches the one gateway instance
that holds the CPE's HTTP request.

Each gateway listens on a TCP port and advertises ``host:port`` in every session event it
publishes (``SessionEvent.reply_to``). A scheduler keeps one persistent connection per gateway
it has heard from and writes ``Reply`` frames to it. Frames are a 4-byte big-endian length
followed by a JSON object; there is no acknowledgement (a lost reply is a gateway timeout,
which ends the CPE's session cleanly and leaves its tasks pending for the next session).

This module is sans-I/O: framing and the reply schema only.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import orjson

MAX_FRAME = 16 * 1024 * 1024
# The answer to an Inform event (whose request id is the session id): ``NO_MORE`` (204 with
# ``end_session``) says the ACS has nothing for this session, so the gateway answers the CPE's
# empty POST itself without publishing it; ``CONTINUE`` says publish the next POST as usual.
CONTINUE = 100
NO_MORE = 204
_LEN = struct.Struct(">I")


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
        payload = orjson.dumps(
            {"rid": self.request_id, "status": self.status, "body": self.body.decode("utf-8"),
             "end": self.end_session, "outcome": self.outcome}
        )
        return _LEN.pack(len(payload)) + payload


class FrameDecoder:
    """Feed bytes as they arrive, get complete ``Reply`` objects out."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[Reply]:
        self._buf += data
        out: list[Reply] = []
        while len(self._buf) >= 4:
            (n,) = _LEN.unpack_from(self._buf)
            if n > MAX_FRAME:
                raise ValueError(f"reply frame of {n} bytes exceeds {MAX_FRAME}")
            if len(self._buf) < 4 + n:
                break
            d = orjson.loads(bytes(self._buf[4 : 4 + n]))
            del self._buf[: 4 + n]
            out.append(Reply(request_id=d["rid"], status=d["status"], body=d["body"].encode("utf-8"),
                             end_session=d.get("end", False), outcome=d.get("outcome", "ok")))
        return out
