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


# ------------------------------------------------------------------ Hello: who may write replies
SECRET = b"affinity-secret"


def test_a_signed_hello_opens_the_channel_once():
    from acs_contracts.affinity import Hello, HelloVerifier

    verifier = HelloVerifier(SECRET)
    hello = Hello.sign(SECRET, now=1000.0)
    [decoded] = FrameDecoder().feed(hello.encode_frame())
    assert decoded == hello
    assert verifier.verify(decoded, now=1001.0) is None
    assert verifier.verify(decoded, now=1002.0) == "nonce replayed"  # copied off the wire: refused


@pytest.mark.parametrize("change, why", [
    ({"mac": "00" * 32}, "bad signature"),
    ({"nonce": "another"}, "bad signature"),
    ({"timestamp": 1000.5}, "bad signature"),
])
def test_a_hello_altered_in_any_part_is_refused(change, why):
    from dataclasses import replace

    from acs_contracts.affinity import Hello, HelloVerifier

    hello = replace(Hello.sign(SECRET, now=1000.0), **change)
    assert HelloVerifier(SECRET).verify(hello, now=1000.0) == why


def test_a_hello_under_another_secret_or_too_old_is_refused():
    from acs_contracts.affinity import HELLO_MAX_SKEW_S, Hello, HelloVerifier

    assert HelloVerifier(SECRET).verify(Hello.sign(b"other", now=1000.0), now=1000.0) == "bad signature"
    stale = Hello.sign(SECRET, now=1000.0)
    assert "off" in (HelloVerifier(SECRET).verify(stale, now=1000.0 + HELLO_MAX_SKEW_S + 1) or "")


def test_seen_nonces_are_forgotten_after_the_window():
    from acs_contracts.affinity import HELLO_MAX_SKEW_S, Hello, HelloVerifier

    verifier = HelloVerifier(SECRET)
    for i in range(100):
        assert verifier.verify(Hello.sign(SECRET, now=1000.0 + i), now=1000.0 + i) is None
    verifier.verify(Hello.sign(SECRET, now=5000.0), now=5000.0)
    assert len(verifier._seen) == 1  # older ones could not be replayed anyway (the clock check)
    assert HELLO_MAX_SKEW_S < 4000


def test_a_malformed_hello_is_a_malformed_frame():
    with pytest.raises(ValueError, match="malformed"):
        FrameDecoder().feed(_frame_raw(orjson.dumps({"t": "soon", "n": "x"}), b"H"))
