"""The audit log end to end: a write through the NBI of a running inventory is appended to the
``audit`` collection and published on acs.audit.v1; while the broker is down the write still
succeeds and its record waits in the outbox, reaching the topic once the broker is back."""

from __future__ import annotations

import json

from acs_contracts.kafka_topics import AUDIT, AuditRecord
from acs_devstack.stack import Stack

from .conftest import eventually, inventory_db, nbi_client
from .topics import TopicReader

PRESET = {"weight": 1, "precondition": json.dumps({"_tags": "audit-e2e"}), "configurations": []}


async def test_writes_reach_the_audit_topic_and_wait_out_a_broker_outage():
    st = Stack(partitions=2).start_servers()
    try:
        st.add_inventory()
        async with nbi_client(st) as nbi, TopicReader(st.common_env(), {AUDIT: AuditRecord}) as topic:
            assert (await nbi.put("/presets/audit-e2e-1", json=PRESET)).status_code == 200
            [first] = await topic.wait(AUDIT, lambda r: r.path == "/presets/audit-e2e-1", timeout=60)
            assert first.action == "PUT /presets/{name}" and first.status == 200 and first.actor["role"] == "admin"
            assert first.after["weight"] == 1 and first.before is None

            st.kafka.nodes[0].kill()
            r = await nbi.put("/presets/audit-e2e-2", json=PRESET)
            assert r.status_code == 200  # a write never waits for the broker
            with inventory_db(st) as db:
                await eventually(lambda: db.audit.find_one({"path": "/presets/audit-e2e-2", "published": False}))
            st.kafka.restart(0)
            [second] = await topic.wait(AUDIT, lambda r: r.path == "/presets/audit-e2e-2", timeout=120)
            assert second.status == 200
            with inventory_db(st) as db:
                await eventually(lambda: db.audit.count_documents({"published": False}) == 0, timeout=30)
    finally:
        st.stop()
