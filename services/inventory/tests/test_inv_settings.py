"""The inventory's settings: lists, JSON and empty values, secrets kept out of repr (the documented
variables are checked for every service in tests/test_settings_documented.py)."""

from __future__ import annotations

import pytest

from inventory.config import Settings


def test_lists_json_and_empty_values():
    s = Settings.from_env({"NBI_TOKENS": "tok-a:admin, b:readonly,", "CONSOLE_PORT": "", "NBI_OIDC_CLIENT_ID": "cid",
                           "NBI_OIDC_ISSUER": "https://idp/", "ACS_FILES_SECRET": "fs-s3cr3t",
                           "NBI_OIDC_GROUPS": '{"ops": {"role": "operator"}}'})
    assert s.tokens == {"tok-a": "admin", "b": "readonly"} and s.console_port == 0 and s.files_secret == b"fs-s3cr3t"
    assert (s.security.oidc_audience, s.security.oidc_issuer) == ("cid", "https://idp")
    assert s.security.oidc_groups == {"ops": {"role": "operator"}}
    assert "s3cr3t" not in repr(s) and "tok-a" not in repr(s)
    with pytest.raises(ValueError, match="NBI_TOKENS entry 'a:god' is not"):
        Settings.from_env({"NBI_TOKENS": "a:god"})
    with pytest.raises(ValueError, match="NBI_OIDC_GROUPS is"):
        Settings.from_env({"NBI_OIDC_GROUPS": '{"ops": "admin"}'})
