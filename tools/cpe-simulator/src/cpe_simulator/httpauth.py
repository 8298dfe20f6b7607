"""HTTP authentication both ways: answering the ACS's (or a file server's) 401 challenges, and
challenging the ACS on connection requests (TR-069 3.2.2 requires Digest there).

Client side answers whichever scheme the server asks for: aiohttp's DigestAuthMiddleware for
Digest, and a small middleware for Basic that then sends the header pre-emptively for the rest of
the session, as CPEs do. Server side uses stateless nonces (a timestamp signed with a process
secret), so thousands of devices share one verifier without per-device memory.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import aiohttp
from aiohttp import hdrs


class BasicOnChallenge:
    """Sends Basic credentials after the server asked for them once (and then on every request)."""

    __slots__ = ("_header", "_armed")

    def __init__(self, login: str, password: str) -> None:
        self._header = aiohttp.encode_basic_auth(login, password)
        self._armed = False

    async def __call__(self, request: aiohttp.ClientRequest, handler) -> aiohttp.ClientResponse:
        if self._armed:
            request.headers[hdrs.AUTHORIZATION] = self._header
        response = await handler(request)
        if response.status == 401 and not self._armed:
            scheme = response.headers.get(hdrs.WWW_AUTHENTICATE, "").split(" ", 1)[0].lower()
            if scheme == "basic":
                self._armed = True
                response.release()
                request.headers[hdrs.AUTHORIZATION] = self._header
                response = await handler(request)
        return response


AUTH_MODES = ("auto", "basic", "digest", "none")


def client_middlewares(username: str | None, password: str | None, mode: str = "auto") -> tuple:
    """Middlewares for one HTTP session: ``mode`` "auto" answers whichever scheme is asked for,
    "basic"/"digest" only that one, "none" (or no credentials) none."""
    if mode == "none" or (not username and not password):
        return ()
    login, secret = username or "", password or ""
    out: list = []
    # Outermost first: Basic sees the 401 only when Digest did not take it.
    if mode in ("auto", "basic"):
        out.append(BasicOnChallenge(login, secret))
    if mode in ("auto", "digest"):
        out.append(aiohttp.DigestAuthMiddleware(login, secret, preemptive=True))
    return tuple(out)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - RFC 2617 Digest is MD5


def _parse_auth_params(text: str) -> dict[str, str]:
    """``a="x, y", b=z`` -> dict; quoted strings may hold commas."""
    out: dict[str, str] = {}
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " ,":
            i += 1
        eq = text.find("=", i)
        if eq < 0:
            break
        key = text[i:eq].strip().lower()
        i = eq + 1
        if i < n and text[i] == '"':
            i += 1
            value = []
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                value.append(text[i])
                i += 1
            i += 1
            out[key] = "".join(value)
        else:
            end = text.find(",", i)
            end = n if end < 0 else end
            out[key] = text[i:end].strip()
            i = end
    return out


class DigestVerifier:
    """RFC 2617 Digest (MD5, qop=auth) for the connection request server."""

    def __init__(self, realm: str = "cpe-simulator", nonce_lifetime_s: float = 300.0) -> None:
        self.realm = realm
        self.nonce_lifetime_s = nonce_lifetime_s
        self._secret = secrets.token_bytes(16)

    def _sign(self, stamp: str) -> str:
        return hmac.new(self._secret, stamp.encode(), hashlib.sha256).hexdigest()[:32]

    def challenge(self, stale: bool = False) -> str:
        stamp = f"{time.time():.3f}"
        nonce = f"{stamp}:{self._sign(stamp)}"
        opaque = self._sign("opaque")[:16]
        header = f'Digest realm="{self.realm}", qop="auth", nonce="{nonce}", opaque="{opaque}", algorithm=MD5'
        return header + (", stale=true" if stale else "")

    def verify(self, authorization: str, method: str, username: str, password: str) -> str:
        """"ok", "stale" (a valid but expired nonce: challenge again with stale=true) or "bad"."""
        scheme, _, rest = authorization.partition(" ")
        if scheme.lower() != "digest":
            return "bad"
        p = _parse_auth_params(rest)
        nonce = p.get("nonce", "")
        stamp, _, sig = nonce.partition(":")
        if not hmac.compare_digest(sig, self._sign(stamp)) or p.get("username") != username:
            return "bad"
        if p.get("realm") != self.realm:
            return "bad"
        ha1 = _md5(f"{username}:{self.realm}:{password}")
        ha2 = _md5(f"{method}:{p.get('uri', '')}")
        if p.get("qop"):
            expected = _md5(f"{ha1}:{nonce}:{p.get('nc', '')}:{p.get('cnonce', '')}:{p.get('qop')}:{ha2}")
        else:
            expected = _md5(f"{ha1}:{nonce}:{ha2}")
        if not hmac.compare_digest(expected, p.get("response", "")):
            return "bad"
        try:
            age = time.time() - float(stamp)
        except ValueError:
            return "bad"
        return "ok" if age <= self.nonce_lifetime_s else "stale"
