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


# ---- a device's own credentials, rotated: which logins are accepted

DEFAULT = auth.Credentials("acs", "default-pw")
OWN = auth.Credentials("cpe", "secret")
OLD = auth.Credentials("cpe", "old-secret")
NEW = auth.Credentials("cpe", "new-secret")
NOW = 2_000_000_000.0


def _basic(c: auth.Credentials) -> str:
    return "Basic " + base64.b64encode(f"{c.username}:{c.password}".encode()).decode()


def _login(c: auth.Credentials, dev: auth.DeviceCredentials, now: float = NOW) -> str:
    which, creds, stale = auth.verify_device(_basic(c), "POST", "basic", dev, DEFAULT, SECRET, now=now)
    assert (creds is not None) == (which != auth.REFUSED) and not stale
    return which


def test_a_device_without_its_own_credentials_uses_the_default_ones():
    dev = auth.DeviceCredentials()
    assert _login(DEFAULT, dev) == auth.DEFAULT
    assert _login(OWN, dev) == auth.REFUSED


def test_current_previous_within_and_after_grace_and_pending():
    dev = auth.DeviceCredentials(current=OWN, previous=OLD, previous_until=NOW + 60, pending=NEW, rotated_at=NOW - 10)
    assert _login(OWN, dev) == auth.CURRENT
    assert _login(OLD, dev) == auth.PREVIOUS
    assert _login(OLD, dev, now=NOW + 61) == auth.REFUSED  # the grace window is over
    assert _login(NEW, dev) == auth.PENDING
    assert _login(auth.Credentials("cpe", "guess"), dev) == auth.REFUSED


def test_default_credentials_refused_once_the_device_has_its_own_after_the_grace_window():
    dev = auth.DeviceCredentials(current=OWN, previous_default=True, previous_until=NOW + 60)
    assert _login(DEFAULT, dev) == auth.PREVIOUS
    assert _login(DEFAULT, dev, now=NOW + 61) == auth.REFUSED
    assert _login(DEFAULT, auth.DeviceCredentials(current=OWN)) == auth.REFUSED
    # a first rotation cut short: its pending credentials and the default ones both work
    first = auth.DeviceCredentials(pending=NEW)
    assert _login(NEW, first) == auth.PENDING and _login(DEFAULT, first) == auth.DEFAULT


def test_digest_against_the_candidates_and_a_stale_nonce():
    dev = auth.DeviceCredentials(current=OWN, previous=OLD, previous_until=NOW + 60)
    nonce = auth.make_nonce(SECRET)
    which, creds, stale = auth.verify_device(_digest_header(nonce, password="old-secret"), "POST", "digest", dev,
                                             DEFAULT, SECRET, now=NOW)
    assert which == auth.PREVIOUS and creds == OLD and not stale
    old_nonce = auth.make_nonce(SECRET, now=1_000_000)
    which, creds, stale = auth.verify_device(_digest_header(old_nonce), "POST", "digest", dev, DEFAULT, SECRET, now=NOW)
    assert which == auth.REFUSED and creds is None and stale


def test_stored_document_is_decrypted_and_an_unreadable_password_only_drops_that_credential():
    from datetime import UTC, datetime

    from acs_contracts.cpe_secrets import Secrets, new_key
    from session_gateway.credentials import NONE, parse

    key = new_key()
    s = Secrets([key])
    until = datetime.fromtimestamp(NOW + 60, UTC)
    doc = {"username": "cpe", "password": s.seal("secret"), "rotatedAt": datetime.fromtimestamp(NOW - 10, UTC),
           "previous": {"default": True}, "previousUntil": until,
           "pending": {"username": "cpe", "password": Secrets([new_key()]).seal("lost")}}
    dev = parse("dev-1", doc, s)
    assert dev.current == OWN and dev.pending is None and dev.previous_default
    assert dev.previous_until == NOW + 60 and dev.rotated_at == NOW - 10
    legacy = parse("dev-2", {"username": "cpe", "password": "secret"}, s)  # written before encryption
    assert legacy.current == OWN and legacy.rotated_at == 0.0
    assert parse("dev-3", None, s) is NONE and parse("dev-3", {}, s).current is None
