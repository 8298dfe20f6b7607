"""Provision function ``bulkdata_profile``: a CPE's TR-232 Bulk Data profile from a preset.

Copy (or link) this file into SCHEDULER_PROVISIONS_DIR; the scheduler needs the collector's
TELEMETRY_BULKDATA_SECRET in its environment to give each device its own report password (the
collector checks it; see services/telemetry/src/telemetry/auth.py, which this mirrors). Preset:

    {"events": {"2 PERIODIC": true}, ...
     "configurations": [{"type": "provision", "name": "bulkdata_profile", "args": [{
        "url": "http://acs.example:7570/bulkdata", "interval": 900, "encoding": "JSON",
        "format": "NameValuePair", "compression": "GZIP", "profile": 1,
        "parameters": ["Device.DeviceInfo.ProcessStatus.CPUUsage", "Device.WiFi.Radio.*.Stats.ErrorsSent"]}]}]}

Works on both roots (``Device.BulkData`` on TR-181, ``InternetGatewayDevice.BulkData`` on TR-098;
``parameters`` are given as the device names them). The password is set (never stored in the
device document) in BOOTSTRAP and BOOT sessions only, so periodic sessions cost nothing once the
profile is in place.
"""

import hashlib
import hmac
import os

_ENCODINGS = {"JSON": ("JSONEncoding", "NameValuePair"), "CSV": ("CSVEncoding", "ParameterPerRow")}


def _password(device_id):
    secret = os.environ.get("TELEMETRY_BULKDATA_SECRET", "").encode()
    return hmac.new(secret, b"bulkdata:" + device_id.encode(), hashlib.sha256).hexdigest()[:32]


def provision(device, args):
    spec = args[0] if args and isinstance(args[0], dict) else {}
    if not spec.get("url"):
        raise ValueError("bulkdata_profile needs args [{\"url\": ..., \"parameters\": [...]}]")
    root = "Device" if device.exists("Device") else "InternetGatewayDevice"
    profile = f"{root}.BulkData.Profile.{int(spec.get('profile', 1))}"
    if not device.exists(profile):
        return []  # no Bulk Data on this device: sample with refresh declarations instead
    encoding = str(spec.get("encoding", "JSON")).upper()
    node, default_format = _ENCODINGS.get(encoding, _ENCODINGS["JSON"])
    params = list(spec.get("parameters") or [])
    decls = [
        {"path": f"{root}.BulkData.Enable", "value": True},
        {"path": f"{profile}.Protocol", "value": "HTTP"},
        {"path": f"{profile}.EncodingType", "value": encoding},
        {"path": f"{profile}.ReportingInterval", "value": int(spec.get("interval", 900))},
        {"path": f"{profile}.{node}.ReportFormat", "value": str(spec.get("format") or default_format)},
        {"path": f"{profile}.HTTP.URL", "value": spec["url"]},
        {"path": f"{profile}.HTTP.Username", "value": device.id},
        {"path": f"{profile}.HTTP.Compression", "value": str(spec.get("compression", "None"))},
    ]
    # one Parameter instance per reference, found (or added) by its Reference
    decls += [{"path": f"{profile}.Parameter.[Reference:{ref}]", "instances": 1} for ref in params]
    if {"0 BOOTSTRAP", "1 BOOT"} & set(device.event_codes):
        decls.append({"path": f"{profile}.HTTP.Password", "value": _password(device.id), "secret": True})
    decls.append({"path": f"{profile}.Enable", "value": True})
    return decls
