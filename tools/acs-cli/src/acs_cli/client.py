"""The NBI over HTTP: where it is, the token, and every refusal turned into an :class:`NbiError`
that says the HTTP status and the NBI's own message. The CLI never talks to anything else."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from . import __version__
from .parsing import UsageError, read_token_file

DEFAULT_URL = "http://127.0.0.1:7557"

# Exit codes (docs/cli.md)
EXIT_OK = 0
EXIT_PARTIAL = 1  # a bulk command: some devices faulted, timed out or were refused
EXIT_USAGE = 2  # bad command line (also click's own usage errors)
EXIT_REFUSED = 3  # the NBI refused the request (4xx other than 401/403), or nothing matched
EXIT_AUTH = 4  # 401 / 403: no token, a wrong one, or a role too low
EXIT_UNAVAILABLE = 5  # the NBI cannot be reached, or answered 5xx


class NbiError(Exception):
    """A failed NBI call: ``status`` is the HTTP status (0: no answer)."""

    def __init__(self, status: int, message: str, detail: Any = None, *, method: str = "", url: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.detail = detail
        self.method = method
        self.url = url

    @property
    def exit_code(self) -> int:
        if self.status in (401, 403):
            return EXIT_AUTH
        if self.status == 0 or self.status >= 500:
            return EXIT_UNAVAILABLE
        return EXIT_REFUSED

    def __str__(self) -> str:
        where = f"{self.method} {self.url}: " if self.method else ""
        if self.status == 0:
            return f"{where}{self.message}"
        reason = httpx.codes.get_reason_phrase(self.status)
        text = f"{where}HTTP {self.status} {reason}: {self.message}"
        if self.detail not in (None, "", [], {}):
            detail = self.detail if isinstance(self.detail, str) else json.dumps(self.detail, default=str)
            text += f" ({detail[:500]})"
        return text


def error_of(response: httpx.Response) -> NbiError:
    """The NBI answers ``{"error": ..., "detail": ...}``; anything else is shown as text."""
    message, detail = response.reason_phrase or "error", None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "error" in body:
        message, detail = str(body["error"]), body.get("detail")
    elif response.text.strip():
        message = response.text.strip()[:300]
    if response.status_code == 401 and message == "authentication required":
        message += ": give --token, --token-file or ACS_NBI_TOKEN"
    req = response.request
    return NbiError(response.status_code, message, detail, method=req.method, url=str(req.url.copy_with(query=None)))


def unreachable(e: httpx.HTTPError, url: str) -> NbiError:
    kind = "timed out" if isinstance(e, httpx.TimeoutException) else "cannot reach the NBI"
    return NbiError(0, f"{kind} at {url} ({type(e).__name__}: {e or 'no detail'}); "
                       "set --url or ACS_NBI_URL")


@dataclass(frozen=True, slots=True)
class Endpoint:
    url: str
    token: str | None
    timeout_s: float = 30.0

    @classmethod
    def resolve(cls, url: str | None, token: str | None, token_file: str | None, timeout_s: float = 30.0) -> "Endpoint":
        """--url, else $ACS_NBI_URL, else the default; --token, else --token-file, else
        $ACS_NBI_TOKEN, else $ACS_NBI_TOKEN_FILE."""
        base = (url or os.environ.get("ACS_NBI_URL") or DEFAULT_URL).rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise UsageError(f"NBI URL {base!r} must start with http:// or https://")
        if token:
            tok = token
        elif token_file:
            tok = read_token_file(token_file)
        elif os.environ.get("ACS_NBI_TOKEN"):
            tok = os.environ["ACS_NBI_TOKEN"]
        elif os.environ.get("ACS_NBI_TOKEN_FILE"):
            tok = read_token_file(os.environ["ACS_NBI_TOKEN_FILE"])
        else:
            tok = None
        return cls(base, tok.strip() if tok else None, timeout_s)

    def headers(self) -> dict[str, str]:
        h = {"User-Agent": f"acs-cli/{__version__}", "Accept": "application/json"}
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        return h


def q(value: str) -> str:
    """A path segment (device id, task id, file name...) quoted for the URL."""
    return quote(value, safe="")


def list_params(query: dict[str, Any] | None = None, projection: str | None = None, sort: dict[str, int] | None = None,
                limit: int | None = None, skip: int | None = None) -> dict[str, str]:
    params: dict[str, str] = {}
    if query:
        params["query"] = json.dumps(query, separators=(",", ":"))
    if projection:
        params["projection"] = projection
    if sort:
        params["sort"] = json.dumps(sort, separators=(",", ":"))
    if limit:
        params["limit"] = str(limit)
    if skip:
        params["skip"] = str(skip)
    return params


class Nbi:
    """A synchronous NBI client (one connection pool)."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.http = httpx.Client(base_url=endpoint.url, headers=endpoint.headers(), timeout=endpoint.timeout_s)

    def __enter__(self) -> "Nbi":
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def request(self, method: str, path: str, *, ok: tuple[int, ...] = (200, 201, 202, 204), **kw: Any) -> httpx.Response:
        try:
            r = self.http.request(method, path, **kw)
        except httpx.HTTPError as e:
            raise unreachable(e, self.endpoint.url) from None
        if r.status_code not in ok:
            raise error_of(r)
        return r

    def json(self, method: str, path: str, **kw: Any) -> Any:
        r = self.request(method, path, **kw)
        return r.json() if r.content else None

    def find(self, collection: str, query: dict[str, Any] | None = None, projection: str | None = None,
             sort: dict[str, int] | None = None, limit: int | None = None, skip: int | None = None) -> list[dict[str, Any]]:
        """GET /<collection>/ with GenieACS's query, projection, sort, limit and skip."""
        return self.json("GET", f"/{collection}/", params=list_params(query, projection, sort, limit, skip))

    def device_ids(self, query: dict[str, Any] | None) -> list[str]:
        return [d["_id"] for d in self.find("devices", query or {}, projection="_id")]

    def download(self, path: str) -> Iterator[bytes]:
        try:
            with self.http.stream("GET", path) as r:
                if r.status_code != 200:
                    r.read()
                    raise error_of(r)
                yield from r.iter_bytes()
        except httpx.HTTPError as e:
            raise unreachable(e, self.endpoint.url) from None


def async_client(endpoint: Endpoint, concurrency: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(base_url=endpoint.url, headers=endpoint.headers(), timeout=endpoint.timeout_s, limits=limits)
