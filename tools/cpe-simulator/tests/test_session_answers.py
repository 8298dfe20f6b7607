"""How a simulated CPE's session takes the ACS's answers to its own messages, over real HTTP:
a faulted Inform fails the session, an Inform answer with a foreign cwmp:ID ends it as a protocol
error, and a TransferComplete faulted with 8005 (Retry Request) is sent again next session while
any other fault drops it for good."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from cpe_simulator import SimulatedCpe
from cwmp import messages as m
from cwmp import soap
from cwmp.session import AcsSession, CpeRequestReceived, InformReceived
from cwmp.session_rules import acs_fault

pytestmark = pytest.mark.timeout(60)


class ScriptedAcs:
    """An ACS on 127.0.0.1 (aiohttp and cwmp's AcsSession), one CWMP session at a time, whose
    answers to the CPE's Inform and requests each test chooses."""

    def __init__(self) -> None:
        self.inform_fault: int | None = None  # answer the Inform with this ACS fault
        self.inform_answer_id: str | None = None  # answer the Inform under this cwmp:ID instead of its own
        self.cpe_request_faults: list[int] = []  # answer the CPE's next requests with these faults
        self.acs_requests: list[m.Message] = []  # send these in the ACS's turn
        self.informs: list[m.Inform] = []
        self.cpe_requests: list[m.Message] = []
        self.session: AcsSession | None = None
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/acs"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/acs", self._cwmp)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _cwmp(self, request: web.Request) -> web.Response:
        body = await request.read()
        envelope = soap.parse(body) if body.strip() else None
        if envelope is not None and isinstance(envelope.body, m.Inform):
            self.session = AcsSession()
        session = self.session
        assert session is not None, "a POST before any Inform"
        event = session.receive(envelope)
        if isinstance(event, InformReceived):
            self.informs.append(event.inform)
            if self.inform_fault is not None:
                return _xml(session.respond(acs_fault(self.inform_fault)))
            reply = session.respond(session.inform_response())
            if self.inform_answer_id is not None:
                reply.id = self.inform_answer_id
            return _xml(reply)
        if isinstance(event, CpeRequestReceived):
            self.cpe_requests.append(event.message)
            if self.cpe_request_faults:
                return _xml(session.respond(acs_fault(self.cpe_request_faults.pop(0))))
            return _xml(session.respond(m.MESSAGE_TYPES[event.message.RPC + "Response"]()))
        if self.acs_requests:
            return _xml(session.send_request(self.acs_requests.pop(0)))
        session.end()
        return web.Response(status=204)


def _xml(envelope: m.Envelope) -> web.Response:
    return web.Response(body=soap.build(envelope), content_type="text/xml")


@pytest.fixture
async def acs() -> AsyncIterator[ScriptedAcs]:
    server = ScriptedAcs()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def cpe(default_model, acs) -> AsyncIterator[SimulatedCpe]:
    device = SimulatedCpe(default_model, acs_url=acs.url, serial="ANSWERS01", boot_delay_s=0.0, periodic_interval=3600)
    yield device
    await device.stop()


async def test_a_faulted_inform_fails_the_session(acs, cpe):
    acs.inform_fault = 8002
    report = await cpe.run_session()
    assert not report.ok
    assert report.acs_faults == [8002]
    assert report.error == "acs fault: 8002"
    assert report.http_status == 200
    assert cpe.retry_count == 1

    acs.inform_fault = None
    again = await cpe.run_session()
    assert again.ok and again.error is None and cpe.retry_count == 0
    assert len(acs.informs) == 2


async def test_an_inform_answer_under_a_foreign_id_ends_the_session(acs, cpe):
    acs.inform_answer_id = "not-the-informs-id"
    report = await cpe.run_session()
    assert not report.ok
    assert report.error.startswith("protocol: ") and "not-the-informs-id" in report.error
    assert cpe.retry_count == 1


async def test_a_transfer_complete_is_resent_only_after_8005(acs, cpe):
    # A download from a URL nothing serves: the CPE reports it failed in a TransferComplete.
    acs.acs_requests = [m.Download("dl-1", "3 Vendor Configuration File", f"http://127.0.0.1:{acs.port}/files/missing.xml")]
    first = await cpe.run_session()
    assert first.ok and first.rpcs == ["Download"]
    await cpe.wait_idle()
    assert [type(r) for r in cpe.device.requests] == [m.TransferComplete]

    acs.cpe_request_faults = [8005]  # Retry Request: the CPE keeps it for its next session
    retried = await cpe.run_session()
    assert retried.ok and retried.acs_faults == [8005]
    assert [r.command_key for r in acs.cpe_requests] == ["dl-1"]
    assert [type(r) for r in cpe.device.requests] == [m.TransferComplete]

    acs.cpe_request_faults = [8002]  # any other fault: refused for good, not sent again
    refused = await cpe.run_session()
    assert refused.ok and refused.acs_faults == [8002]
    assert [r.command_key for r in acs.cpe_requests] == ["dl-1", "dl-1"]
    assert cpe.device.requests == []

    after = await cpe.run_session()
    assert after.ok and after.acs_faults == []
    assert len(acs.cpe_requests) == 2
