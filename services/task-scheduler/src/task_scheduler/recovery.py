"""Recovering a session this instance never saw begin, and taking up a task request whose answer
comes under another cwmp:ID (see ``device_session``'s docstring for when each happens).

Tasks are idempotent by task id across a move: the cwmp:ID of every request a task sends
carries the task id and the request's step (``session_state.task_tag``), so the answer to a
task's first request rebuilds the task's run and completes it once, and the CPE does not
execute it twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from acs_contracts.device_id import split_device_id
from acs_contracts.kafka_topics import SessionEvent
from cwmp import messages as m

from .session_state import DeviceSession, answers, give_back_attempt, tagged_task
from .store import Store
from .task_queue import TaskQueue
from .tasks import TaskArgumentError, TaskRun

log = logging.getLogger(__name__)


class SessionRecovery:
    """Rebuilds sessions and task runs from the events that reach this instance."""

    def __init__(self, store: Store, tasks: TaskQueue) -> None:
        self.store = store
        self.tasks = tasks

    @staticmethod
    def rebuild(ev: SessionEvent) -> DeviceSession:
        """A session this instance never saw begin, resumed in the ACS's turn (then ``resume_task``
        may take up the task request the event answers)."""
        oui, product_class, serial = split_device_id(ev.device_id)
        s = DeviceSession(ev.device_id, ev.session_id)
        inform = m.Inform(device_id=m.DeviceIdStruct("", oui, product_class, serial), events=[])
        s.acs.receive(m.Envelope(body=inform, cwmp_ns=ev.cwmp_ns, cwmp_version=ev.cwmp_version))
        s.acs.respond(s.acs.inform_response())
        body = ev.body or {}
        if ev.kind == "empty" or str(body.get("rpc", "")).endswith("Response") or body.get("rpc") == "Fault":
            s.acs.receive(None)  # into the ACS's turn
        s.recovered = True
        s.may_have_tasks = True
        log.info("recovered session %s of %s", ev.session_id, ev.device_id)
        return s

    async def resume_task(self, s: DeviceSession, env: m.Envelope) -> bool:
        """A recovered session whose first event answers (response or fault) the first request of
        a task still pending for the device, as its cwmp:ID says: take that request up as if this
        instance had sent it (the task's run rebuilt, the request outstanding again) and say
        True; the event is then received as usual and completes or faults the task, so the CPE
        does not execute it a second time. False (the plain recovery: the ACS's turn, the
        device's pending tasks from the start) for anything else: no task tag, a later step of
        the task (its run cannot be rebuilt half-way), a task no longer pending (a replayed
        event: it completed already), or a response that does not answer the rebuilt request.
        (A stale event is not taken up: see ``device_session``'s docstring.)"""
        tagged = tagged_task(env.id)
        if tagged is None or env.id is None or env.body is None:
            return False
        task_id, step = tagged
        s.tasks = deque(await self.store.pending_tasks(s.device_id))  # read once: the session needs them anyway
        task = next((t for t in s.tasks if str(t.get("_id")) == task_id), None)
        if step != 0 or task is None:
            log.info("%s: answer to step %d of task %s, %s: recovered in the ACS's turn", s.device_id, step, task_id,
                     "a later step" if task is not None else "no longer pending")
            return False
        try:
            run = TaskRun(task, await self.tasks.context(s, task))
            request = run.start()
        except (TaskArgumentError, KeyError, TypeError, ValueError) as e:
            log.info("%s: task %s cannot be rebuilt (%s): recovered in the ACS's turn", s.device_id, task_id, e)
            return False
        if request is None or not answers(env.body, request):
            log.warning("%s: %s does not answer the first request of task %s (%s): recovered in the ACS's turn",
                        s.device_id, env.body.RPC, task_id, request.RPC if request is not None else "none")
            return False
        s.acs.resume_request(request, env.id)
        s.tasks.remove(task)
        give_back_attempt(task)  # counted by the instance that sent the request: the task as that one read it
        s.task, s.run = task, run
        log.info("%s: resumed task %s (%s) from the answer to its request", s.device_id, task_id, request.RPC)
        return True

    def answer_to_a_copy(self, s: DeviceSession, env: m.Envelope) -> list[asyncio.Future]:
        """An answer whose cwmp:ID names the same task and step as the request this session
        offered or sent, under another ID: the session was rebuilt from its replayed Inform
        (partitions moved, to another instance or back to this one, before the Inform's offset
        was committed), and it asked again for what the first AcsSession had asked, on an HTTP
        request nobody waits for any more. The CPE answers the first one: take that one up
        (``AcsSession.resume_request``), so the answer completes the step once and the CPE is
        not asked again; the task's attempt counted a second time at the replayed start is
        given back. Anything else is left to the session rules (8003 for another cwmp:ID); a
        stale event is not taken up (see ``device_session``'s docstring)."""
        acs = s.acs
        offered = acs.offered is not None and acs.outstanding is None
        request, own_id = (acs.offered, acs.offered_id) if offered else (acs.outstanding, acs.outstanding_id)
        if request is None or env.body is None or not env.id or env.id == own_id:
            return []
        theirs = tagged_task(env.id)
        if theirs is None or theirs != tagged_task(own_id):
            return []
        if not answers(env.body, request):
            return []
        acs.resume_request(request, env.id, replace=not offered)
        log.info("%s: answer to step %d of task %s sent under another cwmp:ID (a replayed session): taken up",
                 s.device_id, theirs[1], theirs[0])
        task = s.task
        if theirs[1] != 0 or task is None or str(task.get("_id")) != theirs[0]:
            return []
        give_back_attempt(task)
        return [self.store.update_task(task["_id"], {"$inc": {"attempts": -1}}, s.device_id)]
