"""The telemetry service's settings against docs/configuration.md: every variable its section documents is a
settings field, and a value of the wrong type stops the service with the variable's name."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args, get_origin

import pytest
from pydantic import BaseModel

from acs_contracts.settings import documented
from telemetry.config import Settings

DOC = Path(__file__).resolve().parents[3] / "docs" / "configuration.md"
SECTION = "telemetry"


def _documented() -> set[str]:
    return documented(DOC.read_text(), SECTION)


def _scalar(var: str) -> bool:
    """Whether the variable's field is a number, a switch or an enumeration (text is never wrong)."""
    model: type[BaseModel] = Settings
    *outer, name = Settings.variables()[var].split(".")
    for part in outer:
        model = next(t for t in (model.model_fields[part].annotation, *get_args(model.model_fields[part].annotation))
                     if isinstance(t, type) and issubclass(t, BaseModel))
    t = model.model_fields[name].annotation
    return t in (int, float, bool) or get_origin(t) is Literal or (int in get_args(t))


def test_every_documented_variable_is_a_field():
    assert _documented(), "the section lists no variables"
    assert sorted(_documented() - Settings.variables().keys()) == []


@pytest.mark.parametrize("var", sorted(v for v in _documented() if _scalar(v)))
def test_a_bad_value_names_its_variable(var: str):
    with pytest.raises(ValueError, match=var):
        Settings.from_env({var: "not-a-value"})


def test_switches_and_the_shared_kafka_settings():
    s = Settings.from_env({"TELEMETRY_COLLECTOR": "off", "TELEMETRY_WRITER": "1", "ACS_KAFKA_BOOTSTRAP": "k:9092",
                           "ACS_KAFKA_IDEMPOTENCE": "off", "ACS_KAFKA_SASL_PASSWORD": "s3cr3t", "TELEMETRY_BULKDATA_SECRET": "bd-s3cr3t"})
    assert (s.collector, s.writer) == (False, True)
    assert s.kafka is not None and (s.kafka.bootstrap, s.kafka.idempotence) == ("k:9092", False)
    assert "s3cr3t" not in repr(s)
