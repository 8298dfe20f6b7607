"""Framing of the session-affinity channel (acs_contracts.affinity): every frame kind survives a
round trip through FrameDecoder however the bytes are cut, version-1 bare-JSON replies still
decode, and malformed input raises ValueError (the connection is then closed).

(Lives here because libs/acs-contracts has no tests directory collected by pytest.ini.)"""

from __future__ import annotations

import struct

import orjson
import pytest

from acs_contracts.affinity import MAX_FRAME, VERSION, Assignment, EventCopy, FrameDecoder, Reply
from acs_contracts.kafka_topics import SESSION_EVENTS

FRAMES = [
    Reply("req-1", 200, "<soap:Envelope>é</soap:Envelope>".encode(), end_session=False, outcome="ok"),
    Reply("req-2", 204, b"", end_session=True, outcome="fault"),
    Assignment(SESSION_EVENTS, (0, 3, 7)),
    Assignment(SESSION_EVENTS, ()),
    EventCopy(5, b"OUI-PC-SERIAL", b'{"schema":"x","v":1}'),
    EventCopy(0, b"", b""),  # empty key and value: the header alone
    EventCopy(-1, "dév".encode(), bytes(range(256))),  # any bytes in the value
]


def _frame_raw(payload: bytes, kind: bytes = b"") -> bytes:
    return struct.pack(">I", len(kind) + len(payload)) + kind + payload


@pytest.mark.parametrize("frame", FRAMES, ids=lambda f: type(f).__name__)
def test_round_trip_fed_whole(frame):
    assert FrameDecoder().feed(frame.encode_frame()) == [frame]


@pytest.mark.parametrize("frame", FRAMES, ids=lambda f: type(f).__name__)
def test_round_trip_fed_byte_by_byte(frame):
    data = frame.encode_frame()
    d = FrameDecoder()
    out = []
    for i in range(len(data)):
        got = d.feed(data[i : i + 1])
        if i < len(data) - 1:
            assert got == []  # nothing before the last byte
        out += got
    assert out == [frame]


def test_several_frames_in_one_chunk_and_one_split_across_chunks():
    data = b"".join(f.encode_frame() for f in FRAMES)
    assert FrameDecoder().feed(data) == FRAMES
    # cut anywhere: all frames come out, in order, each once
    for cut in (1, 4, 5, 11, len(data) // 2, len(data) - 1):
        d = FrameDecoder()
        assert d.feed(data[:cut]) + d.feed(data[cut:]) == FRAMES


def test_assignment_carries_the_channel_version():
    a = FrameDecoder().feed(Assignment("t", (1,), version=VERSION + 1).encode_frame())[0]
    assert a == Assignment("t", (1,), VERSION + 1) and a.version != VERSION
    assert Assignment(SESSION_EVENTS, (1,)).version == VERSION


def test_version_1_bare_json_reply_still_decodes():
    payload = orjson.dumps({"rid": "r-old", "status": 200, "body": "<Envelope/>", "end": True, "outcome": "ok"})
    v1 = _frame_raw(payload)  # no kind byte
    assert FrameDecoder().feed(v1) == [Reply("r-old", 200, b"<Envelope/>", end_session=True, outcome="ok")]
    # end and outcome were optional
    minimal = _frame_raw(orjson.dumps({"rid": "r2", "status": 204, "body": ""}))
    assert FrameDecoder().feed(minimal) == [Reply("r2", 204, b"", end_session=False, outcome="ok")]
    # mixed with version-2 frames, byte by byte
    data = v1 + FRAMES[0].encode_frame() + v1
    d = FrameDecoder()
    out = [f for i in range(len(data)) for f in d.feed(data[i : i + 1])]
    assert [type(f) for f in out] == [Reply, Reply, Reply] and out[1] == FRAMES[0] and out[0] == out[2]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(_frame_raw(b"{}", kind=b"X"), id="unknown-kind"),
        pytest.param(struct.pack(">I", 0), id="zero-length"),
        pytest.param(struct.pack(">I", MAX_FRAME + 1), id="over-max-frame"),
        pytest.param(_frame_raw(b"{not json", kind=b"R"), id="reply-malformed-json"),
        pytest.param(_frame_raw(b'{"rid": "x"}', kind=b"R"), id="reply-missing-fields"),
        pytest.param(_frame_raw(b"[1, 2]", kind=b"R"), id="reply-not-an-object"),
        pytest.param(_frame_raw(b'{"rid":"x","status":200,"body":5}', kind=b"R"), id="reply-body-not-text"),
        pytest.param(_frame_raw(b"{oops", kind=b"A"), id="assignment-malformed-json"),
        pytest.param(_frame_raw(b'{"topic":"t","partitions":[1]}', kind=b"A"), id="assignment-no-version"),
        pytest.param(_frame_raw(b'{"v":2,"topic":"t","partitions":["x"]}', kind=b"A"), id="assignment-bad-partition"),
        pytest.param(_frame_raw(b"{not json either"), id="v1-malformed-json"),
        pytest.param(_frame_raw(struct.pack(">iH", 1, 10) + b"abc", kind=b"E"), id="copy-shorter-than-key"),
        pytest.param(_frame_raw(b"\x00\x01", kind=b"E"), id="copy-shorter-than-header"),
        pytest.param(_frame_raw(b"", kind=b"R"), id="reply-kind-only"),
    ],
)
def test_malformed_frames_raise_value_error(data):
    with pytest.raises(ValueError):
        FrameDecoder().feed(data)


def test_an_oversized_frame_is_refused_from_its_length_alone():
    """No need to buffer 16 MiB first: the length prefix is enough to refuse it."""
    d = FrameDecoder()
    assert d.feed(b"\x01") == []  # length incomplete: nothing to say yet
    with pytest.raises(ValueError):
        d.feed(struct.pack(">I", MAX_FRAME + 1)[1:])


def test_a_frame_of_exactly_max_frame_is_accepted():
    value = b"v" * (MAX_FRAME - 1 - 6 - 1)  # kind byte, copy header, one-byte key
    data = EventCopy(2, b"k", value).encode_frame()
    assert struct.unpack(">I", data[:4])[0] == MAX_FRAME
    (out,) = FrameDecoder().feed(data)
    assert out.partition == 2 and out.key == b"k" and len(out.value) == len(value)


def test_an_incomplete_frame_waits_for_the_rest():
    data = Reply("r", 200, b"x" * 1000).encode_frame()
    d = FrameDecoder()
    assert d.feed(data[:500]) == []
    assert d.feed(data[500:]) == [Reply("r", 200, b"x" * 1000)]
    assert d.feed(b"") == []
