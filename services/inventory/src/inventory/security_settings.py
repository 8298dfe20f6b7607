"""Settings of users, tokens, sign-in limits and single sign-on (docs/configuration.md, inventory).

Kept apart from ``Settings`` so the NBI's other settings stay readable; ``Settings.security``
holds one of these.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Self

import orjson
from pydantic import BeforeValidator

from acs_contracts.settings import EnvSettings, env

_GROUPS_SHAPE = 'NBI_OIDC_GROUPS is {"<group>": {"role": "...", "tenant": "...", "scope": "..."}}'


def _groups(v: Any) -> Any:
    """NBI_OIDC_GROUPS: JSON text of IdP group -> grant, each with a role."""
    if isinstance(v, str):
        try:
            v = orjson.loads(v or "{}")
        except orjson.JSONDecodeError:
            raise ValueError(_GROUPS_SHAPE) from None
    if not isinstance(v, Mapping) or not all(isinstance(g, Mapping) and "role" in g for g in v.values()):
        raise ValueError(_GROUPS_SHAPE)
    return v


class SecuritySettings(EnvSettings):
    # consecutive wrong passwords before a user is locked out
    login_max_failures: int = env("NBI_LOGIN_MAX_FAILURES", 5)
    login_lockout_s: float = env("NBI_LOGIN_LOCKOUT_S", 900.0)  # how long the lock-out lasts
    login_rate_per_min: int = env("NBI_LOGIN_RATE_PER_MIN", 30)  # POST /login attempts per client address and minute
    # invalid tokens per client address and minute before 429
    auth_failures_per_min: int = env("NBI_AUTH_FAILURES_PER_MIN", 60)
    rate_per_s: float = env("NBI_RATE_PER_S", 100.0)  # NBI calls per token and second (sustained); 0: no limit
    rate_burst: int = env("NBI_RATE_BURST", 500)  # NBI calls a token may make at once before the rate applies
    session_ttl_s: float = env("NBI_SESSION_TTL_S", 8 * 3600.0)  # the console's session token from POST /login
    token_max_days: int = env("NBI_TOKEN_MAX_DAYS", 366)  # the longest lifetime an API token may ask for
    oidc_issuer: Annotated[str, BeforeValidator(lambda v: v.rstrip("/") if isinstance(v, str) else v)] = env(
        "NBI_OIDC_ISSUER", "")  # empty: no single sign-on
    # the "aud" an access/ID token must carry; from_env's default: the client id
    oidc_audience: str = env("NBI_OIDC_AUDIENCE", "")
    oidc_client_id: str = env("NBI_OIDC_CLIENT_ID", "")
    oidc_client_secret: str = env("NBI_OIDC_CLIENT_SECRET", "", repr=False)
    oidc_redirect_uri: str = env("NBI_OIDC_REDIRECT_URI", "")  # this NBI's /oidc/callback as the IdP reaches the browser
    oidc_scopes: str = env("NBI_OIDC_SCOPES", "openid profile email groups")
    oidc_groups_claim: str = env("NBI_OIDC_GROUPS_CLAIM", "groups")
    oidc_username_claim: str = env("NBI_OIDC_USERNAME_CLAIM", "preferred_username")
    # IdP group -> {"role": ..., "tenant": ..., "scope": <device query>}; the highest role wins
    oidc_groups: Annotated[Mapping[str, Mapping[str, Any]], BeforeValidator(_groups)] = env("NBI_OIDC_GROUPS", {})
    oidc_console_url: str = env("NBI_OIDC_CONSOLE_URL", "/")  # where the browser lands after sign-in (the console)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        s = super().from_env(environ)
        return s if s.oidc_audience else s.model_copy(update={"oidc_audience": s.oidc_client_id})
