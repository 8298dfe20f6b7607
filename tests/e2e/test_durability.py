"""Durability on Apache Kafka, proven by killing things under load, not by reasoning.

Every test counts end to end: each InformResponse a CPE received must have its event in the
session-events topic and its effect (the Inform's UpTime, a sequence number per device) in the
inventory. Tasks are counted too: each completes once (one ``done`` on the task-results topic)
and a CPE is never sent a task the ACS already recorded as done.

These need the real broker (a 3-broker cluster with replication factor 3 and
``min.insync.replicas`` 2, or one broker with its log folder kept across a restart); on the
``tansu`` fallback, which keeps nothing and has no replication, they are skipped.
"""

from __future__ import annotations

import asyncio
import collections
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from acs_contracts.device_id import make_device_id
from acs_contracts.kafka_topics import SESSION_EVENTS, TASK_RESULTS, SessionEvent, TaskResult
from acs_devstack.servers import kafka_impl
from acs_devstack.stack import Stack
from cwmp import messages as m
from cwmp.serialize import message_from_dict

from .conftest import eventually, inventory_db
from .scripted_cpe import ROOT, ScriptedCpe
from .topics import read_all

pytestmark = pytest.mark.skipif(kafka_impl() != "apache", reason="needs Apache Kafka (no JVM found: tansu fallback)")

UPTIME = f"{ROOT}.DeviceInfo.UpTime"
OUI, PRODUCT_CLASS = "202BC1", "BM632w"


def device_id(serial: str) -> str:
    return make_device_id(OUI, PRODUCT_CLASS, serial)


@dataclass
class InformLoad:
    """Simulated CPEs in periodic sessions, each Inform carrying the device's next sequence
    number as its UpTime. A 503 is retried with the same number, as a CPE keeps its events."""

    urls: list[str]
    serials: list[str]
    pause_s: float = 0.5
    acked: dict[str, int] = field(default_factory=dict)  # serial -> highest sequence acknowledged
    acked_at: list[float] = field(default_factory=list)
    last_acked_at: dict[str, float] = field(default_factory=dict)  # serial -> when
    refused_at: list[float] = field(default_factory=list)  # 503 + Retry-After
    other: collections.Counter = field(default_factory=collections.Counter)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def _device(self, client: httpx.AsyncClient, serial: str, delay: float) -> None:
        await asyncio.sleep(delay)  # the load's shape: the devices' sessions spread over one period
        cpe = ScriptedCpe(serial, self.urls)
        seq = 1
        while not self.stop.is_set():
            try:
                a = await cpe.inform(client, ["2 PERIODIC"], params={UPTIME: (seq, "xsd:unsignedInt")})
            except httpx.HTTPError as e:
                self.other[type(e).__name__] += 1
                await asyncio.sleep(0.3)  # a CPE's retry pause
                continue
            if a.status == 200:
                self.acked[serial] = seq
                self.acked_at.append(time.monotonic())
                self.last_acked_at[serial] = self.acked_at[-1]
                seq += 1
                try:
                    await cpe.empty(client)
                except httpx.HTTPError as e:
                    self.other[f"empty {type(e).__name__}"] += 1
            elif a.status == 503:
                assert int(a.headers["retry-after"]) > 0
                self.refused_at.append(time.monotonic())
                await asyncio.sleep(0.3)  # a CPE's retry pause (shorter than Retry-After: the test wants the gap's edges)
                continue
            else:
                self.other[a.status] += 1
            await asyncio.sleep(self.pause_s)  # the periodic inform interval

    async def run(self) -> None:
        limits = httpx.Limits(max_connections=len(self.serials) * 2, max_keepalive_connections=len(self.serials))
        async with httpx.AsyncClient(timeout=30, limits=limits) as client:
            n = len(self.serials)
            await asyncio.gather(*(self._device(client, s, self.pause_s * i / n) for i, s in enumerate(self.serials)))

    async def all_informed(self, timeout: float = 120.0) -> None:
        """Until every device has had an Inform acknowledged: the load is running in full."""
        await eventually(lambda: len(self.acked) == len(self.serials), timeout=timeout, interval=0.2,
                         what=f"every device informed once (other answers: {self.other})")

    def per_second(self, since: float) -> list[int]:
        """Informs acknowledged in each second from ``since`` (for failure messages)."""
        counts = collections.Counter(int(t - since) for t in self.acked_at if t >= since)
        return [counts[i] for i in range(max(counts, default=-1) + 1)]

    def silent_since(self, t: float) -> list[str]:
        """Devices with no Inform acknowledged after ``t``."""
        return [s for s in self.serials if self.last_acked_at.get(s, 0) <= t]

    def acked_between(self, t0: float, t1: float) -> int:
        return sum(t0 <= t < t1 for t in self.acked_at)

    async def finish(self, runner: asyncio.Task, all_informed_after: float | None = None) -> None:
        """Stop the load and wait for ``runner`` (its :meth:`run`). With ``all_informed_after``,
        first wait (bounded) until every device has informed again since then, however slow a
        loaded machine is; a device that has not is for the caller to report, with the rates."""
        if all_informed_after is not None:
            try:
                await eventually(lambda: not self.silent_since(all_informed_after), timeout=60, interval=0.5)
            except AssertionError:
                pass
        self.stop.set()
        await asyncio.wait_for(runner, 60)


async def assert_nothing_acknowledged_lost(st: Stack, load: InformLoad) -> None:
    """Each acknowledged Inform is in the session-events topic; each device's document shows at
    least its last acknowledged one."""
    seen: dict[str, set[int]] = collections.defaultdict(set)
    for r in await read_all(st.common_env(), SESSION_EVENTS):
        ev = SessionEvent.decode(r.value)
        if ev.kind != "inform":
            continue
        inform = message_from_dict(ev.body)
        for p in inform.parameter_list:
            if p.name == UPTIME:
                seen[ev.device_id].add(int(p.value))
    missing = {s: sorted(set(range(1, n + 1)) - seen[device_id(s)]) for s, n in load.acked.items()}
    missing = {s: v for s, v in missing.items() if v}
    assert not missing, f"acknowledged Informs missing from {SESSION_EVENTS}: {missing}"

    with inventory_db(st) as db:
        def behind() -> dict[str, tuple[int, object]]:
            stored = {d["_id"]: d.get(ROOT, {}).get("DeviceInfo", {}).get("UpTime", {}).get("_value")
                      for d in db.devices.find({"_id": {"$in": [device_id(s) for s in load.acked]}},
                                               {f"{ROOT}.DeviceInfo.UpTime._value": 1})}
            return {s: (n, stored.get(device_id(s))) for s, n in load.acked.items()
                    if not isinstance(stored.get(device_id(s)), int) or stored[device_id(s)] < n}

        try:
            await eventually(lambda: not behind(), timeout=60, interval=0.5)
        except AssertionError:
            raise AssertionError(f"inventory behind the acknowledged Informs: {dict(list(behind().items())[:10])}") from None


async def session_event_leaders(bootstrap: str) -> collections.Counter:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [topic] = await admin.describe_topics([SESSION_EVENTS])
        return collections.Counter(p["leader"] for p in topic["partitions"])
    finally:
        await admin.close()


async def test_one_of_three_brokers_killed_under_load_loses_nothing():
    """kill -9 the broker leading most session-events partitions while 200 CPEs inform: leaders
    move to the in-sync replicas, 503 + Retry-After only in the gap, sessions go on, and every
    acknowledged Inform is in the topic and the inventory."""
    st = Stack(partitions=6, kafka_brokers=3, gateway_env={"GATEWAY_PUBLISH_TIMEOUT_S": "5"},
               scheduler_env={"SCHEDULER_BOOTSTRAP_DEFAULTS": "off", "SCHEDULER_BOOTSTRAP_DISCOVERY": "off"}).start_servers()
    try:
        st.add_scheduler()
        st.add_gateway()
        st.add_gateway()
        load = InformLoad([st.cwmp_url(0), st.cwmp_url(1)], [f"KB{i:04d}" for i in range(200)], pause_s=1.0)
        runner = asyncio.create_task(load.run())
        await load.all_informed()
        assert load.acked_at, f"no Inform acknowledged before the kill: {load.other}"
        leaders = await session_event_leaders(st.kafka.bootstrap)
        victim = leaders.most_common(1)[0][0]
        killed_at = time.monotonic()
        st.kafka.nodes[victim - 1].kill()
        await asyncio.sleep(20)  # the load runs through the failover gap (15 s) and past it: a 503 after the gap would show
        # every device informs again once the leaders have moved (however slow a loaded machine is)
        await load.finish(runner, all_informed_after=killed_at + 15)

        assert not load.other, f"unexpected answers: {load.other}"
        assert all(killed_at <= t < killed_at + 15 for t in load.refused_at), \
            f"503s outside the failover gap: {[round(t - killed_at, 1) for t in load.refused_at][:20]}"
        assert not load.silent_since(killed_at + 15), f"sessions did not go on on the new leaders: {load.per_second(killed_at - 8)}"
        after = await session_event_leaders(st.kafka.bootstrap)
        assert victim not in after and sum(after.values()) == 6, after
        await assert_nothing_acknowledged_lost(st, load)
    finally:
        st.stop()


async def test_single_broker_killed_and_restarted_loses_nothing():
    """The broker of ``make run`` (one node, log folder kept) is killed with -9 under load and
    started again on the same folder: 503 while it is down, nothing acknowledged is lost."""
    st = Stack(partitions=2, gateway_env={"GATEWAY_PUBLISH_TIMEOUT_S": "3"},
               scheduler_env={"SCHEDULER_BOOTSTRAP_DEFAULTS": "off", "SCHEDULER_BOOTSTRAP_DISCOVERY": "off"}).start_servers()
    try:
        st.add_scheduler()
        st.add_gateway()
        load = InformLoad([st.cwmp_url(0)], [f"K1B{i:04d}" for i in range(100)], pause_s=0.5)
        runner = asyncio.create_task(load.run())
        await load.all_informed()
        st.kafka.nodes[0].kill()
        down_at = time.monotonic()
        await asyncio.sleep(4)  # the behaviour under test: the broker is down for 4 s under load
        st.kafka.restart(0)
        up_at = time.monotonic()
        await load.finish(runner, all_informed_after=up_at + 2)  # polls until sessions resumed

        assert load.refused_at, "no 503 while the broker was down"
        assert load.acked_between(down_at + 1, up_at) == 0, "an Inform was acknowledged with no broker"
        assert not load.silent_since(up_at + 2), f"sessions did not resume: {load.per_second(down_at - 6)}"
        assert not {k: v for k, v in load.other.items() if k != 204}, load.other
        await assert_nothing_acknowledged_lost(st, load)
    finally:
        st.stop()


def _tasks(db, serials: list[str]) -> dict[str, object]:
    now = datetime.now(UTC)
    ids = db.tasks.insert_many([{"device": device_id(s), "name": "getParameterValues", "status": "pending",
                                 "timestamp": now, "parameterNames": [UPTIME]} for s in serials]).inserted_ids
    return dict(zip(serials, ids, strict=True))


@dataclass
class TaskCpe:
    """A CPE that opens sessions until its task is done, counting the task's RPCs it executes."""

    cpe: ScriptedCpe
    executed: int = 0
    sessions: int = 0

    async def session(self, http: httpx.AsyncClient, pause_before_answer: asyncio.Event | None = None) -> None:
        self.sessions += 1
        a = await self.cpe.inform(http, ["6 CONNECTION REQUEST"])
        if a.status != 200:
            return
        answer = await self.cpe.empty(http)
        while answer.status == 200 and isinstance(answer.body, m.GetParameterValues):
            self.executed += 1
            if pause_before_answer is not None:
                await pause_before_answer.wait()
            answer = await self.cpe.respond(http, answer, m.GetParameterValuesResponse(
                [m.ParameterValueStruct(UPTIME, 100 + self.executed, "xsd:unsignedInt")]))


async def _done_results(st: Stack, ids: dict[str, object]) -> collections.Counter:
    """Task ids -> how many ``done`` results the task-results topic has (published after the
    write, so read until every task has one)."""
    deadline = time.monotonic() + 20
    while True:
        results = [TaskResult.decode(r.value) for r in await read_all(st.common_env(), TASK_RESULTS)]
        done = collections.Counter(r.task_id for r in results if r.status == "done")
        if all(done[str(i)] for i in ids.values()) or time.monotonic() > deadline:
            return done
        await asyncio.sleep(0.5)


async def _finish_all(http, cpes: dict[str, TaskCpe], db, ids: dict[str, object], deadline_s: float = 90) -> None:
    """New sessions until every task is done, as CPEs informing again would."""
    end = time.monotonic() + deadline_s
    while True:
        left = [s for s, i in ids.items() if db.tasks.find_one({"_id": i})["status"] != "done"]
        if not left:
            return
        assert time.monotonic() < end, f"tasks not done: {left}"
        await asyncio.gather(*(cpes[s].session(http) for s in left))
        await asyncio.sleep(0.5)


async def test_scheduler_killed_mid_session_partitions_move_and_no_task_runs_twice(http):
    """Two schedulers; one is killed (-9) while its CPEs execute their task's RPC. Its partitions
    move to the other; every task completes exactly once, and only a task whose answer the dead
    scheduler never recorded is sent again."""
    st = Stack(partitions=4, gateway_env={"GATEWAY_REPLY_TIMEOUT_S": "3"},
               scheduler_env={"SCHEDULER_BOOTSTRAP_DEFAULTS": "off"}).start_servers()
    try:
        st.add_scheduler()
        st.add_scheduler()
        st.add_gateway()
        with inventory_db(st) as db:
            serials = [f"KS{i:03d}" for i in range(24)]
            ids = _tasks(db, serials)
            cpes = {s: TaskCpe(ScriptedCpe(s, [st.cwmp_url(0)])) for s in serials}
            gate = asyncio.Event()
            first = [asyncio.create_task(c.session(http, gate)) for c in cpes.values()]
            await eventually(lambda: all(c.executed == 1 for c in cpes.values()), timeout=30)
            st.schedulers[0].kill()  # mid-session: its CPEs' RPCs are out, the answers not yet in
            gate.set()
            await asyncio.gather(*first)
            await _finish_all(http, cpes, db, ids)

            done = await _done_results(st, ids)
            assert all(done[str(i)] == 1 for i in ids.values()), {s: done[str(i)] for s, i in ids.items()}
            twice = [s for s, c in cpes.items() if c.executed > 1]
            assert all(c.executed <= 2 for c in cpes.values())
            assert len(twice) < len(serials), "the surviving scheduler's sessions should not repeat their task"
            # a device whose task ran twice was one whose answer the killed scheduler was to take
            assert all(cpes[s].sessions >= 2 for s in twice)
    finally:
        st.stop()


async def test_scheduler_added_mid_load_rebalances_without_lost_or_repeated_tasks(http):
    """A second scheduler joins while CPEs are in sessions with tasks: the partitions are shared,
    every task completes once and no CPE executes a task twice."""
    st = Stack(partitions=4, gateway_env={"GATEWAY_REPLY_TIMEOUT_S": "5"},
               scheduler_env={"SCHEDULER_BOOTSTRAP_DEFAULTS": "off"}).start_servers()
    try:
        st.add_scheduler()
        st.add_gateway()
        with inventory_db(st) as db:
            serials = [f"KR{i:03d}" for i in range(40)]
            ids = _tasks(db, serials)
            cpes = {s: TaskCpe(ScriptedCpe(s, [st.cwmp_url(0)])) for s in serials}

            async def waves() -> None:
                for wave in range(0, len(serials), 5):
                    await asyncio.gather(*(cpes[s].session(http) for s in serials[wave:wave + 5]))
                    await asyncio.sleep(0.3)  # the load's shape: waves of sessions

            load = asyncio.create_task(waves())
            await eventually(lambda: any(c.executed for c in cpes.values()), what="the first wave's tasks running")
            await asyncio.to_thread(st.add_scheduler)
            await load
            await _finish_all(http, cpes, db, ids)

            done = await _done_results(st, ids)
            assert all(done[str(i)] == 1 for i in ids.values()), {s: done[str(i)] for s, i in ids.items()}
            repeated = {s: c.executed for s, c in cpes.items() if c.executed != 1}
            assert not repeated, f"tasks executed more than once by the CPE: {repeated}"
    finally:
        st.stop()


async def test_database_stopped_for_10s_under_load_back_pressure_then_nothing_lost():
    """The database freezes for 10 s while CPEs inform: Informs are still acknowledged once the
    broker has them, the scheduler stops taking events it cannot write, and once the database is
    back every acknowledged Inform reaches the inventory."""
    st = Stack(partitions=2, scheduler_env={"SCHEDULER_BOOTSTRAP_DEFAULTS": "off", "SCHEDULER_BOOTSTRAP_DISCOVERY": "off"}
               ).start_servers()
    try:
        st.add_scheduler()
        st.add_gateway()
        load = InformLoad([st.cwmp_url(0)], [f"KD{i:04d}" for i in range(100)], pause_s=0.5)
        runner = asyncio.create_task(load.run())
        await load.all_informed()
        st.mongo.pause()
        paused_at = time.monotonic()
        try:
            await asyncio.sleep(10)  # the behaviour under test: the database frozen for 10 s under load
        finally:
            st.mongo.resume()
        resumed_at = time.monotonic()
        await load.finish(runner, all_informed_after=resumed_at)  # polls until every device informed again

        assert load.acked_between(paused_at, paused_at + 10) > 0, "Informs need only the broker to be acknowledged"
        assert not load.silent_since(resumed_at), f"sessions did not go on: {load.per_second(paused_at - 5)}"
        assert not {k: v for k, v in load.other.items() if k != 204}, load.other
        await assert_nothing_acknowledged_lost(st, load)
    finally:
        st.stop()
