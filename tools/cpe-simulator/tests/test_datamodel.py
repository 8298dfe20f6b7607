"""Every shared device dump loads into a tree with the dump's types, writability and identity."""

from __future__ import annotations

import csv
from datetime import datetime

import pytest
from cpesim_paths import ALL_CSVS, IGD_CSV, TR181_CSV, needs_shared

from cpe_simulator.datamodel import DataModel
from cpe_simulator.device import Device
from cwmp import messages as m
from cwmp.values import decode_value

pytestmark = needs_shared  # every test here reads the shared dumps (the built-in model: test_default_model.py)

_CANONICAL = {
    "xsd:string": "xsd:string",
    "xsd:int": "xsd:int",
    "xsd:unsignedint": "xsd:unsignedInt",
    "xsd:unsignedlong": "xsd:unsignedLong",
    "xsd:boolean": "xsd:boolean",
    "xsd:datetime": "xsd:dateTime",
    "xsd:base64": "xsd:base64",
    "": "xsd:string",
}


def _rows(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_the_shared_dumps_are_there():
    assert len(ALL_CSVS) >= 18
    headers = {tuple(_rows(p)[0].keys())[:3] for p in ALL_CSVS}
    assert ("Parameter", "Object", "Writable") in headers  # 5-column format
    assert ("Parameter", "Object", "Object timestamp") in headers  # 12-column format


def _assert_identity_from_device_id_rows(model, rows):
    ident = {r["Parameter"].split(".", 1)[1]: r["Value"] for r in rows if r["Parameter"].startswith("DeviceID.")}
    assert model.identity.oui == ident["OUI"]
    assert model.identity.product_class == ident["ProductClass"]
    assert model.identity.serial_number == ident["SerialNumber"]


def _assert_parameter_value(node, r):
    name = r["Parameter"]
    assert node.type == _CANONICAL[r["Value type"].lower()], name
    if node.value != r["Value"]:  # only values that do not fit their type are replaced
        assert decode_value(r["Value"], node.type)[0] == r["Value"].strip(), name
        assert not isinstance(decode_value(node.value, node.type)[0], str), name


def _assert_row_is_a_node(model, r):
    name = r["Parameter"]
    is_object = r["Object"] == "true"
    node = model.node(name + "." if is_object else name)
    assert node is not None, name
    assert node.is_object is is_object
    assert node.writable is (r["Writable"] == "true"), name
    if not is_object:
        _assert_parameter_value(node, r)


def _assert_parents_list_their_children(model):
    for p in model.nodes:
        parent = p[: p.rstrip(".").rfind(".") + 1]
        if parent:
            assert p in model.children[parent]


@pytest.mark.parametrize("path", ALL_CSVS, ids=lambda p: f"{p.parent.name}/{p.name[:40]}")
def test_every_row_becomes_a_node(path):
    model = DataModel.load(path)
    assert model.root in ("InternetGatewayDevice.", "Device.")
    rows = _rows(path)
    _assert_identity_from_device_id_rows(model, rows)
    checked = 0
    for r in rows:
        if r["Parameter"].split(".", 1)[0] in ("DeviceID", "Events"):
            continue
        _assert_row_is_a_node(model, r)
        checked += 1
    assert checked > 500
    _assert_parents_list_their_children(model)  # parents always exist and list their children


@pytest.mark.parametrize("path", [IGD_CSV, TR181_CSV], ids=["tr098-5col", "tr181-12col"])
def test_values_come_back_typed(path):
    model = DataModel.load(path)
    device = Device(model, serial="T1")
    response = device.handle(m.GetParameterValues([model.root]))
    by_type: dict[str, set[type]] = {}
    for pvs in response.parameter_list:
        by_type.setdefault(pvs.type, set()).add(type(pvs.value))
    assert by_type["xsd:unsignedInt"] == {int}
    assert by_type["xsd:boolean"] == {bool}
    assert by_type["xsd:string"] == {str}
    assert by_type.get("xsd:dateTime", {datetime}) == {datetime}
    interval = device.value(model.root + "ManagementServer.PeriodicInformInterval")
    assert interval.type == "xsd:unsignedInt" and isinstance(interval.value, int)


def test_nokia_lower_case_type_is_normalised():
    path = next(p for p in ALL_CSVS if "9075BC" in p.name)
    model = DataModel.load(path)
    quirky = [r["Parameter"] for r in _rows(path) if r["Value type"] == "xsd:unsignedint"]
    assert quirky and all(model.node(p).type == "xsd:unsignedInt" for p in quirky)


def test_many_devices_share_one_template(igd_model):
    devices = [Device(igd_model, serial=f"S{i}") for i in range(50)]
    assert all(d.tree.model is igd_model for d in devices)
    assert all(not d.tree.values and not d.tree.added and not d.tree.deleted for d in devices)
    assert devices[7].text(igd_model.root + "DeviceInfo.ModelName") == "BM632w"
