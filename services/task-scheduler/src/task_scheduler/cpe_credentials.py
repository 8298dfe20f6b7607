"""The CPE credential lifecycle, the scheduler's part: when a device gets new CWMP credentials
(``ManagementServer.Username/Password``) and connection-request credentials, and how they are
stored in the ``credentials`` collection (passwords sealed by ``acs_contracts.cpe_secrets``).

The gateway says in the Inform's event which of its credentials the CPE logged in with
(``cpeCredential``: current, pending, previous_in_grace, default) and when its own were set
(``cpeRotatedAt``). From that:

- a device gets its own credentials at BOOTSTRAP, or in any session once they are older than
  ``SCHEDULER_CPE_CREDENTIAL_ROTATION_DAYS``, or when it still logs in with its previous or the
  shared default ones while rotation is on: one SetParameterValues riding the session;
- the new values are stored as ``pending`` before that SPV goes out, so a session cut short
  before its answer cannot lock the device out; a login with them promotes them, as does the
  SPV's success;
- the credentials it logged in with are kept as ``previous`` until ``previousUntil`` (now +
  ``SCHEDULER_CPE_CREDENTIAL_GRACE_S``): the gateway accepts them until then.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from acs_contracts.cpe_secrets import Secrets
from cwmp.events import EventCode

CURRENT, PENDING, PREVIOUS, DEFAULT = "current", "pending", "previous_in_grace", "default"


@dataclass(frozen=True, slots=True)
class CredentialPlan:
    """New credentials to set in this session: the CWMP ones (``cpe``) and/or the connection
    request ones; ``why``: bootstrap, rotation, stale (a login with previous or default ones)."""

    cpe: bool
    connection_request: bool
    why: str


def facts_of(headers: Mapping[str, Any]) -> dict[str, Any]:
    """What the gateway told about the login (no secret: which credentials, and their age)."""
    return {k: headers[k] for k in ("cpeCredential", "cpeRotatedAt") if headers.get(k) is not None}


def per_device(mode: str, facts: Mapping[str, Any]) -> bool:
    """``auto``: a device gets its own CWMP credentials where the gateway authenticates CPEs."""
    return mode == "per-device" or (mode == "auto" and "cpeCredential" in facts)


def plan(mode: str, rotation_days: float, codes: list[str], facts: Mapping[str, Any], now: float,
         bootstrap_defaults: bool = True) -> CredentialPlan | None:
    """What this session sets, if anything (no I/O: a periodic session with fresh credentials costs nothing)."""
    which = facts.get("cpeCredential")
    own = per_device(mode, facts)
    if which == PENDING:  # the new ones reached the CPE: promoted at the Inform, nothing to set
        return None
    if EventCode.BOOTSTRAP in codes:
        # the connection-request ones come with the other BOOTSTRAP defaults (as before)
        return CredentialPlan(cpe=own, connection_request=bootstrap_defaults, why="bootstrap") if own or bootstrap_defaults else None
    if not own or rotation_days <= 0:
        return None
    if which in (PREVIOUS, DEFAULT):
        return CredentialPlan(cpe=True, connection_request=True, why="stale")
    rotated = facts.get("cpeRotatedAt")
    if isinstance(rotated, (int, float)) and now - float(rotated) >= rotation_days * 86400:
        return CredentialPlan(cpe=True, connection_request=True, why="rotation")
    return None


def _own(stored: Any) -> dict[str, Any] | None:
    if isinstance(stored, Mapping) and stored.get("username"):
        return {"username": stored["username"], "password": stored.get("password")}
    return None


def previous_of(old_cpe: Mapping[str, Any] | None, which: str | None) -> dict[str, Any]:
    """The credentials a device logged in with, kept for the grace window (stored, still sealed)."""
    old = old_cpe or {}
    if which == PREVIOUS and (_own(old.get("previous")) or (old.get("previous") or {}).get("default")):
        return dict(old["previous"])
    return _own(old) or {"default": True}


def staged(secrets: Secrets, new: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    """``$set`` of the new values as ``pending``, before the SPV that sets them goes out."""
    sets: dict[str, Any] = {}
    for kind in ("cpe", "connectionRequest"):
        c = new.get(kind)
        if c:
            sets[f"{kind}.pending"] = {"username": c["username"], "password": secrets.seal(c["password"])}
    return {"$set": sets}


def committed(secrets: Secrets, done: Mapping[str, Mapping[str, str]], previous: dict[str, Any] | None,
              now: datetime, grace_s: float) -> dict[str, Any]:
    """``$set`` once the CPE has them (SPV answered): the new ones current, ``pending`` gone."""
    sets: dict[str, Any] = {}
    cr = done.get("connectionRequest")
    if cr:
        sets["connectionRequest"] = {"username": cr["username"], "password": secrets.seal(cr["password"]), "rotatedAt": now}
    cpe = done.get("cpe")
    if cpe:
        sets["cpe"] = {"username": cpe["username"], "password": secrets.seal(cpe["password"]), "rotatedAt": now,
                       "previous": previous or {"default": True}, "previousUntil": now + timedelta(seconds=grace_s)}
    return {"$set": sets}


def promoted(doc: Mapping[str, Any] | None, now: datetime, grace_s: float) -> dict[str, Any] | None:
    """``$set`` making the pending credentials current: the CPE logged in with them, so the SPV
    that set them took effect even if its answer was lost. None when there is nothing pending."""
    doc = doc or {}
    old = doc.get("cpe") or {}
    pending = _own(old.get("pending"))
    if pending is None:
        return None
    sets: dict[str, Any] = {"cpe": {**pending, "rotatedAt": now, "previous": _own(old) or {"default": True},
                                    "previousUntil": now + timedelta(seconds=grace_s)}}
    cr_pending = _own((doc.get("connectionRequest") or {}).get("pending"))
    if cr_pending is not None:
        sets["connectionRequest"] = {**cr_pending, "rotatedAt": now}
    return {"$set": sets}
