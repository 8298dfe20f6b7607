"""The gateway's settings against docs/configuration.md: every variable its section documents is a
settings field, and a value of the wrong type stops the service with the variable's name."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args, get_origin

import pytest
from pydantic import BaseModel

from acs_contracts.settings import documented
from session_gateway.config import Settings

DOC = Path(__file__).resolve().parents[3] / "docs" / "configuration.md"
SECTION = "session-gateway"


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


def test_defaults_and_spellings():
    s = Settings.from_env({"GATEWAY_CPE_AUTH": "Digest", "GATEWAY_INFORM_HINT_WAIT_MS": "500", "GATEWAY_REPLY_PORT": "9000"})
    assert (s.cpe_auth, s.inform_hint_wait_s, s.reply_advertise) == ("digest", 0.5, "127.0.0.1:9000")
    assert len(s.secret) == 32 and Settings().secret == b""  # random per process only when read from the environment
    s = Settings.from_env({"GATEWAY_SECRET": "s3cr3t", "GATEWAY_CPE_PASSWORD": "cpe-s3cr3t"})
    assert s.secret == b"s3cr3t" and "s3cr3t" not in repr(s)
