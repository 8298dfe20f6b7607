"""The gateway's settings: spellings, the secret drawn per process, secrets kept out of repr (the
documented variables are checked for every service in tests/test_settings_documented.py)."""

from __future__ import annotations

from session_gateway.config import Settings


def test_defaults_and_spellings():
    s = Settings.from_env({"GATEWAY_CPE_AUTH": "Digest", "GATEWAY_INFORM_HINT_WAIT_MS": "500", "GATEWAY_REPLY_PORT": "9000"})
    assert (s.cpe_auth, s.inform_hint_wait_s, s.reply_advertise) == ("digest", 0.5, "127.0.0.1:9000")
    assert len(s.secret) == 32 and Settings().secret == b""  # random per process only when read from the environment
    s = Settings.from_env({"GATEWAY_SECRET": "s3cr3t", "GATEWAY_CPE_PASSWORD": "cpe-s3cr3t"})
    assert s.secret == b"s3cr3t" and "s3cr3t" not in repr(s)
