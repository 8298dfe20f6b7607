"""The history's bucketed layout: one ``metrics_history`` document per device per hour.

A batch of samples becomes one ``$push``/``$inc`` upsert per (device, hour) it touches, so a
writer folding thousands of samples makes a few hundred small operations in one ``bulk_write``
(not one per sample). ``expiresAt`` (the bucket's hour + retention) drives the TTL index. Buckets
older than TELEMETRY_DOWNSAMPLE_AFTER_H are replaced by per-parameter hourly aggregates
(``downsample``): what a dashboard over weeks needs, at a fraction of the size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReplaceOne, UpdateOne

from acs_contracts.device_id import split_device_id


def hour_of(t: float) -> datetime:
    return datetime.fromtimestamp(t - t % 3600, UTC)


def bucket_id(device: str, hour: datetime) -> str:
    return f"{device}:{hour:%Y%m%d%H}"


def model_of(device: str) -> str:
    """The product class in a device id (``OUI-ProductClass-Serial``), "" when it has none."""
    try:
        return split_device_id(device)[1]
    except ValueError:
        return ""


def bucket_updates(rows: Iterable[tuple[str, str, float, Any]], retention: timedelta) -> list[UpdateOne]:
    """(device, parameter, unix time, value) rows to one upsert per device-hour."""
    grouped: dict[tuple[str, datetime], list[dict[str, Any]]] = defaultdict(list)
    for device, name, t, value in rows:
        grouped[(device, hour_of(t))].append({"p": name, "t": datetime.fromtimestamp(t, UTC), "v": value})
    return [
        UpdateOne(
            {"_id": bucket_id(device, hour)},
            {"$push": {"s": {"$each": samples}}, "$inc": {"n": len(samples)},
             "$setOnInsert": {"device": device, "model": model_of(device), "hour": hour, "expiresAt": hour + retention,
                              "resolution": "raw"}},
            upsert=True,
        )
        for (device, hour), samples in grouped.items()
    ]


def aggregate(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per parameter: min, max, avg of numeric values, count, and the last value (any type)."""
    by_name: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in samples:
        by_name[s["p"]].append(s)
    out = []
    for name, rows in by_name.items():
        rows.sort(key=lambda r: r["t"])
        nums = [r["v"] for r in rows if isinstance(r["v"], (int, float)) and not isinstance(r["v"], bool)]
        agg: dict[str, Any] = {"p": name, "n": len(rows), "last": rows[-1]["v"], "t": rows[-1]["t"]}
        if nums:
            agg.update(min=min(nums), max=max(nums), avg=sum(nums) / len(nums))
        out.append(agg)
    return out


def downsample_op(doc: dict[str, Any]) -> ReplaceOne:
    """The down-sampled replacement of a raw bucket (conditional on its sample count, so samples
    pushed meanwhile, late reports, are not lost: the replace then misses and runs next time)."""
    new = {k: v for k, v in doc.items() if k != "s"}
    new["agg"] = aggregate(doc.get("s") or [])
    new["resolution"] = "1h"
    return ReplaceOne({"_id": doc["_id"], "n": doc.get("n")}, new)
