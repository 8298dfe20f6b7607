"""The history writer and alarm evaluator: consumes ``acs.metrics.v1`` (Bulk Data samples),
``acs.parameter-changes.v1`` (``4 VALUE CHANGE`` values, values read by tasks and presets) and
``acs.device-informs.v1`` (for missing-informs alarms), as the consumer group TELEMETRY_WRITER_GROUP.

Each poll (up to TELEMETRY_WRITER_BATCH records) becomes one unordered ``bulk_write`` of hourly
bucket upserts (``buckets``), then the alarm changes it caused (one more ``bulk_write`` to
``alarms`` and messages on ``acs.alarms.v1``); the offsets are committed only after both are
stored, so a crash replays (a replayed sample is stored twice; a bucket read treats it as one
more point) and never loses. A periodic task reloads the rules, scans ``last_informs`` for silent
devices, down-samples old buckets and deletes expired ones (the TTL index does too, where the
database has a TTL monitor).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pymongo import AsyncMongoClient, UpdateOne

from acs_contracts import mongo_collections as mc
from acs_contracts.kafka_client import kafka_common_kwargs, producer_kwargs
from acs_contracts.kafka_topics import (
    DEVICE_INFORMS,
    METRICS,
    PARAMETER_CHANGES,
    AlarmEvent,
    DeviceInformed,
    MetricSamples,
    ParameterChanges,
    SchemaError,
)
from acs_contracts.retrying import until_back

from . import metrics
from .alarms import Evaluator, Transition
from .buckets import bucket_updates, downsample_op
from .config import Settings
from .reports import typed

log = logging.getLogger(__name__)

Row = tuple[str, str, float, Any]  # device, parameter, unix time, value


def rows_of(topic: str, value: bytes) -> tuple[list[Row], str, tuple[str, float] | None]:
    """(history rows, their source, an Inform (device, time) or None) of one topic message."""
    if topic == METRICS:
        m = MetricSamples.decode(value)
        return [(m.device_id, s["name"], float(s["t"]), s["value"]) for s in m.samples
                if isinstance(s, dict) and s.get("name") and s.get("value") is not None], m.source, None
    if topic == PARAMETER_CHANGES:
        c = ParameterChanges.decode(value)
        return [(c.device_id, ch["name"], c.timestamp, typed(ch["value"])) for ch in c.changes
                if isinstance(ch, dict) and ch.get("name") and ch.get("value") is not None], "parameter-changes", None
    if topic == DEVICE_INFORMS:
        d = DeviceInformed.decode(value)
        return [], "", (d.device_id, d.timestamp)
    return [], "", None


def alarm_ops(transitions: list[Transition]) -> list[UpdateOne]:
    ops = []
    for tr in transitions:
        at = datetime.fromtimestamp(tr.t, UTC)
        if tr.state == "raised":
            ops.append(UpdateOne({"_id": tr.alarm_id}, {
                "$set": {"device": tr.device, "rule": tr.rule.name, "kind": tr.rule.kind, "severity": tr.rule.severity,
                         "state": "raised", "raisedAt": at, "parameter": tr.parameter, "value": tr.value,
                         "message": tr.message, "acknowledged": False},
                "$unset": {"clearedAt": "", "ackedAt": "", "ackedBy": ""}}, upsert=True))
        else:
            ops.append(UpdateOne({"_id": tr.alarm_id, "state": "raised"}, {
                "$set": {"state": "cleared", "clearedAt": at, "clearValue": tr.value, "clearMessage": tr.message}}))
    return ops


class HistoryWriter:
    def __init__(self, settings: Settings) -> None:
        self.s = settings
        self.mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            settings.mongodb_uri, tz_aware=True, serverSelectionTimeoutMS=5000, appname="acs-telemetry")
        self.db = self.mongo[settings.mongodb_database]
        self.history = self.db[mc.METRICS_HISTORY]
        self.alarms = self.db[mc.ALARMS]
        self.evaluator = Evaluator()
        self.retention = timedelta(days=settings.retention_days)
        self.consumer: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self.written = 0  # samples stored since start (the benchmark reads it)

    async def start(self) -> None:
        await mc.ensure_indexes(self.db)
        await self.load_rules()
        async for doc in self.alarms.find({"state": "raised"}, {"parameter": 1}):
            self.evaluator.active[doc["_id"]] = doc.get("parameter") or ""
        metrics.ALARMS_ACTIVE.set(len(self.evaluator.active))
        self.producer = AIOKafkaProducer(**producer_kwargs(self.s.kafka), linger_ms=5)
        await self.producer.start()
        self.consumer = AIOKafkaConsumer(
            METRICS, PARAMETER_CHANGES, DEVICE_INFORMS, **kafka_common_kwargs(self.s.kafka),
            group_id=self.s.writer_group, enable_auto_commit=False, auto_offset_reset="earliest",
            max_partition_fetch_bytes=8 << 20, fetch_max_bytes=64 << 20)
        await self.consumer.start()
        self._tasks = [asyncio.create_task(self._consume(), name="history-writer"),
                       asyncio.create_task(self._maintain(), name="history-maintenance")]

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        if self.consumer is not None:
            await self.consumer.stop()
        if self.producer is not None:
            await self.producer.stop()
        await self.mongo.close()

    async def load_rules(self) -> None:
        self.evaluator.set_rules([d async for d in self.db[mc.ALARM_RULES].find()])

    # ---- the consumer loop
    async def _consume(self) -> None:
        assert self.consumer is not None
        while True:
            batch = await self.consumer.getmany(timeout_ms=self.s.writer_max_wait_ms, max_records=self.s.writer_batch)
            records = [r for rs in batch.values() for r in rs]
            if not records:
                continue
            await self.handle(records)
            await self.consumer.commit()

    async def handle(self, records: list[Any]) -> None:
        """Store one poll's samples and the alarms they change (retrying until the database takes them)."""
        rows: list[Row] = []
        by_source: dict[str, int] = {}
        transitions: list[Transition] = []
        for r in records:
            try:
                got, source, inform = rows_of(r.topic, r.value)
            except (SchemaError, ValueError, TypeError) as e:  # e.g. a sample whose "t" is no number
                metrics.BAD_MESSAGES.labels(r.topic).inc()
                log.warning("skipped a message on %s: %s", r.topic, e)
                continue
            if got:
                rows.extend(got)
                by_source[source] = by_source.get(source, 0) + len(got)
                transitions += self.evaluator.on_samples(got[0][0], ((p, t, v) for _, p, t, v in got))
            if inform is not None:
                transitions += self.evaluator.on_inform(*inform)
        if rows:
            ops = bucket_updates(rows, self.retention)
            await self._retry("history", lambda: self._write_history(ops))
            for source, n in by_source.items():
                metrics.SAMPLES_WRITTEN.labels(source).inc(n)
            self.written += len(rows)
        if transitions:
            await self.record(transitions)

    async def _write_history(self, ops: list[UpdateOne]) -> None:
        t0 = time.perf_counter()
        await self.history.bulk_write(ops, ordered=False)
        metrics.WRITE_SECONDS.observe(time.perf_counter() - t0)
        metrics.WRITE_BUCKETS.observe(len(ops))

    async def record(self, transitions: list[Transition]) -> None:
        """Store alarm changes, then publish them on acs.alarms.v1."""
        ops = alarm_ops(transitions)
        await self._retry("alarms", lambda: self.alarms.bulk_write(ops, ordered=True))
        assert self.producer is not None
        for tr in transitions:
            metrics.ALARMS.labels(tr.rule.name, tr.state).inc()
            msg = AlarmEvent(alarm_id=tr.alarm_id, device_id=tr.device, rule=tr.rule.name, kind=tr.rule.kind,
                             severity=tr.rule.severity, state=tr.state, timestamp=tr.t, parameter=tr.parameter,
                             value=tr.value, message=tr.message)
            try:
                await self.producer.send(msg.TOPIC, msg.encode(), key=tr.device.encode())
            except Exception as e:  # noqa: BLE001 - the alarm is stored; the topic copy is best effort
                log.warning("publishing alarm %s failed: %s", tr.alarm_id, e)
        metrics.ALARMS_ACTIVE.set(len(self.evaluator.active))

    async def _retry(self, what: str, write) -> None:
        """The database is away: hold the offsets and retry until it takes the write."""
        async for attempt in until_back(f"writing {what}", log, first_s=0.2, max_s=10.0):
            with attempt:
                await write()

    # ---- periodic work
    async def _maintain(self) -> None:
        last: dict[str, float] = {}
        while True:
            now = time.monotonic()
            for name, every, job in (("rules", self.s.rules_refresh_s, self.load_rules),
                                     ("missing", self.s.missing_informs_check_s, self.check_silent),
                                     ("buckets", self.s.maintenance_s, self.maintain_buckets)):
                if now - last.get(name, -1e18) >= every:
                    last[name] = now
                    try:
                        await job()
                    except asyncio.CancelledError:
                        raise
                    except Exception as e:  # noqa: BLE001 - maintenance must not stop the writer
                        log.warning("%s maintenance failed: %s", name, e)
            await asyncio.sleep(min(self.s.rules_refresh_s, self.s.missing_informs_check_s, self.s.maintenance_s, 1.0))

    async def check_silent(self) -> None:
        """Raise missing-informs alarms for devices silent past a rule's limit; clear those that
        informed since (also after a restart, when the Inform was consumed before)."""
        rules = self.evaluator.missing_rules()
        if not rules:
            return
        now = time.time()
        transitions: list[Transition] = []
        cutoff = datetime.fromtimestamp(now - min(r.missing_s for r in rules), UTC)
        async for doc in self.db[mc.LAST_INFORMS].find({"_lastInform": {"$lt": cutoff}}, {"_lastInform": 1}).limit(100_000):
            transitions += self.evaluator.on_silent(doc["_id"], doc["_lastInform"].timestamp(), now)
        names = {r.name for r in rules}
        open_ = [aid for aid in self.evaluator.active if aid.rsplit(":", 1)[1] in names]
        if open_:
            devices = {aid.rsplit(":", 1)[0] for aid in open_}
            async for doc in self.db[mc.LAST_INFORMS].find({"_id": {"$in": list(devices)}, "_lastInform": {"$gte": cutoff}},
                                                            {"_lastInform": 1}):
                transitions += self.evaluator.on_inform(doc["_id"], doc["_lastInform"].timestamp())
        if transitions:
            await self.record(transitions)

    async def maintain_buckets(self, batch: int = 500, max_batches: int = 200) -> None:
        """Delete expired buckets and down-sample raw ones older than TELEMETRY_DOWNSAMPLE_AFTER_H,
        ``batch`` at a time (one indexed range on (resolution, hour), one bulk_write), until none is
        left or ``max_batches`` ran; the next round goes on."""
        now = datetime.now(UTC)
        await self.history.delete_many({"expiresAt": {"$lt": now}})
        cutoff = now - timedelta(hours=self.s.downsample_after_h)
        for _ in range(max_batches):
            docs = [d async for d in self.history.find({"resolution": "raw", "hour": {"$lt": cutoff}}).limit(batch)]
            if docs:
                res = await self.history.bulk_write([downsample_op(d) for d in docs], ordered=False)
                metrics.DOWNSAMPLED.inc(res.modified_count)
            if len(docs) < batch:
                return
