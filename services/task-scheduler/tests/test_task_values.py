"""setParameterValues tasks: the JSON values the NBI accepts become values the codec can send."""

from __future__ import annotations

import pytest

from cwmp import messages as m
from cwmp import soap
from task_scheduler.tasks import _coerce


@pytest.mark.parametrize(("value", "xsd_type", "expected"), [
    (5.0, "xsd:unsignedInt", 5),       # a whole JSON number for an integer type (the NBI takes it)
    (-3.0, "xsd:int", -3),
    (1.0, "xsd:boolean", True),
    (0.0, "xsd:boolean", False),
    (True, "xsd:boolean", True),
    ("42", "xsd:unsignedInt", 42),
    (5.0, "xsd:string", "5.0"),        # text stays the text JSON gave
    (2.5, "xsd:string", "2.5"),
])
def test_task_values_become_typed_values(value, xsd_type, expected):
    got = _coerce(value, xsd_type)
    assert got == expected and type(got) is type(expected)
    # and the codec can put it on the wire
    spv = m.SetParameterValues(parameter_list=[m.ParameterValueStruct(name="Device.X", value=got, type=xsd_type)],
                               parameter_key="k")
    assert b"Device.X" in soap.build_message(spv, id="1")
