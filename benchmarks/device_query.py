"""The shared query library's costs, single thread, best of several rounds (process CPU time):
translating a typical NBI device query to a MongoDB filter, compiling a preset precondition for
the scheduler, evaluating it against a device document (what every session pays per preset),
and validating a preset (PUT /presets, and the scheduler's preset loading).

    .venv/bin/python -m benchmarks.device_query [--short]
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

from device_query.memory import compile_query
from device_query.mongo import device_query
from device_query.presets import validate_preset

from .procstats import calls_per_cpu_second

SV = "InternetGatewayDevice.DeviceInfo.SoftwareVersion"
QUERY = {"$or": [{"_tags": "lab"}, {SV: {"$regex": "^V1", "$options": "i"}}],
         "InternetGatewayDevice.DeviceInfo.UpTime": {"$gt": "1000"}, "_lastInform": {"$gte": "2026-04-30T00:00:00Z"},
         "_deviceId._OUI": {"$in": ["202BC1", "00259E"]}}
DOC = {"_id": "202BC1-BM632w-X1", "_deviceId": {"_OUI": "202BC1"}, "_tags": ["lab"],
       "_lastInform": datetime(2026, 5, 1, tzinfo=UTC),
       "InternetGatewayDevice": {"DeviceInfo": {"SoftwareVersion": {"_value": "V100R001"}, "UpTime": {"_value": 3600}}}}
PRESET = {"weight": 5, "channel": "wifi", "events": {"2 PERIODIC": True}, "schedule": "3600 0 2 * * *", "precondition": QUERY,
          "configurations": [{"type": "provision", "name": "inform", "args": None}],
          "declarations": [{"path": "InternetGatewayDevice.LANDevice.*.WLANConfiguration.*.SSID", "value": "acs"},
                           {"path": "InternetGatewayDevice.DeviceInfo.UpTime", "refresh": 600},
                           {"path": "InternetGatewayDevice.X_Vendor.[Name:a.b.c,Port:80]", "instances": 0}]}


def figures(short: bool) -> dict:
    number, rounds = (300, 2) if short else (5000, 5)
    predicate = compile_query(QUERY)
    assert predicate(DOC)
    return {
        "mongo_filter_per_s": round(calls_per_cpu_second(lambda: device_query(QUERY), number, rounds)),
        "compile_precondition_per_s": round(calls_per_cpu_second(lambda: compile_query(QUERY), number, rounds)),
        "evaluate_precondition_per_s": round(calls_per_cpu_second(lambda: predicate(DOC), number * 10, rounds)),
        "validate_preset_per_s": round(calls_per_cpu_second(lambda: validate_preset("p", PRESET), number, rounds)),
    }


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--short", action="store_true")
    print(json.dumps(figures(ap.parse_args().short), indent=1))
