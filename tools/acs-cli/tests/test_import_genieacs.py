"""``acs import-genieacs`` into a real SecantusDB (MongoDB protocol): from mongoexport files and
from a live GenieACS database, device ids, tags, values and timestamps intact."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from gridfs import GridFSBucket
from pymongo import MongoClient
from typer.testing import CliRunner

from acs_cli.main import app
from acs_contracts.cpe_secrets import ENV, Secrets, keys_from_env, new_key
from acs_devstack.servers import mongo_server, mongo_uri, new_workdir

DEVICE_ID = "202BC1-BM632w-8KA8WA1151100043"
T1 = "2024-05-01T10:00:00.000Z"
T2 = "2024-05-02T11:30:00.000Z"


def ext_date(text: str) -> dict[str, str]:
    return {"$date": text}


# A device as GenieACS 1.2 stores it (nested parameters with attributes), in mongoexport's relaxed Extended JSON
GENIEACS_DEVICE = {
    "_id": DEVICE_ID,
    "_deviceId": {"_Manufacturer": "ADB", "_OUI": "202BC1", "_ProductClass": "BM632w", "_SerialNumber": "8KA8WA1151100043"},
    "_registered": ext_date(T1), "_lastInform": ext_date(T2), "_lastBoot": ext_date(T1),
    "_tags": ["lab", "fiber"],
    "InternetGatewayDevice": {
        "_object": True, "_writable": False, "_timestamp": ext_date(T1),
        "DeviceInfo": {
            "_object": True, "_writable": False, "_timestamp": ext_date(T1),
            "SoftwareVersion": {"_value": "V1.2", "_type": "xsd:string", "_timestamp": ext_date(T2),
                                "_object": False, "_writable": False},
            "UpTime": {"_value": 3600, "_type": "xsd:unsignedInt", "_timestamp": ext_date(T2), "_object": False,
                       "_writable": False},
        },
        "ManagementServer": {
            "_object": True, "_writable": False,
            "ConnectionRequestUsername": {"_value": "cr-user", "_type": "xsd:string", "_timestamp": ext_date(T1),
                                          "_writable": True, "_object": False},
            "ConnectionRequestPassword": {"_value": "cr-secret", "_type": "xsd:string", "_timestamp": ext_date(T1),
                                          "_writable": True, "_object": False},
            "PeriodicInformTime": {"_value": ext_date("2024-01-01T00:00:00.000Z"), "_type": "xsd:dateTime",
                                   "_timestamp": ext_date(T1), "_writable": True, "_object": False},
        },
    },
}
PRESETS = [
    {"_id": "inform", "channel": "inform", "weight": 0, "events": {"1 BOOT": True}, "precondition": "",
     "configurations": [{"type": "provision", "name": "inform", "args": None}]},
    {"_id": "odd", "channel": "odd", "weight": 0, "events": {}, "precondition": "Tags.lab IS NOT NULL AND (",
     "configurations": []},
]
PROVISIONS = [{"_id": "inform", "script": 'declare("DeviceID.ID", {value: 1});\n'},
              {"_id": "broken", "script": "const = 1"}]
VIRTUAL = [{"_id": "WanIp", "script": "return {writable: false, value: ['1.2.3.4', 'xsd:string']};"}]
FAULTS = [{"_id": f"{DEVICE_ID}:default", "device": DEVICE_ID, "channel": "default", "timestamp": ext_date(T2),
           "code": "script.TypeError", "message": "x is undefined", "detail": {"name": "TypeError"}, "retries": 2}]
TASKS = [{"_id": {"$oid": "66321a2b9c1e4f0001a1b2c3"}, "device": DEVICE_ID, "name": "getParameterValues",
          "parameterNames": ["InternetGatewayDevice.DeviceInfo.UpTime"], "timestamp": ext_date(T2)}]


@pytest.fixture(scope="module")
def mongo() -> Iterator[str]:
    if shutil.which("secantusd-py") is None and not (Path(__import__("sys").executable).with_name("secantusd-py")).exists():
        pytest.skip("secantusd-py (SecantusDB) is not installed")
    srv = mongo_server(new_workdir("acs-import-")).start()
    try:
        yield mongo_uri(srv.port)
    finally:
        srv.stop()


def export(folder: Path, name: str, docs: list[dict], array: bool = False) -> None:
    text = json.dumps(docs) if array else "".join(json.dumps(d) + "\n" for d in docs)
    (folder / f"{name}.json").write_text(text)


def invoke(*args: str):
    return CliRunner().invoke(app, ["import-genieacs", *args])


def check_device(db) -> None:
    dev = db.devices.find_one({"_id": DEVICE_ID})
    assert dev["_tags"] == ["lab", "fiber"]
    assert dev["_deviceId"]["_SerialNumber"] == "8KA8WA1151100043"
    sw = dev["InternetGatewayDevice"]["DeviceInfo"]["SoftwareVersion"]
    assert sw["_value"] == "V1.2" and sw["_type"] == "xsd:string"
    assert sw["_timestamp"].replace(tzinfo=UTC) == datetime(2024, 5, 2, 11, 30, tzinfo=UTC)
    assert dev["InternetGatewayDevice"]["DeviceInfo"]["UpTime"]["_value"] == 3600
    ms = dev["InternetGatewayDevice"]["ManagementServer"]
    assert ms["PeriodicInformTime"]["_value"].replace(tzinfo=UTC) == datetime(2024, 1, 1, tzinfo=UTC)
    assert "_value" not in ms["ConnectionRequestPassword"]  # secrets stay out of device documents
    cr = db.credentials.find_one({"_id": DEVICE_ID})["connectionRequest"]
    assert cr["username"] == "cr-user" and Secrets(keys_from_env()).open(cr["password"]) == "cr-secret"
    assert db.last_informs.find_one({"_id": DEVICE_ID})["_lastInform"].replace(tzinfo=UTC) == datetime(2024, 5, 2, 11, 30, tzinfo=UTC)


def test_import_encrypts_connection_request_passwords_when_a_key_is_set(mongo, tmp_path, monkeypatch):
    key = new_key()
    monkeypatch.setenv(ENV, key)
    export(tmp_path, "devices", [GENIEACS_DEVICE])
    r = invoke(str(tmp_path), "--mongodb-uri", mongo, "--database", "acs_sealed", "--only", "devices")
    assert r.exit_code == 0, r.output
    with MongoClient(mongo, tz_aware=True) as client:
        stored = client.acs_sealed.credentials.find_one({"_id": DEVICE_ID})
    assert "cr-secret" not in json.dumps(stored, default=str)
    assert set(stored["connectionRequest"]["password"]) == {"enc"}
    assert Secrets([key]).open(stored["connectionRequest"]["password"]) == "cr-secret"


def test_import_from_mongoexport_files(mongo, tmp_path):
    export(tmp_path, "devices", [GENIEACS_DEVICE])
    export(tmp_path, "presets", PRESETS, array=True)  # mongoexport --jsonArray
    export(tmp_path, "provisions", PROVISIONS)
    export(tmp_path, "virtualParameters", VIRTUAL)
    export(tmp_path, "faults", FAULTS)
    export(tmp_path, "tasks", TASKS)
    export(tmp_path, "fs.files", [{"_id": "fw-1.bin", "filename": "fw-1.bin", "length": 6, "chunkSize": 261120,
                                   "uploadDate": ext_date(T1),
                                   "metadata": {"fileType": "1 Firmware Upgrade Image", "oui": "202BC1", "version": "1.2"}}])
    export(tmp_path, "fs.chunks", [{"_id": {"$oid": "66321a2b9c1e4f0001a1b2c4"}, "files_id": "fw-1.bin", "n": 0,
                                    "data": {"$binary": {"base64": "ZmlybXdy", "subType": "00"}}}])
    r = invoke(str(tmp_path), "--mongodb-uri", mongo, "--database", "acs_files", "--json")
    assert r.exit_code == 1, r.output  # one provision does not compile: reported, the rest imported
    report = json.loads(r.stdout)
    assert report["devices"]["imported"] == 1 and report["presets"]["imported"] == 2
    assert report["provisions"]["imported"] == 1 and report["provisions"]["skipped"][0].startswith("broken: ")
    assert "odd: imported, but the scheduler skips it" in report["presets"]["warnings"][0]
    with MongoClient(mongo, tz_aware=True) as client:
        db = client.acs_files
        check_device(db)
        assert db.presets.find_one({"_id": "inform"})["configurations"][0]["name"] == "inform"
        assert db.provisions.find_one({"_id": "inform"})["script"] == PROVISIONS[0]["script"]
        assert db.provisions.find_one({"_id": "broken"}) is None
        assert db.virtualParameters.find_one({"_id": "WanIp"})["script"] == VIRTUAL[0]["script"]
        assert db.faults.find_one({"_id": f"{DEVICE_ID}:default"})["code"] == "script.TypeError"
        task = db.tasks.find_one({"device": DEVICE_ID})
        assert task["status"] == "pending" and task["parameterNames"] == ["InternetGatewayDevice.DeviceInfo.UpTime"]
        bucket = GridFSBucket(db, bucket_name="fs")
        f = db["fs.files"].find_one({"filename": "fw-1.bin"})
        assert bucket.open_download_stream(f["_id"]).read() == b"firmwr"
        assert f["metadata"]["fileType"] == "1 Firmware Upgrade Image" and f["metadata"]["md5"]
    # importing again replaces, never duplicates
    assert invoke(str(tmp_path), "--mongodb-uri", mongo, "--database", "acs_files", "--only", "devices,files").exit_code == 0
    with MongoClient(mongo, tz_aware=True) as client:
        assert client.acs_files.devices.count_documents({}) == 1
        assert client.acs_files["fs.files"].count_documents({"filename": "fw-1.bin"}) == 1


def test_import_from_a_live_genieacs_database(mongo):
    with MongoClient(mongo, tz_aware=True) as client:
        src = client.genieacs_live
        from bson import json_util

        src.devices.insert_one(json_util.loads(json.dumps(GENIEACS_DEVICE)))
        src.provisions.insert_many([dict(p) for p in PROVISIONS[:1]])
        src.presets.insert_many([dict(p) for p in PRESETS[:1]])
        GridFSBucket(src, bucket_name="fs").upload_from_stream_with_id("cfg.xml", "cfg.xml", b"<config/>",
                                                                       metadata={"fileType": "3 Vendor Configuration File"})
    r = invoke(mongo.replace("/?", "/genieacs_live?"), "--mongodb-uri", mongo, "--database", "acs_live")
    assert r.exit_code == 0, r.output
    with MongoClient(mongo, tz_aware=True) as client:
        db = client.acs_live
        check_device(db)
        assert db.provisions.count_documents({}) == 1 and db.presets.count_documents({}) == 1
        f = db["fs.files"].find_one({"filename": "cfg.xml"})
        assert GridFSBucket(db, bucket_name="fs").open_download_stream(f["_id"]).read() == b"<config/>"


def test_dry_run_writes_nothing_and_bad_input_is_a_clear_error(mongo, tmp_path):
    export(tmp_path, "devices", [GENIEACS_DEVICE])
    r = invoke(str(tmp_path), "--mongodb-uri", mongo, "--database", "acs_dry", "--dry-run", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["devices"]["imported"] == 1
    with MongoClient(mongo) as client:
        assert client.acs_dry.devices.count_documents({}) == 0
    (tmp_path / "faults.json").write_text("{not json\n")
    r = invoke(str(tmp_path), "--mongodb-uri", mongo, "--database", "acs_dry", "--only", "faults")
    assert r.exit_code == 2 and "faults.json line 1" in r.output
    r = invoke(str(tmp_path / "nowhere"), "--mongodb-uri", mongo)
    assert r.exit_code == 2
    r = invoke(str(tmp_path), "--mongodb-uri", mongo, "--only", "sessions")
    assert r.exit_code == 2 and "unknown sessions" in r.output
