"""CPE credentials at rest: round trip, key rotation, legacy plaintext, a wrong key."""

from __future__ import annotations

import logging

import pytest

from acs_contracts.cpe_secrets import ENV, CredentialKeyError, Secrets, from_env, keys_from_env, new_key


def test_round_trip_stores_no_plaintext() -> None:
    s = Secrets([new_key()])
    stored = s.seal("s3cr3t-pass")
    assert isinstance(stored, dict) and set(stored) == {"enc"}
    assert "s3cr3t-pass" not in stored["enc"]
    assert s.open(stored) == "s3cr3t-pass"
    assert s.seal("s3cr3t-pass") != stored  # a fresh IV each time: equal passwords do not look equal


def test_key_rotation_first_encrypts_all_decrypt() -> None:
    old, new = new_key(), new_key()
    before = Secrets([old]).seal("pw-1")
    both = Secrets([new, old])
    assert both.open(before) == "pw-1"
    rotated = both.rotate(before)
    assert Secrets([new]).open(rotated) == "pw-1"
    with pytest.raises(CredentialKeyError):
        Secrets([old]).open(rotated)


def test_legacy_plaintext_still_reads_and_is_sealed_on_rotate() -> None:
    s = Secrets([new_key()])
    assert s.open("legacy") == "legacy"
    assert s.open(None) == ""
    sealed = s.rotate("legacy")
    assert isinstance(sealed, dict) and s.open(sealed) == "legacy"


def test_wrong_key_and_missing_key_are_clear_errors() -> None:
    stored = Secrets([new_key()]).seal("pw")
    with pytest.raises(CredentialKeyError, match="not in ACS_CREDENTIALS_KEYS"):
        Secrets([new_key()]).open(stored)
    with pytest.raises(CredentialKeyError, match="not set"):
        Secrets().open(stored)
    with pytest.raises(CredentialKeyError, match="key #2 is not a Fernet key"):
        Secrets([new_key(), "not-a-key"])


def test_without_a_key_plaintext_and_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        s = from_env("test-service", {})
    assert not s.enabled and s.seal("pw") == "pw" and s.open("pw") == "pw"
    assert [r for r in caplog.records if ENV in r.getMessage() and "test-service" in r.getMessage()]
    k1, k2 = new_key(), new_key()
    assert keys_from_env({ENV: f" {k1} ,{k2},"}) == [k1, k2]
    assert from_env("x", {ENV: k1}).enabled
