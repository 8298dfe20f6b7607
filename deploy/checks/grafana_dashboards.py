"""Checks that every ACS dashboard is a valid Grafana dashboard with valid PromQL.

Grafana validity: each file is decoded with grafana-foundation-sdk, Grafana's own models
generated from its dashboard schema (kind "dashboard", Grafana 11.6, with the panel plugins'
options and the Prometheus query model registered), then encoded again. A field Grafana's
schema does not know is dropped by that round trip and a wrongly shaped one changes, so the
check is: decode+encode gives back the file's JSON unchanged, plus the invariants Grafana
assumes (current schemaVersion, unique panel ids, a 24-column grid, datasource references).

PromQL validity: every query (Grafana's $__ macros replaced by durations) is parsed with
promql-parser (Prometheus's grammar); the metric names its AST selects must equal what
deploy/checks/dashboard_metrics.py reports.

Run with the deploy tools venv:
    build/deploy-tools/venv/bin/python deploy/checks/grafana_dashboards.py [FILE.json ...]
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import promql_parser
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models.dashboard import Dashboard

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dashboard_metrics  # noqa: E402

SCHEMA_VERSION = 41  # Dashboard.schema_version's default in the Grafana 11.6 models
GRAFANA_MACROS = re.compile(r"\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}")

register_default_plugins()


def _differences(want: Any, got: Any, path: str = "") -> list[str]:
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return [f"{path or '/'}: became {type(got).__name__}"]
        out = []
        for key, value in want.items():
            if key not in got:
                out.append(f"{path}/{key}: not in Grafana's dashboard schema (dropped)")
            else:
                out.extend(_differences(value, got[key], f"{path}/{key}"))
        return out
    if isinstance(want, list):
        if not isinstance(got, list) or len(want) != len(got):
            return [f"{path}: list changed"]
        return [d for i, (a, b) in enumerate(zip(want, got, strict=True)) for d in _differences(a, b, f"{path}[{i}]")]
    return [] if want == got else [f"{path}: {want!r} became {got!r}"]


def promql_selectors(expr: str) -> set[str]:
    """Metric names selected by a query, per Prometheus's grammar; raises on a syntax error."""
    names: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            names.add(node.name)

    promql_parser.walk(promql_parser.parse(GRAFANA_MACROS.sub("5m", expr)), visit)
    return names


def _panels(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for panel in panels:
        out.append(panel)
        out.extend(_panels(panel.get("panels", [])))
    return out


def check_dashboard(data: dict[str, Any]) -> list[str]:
    """Problems with one dashboard's JSON; empty when Grafana would take it as written."""
    problems: list[str] = []
    try:
        model = Dashboard.from_json(data)
        encoded = json.loads(json.dumps(model, cls=JSONEncoder))
    except Exception as e:  # the models raise KeyError/TypeError/ValueError on bad shapes
        return [f"does not decode as a Grafana dashboard: {type(e).__name__}: {e}"]
    problems += _differences(data, encoded)
    for key in ("uid", "title"):
        if not data.get(key):
            problems.append(f"missing {key}")
    if data.get("schemaVersion") != SCHEMA_VERSION:
        problems.append(f"schemaVersion {data.get('schemaVersion')} is not the current {SCHEMA_VERSION}")
    variables = {v.get("name") for v in data.get("templating", {}).get("list", [])}
    ids: set[int] = set()
    for panel in _panels(data.get("panels", [])):
        title = panel.get("title", "?")
        if panel.get("id") in ids:
            problems.append(f"panel {title!r}: duplicate id {panel.get('id')}")
        ids.add(panel.get("id"))
        grid = panel.get("gridPos", {})
        if not all(isinstance(grid.get(k), int) for k in ("h", "w", "x", "y")) or grid["x"] + grid["w"] > 24:
            problems.append(f"panel {title!r}: gridPos {grid} outside the 24-column grid")
        if panel.get("type") == "row":
            continue
        uid = (panel.get("datasource") or {}).get("uid", "")
        if uid.startswith("${") and uid[2:-1] not in variables:
            problems.append(f"panel {title!r}: datasource variable {uid} is not defined")
        targets = panel.get("targets", [])
        if not targets:
            problems.append(f"panel {title!r}: no queries")
        ref_ids = [t.get("refId") for t in targets]
        if len(set(ref_ids)) != len(ref_ids):
            problems.append(f"panel {title!r}: duplicate refIds {ref_ids}")
        for t in targets:
            expr = t.get("expr", "")
            try:
                parsed = promql_selectors(expr)
            except (ValueError, RuntimeError) as e:
                problems.append(f"panel {title!r}: PromQL does not parse: {expr!r}: {e}")
                continue
            scanned = dashboard_metrics.metric_selectors(expr)
            if parsed != scanned:
                problems.append(f"panel {title!r}: selectors {sorted(parsed)} but dashboard_metrics finds {sorted(scanned)}")
    return problems


def main(argv: list[str]) -> int:
    files = [Path(a) for a in argv] or dashboard_metrics.dashboard_files()
    report = {str(f): check_dashboard(json.loads(f.read_text())) for f in files}
    print(json.dumps(report, indent=2))
    return 1 if not files or any(report.values()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
