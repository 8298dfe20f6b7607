"""Reading device documents (GenieACS shape) and printing: Rich tables for people, JSON for scripts."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable, Iterator
from typing import Any

from rich.console import Console
from rich.table import Table


def _width(stream: Any) -> int | None:
    """Rich's own width on a terminal; wide (COLUMNS, else 200) when piped, so ids stay whole."""
    try:
        if stream.isatty():
            return None
    except (AttributeError, ValueError):
        pass
    return int(os.environ.get("COLUMNS") or 200)


out = Console(highlight=False, soft_wrap=False, width=_width(sys.stdout))
err = Console(stderr=True, highlight=False, width=_width(sys.stderr))

_INSTANCE = re.compile(r"^\d+$")


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def node_at(doc: Any, path: str) -> Any:
    node = doc
    for seg in path.rstrip(".").split("."):
        if not isinstance(node, dict) or seg not in node:
            return None
        node = node[seg]
    return node


def value_at(doc: dict[str, Any], path: str) -> Any:
    """A parameter's value (``_value``), a plain field's value (``_tags``, ``_deviceId._OUI``), or
    None when the document does not have it."""
    node = node_at(doc, path)
    if isinstance(node, dict):
        if "_value" in node:
            return node["_value"]
        if node.get("_object"):
            return None
    return node


def _sort_key(name: str) -> tuple[int, Any]:
    return (0, int(name)) if _INSTANCE.match(name) else (1, name)


def leaves(doc: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any, str, Any]]:
    """(path, value, type, writable) of every parameter under ``prefix`` (the whole tree when
    empty), in tree order with instances numerically."""
    start = node_at(doc, prefix) if prefix else doc
    base = prefix.rstrip(".") if prefix else ""
    if not isinstance(start, dict):
        return
    if "_value" in start:
        yield base, start.get("_value"), start.get("_type", ""), start.get("_writable")
        return

    def walk(node: dict[str, Any], path: str) -> Iterator[tuple[str, Any, str, Any]]:
        for key in sorted((k for k in node if not k.startswith("_")), key=_sort_key):
            child = node[key]
            if not isinstance(child, dict):
                continue
            p = f"{path}.{key}" if path else key
            if "_value" in child or child.get("_object") is False:
                yield p, child.get("_value"), child.get("_type", ""), child.get("_writable")
            else:
                yield from walk(child, p)

    yield from walk(start, base)


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, default=str)
    return str(value)


def when(value: Any) -> str:
    """An ISO time as ``2025-06-01 12:00:03`` (UTC)."""
    s = text(value)
    m = re.match(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})", s)
    return f"{m.group(1)} {m.group(2)}" if m else s


def table(title: str | None, columns: Iterable[str], rows: Iterable[Iterable[Any]], *, caption: str | None = None) -> Table:
    t = Table(title=title, caption=caption, header_style="bold", show_lines=False, title_justify="left")
    for i, c in enumerate(columns):
        t.add_column(c, overflow="fold", no_wrap=i == 0)
    for r in rows:
        t.add_row(*(text(v) for v in r))
    return t
