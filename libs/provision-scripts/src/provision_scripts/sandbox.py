"""One QuickJS context with GenieACS's script API installed, and the limits every run gets.

QuickJS (the ``quickjs-ng`` build) counts a run's CPU time (its interrupt handler compares
``clock()``, so a busy loop is stopped whatever the wall clock says) and refuses allocations past
a memory limit; there is no module loader, file system or network in it. A context belongs to
the thread that made it: the scheduler keeps one per device session on its event-loop thread.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import orjson
import quickjs

from .errors import ScriptError, ScriptSyntaxError

log = logging.getLogger(__name__)

_PRELUDE = resources.files(__package__).joinpath("sandbox.js").read_text()
# ``new Function(body)`` compiles the body as "(function anonymous(\n) {\n<body>\n})": two lines
# before the script's first, so positions are shifted back by two for the user.
_LINE_SHIFT = 2
_POSITION = re.compile(r"<input>:(\d+):(\d+)")
_HEAD = re.compile(r"^([A-Za-z_$][\w$]*): ?(.*)$")


@dataclass(frozen=True)
class Limits:
    """Per run: CPU seconds, heap bytes and native stack bytes of the JavaScript engine."""

    cpu_s: float = 0.5
    memory_bytes: int = 32 * 1024 * 1024
    stack_bytes: int = 512 * 1024


_API_FRAMES = {"need", "commit", "lookUp", "_get", "_attr", "value", "size", "path", "writable", "object", "plain",
               "declare", "clear", "ext", "log", "now", "random"}
_FRAME = re.compile(r"^\s*at (?:get )?([^\s(]+)")


def _shift(stack: str) -> str:
    """The script's own frames of a stack, at the script's line numbers: the sandbox's API
    frames on top and its runner below are cut off."""
    frames = [line for line in stack.splitlines() if line.strip()]
    while frames and (m := _FRAME.match(frames[0])) and m[1] in _API_FRAMES:
        frames.pop(0)
    mine: list[str] = []
    for line in frames:
        if "<anonymous>" in line or "<eval>" in line or "(native)" in line:
            break
        mine.append(_POSITION.sub(lambda m: f"<script>:{max(1, int(m[1]) - _LINE_SHIFT)}:{m[2]}", line.strip()))
    return "\n".join(mine)


def _error(e: Exception, script: str | None) -> ScriptError:
    """A JavaScript exception as a ScriptError: its name, message and stack (script lines)."""
    text = str(e)
    if isinstance(e, quickjs.StackOverflow):
        return ScriptError("RangeError", "maximum call stack size exceeded", _shift(text.partition("\n")[2])[:500] or None, script)
    first, _, stack = text.partition("\n")
    if first.strip() in ("null", "", "InternalError: out of memory") or "out of memory" in first:
        return ScriptError("OutOfMemory", "the script used more memory than its limit", None, script)
    if first.startswith("InternalError: interrupted"):
        return ScriptError("Timeout", "the script ran longer than its CPU time limit", _shift(stack)[:2000] or None, script)
    head = _HEAD.match(first)
    name, message = (head[1], head[2]) if head else ("Error", first)
    return ScriptError(name, message, _shift(stack)[:2000] or None, script)


class Sandbox:
    """A JavaScript context: ``load`` compiles named scripts once, ``run`` runs one of them."""

    def __init__(self, limits: Limits = Limits()) -> None:
        self.limits = limits
        self._ctx = quickjs.Context()
        self._ctx.set_memory_limit(limits.memory_bytes)
        self._ctx.set_max_stack_size(limits.stack_bytes)
        self._ctx.set_time_limit(limits.cpu_s)
        self._ctx.eval(_PRELUDE)
        self._run_fn = self._ctx.get("__run")  # called directly: no expression to compile per run
        self._loaded: dict[str, str] = {}

    def load(self, name: str, source: str) -> None:
        """Compile ``source`` as the body of a function (so a top-level ``return`` works, as in
        GenieACS); a script already loaded with the same text is not compiled again."""
        if self._loaded.get(name) == source:
            return
        self._ctx.set("__source", source)
        self._ctx.set("__name", name)
        try:
            self._ctx.eval("__scripts[__name] = new Function(__source); __source = undefined;")
        except quickjs.JSException as e:
            err = _error(e, name)
            if err.name == "SyntaxError":
                raise _syntax(str(e), name, source) from None
            raise err from None
        self._loaded[name] = source

    def run(self, name: str, given: dict[str, Any]) -> dict[str, Any]:
        """Run a loaded script once from the top with what the host has ``given`` (clock, seed,
        answers); whether it ended or stopped for a ``need``, and its declarations as JSON texts.
        Raises ScriptError for what it threw or overran."""
        try:
            raw = self._run_fn(name, orjson.dumps({k: v for k, v in given.items() if v or k == "args"}, default=str).decode())
        except quickjs.JSException as e:
            raise _error(e, name) from None
        head, *declarations = raw.split("\n")  # JSON text never holds a raw newline
        out: dict[str, Any] = orjson.loads(head)
        out["declarations"] = declarations
        return out


def _syntax(text: str, script: str | None, source: str) -> ScriptSyntaxError:
    """The engine's parse error at the script's own position (an unexpected end of the text is
    reported on the script's last line, not on the wrapper's closing one)."""
    first = text.partition("\n")[0]
    head = _HEAD.match(first)
    message = head[2] if head else first
    pos = _POSITION.search(text)
    line = min(max(1, int(pos[1]) - _LINE_SHIFT), max(1, len(source.splitlines()))) if pos else None
    column = int(pos[2]) if pos else None
    return ScriptSyntaxError(message, line, column, script)


def check_syntax(source: str, limits: Limits = Limits(cpu_s=0.5)) -> None:
    """Raise ScriptSyntaxError if ``source`` is not a valid script body; runs none of it."""
    if not isinstance(source, str):
        raise ScriptSyntaxError("a script is JavaScript text")
    ctx = quickjs.Context()
    ctx.set_memory_limit(limits.memory_bytes)
    ctx.set_max_stack_size(limits.stack_bytes)
    ctx.set_time_limit(limits.cpu_s)
    ctx.set("__source", source)
    try:
        ctx.eval("new Function(__source); undefined")
    except quickjs.JSException as e:
        err = _error(e, None)
        if err.name == "SyntaxError":
            raise _syntax(str(e), None, source) from None
        raise err from None
