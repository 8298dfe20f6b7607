"""The errors of bad queries, paths and presets: a message saying what is wrong, and a detail
(the offending value, or what would be allowed) that the NBI returns next to it."""

from __future__ import annotations

from typing import Any


class QueryError(ValueError):
    """A query this ACS refuses to run (or cannot run)."""

    def __init__(self, message: str, detail: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class PathError(QueryError):
    """A parameter path or path pattern that is not one."""


class PresetError(QueryError):
    """A preset or declaration that cannot be run."""
