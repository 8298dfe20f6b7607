"""What the scheduler keeps about one device's CWMP session between its POSTs, and the cwmp:ID
tags that tie a request to the task that sent it.

Each unit of the session driver owns part of this record and says so in its docstring: the
Inform (``inform.py``) fills the events and the plan, the task queue (``task_queue.py``) the
running task, the provisioning step (``provisioning_step.py``) the presets' run and credentials,
the live sessions (``sessions.py``) the held writes at the session's end.
"""

from __future__ import annotations

import re
import time
from collections import deque
from typing import Any

from cwmp import messages as m
from cwmp.session import AcsSession, request_tag, response_rpc

from .store import DeviceWrites
from .tasks import TaskRun

# Task ids that go into request tags: ObjectIds (24 hex), which keeps cwmp:IDs short.
_TASK_ID = re.compile(r"[0-9a-f]{24}")


def task_tag(task: dict | None, run: TaskRun | None) -> str | None:
    """The cwmp:ID tag of the request ``run`` just gave out: "<task id>.<step>" (None for the
    ACS's own runs and tasks whose id is not an ObjectId)."""
    if task is None or run is None or task.get("builtin"):
        return None
    task_id = str(task.get("_id"))
    return f"{task_id}.{run.step}" if _TASK_ID.fullmatch(task_id) and run.step >= 0 else None


def tagged_task(request_id: str | None) -> tuple[str, int] | None:
    """(task id, step) from the cwmp:ID a CPE echoed, or None when the request was no task's."""
    tag = request_tag(request_id)
    if tag is None:
        return None
    task_id, _, step = tag.partition(".")
    if not _TASK_ID.fullmatch(task_id) or not step.isdigit():
        return None
    return task_id, int(step)


def answers(body: m.Message, request: m.Message) -> bool:
    """Whether ``body`` (a CPE response or fault) can answer ``request``."""
    return isinstance(body, m.Fault) or body.RPC == response_rpc(request)


def give_back_attempt(task: dict) -> None:
    """The task document's attempt count, less the one counted twice for the same request."""
    task["attempts"] = max(0, int(task.get("attempts", 0)) - 1)


class DeviceSession:
    """What the scheduler keeps about one device's session between its POSTs."""

    __slots__ = ("device_id", "session_id", "acs", "started", "event_codes", "tasks", "task", "run",
                 "may_have_tasks", "sent_at", "last_seen", "recovered", "pending_request", "provision", "provision_done",
                 "builtin", "writes", "bootstrap", "codes", "ext_calls", "cpe_facts", "cred_previous")

    def __init__(self, device_id: str, session_id: str) -> None:
        self.device_id = device_id
        self.session_id = session_id
        self.acs = AcsSession()
        self.started = time.monotonic()
        self.event_codes: list[str] = []
        self.tasks: deque[dict] | None = None
        self.task: dict | None = None
        self.run: TaskRun | None = None
        self.may_have_tasks = False
        self.sent_at = 0.0
        self.last_seen = time.monotonic()
        self.recovered = False
        self.pending_request: m.Message | None = None  # a task's next RPC, sent at the next turn
        self.provision: Any = None  # the presets' ProvisionRun while it sends RPCs
        self.provision_done = False
        self.builtin: list[dict] = []  # the ACS's own runs (BOOTSTRAP discovery), before the device's tasks
        self.writes = DeviceWrites(device_id)  # device updates held until the session ends or a task completes
        self.bootstrap = False  # a BOOTSTRAP (this Inform's, or one a session cut short) to finish
        self.codes: list[str] = []  # the events tasks and presets go by: the Inform's, and BOOTSTRAP when resumed
        self.ext_calls: Any = None  # the presets' run waits for these ext() answers (ExtensionCalls)
        self.cpe_facts: dict[str, Any] = {}  # which credentials the CPE logged in with (cpe_credentials.facts_of)
        self.cred_previous: dict[str, Any] | None = None  # kept for the grace window when new ones are stored

    def outgoing_tag(self) -> str | None:
        """The cwmp:ID tag of the request about to go out: the task's id and step when it is the
        running task's (a preset's request, or the ACS's own, is not tagged)."""
        return None if self.provision is not None else task_tag(self.task, self.run)
