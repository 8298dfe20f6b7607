"""Writes the ACS Grafana dashboards (deploy/grafana/dashboards/*.json) from one description.

The panels are data here so that every dashboard shares one layout grid, one datasource
variable and one style, and so that a metric rename is one edit. The JSON is committed
(docker-compose mounts it, the Helm chart packs it into ConfigMaps); tests/deploy checks that
it is up to date with this file, valid for Grafana and uses only metrics from docs/metrics.md.

    python deploy/grafana/generate_dashboards.py
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

DASHBOARDS_DIR = Path(__file__).resolve().parent / "dashboards"
SCHEMA_VERSION = 41  # Grafana 11.6, the version docker-compose runs
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
RATE = "$__rate_interval"


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = "__auto"


@dataclass(frozen=True)
class Panel:
    title: str
    description: str
    queries: tuple[Query, ...]
    unit: str = "short"
    kind: str = "timeseries"  # timeseries, stat, bargauge
    width: int = 12
    height: int = 8
    stack: bool = False


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    description: str
    rows: tuple[Row, ...] = field(default_factory=tuple)


def rate(expr: str, by: str) -> str:
    return f"sum by ({by}) (rate({expr}[{RATE}]))"


def percentiles(histogram: str, by: str = "", what: str = "") -> tuple[Query, ...]:
    """p50/p95/p99 of a Prometheus histogram, optionally per label."""
    keys = f"le, {by}" if by else "le"
    legend_by = f"{{{{{by}}}}} " if by else ""
    return tuple(
        Query(
            f"histogram_quantile({q}, sum by ({keys}) (rate({histogram}_bucket[{RATE}])))",
            f"{legend_by}{what}p{int(q * 100)}",
        )
        for q in (0.5, 0.95, 0.99)
    )


OVERVIEW = Dashboard(
    uid="acs-overview",
    title="ACS / Overview",
    description="CWMP traffic at a glance: sessions, Informs, CPE faults, connection requests, campaigns.",
    rows=(
        Row(
            "Now",
            (
                Panel("Sessions / s", "Sessions ended per second, all gateways.",
                      (Query(f"sum(rate(acs_gateway_sessions_total[{RATE}]))", "sessions/s"),),
                      unit="ops", kind="stat", width=6, height=4),
                Panel("In-flight CWMP requests", "HTTP requests in flight on all gateways.",
                      (Query("sum(acs_gateway_active_sessions)", "in flight"),),
                      kind="stat", width=6, height=4),
                Panel("Pending tasks", "Tasks in status pending.",
                      (Query("max(acs_tasks_pending)", "pending"),), kind="stat", width=6, height=4),
                Panel("Worst consumer lag", "Most session events behind on any partition.",
                      (Query("max(acs_scheduler_consumer_lag)", "lag"),), kind="stat", width=6, height=4),
            ),
        ),
        Row(
            "Sessions",
            (
                Panel("Sessions per second by outcome", "Sessions the gateways saw end, by outcome.",
                      (Query(rate("acs_gateway_sessions_total", "outcome"), "{{outcome}}"),),
                      unit="ops", stack=True),
                Panel("Informs per second by event code", "Informs acknowledged, by event code.",
                      (Query(rate("acs_gateway_informs_total", "event_code"), "{{event_code}}"),),
                      unit="ops", stack=True),
                Panel("Active sessions per gateway", "HTTP requests in flight on each gateway instance.",
                      (Query("sum by (instance) (acs_gateway_active_sessions)", "{{instance}}"),)),
                Panel("Sessions held per scheduler", "CWMP sessions in each scheduler's memory.",
                      (Query("sum by (instance) (acs_scheduler_active_sessions)", "{{instance}}"),)),
                Panel("CWMP requests by kind and status", "HTTP requests answered, by CPE message kind and HTTP code.",
                      (Query(rate("acs_gateway_http_requests_total", "kind, status"), "{{kind}} {{status}}"),),
                      unit="reqps"),
                Panel("Rejected requests by reason", "Requests the gateways refused (auth, backpressure, ...).",
                      (Query(rate("acs_gateway_rejected_total", "reason"), "{{reason}}"),), unit="reqps"),
            ),
        ),
        Row(
            "CPEs",
            (
                Panel("CPE faults by code", "CWMP faults returned by CPEs, by fault code.",
                      (Query(rate("acs_scheduler_cpe_faults_total", "code"), "{{code}}"),), unit="ops", stack=True),
                Panel("Connection requests by outcome", "Connection requests sent, by transport and outcome.",
                      (Query(rate("acs_connection_requests_total", "transport, outcome"), "{{transport}} {{outcome}}"),),
                      unit="ops"),
                Panel("Campaign progress", "Devices of each firmware campaign, by state.",
                      (Query("sum by (campaign, state) (acs_campaign_devices)", "{{campaign}} {{state}}"),),
                      kind="bargauge", width=24),
            ),
        ),
    ),
)

LATENCY = Dashboard(
    uid="acs-latency",
    title="ACS / Latency",
    description="Percentiles of every hop: CWMP requests, RPC round trips, reply hop, Kafka, sessions, NBI.",
    rows=(
        Row(
            "CPE side",
            (
                Panel("RPC latency by RPC", "ACS request sent to the CPE until its response was consumed.",
                      percentiles("acs_scheduler_rpc_duration_seconds", "rpc"), unit="s"),
                Panel("Session duration", "Inform to session end.",
                      percentiles("acs_gateway_session_duration_seconds"), unit="s"),
                Panel("CWMP request duration by kind", "Time to answer one CWMP POST.",
                      percentiles("acs_gateway_request_duration_seconds", "kind"), unit="s"),
                Panel("RPCs per second by RPC", "ACS requests sent to CPEs.",
                      (Query(rate("acs_scheduler_rpcs_total", "rpc"), "{{rpc}}"),), unit="ops", stack=True),
            ),
        ),
        Row(
            "Pipeline",
            (
                Panel("Reply hop", "Gateway: session event published until the scheduler's reply arrived.",
                      percentiles("acs_gateway_reply_hop_seconds"), unit="s"),
                Panel("Scheduler reply time", "Scheduler: event consumed until reply written to the gateway.",
                      percentiles("acs_scheduler_reply_seconds"), unit="s"),
                Panel("Kafka publish latency", "Produce with acks=all until acknowledged.",
                      percentiles("acs_gateway_kafka_publish_seconds"), unit="s"),
                Panel("NBI latency by route", "Northbound API latency, p95 per route.",
                      (Query(f"histogram_quantile(0.95, sum by (le, route) "
                             f"(rate(acs_nbi_request_duration_seconds_bucket[{RATE}])))", "{{route}} p95"),),
                      unit="s"),
            ),
        ),
    ),
)

BACKEND = Dashboard(
    uid="acs-backend",
    title="ACS / Kafka, MongoDB and tasks",
    description="Consumer lag, task queue, MongoDB round trips and the northbound API.",
    rows=(
        Row(
            "Kafka",
            (
                Panel("Consumer lag per partition", "Session events behind the end of each partition.",
                      (Query("max by (partition) (acs_scheduler_consumer_lag)", "partition {{partition}}"),)),
                Panel("Session events consumed by kind", "Session events the schedulers consumed.",
                      (Query(rate("acs_scheduler_events_total", "kind"), "{{kind}}"),), unit="ops", stack=True),
            ),
        ),
        Row(
            "Tasks",
            (
                Panel("Task queue depth", "Tasks in status pending.",
                      (Query("max(acs_tasks_pending)", "pending"),)),
                Panel("Oldest pending task age", "Age of the oldest pending task.",
                      (Query("max(acs_task_queue_oldest_age_seconds)", "oldest"),), unit="s"),
                Panel("Tasks finished by status", "Tasks finished per second, by status.",
                      (Query(rate("acs_scheduler_tasks_total", "status"), "{{status}}"),), unit="ops", stack=True),
                Panel("Scheduler sessions by outcome", "Sessions the schedulers ended, by outcome.",
                      (Query(rate("acs_scheduler_sessions_total", "outcome"), "{{outcome}}"),), unit="ops", stack=True),
            ),
        ),
        Row(
            "MongoDB",
            (
                Panel("MongoDB operation latency by op", "MongoDB round trips, p95 and p99 per operation.",
                      tuple(
                          Query(f"histogram_quantile({q}, sum by (le, op) "
                                f"(rate(acs_mongo_operation_duration_seconds_bucket[{RATE}])))", f"{{{{op}}}} p{p}")
                          for q, p in ((0.95, 95), (0.99, 99))
                      ), unit="s"),
                Panel("MongoDB operations per second by op", "MongoDB round trips per second.",
                      (Query(rate("acs_mongo_operation_duration_seconds_count", "op"), "{{op}}"),), unit="ops"),
                Panel("Device updates per bulk write", "How many device updates each bulk write carried.",
                      percentiles("acs_scheduler_write_batch_size")),
                Panel("Writes waiting for MongoDB", "Store writes queued or in flight per scheduler; at "
                      "SCHEDULER_MAX_PENDING_WRITES the scheduler stops taking events (Kafka lag grows).",
                      (Query("sum by (instance) (acs_scheduler_pending_writes)", "{{instance}}"),)),
                Panel("NBI requests by status", "Northbound API calls per second, by HTTP status.",
                      (Query(rate("acs_nbi_requests_total", "status"), "{{status}}"),), unit="reqps"),
            ),
        ),
    ),
)

TELEMETRY = Dashboard(
    uid="acs-device-monitoring",
    title="ACS / Device monitoring",
    description="The telemetry service: Bulk Data reports from CPEs, the KPI history writer, alarms.",
    rows=(
        Row(
            "Now",
            (
                Panel("Bulk Data reports / s", "Reports the collectors accepted per second.",
                      (Query(f'sum(rate(acs_telemetry_reports_total{{outcome="ok"}}[{RATE}]))', "reports/s"),),
                      unit="ops", kind="stat", width=6, height=4),
                Panel("KPI samples stored / s", "Samples the history writers stored per second, all sources.",
                      (Query(f"sum(rate(acs_telemetry_samples_written_total[{RATE}]))", "samples/s"),),
                      unit="ops", kind="stat", width=6, height=4),
                Panel("Active alarms", "Alarms raised and not cleared, summed over the writers.",
                      (Query("sum(acs_telemetry_alarms_active)", "active"),), kind="stat", width=6, height=4),
                Panel("Refused reports / s", "Reports answered other than 204 (bad, unauthorized, too large, "
                      "broker unavailable).",
                      (Query(f'sum(rate(acs_telemetry_reports_total{{outcome!="ok"}}[{RATE}]))', "refused/s"),),
                      unit="ops", kind="stat", width=6, height=4),
            ),
        ),
        Row(
            "Bulk Data collector",
            (
                Panel("Bulk Data reports by outcome", "TR-232 reports received per second, by outcome; "
                      "unauthorized: a wrong or missing device password (TELEMETRY_BULKDATA_SECRET), "
                      "unavailable: Kafka refused (the CPE retries).",
                      (Query(rate("acs_telemetry_reports_total", "outcome"), "{{outcome}}"),),
                      unit="ops", stack=True),
                Panel("Bulk Data reports by format", "Reports received per second, by report format.",
                      (Query(rate("acs_telemetry_reports_total", "format"), "{{format}}"),), unit="ops", stack=True),
                Panel("KPI samples accepted and stored", "Samples the collectors published to acs.metrics.v1 "
                      "against samples the writers stored; a lasting gap is a writer backlog.",
                      (Query(f"sum(rate(acs_telemetry_samples_received_total[{RATE}]))", "accepted"),
                       Query(f"sum(rate(acs_telemetry_samples_written_total[{RATE}]))", "stored")),
                      unit="ops", width=24),
            ),
        ),
        Row(
            "History writer",
            (
                Panel("KPI samples stored by source", "Samples written to the history per second, by source "
                      "(bulkdata, parameter-changes).",
                      (Query(rate("acs_telemetry_samples_written_total", "source"), "{{source}}"),),
                      unit="ops", stack=True),
                Panel("History write latency", "One bulk_write of hourly buckets.",
                      percentiles("acs_telemetry_write_seconds"), unit="s"),
                Panel("Hourly buckets per write", "Device-hours one bulk_write touched.",
                      percentiles("acs_telemetry_write_buckets")),
                Panel("Buckets down-sampled / s", "Hourly buckets reduced to min/max/avg/last.",
                      (Query(f"sum(rate(acs_telemetry_buckets_downsampled_total[{RATE}]))", "buckets/s"),),
                      unit="ops"),
                Panel("Unreadable topic messages by topic", "Messages the writers skipped as unreadable.",
                      (Query(rate("acs_telemetry_bad_messages_total", "topic"), "{{topic}}"),), unit="ops",
                      width=24),
            ),
        ),
        Row(
            "Alarms",
            (
                Panel("Active alarms per writer", "Alarms raised and not cleared, as each writer knows them.",
                      (Query("sum by (instance) (acs_telemetry_alarms_active)", "{{instance}}"),)),
                Panel("Alarm state changes by rule", "Alarms raised and cleared per second, by rule and state.",
                      (Query(rate("acs_telemetry_alarms_total", "rule, state"), "{{rule}} {{state}}"),),
                      unit="ops"),
            ),
        ),
    ),
)

DASHBOARDS = (OVERVIEW, LATENCY, BACKEND, TELEMETRY)


def panel_json(panel: Panel, panel_id: int, x: int, y: int) -> dict:
    targets = [
        {
            "refId": chr(ord("A") + i),
            "datasource": DATASOURCE,
            "editorMode": "code",
            "expr": q.expr,
            "legendFormat": q.legend,
            "range": True,
        }
        for i, q in enumerate(panel.queries)
    ]
    defaults: dict = {"unit": panel.unit, "color": {"mode": "palette-classic"}}
    if panel.kind == "timeseries":
        defaults["custom"] = {
            "drawStyle": "line",
            "lineWidth": 1,
            "fillOpacity": 20 if panel.stack else 0,
            "showPoints": "never",
            "spanNulls": False,
            "stacking": {"mode": "normal" if panel.stack else "none", "group": "A"},
        }
        options: dict = {
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True, "calcs": []},
            "tooltip": {"mode": "multi", "sort": "desc"},
        }
    elif panel.kind == "stat":
        defaults["color"] = {"mode": "thresholds"}
        defaults["thresholds"] = {"mode": "absolute", "steps": [{"color": "green", "value": None}]}
        options = {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "value",
            "graphMode": "area",
            "justifyMode": "auto",
            "orientation": "auto",
            "textMode": "auto",
        }
    else:
        options = {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "displayMode": "gradient",
            "orientation": "horizontal",
            "showUnfilled": True,
        }
    return {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"h": panel.height, "w": panel.width, "x": x, "y": y},
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": options,
        "targets": targets,
    }


def dashboard_json(d: Dashboard) -> dict:
    panels: list[dict] = []
    y = 0
    next_id = 1
    for row in d.rows:
        panels.append({
            "id": next_id, "type": "row", "title": row.title, "collapsed": False,
            "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": [],
        })
        next_id += 1
        y += 1
        x = 0
        row_height = 0
        for panel in row.panels:
            if x + panel.width > 24:
                x, y, row_height = 0, y + row_height, 0
            panels.append(panel_json(panel, next_id, x, y))
            next_id += 1
            x += panel.width
            row_height = max(row_height, panel.height)
        y += row_height
    return {
        "uid": d.uid,
        "title": d.title,
        "description": d.description,
        "tags": ["acs", "cwmp"],
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "refresh": "30s",
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "time": {"from": "now-1h", "to": "now"},
        "timepicker": {},
        "links": [{
            "title": "ACS dashboards", "type": "dashboards", "tags": ["acs"], "asDropdown": True,
            "includeVars": True, "keepTime": True, "icon": "external link", "targetBlank": False,
            "tooltip": "", "url": "",
        }],
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True,
            "hide": True, "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts", "type": "dashboard",
        }]},
        "templating": {"list": [{
            "name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
            "current": {}, "hide": 0, "includeAll": False, "multi": False, "options": [], "refresh": 1,
            "regex": "", "skipUrlSync": False,
        }]},
        "panels": panels,
    }


def render_all() -> dict[str, str]:
    """File name -> JSON text for every dashboard."""
    return {
        f"{d.uid}.json": json.dumps(dashboard_json(d), indent=2, ensure_ascii=False) + "\n"
        for d in DASHBOARDS
    }


def main() -> None:
    DASHBOARDS_DIR.mkdir(parents=True, exist_ok=True)
    for name, text in render_all().items():
        (DASHBOARDS_DIR / name).write_text(text)
        print(f"wrote {DASHBOARDS_DIR / name}")


if __name__ == "__main__":
    main()
