"""A CPE driven step by step by a test: each POST is explicit, so a test can send it to any
gateway, inspect every answer, and stop half-way. Built on the shared CWMP core."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from cwmp import messages as m
from cwmp import soap
from cwmp.events import EventCode

ROOT = "InternetGatewayDevice"


def inform_for(serial: str, events: list[str], *, oui: str = "202BC1", product_class: str = "BM632w",
               params: dict[str, tuple[object, str]] | None = None) -> m.Inform:
    base = {
        f"{ROOT}.DeviceInfo.SoftwareVersion": ("V100R001", "xsd:string"),
        f"{ROOT}.DeviceInfo.HardwareVersion": ("40501", "xsd:string"),
        f"{ROOT}.ManagementServer.ConnectionRequestURL": (f"http://127.0.0.1:1/{serial}", "xsd:string"),
        f"{ROOT}.ManagementServer.ParameterKey": ("", "xsd:string"),
    }
    base.update(params or {})
    return m.Inform(
        device_id=m.DeviceIdStruct("Huawei", oui, product_class, serial),
        events=[m.EventStruct(EventCode(e), "") for e in events],
        max_envelopes=1, retry_count=0,
        parameter_list=[m.ParameterValueStruct(k, v, t) for k, (v, t) in base.items()],
    )


@dataclass
class Answer:
    status: int
    envelope: m.Envelope | None
    headers: httpx.Headers

    @property
    def body(self) -> m.Message | None:
        return self.envelope.body if self.envelope else None


@dataclass
class ScriptedCpe:
    serial: str
    urls: list[str]
    cookies: httpx.Cookies = field(default_factory=httpx.Cookies)
    auth: httpx.Auth | None = None
    cwmp_ns: str = "urn:dslforum-org:cwmp-1-0"
    posts: int = 0

    def _url(self, gateway: int | None) -> str:
        i = self.posts % len(self.urls) if gateway is None else gateway
        return self.urls[i]

    async def post(self, client: httpx.AsyncClient, body: bytes, gateway: int | None = None) -> Answer:
        r = await client.post(self._url(gateway), content=body, cookies=self.cookies, auth=self.auth,
                              headers={"Content-Type": 'text/xml; charset="utf-8"', "SOAPAction": ""})
        self.posts += 1
        self.cookies.update(r.cookies)
        env = soap.parse(r.content) if r.status_code == 200 and r.content else None
        return Answer(r.status_code, env, r.headers)

    async def inform(self, client: httpx.AsyncClient, events: list[str], gateway: int | None = None, **kw) -> Answer:
        self.cookies = httpx.Cookies()
        body = soap.build_message(inform_for(self.serial, events, **kw), id="inform-1", cwmp_ns=self.cwmp_ns)
        return await self.post(client, body, gateway)

    async def empty(self, client: httpx.AsyncClient, gateway: int | None = None) -> Answer:
        return await self.post(client, b"", gateway)

    async def respond(self, client: httpx.AsyncClient, request: Answer, message: m.Message, gateway: int | None = None) -> Answer:
        body = soap.build_message(message, id=request.envelope.id if request.envelope else None, cwmp_ns=self.cwmp_ns)
        return await self.post(client, body, gateway)
