"""Digest and Basic authentication of CPEs, with nonces that verify on any gateway."""

import base64
import hashlib

from session_gateway import auth
from session_gateway.session_cookie import SessionToken, decode_token, encode_token

SECRET = b"s" * 32
CREDS = auth.Credentials("cpe", "secret")


def _digest_header(nonce: str, password: str = "secret", uri: str = "/", method: str = "POST") -> str:
    ha1 = hashlib.md5(f"cpe:{auth.REALM}:{password}".encode()).hexdigest()
    ha2 = hashlib.md5(f"{method}:{uri}".encode()).hexdigest()
    resp = hashlib.md5(f"{ha1}:{nonce}:00000001:abc:auth:{ha2}".encode()).hexdigest()
    return (f'Digest username="cpe", realm="{auth.REALM}", nonce="{nonce}", uri="{uri}", '
            f'qop=auth, nc=00000001, cnonce="abc", response="{resp}", algorithm=MD5')


def test_digest_nonce_from_one_gateway_verifies_on_another():
    nonce = auth.make_nonce(SECRET)  # issued by gateway A
    ok, stale = auth.verify(_digest_header(nonce), "POST", "digest", CREDS, SECRET)  # checked by gateway B
    assert ok and not stale


def test_digest_wrong_password_and_forged_nonce_fail():
    nonce = auth.make_nonce(SECRET)
    assert auth.verify(_digest_header(nonce, password="nope"), "POST", "digest", CREDS, SECRET) == (False, False)
    forged = nonce.split(".")[0] + ".deadbeef"
    assert auth.verify(_digest_header(forged), "POST", "digest", CREDS, SECRET) == (False, True)


def test_expired_nonce_is_stale():
    old = auth.make_nonce(SECRET, now=1_000_000)
    ok, stale = auth.verify(_digest_header(old), "POST", "digest", CREDS, SECRET)
    assert not ok and stale
    assert any("stale=true" in c for c in auth.challenges("digest", SECRET, stale=True))


def test_basic():
    good = "Basic " + base64.b64encode(b"cpe:secret").decode()
    bad = "Basic " + base64.b64encode(b"cpe:wrong").decode()
    assert auth.verify(good, "POST", "basic", CREDS, SECRET)[0]
    assert not auth.verify(bad, "POST", "basic", CREDS, SECRET)[0]
    assert not auth.verify(good, "POST", "digest", CREDS, SECRET)[0]  # Basic refused when Digest is required
    assert not auth.verify("Basic !!notbase64", "POST", "basic", CREDS, SECRET)[0]
    assert auth.verify(None, "POST", "none", CREDS, SECRET)[0]
    assert not auth.verify(None, "POST", "any", CREDS, SECRET)[0]


def test_session_cookie_round_trip_and_tamper():
    tok = SessionToken("202BC1-BM632w-SN1", "abc", 1e12, "urn:dslforum-org:cwmp-1-0", "1.0")
    v = encode_token(tok, SECRET)
    assert decode_token(v, SECRET, max_age_s=1e13) == tok
    assert decode_token(v, b"other" * 8, max_age_s=1e13) is None
    payload, sig = v.split(".")
    assert decode_token(payload[:-2] + "AA." + sig, SECRET, max_age_s=1e13) is None
    assert decode_token("garbage", SECRET, 10) is None
    old = encode_token(SessionToken("d", "s", 0.0, "ns", "1.0"), SECRET)
    assert decode_token(old, SECRET, max_age_s=600) is None
