"""The metric names the Grafana dashboards query, and the ones docs/metrics.md promises.

Standard library only, so any test environment can import it: the deployment checks compare
the two sets, and the end-to-end tests check that running services export every name.

Names are given the way docs/metrics.md writes them: counters with their ``_total`` suffix,
histograms by their base name (a query on ``x_bucket``, ``x_count`` or ``x_sum`` counts as
``x``). ``dashboard_series_names`` keeps the names exactly as the queries spell them.
The PromQL scanner here is checked against Prometheus's grammar (promql-parser) by
tests/deploy, on every dashboard query.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DASHBOARDS_DIR = REPO / "deploy" / "grafana" / "dashboards"
METRICS_DOC = REPO / "docs" / "metrics.md"

HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")

_KEYWORDS = frozenset({
    "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool",
    "and", "or", "unless", "atan2", "inf", "nan",
})
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_BRACES = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", re.IGNORECASE)
_IDENT = re.compile(r"(?<![\w:.$])([A-Za-z_:][A-Za-z0-9_:]*)(?![\w:])(\s*\()?")


def metric_selectors(expr: str) -> set[str]:
    """Metric names selected by one PromQL expression (functions, keywords, labels excluded)."""
    text = _STRING.sub('""', expr)
    text = _BRACES.sub(" ", text)
    text = _RANGE.sub(" ", text)
    text = _GROUPING.sub(" ", text)
    names = set()
    for m in _IDENT.finditer(text):
        name, call = m.group(1), m.group(2)
        if call or name.lower() in _KEYWORDS:
            continue
        names.add(name)
    return names


def dashboard_files(directory: Path = DASHBOARDS_DIR) -> list[Path]:
    return sorted(directory.glob("*.json"))


def _panels(panels: list[dict]) -> Iterator[dict]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))  # panels inside collapsed rows


def dashboard_queries(directory: Path = DASHBOARDS_DIR) -> list[tuple[str, str, str]]:
    """(dashboard file, panel title, PromQL) for every query target of every dashboard."""
    out = []
    for path in dashboard_files(directory):
        dashboard = json.loads(path.read_text())
        for panel in _panels(dashboard.get("panels", [])):
            for target in panel.get("targets", []):
                if target.get("expr"):
                    out.append((path.name, panel.get("title", ""), target["expr"]))
    return out


def dashboard_series_names(directory: Path = DASHBOARDS_DIR) -> set[str]:
    """Metric names exactly as the dashboard queries select them (``x_bucket`` included)."""
    names: set[str] = set()
    for _, _, expr in dashboard_queries(directory):
        names |= metric_selectors(expr)
    return names


def base_metric_name(series: str) -> str:
    """The metric family a series belongs to: ``x_bucket`` -> ``x``; others unchanged."""
    for suffix in HISTOGRAM_SUFFIXES:
        if series.endswith(suffix):
            return series[: -len(suffix)]
    return series


def dashboard_metric_names(directory: Path = DASHBOARDS_DIR) -> set[str]:
    """Every metric the dashboards use, named as docs/metrics.md names it."""
    return {base_metric_name(s) for s in dashboard_series_names(directory)}


def documented_metric_names(doc: Path = METRICS_DOC) -> set[str]:
    """Metric names in the first column of docs/metrics.md's tables."""
    names = set()
    for line in doc.read_text().splitlines():
        m = re.match(r"\|\s*`([A-Za-z_:][A-Za-z0-9_:]*)`\s*\|", line)
        if m:
            names.add(m.group(1))
    return names


if __name__ == "__main__":
    used, documented = dashboard_metric_names(), documented_metric_names()
    for name in sorted(used):
        print(("  " if name in documented else "! ") + name)
    raise SystemExit(0 if used <= documented else 1)
