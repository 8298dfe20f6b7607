"""Settings of users, tokens, sign-in limits and single sign-on (docs/configuration.md, inventory).

Kept apart from ``Settings`` so the NBI's other settings stay readable; ``Settings.security``
holds one of these.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class SecuritySettings:
    login_max_failures: int = 5  # consecutive wrong passwords before a user is locked out
    login_lockout_s: float = 900.0  # how long the lock-out lasts
    login_rate_per_min: int = 30  # POST /login attempts per client address and minute
    auth_failures_per_min: int = 60  # invalid tokens per client address and minute before 429
    rate_per_s: float = 100.0  # NBI calls per token and second (sustained); 0: no limit
    rate_burst: int = 500  # NBI calls a token may make at once before the rate applies
    session_ttl_s: float = 8 * 3600.0  # the console's session token from POST /login
    token_max_days: int = 366  # the longest lifetime an API token may ask for
    oidc_issuer: str = ""  # empty: no single sign-on
    oidc_audience: str = ""  # the "aud" an access/ID token must carry (usually the client id)
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_redirect_uri: str = ""  # this NBI's /oidc/callback as the IdP reaches the browser
    oidc_scopes: str = "openid profile email groups"
    oidc_groups_claim: str = "groups"
    oidc_username_claim: str = "preferred_username"
    # IdP group -> {"role": ..., "tenant": ..., "scope": <device query>}; the highest role wins
    oidc_groups: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    oidc_console_url: str = "/"  # where the browser lands after sign-in (the console)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "SecuritySettings":
        e = os.environ if env is None else env
        d = cls()
        groups = orjson.loads(e.get("NBI_OIDC_GROUPS") or "{}")
        if not isinstance(groups, dict) or not all(isinstance(v, dict) and "role" in v for v in groups.values()):
            raise ValueError('NBI_OIDC_GROUPS is {"<group>": {"role": "...", "tenant": "...", "scope": "..."}}')
        return cls(
            login_max_failures=int(e.get("NBI_LOGIN_MAX_FAILURES", d.login_max_failures)),
            login_lockout_s=float(e.get("NBI_LOGIN_LOCKOUT_S", d.login_lockout_s)),
            login_rate_per_min=int(e.get("NBI_LOGIN_RATE_PER_MIN", d.login_rate_per_min)),
            auth_failures_per_min=int(e.get("NBI_AUTH_FAILURES_PER_MIN", d.auth_failures_per_min)),
            rate_per_s=float(e.get("NBI_RATE_PER_S", d.rate_per_s)),
            rate_burst=int(e.get("NBI_RATE_BURST", d.rate_burst)),
            session_ttl_s=float(e.get("NBI_SESSION_TTL_S", d.session_ttl_s)),
            token_max_days=int(e.get("NBI_TOKEN_MAX_DAYS", d.token_max_days)),
            oidc_issuer=e.get("NBI_OIDC_ISSUER", d.oidc_issuer).rstrip("/"),
            oidc_audience=e.get("NBI_OIDC_AUDIENCE", "") or e.get("NBI_OIDC_CLIENT_ID", ""),
            oidc_client_id=e.get("NBI_OIDC_CLIENT_ID", d.oidc_client_id),
            oidc_client_secret=e.get("NBI_OIDC_CLIENT_SECRET", d.oidc_client_secret),
            oidc_redirect_uri=e.get("NBI_OIDC_REDIRECT_URI", d.oidc_redirect_uri),
            oidc_scopes=e.get("NBI_OIDC_SCOPES", d.oidc_scopes),
            oidc_groups_claim=e.get("NBI_OIDC_GROUPS_CLAIM", d.oidc_groups_claim),
            oidc_username_claim=e.get("NBI_OIDC_USERNAME_CLAIM", d.oidc_username_claim),
            oidc_groups=groups,
            oidc_console_url=e.get("NBI_OIDC_CONSOLE_URL", d.oidc_console_url),
        )
