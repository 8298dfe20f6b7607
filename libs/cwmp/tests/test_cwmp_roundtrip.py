"""Property tests: build -> parse and message_to_dict -> message_from_dict give back every message."""

from __future__ import annotations

import orjson
import pytest
from cwmp_strategies import for_class, messages, text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cwmp import messages as m
from cwmp import soap, versions
from cwmp.serialize import message_from_dict, message_to_dict

ALL = sorted(m.MESSAGE_TYPES.values(), key=lambda c: c.RPC)
QUICK = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("cls", ALL, ids=[c.RPC for c in ALL])
def test_build_parse_round_trip(cls: type[m.Message]) -> None:
    @QUICK
    @given(message=for_class(cls), envelope_id=st.none() | text, hold=st.none() | st.booleans())
    def check(message: m.Message, envelope_id: str | None, hold: bool | None) -> None:
        data = soap.build_message(message, id=envelope_id, cwmp_ns=versions.CWMP_1_2, hold_requests=hold)
        env = soap.parse(data)
        assert env is not None
        assert env.body == message
        assert type(env.body) is cls
        assert (env.id, env.hold_requests, env.cwmp_ns) == (envelope_id, hold, versions.CWMP_1_2)
        assert "warnings" not in env.extra

    check()


@pytest.mark.parametrize("cls", ALL, ids=[c.RPC for c in ALL])
def test_dict_round_trip_is_exact_and_json_safe(cls: type[m.Message]) -> None:
    @QUICK
    @given(message=for_class(cls))
    def check(message: m.Message) -> None:
        d = message_to_dict(message)
        assert d["rpc"] == cls.RPC
        wire = orjson.dumps(d)  # raises on anything not JSON-native
        back = message_from_dict(orjson.loads(wire))
        assert back == message and type(back) is cls

    check()


@settings(max_examples=60, deadline=None)
@given(message=messages)
def test_any_message_in_any_version_that_has_it(message: m.Message) -> None:
    for version in versions.VERSIONS:
        if not versions.rpc_available(message.RPC, version):
            continue
        env = soap.parse(soap.build_message(message, cwmp_ns=versions.namespace_for(version)))
        assert env is not None and env.body == message
