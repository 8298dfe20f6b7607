"""What every task kind is written against: the generator type, its context, its outcome, and
the helpers that check a CPE's answer and record the values it carried. Both :mod:`.tasks` and
:mod:`.diagnostics` build on this module (neither imports the other's internals)."""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cwmp import messages as m

from .device_record import is_secret, jsonable, parameter_sets

TaskGen = Generator[m.Message, m.Message, None]


class TaskArgumentError(ValueError):
    """A task document whose arguments cannot become an RPC."""


@dataclass
class TaskContext:
    device_id: str
    task_id: str
    now: Callable[[], datetime]
    gpv_batch_size: int = 100
    partial_path_values: bool = True  # refreshObject reads a subtree's values by its partial path
    known_types: dict[str, str] = field(default_factory=dict)
    phase: int = 1  # 2 when a task that waited for an Inform event resumes
    download_url: Callable[[str], str] | None = None  # file name -> signed URL
    upload_url: Callable[[str, str], str] | None = None  # (command key, file type) -> signed URL
    file_size: Callable[[str], int] | None = None


@dataclass
class TaskOutcome:
    sets: dict[str, Any] = field(default_factory=dict)
    unsets: list[str] = field(default_factory=list)
    result: dict[str, Any] = field(default_factory=dict)
    changes: list[dict[str, Any]] = field(default_factory=list)
    awaiting_transfer: bool = False  # done only when TransferComplete with this CommandKey arrives
    awaiting_event: str | None = None  # e.g. "8 DIAGNOSTICS COMPLETE": resumed (task["phase"] = 2) by that Inform


def expect(resp: m.Message, cls: type) -> Any:
    """The CPE's answer as ``cls``, or a TaskArgumentError naming what came instead."""
    if not isinstance(resp, cls):
        raise TaskArgumentError(f"expected {cls.__name__}, got {type(resp).__name__}")
    return resp


def record_values(out: TaskOutcome, ctx: TaskContext, params: list[m.ParameterValueStruct]) -> None:
    """Values a CPE reported go to the device record and, secrets masked, to the change feed."""
    out.sets.update(parameter_sets(params, ctx.now()))
    out.changes.extend({"name": p.name, "value": None if is_secret(p.name) else jsonable(p.value), "type": p.type,
                        "previous": None} for p in params)
