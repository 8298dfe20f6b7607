"""``acs users`` and ``acs tokens`` (tools/acs-cli/src/acs_cli/accounts.py) against the inventory
running as its own process: a user added with a password read from stdin, a token created for
it (its value alone on stdout, once), listed without its value, revoked; the user disabled and
deleted."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sec_support import STATIC_ADMIN

pytestmark = pytest.mark.e2e


def acs(nbi_server: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("acs", path=str(Path(sys.executable).parent)) or "acs"
    return subprocess.run([exe, "--url", nbi_server, "--token", STATIC_ADMIN, *args], input=stdin, capture_output=True,
                          text=True, timeout=120)


def test_users_and_tokens_from_the_command_line(nbi_server):
    done = acs(nbi_server, "users", "set", "cli-ops", "--role", "operator", "--tenant", "red", "--password-stdin",
               stdin="a long enough password\n")
    assert done.returncode == 0, done.stderr
    users = json.loads(acs(nbi_server, "users", "ls", "--json").stdout)
    assert {"name": "cli-ops", "role": "operator", "tenant": "red"}.items() <= next(
        u for u in users if u["name"] == "cli-ops").items()
    r = httpx.post(f"{nbi_server}/login", json={"username": "cli-ops", "password": "a long enough password"})
    assert r.status_code == 200

    created = acs(nbi_server, "tokens", "create", "--user", "cli-ops", "--name", "ci", "--role", "readonly", "--days", "1")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("acs_") and "shown once" in created.stderr
    who = httpx.get(f"{nbi_server}/whoami", headers={"Authorization": f"Bearer {token}"}).json()
    assert who["user"] == "cli-ops" and who["role"] == "readonly" and who["tenant"] == "red"
    listed = acs(nbi_server, "tokens", "ls", "--user", "cli-ops", "--json")
    assert who["token"] in listed.stdout and token not in listed.stdout

    assert acs(nbi_server, "tokens", "revoke", who["token"], "--user", "cli-ops").returncode == 0
    assert httpx.get(f"{nbi_server}/whoami", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert acs(nbi_server, "users", "disable", "cli-ops").returncode == 0
    assert httpx.post(f"{nbi_server}/login", json={"username": "cli-ops", "password": "a long enough password"}).status_code == 401
    assert acs(nbi_server, "users", "rm", "cli-ops").returncode == 0
    assert acs(nbi_server, "users", "rm", "cli-ops").returncode == 3  # refused: no such user
