"""Session messages on their own topic, on real Apache Kafka: two schedulers in one group own
partition N of acs.session-events.v1 and of acs.session-messages.v1 together, and a session in
progress survives its scheduler leaving the group (the other takes the pair over and answers)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from pymongo import MongoClient

from acs_contracts.kafka_client import ensure_topics, kafka_common_kwargs
from acs_contracts.kafka_topics import SESSION_EVENTS, SESSION_MESSAGES
from acs_contracts.settings import KafkaSettings
from acs_devstack.servers import mongo_uri
from acs_devstack.stack import Service, Stack
from cwmp import messages as m
from task_scheduler.assignor import CoPartitionedAssignor

from .conftest import eventually
from .scripted_cpe import ROOT, ScriptedCpe

PARTITIONS = 4
GROUP = "acs-scheduler"  # SCHEDULER_GROUP_ID's default


async def _group(st: Stack) -> tuple[str, list[dict[str, set[int]]]]:
    """The scheduler group's assignment strategy and each member's partitions, per topic, as the
    broker's group coordinator has them."""
    admin = AIOKafkaAdminClient(**kafka_common_kwargs(KafkaSettings.from_env(st.common_env())))
    await admin.start()
    try:
        [response] = await admin.describe_consumer_groups([GROUP])
    finally:
        await admin.close()
    _error, _group_id, _state, _type, protocol, members, *_ = response.groups[0]
    owned = []
    for _member_id, _client_id, _host, _metadata, assignment in members:
        mine: dict[str, set[int]] = {SESSION_EVENTS: set(), SESSION_MESSAGES: set()}
        for tp in ConsumerProtocolMemberAssignment.decode(assignment).partitions() if assignment else ():
            mine.setdefault(tp.topic, set()).add(tp.partition)
        owned.append(mine)
    return protocol, owned


def _settled(members: int):
    async def check(st: Stack) -> list[dict[str, set[int]]] | None:
        protocol, owned = await _group(st)
        if protocol != CoPartitionedAssignor.name or len(owned) != members:
            return None
        if sorted(p for mine in owned for p in mine[SESSION_EVENTS]) != list(range(PARTITIONS)):
            return None
        return owned
    return check


async def _sessions(http: httpx.AsyncClient, scheduler: Service) -> int:
    return (await http.get(f"{scheduler.admin_url}/healthz")).json()["sessions"]


async def test_two_schedulers_own_both_topics_co_partitioned_and_a_session_survives_one_leaving(http):
    st = Stack(partitions=PARTITIONS, gateway_env={"GATEWAY_REPLY_TIMEOUT_S": "20"},
               scheduler_env={"SCHEDULER_BOOTSTRAP_DEFAULTS": "off"}).start_servers()
    try:
        st.add_scheduler()
        st.add_scheduler()
        st.add_gateway()
        check = _settled(2)
        owned = await eventually(lambda: check(st), timeout=60, what="two schedulers sharing the partitions")
        for mine in owned:  # each owns partition N of both topics, and some of them
            assert mine[SESSION_EVENTS] == mine[SESSION_MESSAGES] and mine[SESSION_EVENTS]

        db = MongoClient(mongo_uri(st.mongo.port)).acs
        device = "202BC1-BM632w-PAIR1"
        tid = db.tasks.insert_one({"device": device, "name": "getParameterValues", "status": "pending",
                                   "timestamp": datetime.now(UTC),
                                   "parameterNames": [f"{ROOT}.DeviceInfo.UpTime"]}).inserted_id
        cpe = ScriptedCpe("PAIR1", [st.cwmp_url(0)])
        assert (await cpe.inform(http, ["6 CONNECTION REQUEST"])).status == 200
        request = await cpe.empty(http)  # on acs.session-messages.v1: answered by the Inform's scheduler
        assert isinstance(request.body, m.GetParameterValues)
        counts = [await _sessions(http, s) for s in st.schedulers]
        assert sorted(counts) == [0, 1], counts
        owner = st.schedulers[counts.index(1)]

        await asyncio.to_thread(owner.stop)  # leaves the group: its partitions move, in pairs
        answer = await cpe.respond(http, request, m.GetParameterValuesResponse(
            [m.ParameterValueStruct(f"{ROOT}.DeviceInfo.UpTime", 77, "xsd:unsignedInt")]))
        assert answer.status == 204  # the other scheduler took the answer up, completed the task, ended the session
        task = await eventually(lambda: db.tasks.find_one({"_id": tid, "status": "done"}), what="the task done")
        assert task["status"] == "done"
        check = _settled(1)
        [alone] = await eventually(lambda: check(st), timeout=60, what="one scheduler owning every partition")
        assert alone[SESSION_EVENTS] == alone[SESSION_MESSAGES] == set(range(PARTITIONS))
    finally:
        st.stop()


async def test_session_messages_created_beside_an_existing_session_events_topic_take_its_partition_count():
    """An upgrade: acs.session-events.v1 exists (grown or created apart from the setting), the new
    topic is created with its count, so a device's Inform and messages keep one partition number."""
    st = Stack(partitions=PARTITIONS).start_servers()
    try:
        kafka = KafkaSettings.from_env(st.common_env())
        admin = AIOKafkaAdminClient(**kafka_common_kwargs(kafka))
        await admin.start()
        try:
            await admin.create_topics([NewTopic(SESSION_EVENTS, 3, 1)])

            async def events_described() -> bool:  # as an existing topic is: its partitions known
                [topic] = await admin.describe_topics([SESSION_EVENTS])
                return len(topic["partitions"]) == 3

            await eventually(events_described, timeout=30, what="the existing session-events topic described")
            await ensure_topics(8, kafka)  # ACS_SESSION_EVENTS_PARTITIONS says 8; the topic has 3


            async def counts_known() -> dict[str, int] | None:  # a topic just created may describe no partitions yet
                described = {t["topic"]: len(t["partitions"]) for t in await admin.describe_topics([SESSION_EVENTS, SESSION_MESSAGES])}
                return described if all(described.get(t) for t in (SESSION_EVENTS, SESSION_MESSAGES)) else None

            counts = await eventually(counts_known, timeout=30, what="both topics described with their partitions")
        finally:
            await admin.close()
        assert counts == {SESSION_EVENTS: 3, SESSION_MESSAGES: 3}
    finally:
        st.stop()
