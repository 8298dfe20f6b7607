"""Which tenant owns a device, decided once, at its first contact (docs/security.md, tenants).

ACS_TENANT_RULES is a JSON list of rules, tried in order; the first whose fields all match gives
``_tenant``, written with the device document's first write (``$setOnInsert``: a device keeps its
tenant; an admin moves it through the database). Fields, each a shell-style pattern (``*``, ``?``):

- ``oui``, ``productClass``, ``manufacturer``, ``serialNumber``: the Inform's DeviceId;
- ``path``: the path of the ACS URL the CPE used (a gateway that reports it in the session
  event's ``acsPath`` header); ``username``: the CPE's HTTP user name (header ``cpeUsername``).

A device no rule matches has no tenant: only unscoped users see it.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from cwmp.messages import Inform

log = logging.getLogger(__name__)

FIELDS = ("oui", "productClass", "manufacturer", "serialNumber", "path", "username")


@dataclass(frozen=True, slots=True)
class Rule:
    tenant: str
    match: tuple[tuple[str, str], ...]  # (field, pattern), all must match

    def matches(self, facts: Mapping[str, str]) -> bool:
        return all(fnmatch.fnmatchcase(facts.get(f, ""), pattern) for f, pattern in self.match)


def parse_rules(text: str) -> tuple[Rule, ...]:
    """ACS_TENANT_RULES as rules; a malformed one is an error at start, not a device left out."""
    if not text.strip():
        return ()
    raw = orjson.loads(text)
    if not isinstance(raw, list):
        raise ValueError("ACS_TENANT_RULES is a JSON list of {\"tenant\": ..., <field>: <pattern>}")
    rules = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("tenant"), str) or not item["tenant"]:
            raise ValueError(f"ACS_TENANT_RULES: {item!r} has no tenant")
        unknown = set(item) - {"tenant", *FIELDS}
        if unknown or not all(isinstance(item[f], str) for f in item if f != "tenant"):
            raise ValueError(f"ACS_TENANT_RULES: {item!r}: fields are {', '.join(FIELDS)} (text patterns)")
        rules.append(Rule(item["tenant"], tuple((f, item[f]) for f in FIELDS if f in item)))
    return tuple(rules)


# The scheduler's Settings.tenant_rules (ACS_TENANT_RULES, parsed and checked at start), set once
# by ``configure`` when the scheduler starts.
_rules: tuple[Rule, ...] = ()


def configure(rules: tuple[Rule, ...]) -> None:
    global _rules
    _rules = rules


def configured_rules() -> tuple[Rule, ...]:
    return _rules


def tenant_of(inform: Inform, headers: Mapping[str, Any], rules: tuple[Rule, ...]) -> str | None:
    d = inform.device_id
    facts = {"oui": d.oui, "productClass": d.product_class, "manufacturer": d.manufacturer,
             "serialNumber": d.serial_number, "path": str(headers.get("acsPath") or ""),
             "username": str(headers.get("cpeUsername") or "")}
    for rule in rules:
        if rule.matches(facts):
            return rule.tenant
    return None


def assign(update: dict[str, Any], inform: Inform, headers: Mapping[str, Any],
           rules: tuple[Rule, ...] | None = None) -> None:
    """Adds ``_tenant`` to the first write of the device's document when a rule gives one."""
    tenant = tenant_of(inform, headers, configured_rules() if rules is None else rules)
    if tenant is not None:
        update.setdefault("$setOnInsert", {})["_tenant"] = tenant
