"""How a value in a GenieACS-style query matches stored parameter values.

GenieACS users write ``{"...PeriodicInformInterval": "300"}`` or ``{"_lastInform": {"$lt":
"2017-12-11 13:16:23 +0000"}}``: query values come as text while the inventory stores typed
values. The NBI (translating queries for MongoDB) and the provisioning engine (evaluating
preconditions in memory) must agree on the coercions, so they are defined once, here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def number(s: str) -> int | float | None:
    """The number a query string spells, or None ("300" -> 300, "1.5" -> 1.5; no NaN or inf)."""
    try:
        return int(s)
    except ValueError:
        pass
    try:
        f = float(s)
    except ValueError:
        return None
    return f if f == f and f not in (float("inf"), float("-inf")) else None


def parse_date(value: Any) -> datetime | None:
    """ISO 8601, GenieACS's "2017-12-11 13:16:23 +0000", or epoch milliseconds; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if not isinstance(value, str) or not value[:4].isdigit():
        return None
    text = value.strip().replace("Z", "+00:00")
    for candidate in (text, text.replace(" +", "+").replace(" -", "-")):
        try:
            dt = datetime.fromisoformat(candidate)
        except ValueError:
            continue
        return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    return None


def alternatives(v: Any) -> list[Any]:
    """Typed values a query value also matches: "5" -> 5, "true" -> True, ISO text -> date."""
    alts = [v]
    if isinstance(v, str):
        n = number(v)
        if n is not None:
            alts.append(n)
        if v in ("true", "false"):
            alts.append(v == "true")
        d = parse_date(v) if n is None else None
        if d is not None:
            alts.append(d)
    elif isinstance(v, bool):
        alts.append("true" if v else "false")
    elif isinstance(v, (int, float)):
        alts.append(str(v))
    return alts


def ranged(v: Any) -> Any:
    """The one typed value a range operator ($gt, $lt, ...) compares with: a number, else a date, else v."""
    if isinstance(v, str):
        n = number(v)
        if n is not None:
            return n
        d = parse_date(v)
        if d is not None:
            return d
    return v
