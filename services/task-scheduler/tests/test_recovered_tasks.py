"""Tasks idempotent by task id across a session that moves to another scheduler.

Partitions move between schedulers (one joins the group, one leaves or dies) while a CPE is in
session: the CPE's answer to the request one scheduler sent reaches another that never saw the
session begin. The request's cwmp:ID names the task and the step (the CPE echoes it), so the new
owner takes the answer up for the task's first request: the task completes (or faults) once and
is not sent to the CPE again. Anything else recovers as before, in the ACS's turn.

Two schedulers over one database on a real SecantusDB, as in test_abandoned_sessions (the real driver,
store, batch writer and provisioner; a simulated CPE answering the RPCs).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from acs_contracts.kafka_topics import SessionEnded, TaskResult
from acs_contracts.mongo_collections import FAULTS, TASKS
from cwmp import messages as m
from cwmp import soap
from cwmp.session import request_tag
from task_scheduler.session_state import tagged_task

sys.path.insert(0, str(Path(__file__).resolve().parent))  # under --import-mode=importlib
from test_abandoned_sessions import ROOT, Cpe, Scheduler, new_task, request_of  # noqa: E402

UPTIME = f"{ROOT}.DeviceInfo.UpTime"


def request_id(reply) -> str:
    return soap.parse(reply.body).id


def results(sched: Scheduler, device_id: str) -> list[tuple[str, str]]:
    return [(r.task_id, r.status) for r in sched.outbound.of(TaskResult, device_id)]


async def known(sched: Scheduler, serial: str, cls: type = Cpe) -> Cpe:
    """A device past its first contact (the BOOTSTRAP's discovery and defaults done)."""
    cpe = cls(sched, serial)
    assert (await cpe.serve(await cpe.inform("0 BOOTSTRAP", "1 BOOT"))).status == 204
    await sched.drained()
    cpe.rpcs.clear()
    return cpe


async def uptime_offer(db: Any, sched: Scheduler, serial: str, cls: type = Cpe) -> tuple[Cpe, Any, Any]:
    """A known device, a task reading its uptime, and the request ``sched`` offers for the task at
    a connection request's Inform (the answer to the CPE's empty POST)."""
    cpe = await known(sched, serial, cls)
    tid = await new_task(db, cpe.id, "getParameterValues", parameterNames=[UPTIME])
    return cpe, tid, await cpe.inform("6 CONNECTION REQUEST")


class ReplayableCpe(Cpe):
    """Keeps the session events it sent: a scheduler taking the partition over reads those not
    committed yet again (the Inform's offset is committed only once the session's held writes are)."""

    def __init__(self, *args, **kw) -> None:
        super().__init__(*args, **kw)
        self.sent: list = []

    async def _send(self, ev):
        self.sent.append(ev)
        return await super()._send(ev)

    async def replay(self, *events):
        """``events`` read again by the scheduler now owning the partition; its last reply."""
        sent = len(self.sched.replies.sent)
        for ev in events:
            self.futs += await self.sched.driver.handle(ev, 0.0)
        replies = self.sched.replies.sent[sent:]
        return replies[-1] if replies else None


@pytest.mark.asyncio
async def test_an_answer_to_a_task_request_sent_by_another_scheduler_completes_the_task_once(database):
    db = database
    async with Scheduler(db) as a, Scheduler(db) as b:
        cpe, tid, offer = await uptime_offer(db, a, "REC00001")  # A offers the task's request with the empty POST's answer
        assert isinstance(request_of(offer), m.GetParameterValues)
        assert tagged_task(request_id(offer)) == (str(tid), 0)
        await a.drained()
        assert (await db.doc(TASKS, tid))["attempts"] == 1

        cpe.sched = b  # the partition moves: the CPE's answer reaches B
        end = await cpe.answer(offer)
        assert end.status == 204, "the task's request is not sent again"
        assert cpe.rpcs == ["GetParameterValues"]
        await b.drained()
        task = (await db.doc(TASKS, tid))
        assert task["status"] == "done" and task["attempts"] == 1
        assert task["result"]["parameterValues"][0][0] == UPTIME
        assert results(b, cpe.id) == [(str(tid), "done")] and results(a, cpe.id) == []
        assert [e.outcome for e in b.outbound.of(SessionEnded, cpe.id)] == ["ok"]
        assert cpe.id not in b.driver.sessions


@pytest.mark.asyncio
async def test_the_session_goes_on_with_the_next_task_on_the_new_scheduler(database):
    db = database
    async with Scheduler(db) as a, Scheduler(db) as b:
        cpe = await known(a, "REC00002")
        first = await new_task(db, cpe.id, "getParameterValues", parameterNames=[UPTIME])
        second = await new_task(db, cpe.id, "setParameterValues",
                          parameterValues=[[f"{ROOT}.ManagementServer.PeriodicInformInterval", 600, "xsd:unsignedInt"]])
        # the CPE's empty POST was published: A sends the first task's request in the usual way
        await cpe.inform("6 CONNECTION REQUEST", reply_to=None)
        gpv = await cpe.empty()
        assert isinstance(request_of(gpv), m.GetParameterValues) and tagged_task(request_id(gpv)) == (str(first), 0)

        cpe.sched = b
        spv = await cpe.answer(gpv)
        assert isinstance(request_of(spv), m.SetParameterValues)  # the next task, not the first again
        assert tagged_task(request_id(spv)) == (str(second), 0)
        assert (await cpe.serve(spv)).status == 204
        assert cpe.rpcs == ["GetParameterValues", "SetParameterValues"]
        await b.drained()
        assert [(await db.doc(TASKS, t))["status"] for t in (first, second)] == ["done", "done"]
        assert results(b, cpe.id) == [(str(first), "done"), (str(second), "done")]
        assert cpe.dev.value(f"{ROOT}.ManagementServer.PeriodicInformInterval").value == 600


@pytest.mark.asyncio
async def test_a_fault_to_a_task_request_sent_by_another_scheduler_faults_the_task_as_usual(database):
    db = database
    async with Scheduler(db) as a, Scheduler(db) as b:
        cpe = await known(a, "REC00003")
        tid = await new_task(db, cpe.id, "getParameterValues", parameterNames=[f"{ROOT}.No.Such.Parameter"])
        offer = await cpe.inform("6 CONNECTION REQUEST")
        await a.drained()
        cpe.sched = b
        end = await cpe.answer(offer)  # the simulated CPE answers 9005
        assert end.status == 204 and cpe.rpcs == ["GetParameterValues"]
        await b.drained()
        task = (await db.doc(TASKS, tid))
        assert task["status"] == "fault" and task["fault"]["code"] == "cwmp.9005"
        fault = (await db.doc(FAULTS, f"{cpe.id}:task_{tid}"))
        assert fault["code"] == "cwmp.9005" and fault["retries"] == 0  # as when A sees the fault itself
        assert task["attempts"] == 1
        assert results(b, cpe.id) == [(str(tid), "fault")]


@pytest.mark.asyncio
async def test_an_answer_to_a_later_step_recovers_in_the_acs_turn_as_before(database):
    db = database
    async with Scheduler(db) as a, Scheduler(db) as b:
        cpe = await known(a, "REC00004")
        tid = await new_task(db, cpe.id, "refreshObject", objectName=f"{ROOT}.DeviceInfo")  # GetParameterNames, then values
        gpn = await cpe.inform("6 CONNECTION REQUEST")
        assert isinstance(request_of(gpn), m.GetParameterNames) and tagged_task(request_id(gpn)) == (str(tid), 0)
        gpv = await cpe.answer(gpn)
        assert isinstance(request_of(gpv), m.GetParameterValues) and tagged_task(request_id(gpv)) == (str(tid), 1)

        cpe.sched = b  # B cannot rebuild the run half-way: the task starts over
        again = await cpe.answer(gpv)
        assert isinstance(request_of(again), m.GetParameterNames)
        assert tagged_task(request_id(again)) == (str(tid), 0)
        assert (await db.doc(TASKS, tid))["status"] == "pending"
        assert (await cpe.serve(again)).status == 204
        await b.drained()
        assert (await db.doc(TASKS, tid))["status"] == "done"
        assert results(b, cpe.id) == [(str(tid), "done")] and results(a, cpe.id) == []


@pytest.mark.asyncio
async def test_a_replayed_answer_to_a_task_done_already_does_not_complete_it_twice(database):
    db = database
    async with Scheduler(db) as a, Scheduler(db) as b:
        cpe, tid, offer = await uptime_offer(db, a, "REC00005")
        answer = cpe._event("message", cpe.dev.handle(request_of(offer)), request_id(offer))
        assert (await cpe._send(answer)).status == 204  # A completes the task...
        await a.drained()
        done = (await db.doc(TASKS, tid))
        assert done["status"] == "done"

        cpe.sched = b  # ... and dies before the event's offset was committed: B reads it again
        assert (await cpe._send(answer)).status == 204
        await b.drained()
        assert (await db.doc(TASKS, tid)) == done
        assert results(a, cpe.id) == [(str(tid), "done")] and results(b, cpe.id) == []


@pytest.mark.asyncio
async def test_a_response_that_does_not_answer_the_tasks_request_never_completes_it(database):
    db = database
    async with Scheduler(db) as a, Scheduler(db) as b:
        cpe, tid, offer = await uptime_offer(db, a, "REC00006")
        cpe.sched = b
        # the ID names the task's first request, but the body answers another RPC
        wrong = cpe._event("message", m.SetParameterValuesResponse(status=0), request_id(offer))
        reply = await cpe._send(wrong)
        assert isinstance(request_of(reply), m.GetParameterValues)  # recovered as before: the task is sent
        assert (await db.doc(TASKS, tid))["status"] == "pending" and results(b, cpe.id) == []
        assert (await cpe.serve(reply)).status == 204
        await b.drained()
        assert (await db.doc(TASKS, tid))["status"] == "done" and results(b, cpe.id) == [(str(tid), "done")]


@pytest.mark.asyncio
async def test_an_answer_naming_a_task_of_another_device_or_none_recovers_as_before(database):
    db = database
    async with Scheduler(db) as a, Scheduler(db) as b:
        cpe = await known(a, "REC00007")
        other = await new_task(db, "someone-else", "getParameterValues", parameterNames=[UPTIME])
        mine = await new_task(db, cpe.id, "getParameterValues", parameterNames=[UPTIME])
        offer = await cpe.inform("6 CONNECTION REQUEST")
        cpe.sched = b
        response = cpe.dev.handle(request_of(offer))
        forged = f"{request_id(offer).split('.')[0]}.{other}.0"
        reply = await cpe._send(cpe._event("message", response, forged))
        assert isinstance(request_of(reply), m.GetParameterValues)
        assert (await db.doc(TASKS, other))["status"] == "pending" and (await db.doc(TASKS, mine))["status"] == "pending"

        await cpe.inform("6 CONNECTION REQUEST", reply_to=None)
        cpe.sched = a
        untagged = await cpe._send(cpe._event("message", response, "a1b2c3d4-1"))
        assert isinstance(request_of(untagged), m.GetParameterValues)
        assert (await db.doc(TASKS, mine))["status"] == "pending"


@pytest.mark.asyncio
async def test_request_ids_name_tasks_only_and_stay_short(database):
    """A task's requests carry "<task id>.<step>"; the ACS's own (discovery, bootstrap defaults,
    presets) carry no tag. Every ID is well under the 64 characters a CPE must echo."""
    db = database
    async with Scheduler(db, gpv_batch_size=1) as sched:  # one GetParameterValues per name in tasks
        cpe = Cpe(sched, "REC00008")
        ids = []
        reply = await cpe.inform("0 BOOTSTRAP", "1 BOOT")
        while reply.status == 200 and reply.body:
            ids.append((request_of(reply).RPC, request_id(reply)))
            reply = await cpe.answer(reply)
        assert [rpc for rpc, _ in ids] == ["GetParameterValues", "SetParameterValues"]
        assert all(request_tag(i) is None for _, i in ids)

        tid = await new_task(db, cpe.id, "getParameterValues", parameterNames=[UPTIME, f"{ROOT}.DeviceInfo.SoftwareVersion"])
        reply = await cpe.inform("6 CONNECTION REQUEST")
        tagged = []
        while reply.status == 200 and reply.body:
            tagged.append(request_id(reply))
            reply = await cpe.answer(reply)
        assert [tagged_task(i) for i in tagged] == [(str(tid), 0), (str(tid), 1)]
        await sched.drained()
        assert (await db.doc(TASKS, tid))["status"] == "done"
        assert all(len(i) < 64 for _, i in ids) and all(len(i) < 64 for i in tagged)
        assert max(len(i) for i in tagged) <= 8 + 1 + 3 + 1 + 24 + 1 + 3


@pytest.mark.asyncio
@pytest.mark.parametrize("replayed", [False, True], ids=["recovered", "replayed-inform"])
async def test_an_answer_reached_after_the_gateway_gave_up_leaves_the_task_to_the_next_session(replayed, database):
    """The partitions moved only after the gateway's reply timeout (a scheduler died): the CPE
    got 204 and its session is over. Its answer is not taken up: the task stays pending and runs
    at the device's next session, as for any session cut short."""
    db = database
    async with Scheduler(db) as a, Scheduler(db) as b:
        cpe, tid, offer = await uptime_offer(db, a, "REC00009", ReplayableCpe)
        cpe.sched = b
        if replayed:
            await cpe.replay(cpe.sent[-1])
        late = cpe._event("message", cpe.dev.handle(request_of(offer)), request_id(offer))
        late.received_at -= 60
        assert (await cpe._send(late)).outcome in ("stale", "fault")
        await b.drained()
        assert (await db.doc(TASKS, tid))["status"] == "pending" and results(b, cpe.id) == []
        again = await cpe.inform("6 CONNECTION REQUEST")
        assert isinstance(request_of(again), m.GetParameterValues)
        assert (await cpe.serve(again)).status == 204
        await b.drained()
        assert (await db.doc(TASKS, tid))["status"] == "done" and results(b, cpe.id) == [(str(tid), "done")]


# ------------------------------------------------------------- a session rebuilt from its replayed Inform
@pytest.mark.asyncio
@pytest.mark.parametrize("same_scheduler", [False, True], ids=["moved", "reassigned-to-itself"])
async def test_an_answer_to_the_offer_of_a_session_replayed_from_its_inform_completes_the_task_once(same_scheduler, database):
    db = database
    async with Scheduler(db) as a, Scheduler(db) as b:
        cpe, tid, offer = await uptime_offer(db, a, "REC00010", ReplayableCpe)  # the CPE's empty POST gets this one
        inform = cpe.sent[-1]
        await a.drained()

        cpe.sched = a if same_scheduler else b  # the partition moves before the Inform's offset was committed
        again = await cpe.replay(inform)  # the session is rebuilt: it offers the task again, to nobody
        assert isinstance(request_of(again), m.GetParameterValues)
        assert request_id(again) != request_id(offer) and tagged_task(request_id(again)) == tagged_task(request_id(offer))
        end = await cpe.answer(offer)  # the CPE answers the request it got
        assert end.status == 204 and cpe.rpcs == ["GetParameterValues"]
        await cpe.sched.drained()
        task = (await db.doc(TASKS, tid))
        assert task["status"] == "done" and task["attempts"] == 1
        assert results(a, cpe.id) + results(b, cpe.id) == [(str(tid), "done")]


@pytest.mark.asyncio
async def test_an_answer_to_a_request_sent_again_by_a_replayed_session_completes_the_task_once(database):
    """The Inform and the empty POST are replayed: the rebuilt session sent the task's request
    again (to a gateway that stopped waiting long ago); the CPE answers the first one."""
    db = database
    async with Scheduler(db) as a, Scheduler(db) as b:
        cpe = await known(a, "REC00011", ReplayableCpe)
        first = await new_task(db, cpe.id, "getParameterValues", parameterNames=[UPTIME])
        second = await new_task(db, cpe.id, "reboot")
        await cpe.inform("6 CONNECTION REQUEST", reply_to=None)
        gpv = await cpe.empty()
        inform, empty = cpe.sent[-2:]
        cpe.sched = b
        resent = await cpe.replay(inform, empty)
        assert isinstance(request_of(resent), m.GetParameterValues) and request_id(resent) != request_id(gpv)
        reboot = await cpe.answer(gpv)
        assert isinstance(request_of(reboot), m.Reboot) and tagged_task(request_id(reboot)) == (str(second), 0)
        assert (await cpe.serve(reboot)).status == 204
        assert cpe.rpcs == ["GetParameterValues", "Reboot"]
        await b.drained()
        assert [((await db.doc(TASKS, t))["status"], (await db.doc(TASKS, t))["attempts"]) for t in (first, second)] == [("done", 1), ("done", 1)]
        assert results(b, cpe.id) == [(str(first), "done"), (str(second), "done")]


@pytest.mark.asyncio
async def test_a_fault_to_the_first_copy_faults_the_task_as_usual(database):
    db = database
    async with Scheduler(db) as a, Scheduler(db) as b:
        cpe = await known(a, "REC00012", ReplayableCpe)
        tid = await new_task(db, cpe.id, "getParameterValues", parameterNames=[f"{ROOT}.No.Such.Parameter"])
        offer = await cpe.inform("6 CONNECTION REQUEST")
        await a.drained()
        cpe.sched = b
        await cpe.replay(cpe.sent[-1])
        assert (await cpe.answer(offer)).status == 204
        await b.drained()
        task = (await db.doc(TASKS, tid))
        assert task["status"] == "fault" and task["attempts"] == 1
        assert (await db.doc(FAULTS, f"{cpe.id}:task_{tid}"))["retries"] == 0
        assert results(b, cpe.id) == [(str(tid), "fault")]


@pytest.mark.asyncio
async def test_an_answer_to_another_step_or_rpc_than_the_replayed_sessions_is_refused_as_before(database):
    db = database
    async with Scheduler(db) as a, Scheduler(db) as b:
        cpe, tid, offer = await uptime_offer(db, a, "REC00013", ReplayableCpe)
        inform = cpe.sent[-1]
        cpe.sched = b
        await cpe.replay(inform)
        wrong = cpe._event("message", m.RebootResponse(), request_id(offer))  # the same tag, another RPC
        assert (await cpe._send(wrong)).status == 204  # 8003 as before: the session ends
        assert [e.outcome for e in b.outbound.of(SessionEnded, cpe.id)] == ["fault"]
        await b.drained()
        assert (await db.doc(TASKS, tid))["status"] == "pending" and results(b, cpe.id) == []


@pytest.mark.asyncio
async def test_a_session_right_after_the_one_that_completed_a_task_does_not_find_it_pending(database):
    """Events read in a backlog (after a move, the gateway long gone): the answer that completes
    the task, then the CPE's next Inform at once, before the batch writer stored the task's
    status. The next session's look at the device's tasks waits for that write."""
    db = database
    async with Scheduler(db) as a, Scheduler(db) as b:
        cpe = await known(a, "REC00014", ReplayableCpe)
        b.writer._max_delay = 0.5  # a database slow to answer (the read below comes first, even on a busy machine)
        tid = await new_task(db, cpe.id, "getParameterValues", parameterNames=[UPTIME])
        offer = await cpe.inform("6 CONNECTION REQUEST")
        cpe.sched = b
        assert (await cpe.answer(offer)).status == 204
        assert (await db.doc(TASKS, tid))["status"] == "pending"  # not stored yet
        assert (await cpe.inform("6 CONNECTION REQUEST")).status == 204  # nothing left to do
        await b.drained()
        assert (await db.doc(TASKS, tid))["status"] == "done" and results(b, cpe.id) == [(str(tid), "done")]


@pytest.mark.asyncio
async def test_a_task_finished_twice_keeps_its_first_outcome_and_a_deleted_one_stays_deleted(database):
    db = database
    async with Scheduler(db) as first, Scheduler(db) as second:
        tid = await new_task(db, "DEV-TWICE", "reboot")
        first.store.finish_task(tid, {"$set": {"status": "done"}}, "DEV-TWICE")
        await first.drained()
        second.store.finish_task(tid, {"$set": {"status": "fault"}}, "DEV-TWICE")  # the other owner, late
        await second.drained()
        assert (await db.doc(TASKS, tid))["status"] == "done"

        gone = await new_task(db, "DEV-TWICE", "reboot")
        await db[TASKS].delete_one({"_id": gone})  # an operator deleted it while it ran
        first.store.finish_task(gone, {"$set": {"status": "done"}}, "DEV-TWICE")
        await first.drained()
        assert (await db.doc(TASKS, gone)) is None
