"""``acs users ...`` and ``acs tokens ...``: the NBI's users and API tokens (docs/security.md).

A token's value is printed once, when created (``acs tokens create``); the NBI keeps only its
hash. Passwords are read from the terminal (asked twice) or, with ``--password-stdin``, from the
first line of standard input, never from the command line (it would land in shell history).
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from .main import JsonOpt, _settings, app, handled
from .output import out, print_json, table, when
from .parsing import UsageError

users_app = typer.Typer(help="Users of the NBI and the console (admins): list, add or change, disable, delete.",
                        no_args_is_help=True)
tokens_app = typer.Typer(help="Your API tokens (admins: --user): list, create, revoke.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")

UserOpt = Annotated[str | None, typer.Option("--user", help="another user's tokens (admins)")]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise UsageError("--password-stdin: no password on standard input")
        return line
    return str(typer.prompt("password", hide_input=True, confirmation_prompt=True))


@users_app.command("ls")
@handled
def users_ls(as_json: JsonOpt = False) -> None:
    """List users."""
    with _settings().nbi() as nbi:
        users = nbi.json("GET", "/users")
    if as_json:
        print_json(users)
        return
    rows = [(u["name"], u["role"], u.get("tenant") or "", u.get("scope") or "", u.get("source", ""),
             "disabled" if u.get("disabled") else ("locked" if u.get("lockedUntil") else "active"),
             when(u.get("lastLogin"))) for u in users]
    out.print(table(None, ("user", "role", "tenant", "scope", "source", "state", "last sign-in"), rows,
                    caption=f"{len(users)} users"))


@users_app.command("set")
@handled
def users_set(
    name: Annotated[str, typer.Argument(help="user name")],
    role: Annotated[str | None, typer.Option(help="readonly, operator or admin (required for a new user)")] = None,
    tenant: Annotated[str | None, typer.Option(help="the tenant whose devices the user sees")] = None,
    scope: Annotated[str | None, typer.Option(help="a device query (JSON) the user is limited to")] = None,
    password: Annotated[bool, typer.Option("--password", help="set a password (asked on the terminal)")] = False,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from standard input")] = False,
) -> None:
    """Add a user, or change one (only the options given)."""
    body: dict[str, Any] = {}
    for key, value in (("role", role), ("tenant", tenant), ("scope", scope)):
        if value is not None:
            body[key] = value
    if password or password_stdin:
        body["password"] = _password(password_stdin)
    with _settings().nbi() as nbi:
        user = nbi.json("PUT", f"/users/{name}", json=body)
    out.print(f"{user['name']}: {user['role']}" + (f", tenant {user['tenant']}" if user.get("tenant") else ""))


def _enable(name: str, disabled: bool) -> None:
    with _settings().nbi() as nbi:
        nbi.json("PUT", f"/users/{name}", json={"disabled": disabled})
    out.print(f"{name}: {'disabled (its tokens revoked)' if disabled else 'enabled'}")


@users_app.command("disable")
@handled
def users_disable(name: Annotated[str, typer.Argument(help="user name")]) -> None:
    """Disable a user: it cannot sign in, and its tokens are revoked."""
    _enable(name, True)


@users_app.command("enable")
@handled
def users_enable(name: Annotated[str, typer.Argument(help="user name")]) -> None:
    """Enable a disabled user again."""
    _enable(name, False)


@users_app.command("rm")
@handled
def users_rm(names: Annotated[list[str], typer.Argument(help="user names")]) -> None:
    """Delete users (their tokens are revoked)."""
    with _settings().nbi() as nbi:
        for name in names:
            nbi.request("DELETE", f"/users/{name}")
            out.print(f"{name}: deleted")


@tokens_app.command("ls")
@handled
def tokens_ls(user: UserOpt = None, as_json: JsonOpt = False) -> None:
    """List API tokens and sessions (never their values)."""
    with _settings().nbi() as nbi:
        tokens = nbi.json("GET", "/tokens", params={"user": user} if user else None)
    if as_json:
        print_json(tokens)
        return
    rows = [(t["id"], t.get("name", ""), t["kind"], t["role"], t.get("scope") or "", t["status"], when(t.get("expiresAt")),
             when(t.get("lastUsed"))) for t in tokens]
    out.print(table(None, ("id", "name", "kind", "role", "scope", "status", "expires", "last used"), rows,
                    caption=f"{len(tokens)} tokens"))


@tokens_app.command("create")
@handled
def tokens_create(
    name: Annotated[str, typer.Option(help="what the token is for")] = "",
    role: Annotated[str | None, typer.Option(help="at most the user's role (default: the user's)")] = None,
    scope: Annotated[str | None, typer.Option(help="a device query (JSON) narrowing the user's scope")] = None,
    days: Annotated[float, typer.Option(help="lifetime in days")] = 90,
    user: UserOpt = None,
) -> None:
    """Create an API token; its value is printed this once."""
    body: dict[str, Any] = {"name": name, "expiresInDays": days}
    if role is not None:
        body["role"] = role
    if scope is not None:
        body["scope"] = scope
    with _settings().nbi() as nbi:
        created = nbi.json("POST", "/tokens", json=body, params={"user": user} if user else None)
    print(created["token"])  # alone on stdout, for a script: TOKEN=$(acs tokens create ...)
    typer.echo(f"id {created['id']}, {created['role']}, expires {created['expiresAt']}: shown once, keep it safe",
               err=True)


@tokens_app.command("revoke")
@handled
def tokens_revoke(ids: Annotated[list[str], typer.Argument(help="token ids (acs tokens ls)")], user: UserOpt = None) -> None:
    """Revoke tokens."""
    with _settings().nbi() as nbi:
        for token_id in ids:
            nbi.request("DELETE", f"/tokens/{token_id}", params={"user": user} if user else None)
            out.print(f"{token_id}: revoked")
