"""Kafka topics of the ACS, each with one versioned JSON message schema, defined here only.

Every message is a JSON object with ``"schema": "<topic>"`` and ``"v": <int>``. A consumer
rejects a message whose major version it does not know (``SchemaError``) instead of guessing.
Topic names carry the major version too (``.v1``), so a breaking change is a new topic that
old and new services can run side by side during an upgrade.

Inbound (the session pipeline):
  SESSION_EVENTS    gateway -> scheduler. Key: device id. The Inform that opens a session:
                    new work, which a scheduler at its session cap leaves in Kafka (paused).
  SESSION_MESSAGES  gateway -> scheduler. Key: device id. Every later CPE message of the
                    session (RPC responses, faults, CPE requests, empty POSTs), in order. Its
                    own topic so that a session's next answer never lies behind a backlog of
                    new sessions; same partition count as SESSION_EVENTS, and a scheduler owns
                    partition N of both (task_scheduler.assignor).

Outbound (for other systems: OSS/BSS, analytics, the NBI's waiters):
  DEVICE_INFORMS     a device informed (event codes, DeviceId, source IP, CWMP version)
  PARAMETER_CHANGES  parameter values the ACS learnt changed
  TASK_RESULTS       a task completed or failed
  SESSION_ENDS       a CWMP session ended (outcome, RPC count, duration)

Monitoring (services/telemetry, docs/monitoring.md):
  METRICS  KPI samples of a device (Bulk Data reports), for the history writer and operators' pipelines
  ALARMS   an alarm raised or cleared on a device
  AUDIT    a write asked of the NBI: who, from where, what, on which devices, result (inventory/audit.py)
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, TypeVar

import msgspec
import orjson

SESSION_EVENTS = "acs.session-events.v1"
SESSION_MESSAGES = "acs.session-messages.v1"
DEVICE_INFORMS = "acs.device-informs.v1"
PARAMETER_CHANGES = "acs.parameter-changes.v1"
TASK_RESULTS = "acs.task-results.v1"
SESSION_ENDS = "acs.session-ends.v1"
METRICS = "acs.metrics.v1"
ALARMS = "acs.alarms.v1"
AUDIT = "acs.audit.v1"
REPLY_WAIT = "reply_wait_s"  # SessionEvent.headers: seconds the gateway waits for the reply

ALL_TOPICS = (SESSION_EVENTS, SESSION_MESSAGES, DEVICE_INFORMS, PARAMETER_CHANGES, TASK_RESULTS, SESSION_ENDS, METRICS, ALARMS, AUDIT)


class SchemaError(ValueError):
    """A message that does not match its topic's schema or version."""


T = TypeVar("T", bound="TopicMessage")


class TopicMessage:
    """Base for topic schemas: JSON encode/decode with schema name, version and field type checks."""

    TOPIC: ClassVar[str]
    VERSION: ClassVar[int] = 1

    def encode(self) -> bytes:
        # fields hold JSON-ready values already; a shallow dict avoids asdict's deep copy
        d = {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]
        d["schema"] = self.TOPIC
        d["v"] = self.VERSION
        return orjson.dumps(d)

    @classmethod
    def decode(cls: type[T], data: bytes) -> T:
        try:
            d = orjson.loads(data)
        except orjson.JSONDecodeError as e:
            raise SchemaError(f"{cls.TOPIC}: not JSON: {e}") from e
        if not isinstance(d, dict) or d.get("schema") != cls.TOPIC:
            raise SchemaError(f"{cls.TOPIC}: wrong schema {d.get('schema') if isinstance(d, dict) else None!r}")
        if d.get("v") != cls.VERSION:
            raise SchemaError(f"{cls.TOPIC}: unsupported version {d.get('v')!r}")
        try:
            # msgspec checks every field against its annotation (a str where a float belongs is
            # refused, not carried on) and ignores fields it does not know (a newer minor version).
            return msgspec.convert(d, cls)
        except msgspec.ValidationError as e:
            raise SchemaError(f"{cls.TOPIC}: {e}") from e


@dataclass(slots=True)
class SessionEvent(TopicMessage):
    """One CPE message of a CWMP session, as the gateway received it.

    kind:
      "inform"  body is the Inform (already answered with InformResponse after this was acked)
      "message" body is any other CPE message: RPC response, Fault, or CPE request
      "empty"   the CPE sent an empty POST (it has no more requests)
    body: the message as ``cwmp.serialize.message_to_dict`` gives it, None for "empty".
    reply_to: "host:port" of the gateway's session-affinity listener holding the HTTP request;
      None for "inform" (the gateway answers InformResponse itself; no reply expected).
    request_id: unique per HTTP request; the reply carries it back.
    headers: the SOAP header fields (``id``, ``hold_requests``...) and, on events that wait for a
      reply, ``REPLY_WAIT``: how long the gateway waits for it before answering the CPE 204 itself.
      An event older than that is *stale*: the CPE's session is over (see ``is_stale``).
    """

    TOPIC: ClassVar[str] = SESSION_EVENTS
    device_id: str
    session_id: str
    kind: str
    request_id: str
    reply_to: str | None
    received_at: float  # unix seconds at the gateway
    cwmp_ns: str
    cwmp_version: str
    source_ip: str = ""
    body: dict[str, Any] | None = None
    headers: dict[str, Any] = field(default_factory=dict)  # hold_requests, session_timeout, ...
    gateway_id: str = ""

    def is_stale(self, now: float) -> bool:
        """The gateway stopped waiting for the reply to this event (the CPE got 204 instead), so
        the session it belongs to is over: true only for events that say how long it waited."""
        wait = self.headers.get(REPLY_WAIT) if self.reply_to else None
        return isinstance(wait, (int, float)) and now - self.received_at > wait


@dataclass(slots=True)
class SessionMessage(SessionEvent):
    """A CPE message after the Inform, on SESSION_MESSAGES: the fields of ``SessionEvent``
    (``kind`` "message" or "empty") plus where the session's Inform lies in SESSION_EVENTS.

    inform_partition, inform_offset: the Inform's record (the gateway's produce acknowledgement),
      so a scheduler that reads this before that Inform holds it back until it has taken the
      Inform (the two topics are read side by side, in no order between them). -1: unknown
      (a session opened before this field existed); handled as soon as read.
    """

    TOPIC: ClassVar[str] = SESSION_MESSAGES
    inform_partition: int = -1
    inform_offset: int = -1


@dataclass(slots=True)
class DeviceInformed(TopicMessage):
    TOPIC: ClassVar[str] = DEVICE_INFORMS
    device_id: str
    timestamp: float
    event_codes: list[str]
    manufacturer: str
    oui: str
    product_class: str
    serial_number: str
    source_ip: str = ""
    cwmp_version: str = ""
    session_id: str = ""


@dataclass(slots=True)
class ParameterChanges(TopicMessage):
    """``changes``: list of {"name", "value", "type", "previous"} (previous None when unknown)."""

    TOPIC: ClassVar[str] = PARAMETER_CHANGES
    device_id: str
    timestamp: float
    source: str  # "inform", "getParameterValues", "setParameterValues", ...
    changes: list[dict[str, Any]]


@dataclass(slots=True)
class TaskResult(TopicMessage):
    """status: "done" or "fault". fault: {"code", "message", "detail"} when status is "fault"."""

    TOPIC: ClassVar[str] = TASK_RESULTS
    task_id: str
    device_id: str
    name: str
    status: str
    timestamp: float
    fault: dict[str, Any] | None = None
    result: dict[str, Any] | None = None


@dataclass(slots=True)
class SessionEnded(TopicMessage):
    """outcome: "ok", "fault", "timeout", "cpe-closed", "loop-limit"."""

    TOPIC: ClassVar[str] = SESSION_ENDS
    device_id: str
    session_id: str
    timestamp: float
    outcome: str
    rpc_count: int
    duration_s: float
    event_codes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class MetricSamples(TopicMessage):
    """KPI samples of one device. ``samples``: list of {"name", "value", "t"} (``t``: unix seconds
    the CPE collected it; ``value``: number, bool or string). ``source``: "bulkdata" (a TR-232
    report) or what else produced them; ``report_format``: the report's BBF-Report-Format."""

    TOPIC: ClassVar[str] = METRICS
    device_id: str
    timestamp: float  # when the ACS received them
    source: str
    samples: list[dict[str, Any]]
    report_format: str = ""


@dataclass(slots=True)
class AlarmEvent(TopicMessage):
    """An alarm of ``rule`` on a device changed state: ``state`` "raised" or "cleared".
    ``alarm_id`` is "<device id>:<rule>"; ``kind`` "threshold", "rate" or "missing-informs"."""

    TOPIC: ClassVar[str] = ALARMS
    alarm_id: str
    device_id: str
    rule: str
    kind: str
    severity: str
    state: str
    timestamp: float
    parameter: str = ""
    value: Any = None
    message: str = ""


@dataclass(slots=True)
class AuditRecord(TopicMessage):
    """One record of the audit log (the ``audit`` collection's document, dates as ISO text):
    ``actor`` {"token": <fingerprint>, "role", "client"}, ``action`` "<METHOD> <route>",
    ``before``/``after`` the state replaced and the body sent (secrets masked), ``status`` the
    HTTP status the NBI answered and ``result`` its JSON answer."""

    TOPIC: ClassVar[str] = AUDIT
    id: str
    timestamp: str
    actor: dict[str, Any]
    source_ip: str
    method: str
    path: str
    action: str
    status: int
    devices: list[str] = field(default_factory=list)
    device_query: str | None = None
    query: dict[str, Any] | None = None
    before: Any = None
    after: Any = None
    result: Any = None

    @classmethod
    def of(cls, doc: dict[str, Any]) -> AuditRecord:
        """From the collection's document as JSON (``shapes.to_json``)."""
        return cls(id=doc["_id"], timestamp=doc["timestamp"], actor=doc["actor"], source_ip=doc.get("sourceIp") or "",
                   method=doc["method"], path=doc["path"], action=doc["action"], status=doc["status"],
                   devices=doc.get("devices") or [], device_query=doc.get("deviceQuery"), query=doc.get("query"),
                   before=doc.get("before"), after=doc.get("after"), result=doc.get("result"))
