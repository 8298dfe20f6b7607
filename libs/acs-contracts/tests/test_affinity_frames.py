"""Framing of the session-affinity channel (acs_contracts.affinity): replies survive a round
trip through FrameDecoder however the bytes are cut, version-1 bare-JSON replies still decode,
version-2 announcement and event-copy frames are skipped, and malformed input raises ValueError
(the connection is then closed)."""

from __future__ import annotations

import struct

import orjson
import pytest

from acs_contracts.affinity import MAX_FRAME, FrameDecoder, Reply

FRAMES = [
    Reply("req-1", 200, "<soap:Envelope>é</soap:Envelope>".encode(), end_session=False, outcome="ok"),
    Reply("req-2", 204, b"", end_session=True, outcome="fault"),
    Reply("req-3", 100, b"", end_session=False, outcome="ok"),
    Reply("rég-4", 200, bytes(range(32, 127)), end_session=True, outcome="stale"),
]


def _frame_raw(payload: bytes, kind: bytes = b"") -> bytes:
    return struct.pack(">I", len(kind) + len(payload)) + kind + payload


@pytest.mark.parametrize("frame", FRAMES, ids=lambda f: f.request_id)
def test_round_trip_fed_whole(frame):
    assert FrameDecoder().feed(frame.encode_frame()) == [frame]


@pytest.mark.parametrize("frame", FRAMES, ids=lambda f: f.request_id)
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


def test_version_2_announcements_and_event_copies_are_skipped():
    """A scheduler or gateway of the previous release may still send them during an upgrade."""
    announcement = _frame_raw(b'{"v":2,"topic":"acs.session-events.v1","partitions":[0,3]}', kind=b"A")
    copy = _frame_raw(struct.pack(">iH", 5, 3) + b"key" + b'{"schema":"x"}', kind=b"E")
    data = announcement + FRAMES[0].encode_frame() + copy + FRAMES[1].encode_frame()
    assert FrameDecoder().feed(data) == FRAMES[:2]
    d = FrameDecoder()
    assert [f for i in range(len(data)) for f in d.feed(data[i : i + 1])] == FRAMES[:2]


def test_version_1_bare_json_reply_still_decodes():
    payload = orjson.dumps({"rid": "r-old", "status": 200, "body": "<Envelope/>", "end": True, "outcome": "ok"})
    v1 = _frame_raw(payload)  # no kind byte
    assert FrameDecoder().feed(v1) == [Reply("r-old", 200, b"<Envelope/>", end_session=True, outcome="ok")]
    # end and outcome were optional
    minimal = _frame_raw(orjson.dumps({"rid": "r2", "status": 204, "body": ""}))
    assert FrameDecoder().feed(minimal) == [Reply("r2", 204, b"", end_session=False, outcome="ok")]
    # mixed with frames of a kind, byte by byte
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
        pytest.param(_frame_raw(b"{not json either"), id="v1-malformed-json"),
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
    overhead = len(Reply("r", 200, b"").encode_frame()) - 4  # kind byte and JSON around the body
    data = Reply("r", 200, b"v" * (MAX_FRAME - overhead)).encode_frame()
    assert struct.unpack(">I", data[:4])[0] == MAX_FRAME
    (out,) = FrameDecoder().feed(data)
    assert out.request_id == "r" and len(out.body) == MAX_FRAME - overhead


def test_an_incomplete_frame_waits_for_the_rest():
    data = Reply("r", 200, b"x" * 1000).encode_frame()
    d = FrameDecoder()
    assert d.feed(data[:500]) == []
    assert d.feed(data[500:]) == [Reply("r", 200, b"x" * 1000)]
    assert d.feed(b"") == []
