"""``acs credentials rekey``: re-encrypt the stored CPE credentials with the first key of
``ACS_CREDENTIALS_KEYS`` (the inventory does it; the secrets never leave it), the step between
putting a new key first and dropping the old one (docs/security.md)."""

from __future__ import annotations

import typer

from .client import EXIT_PARTIAL
from .main import JsonOpt, _settings, app, handled
from .output import out, print_json, table

credentials_app = typer.Typer(help="CPE credentials kept by the ACS (admins): re-encrypt after a key change.",
                              no_args_is_help=True)
app.add_typer(credentials_app, name="credentials")


@credentials_app.command("rekey")
@handled
def rekey(as_json: JsonOpt = False) -> None:
    """Re-encrypt every stored CPE secret with the first ACS_CREDENTIALS_KEYS key.

    Exits 1 when some could not be read with any configured key (they are left as they are)."""
    with _settings().nbi() as nbi:
        report = nbi.json("POST", "/credentials/rekey")
    if as_json:
        print_json(report)
    else:
        out.print(table("credentials rekey", ("scanned", "rewritten", "changed meanwhile", "unreadable"),
                        [(report["scanned"], report["rewritten"], report["changedMeanwhile"], report["unreadable"])]))
        if report["unreadable"]:
            out.print(f"no configured key opens the credentials of: {', '.join(report['unreadableDevices'])}")
    if report["unreadable"]:
        raise typer.Exit(EXIT_PARTIAL)
