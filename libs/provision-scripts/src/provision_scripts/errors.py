"""What can go wrong with a script, named the way GenieACS names its faults (``script.<Error>``)."""

from __future__ import annotations

from typing import Any


class ScriptError(RuntimeError):
    """A script that threw, overran its limits or used the API wrongly: a fault on the device.

    ``name`` is the JavaScript error's name (``TypeError``, ``SyntaxError``...) or ``Timeout`` /
    ``OutOfMemory`` for the sandbox's limits; the fault code is ``script.<name>``.
    """

    def __init__(self, name: str, message: str, stack: str | None = None, script: str | None = None) -> None:
        super().__init__(message)
        self.name = name
        self.message = message
        self.stack = stack
        self.script = script

    @property
    def code(self) -> str:
        return f"script.{self.name}"

    def detail(self) -> dict[str, Any]:
        return {"name": self.name, "message": self.message, "stack": self.stack, "script": self.script}


class ScriptSyntaxError(ScriptError):
    """A script that does not compile; ``line`` and ``column`` point into the script's own text."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None, script: str | None = None) -> None:
        where = f" (line {line}, column {column})" if line is not None else ""
        super().__init__("SyntaxError", message + where, None, script)
        self.line = line
        self.column = column
