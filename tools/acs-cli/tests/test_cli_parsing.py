"""What the operator types: values with types, rate limits, durations, queries, sorts, tokens;
and how an NBI answer is classified, errors shown and exit codes chosen (no server needed)."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from typer.testing import CliRunner

from acs_cli.bulk import FAULT, OFFLINE, OK, QUEUED, TIMEOUT, RateLimiter, classify, fault_text
from acs_cli.client import Endpoint, NbiError, error_of
from acs_cli.main import app
from acs_cli.parsing import (
    ParameterValue,
    UsageError,
    check_path,
    parse_assignment,
    parse_duration,
    parse_query,
    parse_rate,
    parse_sort,
    read_token_file,
)

SSID = "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.SSID"
PII = "InternetGatewayDevice.ManagementServer.PeriodicInformInterval"


# --- values -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    (f"{SSID}=home", ParameterValue(SSID, "home", None)),
    (f"{SSID}=", ParameterValue(SSID, "", None)),
    (f"{SSID}=a=b", ParameterValue(SSID, "a=b", None)),
    (f"{PII}=600", ParameterValue(PII, "600", None)),  # untyped: text, the device's type applies
    (f"{PII}=600:xsd:unsignedInt", ParameterValue(PII, 600, "xsd:unsignedInt")),
    (f"{PII}=600:XSD:UNSIGNEDINT", ParameterValue(PII, 600, "xsd:unsignedInt")),
    ("A.B=-5:xsd:int", ParameterValue("A.B", -5, "xsd:int")),
    ("A.Enable=true:xsd:boolean", ParameterValue("A.Enable", True, "xsd:boolean")),
    ("A.Enable=0:xsd:boolean", ParameterValue("A.Enable", False, "xsd:boolean")),
    ("A.Url=http://acs.example:7547/x:xsd:string", ParameterValue("A.Url", "http://acs.example:7547/x", "xsd:string")),
    ("A.Url=http://acs.example:7547/x", ParameterValue("A.Url", "http://acs.example:7547/x", None)),
    ("A.Text=ends with:xsd:string:xsd:string", ParameterValue("A.Text", "ends with:xsd:string", "xsd:string")),
    ("A.When=2025-01-31T12:00:00Z:xsd:dateTime", ParameterValue("A.When", "2025-01-31T12:00:00Z", "xsd:dateTime")),
    ("A.Ratio=0.5:xsd:double", ParameterValue("A.Ratio", 0.5, "xsd:double")),
    ("A.1.B=x", ParameterValue("A.1.B", "x", None)),
])
def test_assignments(text, expected):
    got = parse_assignment(text)
    assert got == expected
    assert type(got.value) is type(expected.value)


def test_assignment_as_nbi_takes_genieacs_shape():
    assert parse_assignment(f"{PII}=60:xsd:unsignedInt").as_nbi() == [PII, 60, "xsd:unsignedInt"]
    assert parse_assignment(f"{SSID}=x").as_nbi() == [SSID, "x"]


@pytest.mark.parametrize("text, message", [
    ("no-equals", "expected Path=value"),
    ("=value", "expected Path=value"),
    ("A..B=1", "not a parameter path"),
    ("A.B.=1", "not a parameter path"),
    ("A.B=x:xsd:nonsense", "unknown type xsd:nonsense"),
    ("A.B=abc:xsd:unsignedInt", "not an integer"),
    ("A.B=-1:xsd:unsignedInt", "outside xsd:unsignedInt"),
    ("A.B=300:xsd:unsignedByte", "outside xsd:unsignedByte"),
    ("A.B=maybe:xsd:boolean", "not a boolean"),
    ("A.B=yesterday:xsd:dateTime", "not a dateTime"),
    ("A.B=2025-13-01T12:00:00Z:xsd:dateTime", "not a dateTime"),  # no month 13: cwmp.values' rule
    ("A.B=zz:xsd:hexBinary", "not hexBinary"),
    ("A.B=abc:xsd:hexBinary", "not hexBinary"),
    ("A.B=١٢:xsd:int", "not an integer"),  # ASCII digits only, as the codec writes them
])
def test_bad_assignments(text, message):
    with pytest.raises(UsageError, match=message):
        parse_assignment(text)


def test_paths():
    assert check_path("InternetGatewayDevice.") == "InternetGatewayDevice."
    assert check_path("Device.WiFi.SSID.1.SSID") == "Device.WiFi.SSID.1.SSID"
    for bad in ("", ".", "A B", "A.$x", "A..B"):
        with pytest.raises(UsageError):
            check_path(bad)


# --- rates and durations -------------------------------------------------------------------------

@pytest.mark.parametrize("text, per_s", [
    ("50/s", 50.0), ("50", 50.0), ("3000/min", 50.0), ("120/m", 2.0), ("36/h", 0.01), ("0.5/s", 0.5),
    (" 10 / second ", 10.0), ("unlimited", None), ("none", None), ("0", None), (None, None),
])
def test_rates(text, per_s):
    if per_s is None:
        assert parse_rate(text) is None
    else:
        assert parse_rate(text) == pytest.approx(per_s)


@pytest.mark.parametrize("text", ["fast", "50/d", "-3/s", "1e3/s", "/s"])
def test_bad_rates(text):
    with pytest.raises(UsageError, match="rate"):
        parse_rate(text)


@pytest.mark.parametrize("text, seconds", [("30s", 30), ("1500ms", 1.5), ("2m", 120), ("45", 45), ("1h", 3600), ("0.5s", 0.5)])
def test_durations(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


def test_bad_duration():
    with pytest.raises(UsageError):
        parse_duration("soon")


async def test_rate_limiter_spaces_starts():
    limiter = RateLimiter(100.0)  # 10 ms apart
    started = time.monotonic()
    stamps = []
    for _ in range(6):
        await limiter.acquire()
        stamps.append(time.monotonic() - started)
    assert stamps[-1] >= 0.045  # 5 gaps of 10 ms
    unlimited = RateLimiter(None)
    t0 = time.monotonic()
    await asyncio.gather(*(unlimited.acquire() for _ in range(100)))
    assert time.monotonic() - t0 < 0.05


async def test_rate_limiter_is_shared_by_concurrent_workers():
    limiter = RateLimiter(200.0)  # 5 ms apart, whichever worker asks
    started = time.monotonic()
    stamps: list[float] = []

    async def worker():
        for _ in range(5):
            await limiter.acquire()
            stamps.append(time.monotonic() - started)

    await asyncio.gather(*(worker() for _ in range(4)))
    assert len(stamps) == 20 and max(stamps) >= 19 * 0.005 * 0.9


# --- queries and sorts ------------------------------------------------------------------------------

@pytest.mark.parametrize("text, query", [
    (None, None),
    ("  ", None),
    ("{}", {}),
    ('{"_tags": "lab"}', {"_tags": "lab"}),
    ('{"$or": [{"_tags": "a"}, {"_tags": "b"}]}', {"$or": [{"_tags": "a"}, {"_tags": "b"}]}),
    ("_tags=lab", {"_tags": "lab"}),
    ("_deviceId._SerialNumber=SIM00000001", {"_deviceId._SerialNumber": "SIM00000001"}),
    (f"{PII}=300", {PII: 300}),
    (f'{PII}="300"', {PII: "300"}),
    (f"{PII}>=60 and {PII}<600", {PII: {"$gte": 60, "$lt": 600}}),
    ("_tags!=old AND _deviceId._ProductClass=HG500", {"_tags": {"$ne": "old"}, "_deviceId._ProductClass": "HG500"}),
    ("_deviceId._SerialNumber=~^SIM0+1$", {"_deviceId._SerialNumber": {"$regex": "^SIM0+1$"}}),
    ("A.Enable=true", {"A.Enable": True}),
    ("A.Expr=x>y", {"A.Expr": "x>y"}),  # the first operator after the field
    ("A.B <= 3", {"A.B": {"$lte": 3}}),
    ("A.Ratio>0.5", {"A.Ratio": {"$gt": 0.5}}),
    ("_lastInform<2025-01-01T00:00:00Z", {"_lastInform": {"$lt": "2025-01-01T00:00:00Z"}}),
])
def test_queries(text, query):
    assert parse_query(text) == query


@pytest.mark.parametrize("text, message", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "expected Path=value"),
    ('["x"]', "expected Path=value"),
    ("just-words", "expected Path=value"),
    ("a b=1", "expected Path=value"),
    ("a..b=1", "not a field path"),
    ("_tags=a and _tags=b", "given twice"),
])
def test_bad_queries(text, message):
    with pytest.raises(UsageError, match=message):
        parse_query(text)


@pytest.mark.parametrize("text, sort", [
    (None, None), ("_id", {"_id": 1}), ("-_lastInform", {"_lastInform": -1}),
    ("_deviceId._SerialNumber,-_lastInform", {"_deviceId._SerialNumber": 1, "_lastInform": -1}),
    ('{"_lastInform": -1}', {"_lastInform": -1}),
])
def test_sorts(text, sort):
    assert parse_sort(text) == sort


@pytest.mark.parametrize("text", ['{"a": 2}', "{bad", "-", "a b"])
def test_bad_sorts(text):
    with pytest.raises(UsageError):
        parse_sort(text)


# --- tokens and endpoints -------------------------------------------------------------------------

@pytest.mark.parametrize("content, token", [
    ("abc123\n", "abc123"),
    ("# admin token of the single-node stack\n\nabc123\n", "abc123"),
    ('{"token": "abc123", "role": "admin"}', "abc123"),
    ("abc123:admin\n", "abc123"),
    ("a:b:c:operator", "a:b:c"),
    ("abc:def", "abc:def"),
])
def test_token_files(tmp_path, content, token):
    f = tmp_path / "token"
    f.write_text(content)
    assert read_token_file(f) == token


@pytest.mark.parametrize("content", ["", "# only a comment\n", '{"role": "admin"}', "{bad json"])
def test_bad_token_files(tmp_path, content):
    f = tmp_path / "token"
    f.write_text(content)
    with pytest.raises(UsageError):
        read_token_file(f)
    with pytest.raises(UsageError, match="token file"):
        read_token_file(tmp_path / "absent")


def test_endpoint_resolution(monkeypatch, tmp_path):
    for name in ("ACS_NBI_URL", "ACS_NBI_TOKEN", "ACS_NBI_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    assert Endpoint.resolve(None, None, None) == Endpoint("http://127.0.0.1:7557", None)
    f = tmp_path / "tok"
    f.write_text("from-file\n")
    monkeypatch.setenv("ACS_NBI_URL", "http://nbi.example:7557/")
    monkeypatch.setenv("ACS_NBI_TOKEN", "from-env")
    e = Endpoint.resolve(None, None, None)
    assert (e.url, e.token) == ("http://nbi.example:7557", "from-env")
    assert Endpoint.resolve(None, None, str(f)).token == "from-file"  # --token-file beats the environment
    assert Endpoint.resolve("https://x", "given", str(f)).token == "given"  # --token beats everything
    monkeypatch.delenv("ACS_NBI_TOKEN")
    monkeypatch.setenv("ACS_NBI_TOKEN_FILE", str(f))
    assert Endpoint.resolve(None, None, None).token == "from-file"
    assert Endpoint.resolve(None, None, None).headers()["Authorization"] == "Bearer from-file"
    with pytest.raises(UsageError, match="http"):
        Endpoint.resolve("nbi:7557", None, None)


# --- NBI answers ------------------------------------------------------------------------------------

def _response(status: int, body, url: str = "http://nbi/devices/D/tasks") -> httpx.Response:
    return httpx.Response(status, content=json.dumps(body).encode(), request=httpx.Request("POST", url))


def test_classification_of_task_answers():
    done = _response(200, {"_id": "t1", "status": "done"})
    assert classify("D", done, 0.1).outcome == OK
    fault = _response(202, {"_id": "t2", "status": "fault", "fault": {
        "code": "cwmp.9003", "message": "Invalid arguments",
        "detail": {"setParameterValuesFault": [["A.B", 9008, "A.B is read-only"]]}}})
    out = classify("D", fault, 0.1)
    assert out.outcome == FAULT and out.task_id == "t2"
    assert out.detail == "cwmp.9003: Invalid arguments (A.B 9008: A.B is read-only)"
    pending = _response(202, {"_id": "t3", "status": "pending", "connectionRequest": {"status": "ok"}})
    assert classify("D", pending, 3.0).outcome == TIMEOUT
    offline = _response(202, {"_id": "t4", "status": "pending",
                              "connectionRequest": {"status": "unreachable", "error": "timeout"}})
    out = classify("D", offline, 5.0)
    assert out.outcome == OFFLINE and out.detail == "connection request unreachable: timeout"
    queued = _response(202, {"_id": "t5", "status": "pending"})
    assert classify("D", queued, 0.0, waited=False).outcome == QUEUED
    refused = _response(400, {"error": "unknown task name 'x'", "detail": None})
    out = classify("D", refused, 0.0)
    assert out.outcome == "error" and "HTTP 400 Bad Request: unknown task name 'x'" in out.detail


def test_fault_text_without_detail():
    assert fault_text({"code": "timeout", "message": "no answer"}) == "timeout: no answer"


def test_nbi_errors_and_exit_codes():
    e = error_of(_response(404, {"error": "no device 'x'", "detail": None}, "http://nbi/devices/x/tasks?timeout=1"))
    assert e.status == 404 and e.exit_code == 3
    assert str(e) == "POST http://nbi/devices/x/tasks: HTTP 404 Not Found: no device 'x'"
    e = error_of(_response(401, {"error": "authentication required", "detail": "send ..."}))
    assert e.exit_code == 4 and "--token" in str(e)
    assert error_of(_response(403, {"error": "forbidden", "detail": "needs role admin"})).exit_code == 4
    assert error_of(_response(503, {"error": "database unavailable", "detail": "x"})).exit_code == 5
    plain = httpx.Response(502, text="Bad gateway from the proxy", request=httpx.Request("GET", "http://nbi/x"))
    assert "Bad gateway from the proxy" in str(error_of(plain))
    assert NbiError(0, "cannot reach").exit_code == 5


# --- the command line itself, without a server ----------------------------------------------------------

runner = CliRunner()


@pytest.fixture
def no_nbi(monkeypatch):
    monkeypatch.setenv("ACS_NBI_URL", "http://127.0.0.1:9")  # nothing listens on the discard port
    monkeypatch.delenv("ACS_NBI_TOKEN", raising=False)
    monkeypatch.delenv("ACS_NBI_TOKEN_FILE", raising=False)


@pytest.mark.parametrize("args, code, message", [
    (["set", "D", "nonsense"], 2, "expected Path=value"),
    (["set", "D", "A.B=x:xsd:bogus"], 2, "unknown type"),
    (["set", "A.B=1"], 2, "at least one Path=value"),  # a lone argument is the device id
    (["reboot"], 2, "give a device id or --query"),
    (["reboot", "D", "--query", "_tags=x"], 2, "not both"),
    (["set", "--query", "_tags=x", "A.B=1", "--rate", "fast"], 2, "rate"),
    (["devices", "ls", "--query", "{bad"], 2, "not valid JSON"),
    (["restore", "--only", "everything", __file__], 2, "--only"),
    (["--token-file", "/nonexistent/token", "devices", "ls"], 2, "token file"),
    (["devices", "ls"], 5, "cannot reach the NBI"),
])
def test_command_line_errors(no_nbi, args, code, message):
    result = runner.invoke(app, args)
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_version_and_help():
    assert runner.invoke(app, ["--version"]).output.startswith("acs ")
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("devices", "get", "set", "reboot", "factory-reset", "download", "tasks", "faults", "presets",
                    "backup", "restore"):
        assert command in result.output
