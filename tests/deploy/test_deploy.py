"""Deployment checks: the Helm chart, docker-compose.yml, the Dockerfiles, the Grafana dashboards
and the deploy scripts, each with the real tool for it (installed by deploy/checks/install-tools.sh
into build/deploy-tools/venv; a missing tool fails the test, it is never skipped).

Each validator also gets a broken input once, so a validator that accepts everything fails here.
One end-to-end test (marked e2e) runs the chart's telemetry settings on Apache Kafka and SecantusDB.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import time
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from cryptography.fernet import Fernet
from pymongo import MongoClient

from acs_contracts.kafka_topics import ALL_TOPICS, SESSION_EVENTS, SESSION_MESSAGES
from acs_contracts.mongo_collections import METRICS_HISTORY
from acs_devstack.polling import wait_until
from acs_devstack.stack import Service, Stack
from task_scheduler.provisioning.functions import DeviceView, ProvisionFunctions

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "deploy" / "checks"))
import dashboard_metrics  # noqa: E402

pytestmark = pytest.mark.deploy

TOOLS_BIN = Path(os.environ.get("ACS_DEPLOY_TOOLS", REPO / "build" / "deploy-tools")) / "venv" / "bin"
CHART = REPO / "deploy" / "helm" / "acs"
PRODUCTION = CHART / "values-production.yaml"
COMPOSE = REPO / "docker-compose.yml"
DASHBOARDS_DIR = REPO / "deploy" / "grafana" / "dashboards"
DOCKERFILES = [
    REPO / "services" / "session-gateway" / "Dockerfile",
    REPO / "services" / "task-scheduler" / "Dockerfile",
    REPO / "services" / "inventory" / "Dockerfile",
    REPO / "services" / "telemetry" / "Dockerfile",
    REPO / "tools" / "cpe-simulator" / "Dockerfile",
]
SERVICE_DOCKERFILES = DOCKERFILES[:4]
ADMIN_PORTS = {"session-gateway": 7549, "task-scheduler": 7550, "inventory": 7557, "telemetry": 7570}
# Chart containers by name: the services, and telemetry's writers when they run apart.
CONTAINER_ADMIN_PORTS = {**ADMIN_PORTS, "telemetry-writer": 7570}


def tool(name: str) -> str:
    path = TOOLS_BIN / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run `bash deploy/checks/install-tools.sh` first (make test does)")
    return str(path)


def run(*args: str | Path, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], cwd=REPO, capture_output=True, text=True, timeout=timeout)


# ---------------------------------------------------------------- Helm chart


@cache
def render(*values_yaml: str) -> dict[str, Any]:
    """The render_chart.py report for values given as YAML texts (merged in order)."""
    args: list[str | Path] = [tool("python"), REPO / "deploy/checks/render_chart.py", "--json"]
    tmp = REPO / "build" / "deploy-tools" / "values"
    tmp.mkdir(parents=True, exist_ok=True)
    for i, text in enumerate(values_yaml):
        f = tmp / f"values-{abs(hash(values_yaml))}-{i}.yaml"
        f.write_text(text)
        args += ["-f", f]
    proc = run(*args)
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"render_chart.py gave no report (rc {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    report["rc"] = proc.returncode
    return report


def default_render() -> dict[str, Any]:
    return render()


def production_render() -> dict[str, Any]:
    return render(PRODUCTION.read_text())


def of_kind(report: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [m for m in report["manifests"] if m["kind"] == kind]


def named(report: dict[str, Any], kind: str, suffix: str) -> dict[str, Any]:
    found = [m for m in of_kind(report, kind) if m["metadata"]["name"].endswith(suffix)]
    assert len(found) == 1, f"expected one {kind} named *{suffix}, got {[m['metadata']['name'] for m in found]}"
    return found[0]


def containers(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        c["name"]: c
        for d in of_kind(report, "Deployment")
        for c in d["spec"]["template"]["spec"]["containers"]
    }


@pytest.mark.parametrize("which", ["default", "production"])
def test_chart_renders_and_every_manifest_validates(which: str) -> None:
    report = default_render() if which == "default" else production_render()
    assert report["refused"] is None, report["refused"]
    assert report["errors"] == [], "\n".join(report["errors"])
    assert report["lint"] == [], "\n".join(report["lint"])
    assert report["rc"] == 0
    kinds = {m["kind"] for m in report["manifests"]}
    assert {"Deployment", "Service", "ConfigMap", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Job"} <= kinds
    # Only the Prometheus Operator's CRD lacks a Kubernetes API schema, and only when enabled.
    assert all(name.startswith("ServiceMonitor/") for name in report["custom_resources"])
    # One ServiceMonitor per Deployment when enabled (production): every process is scraped.
    assert len(report["custom_resources"]) == (len(of_kind(report, "Deployment")) if which == "production" else 0)


def test_validator_rejects_what_kubernetes_would() -> None:
    """Control: strict kubernetes-validate refuses an unknown field and a wrong type."""
    bad = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
        "spec": {"replicas": "two", "selector": {"matchLabels": {"a": "b"}},
                 "template": {"metadata": {"labels": {"a": "b"}},
                              "spec": {"containers": [{"name": "c", "image": "i", "livenessProbes": {}}]}}},
    }
    code = (
        "import json, sys, kubernetes_validate as kv\n"
        "try:\n    kv.validate(json.loads(sys.argv[1]), '1.37.0', strict=True)\nexcept kv.ValidationError as e:\n"
        "    print('rejected', e.message); sys.exit(0)\nsys.exit(1)\n"
    )
    proc = run(tool("python"), "-c", code, json.dumps(bad))
    assert proc.returncode == 0, f"kubernetes-validate accepted a broken Deployment: {proc.stdout}{proc.stderr}"


def test_chart_refuses_more_schedulers_than_partitions() -> None:
    report = render("scheduler: {replicas: 13}\nkafka: {sessionEventsPartitions: 12}\n")
    assert report["rc"] == 1 and report["refused"], report
    assert "scheduler.replicas (13) is above kafka.sessionEventsPartitions (12)" in report["refused"]
    report = render("scheduler: {autoscaling: {enabled: true, maxReplicas: 20}}\n")
    assert report["rc"] == 1 and "maxReplicas (20)" in (report["refused"] or ""), report
    ok = render("scheduler: {replicas: 24}\nkafka: {sessionEventsPartitions: 24}\n")
    assert ok["rc"] == 0, ok.get("refused") or ok.get("errors")


def test_chart_values_schema_is_enforced() -> None:
    report = render("gateway: {cpeAuth: kerberos}\n")
    assert report["rc"] == 1 and report["refused"] and "cpeAuth" in report["refused"], report


def documented_variables() -> set[str]:
    names = set()
    for line in (REPO / "docs" / "configuration.md").read_text().splitlines():
        cells = line.split("|")
        if len(cells) > 2:
            names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", cells[1]))
    return names


# What a cluster install cannot leave at the laptop defaults of docs/configuration.md.
REQUIRED_VARIABLES = {
    "ACS_KAFKA_BOOTSTRAP", "ACS_KAFKA_SECURITY_PROTOCOL", "ACS_KAFKA_SASL_MECHANISM", "ACS_KAFKA_SASL_USERNAME",
    "ACS_KAFKA_SASL_PASSWORD", "ACS_KAFKA_SSL_CAFILE", "ACS_SESSION_EVENTS_PARTITIONS", "ACS_MONGODB_URI",
    "ACS_MONGODB_DATABASE", "ACS_LOG_LEVEL", "ACS_FILES_SECRET", "ACS_FILES_PUBLIC_URL",
    "GATEWAY_SECRET", "GATEWAY_REPLY_ADVERTISE", "GATEWAY_CPE_AUTH", "GATEWAY_CPE_USERNAME", "GATEWAY_CPE_PASSWORD",
    "GATEWAY_MAX_INFLIGHT", "GATEWAY_REPLY_TIMEOUT_S", "GATEWAY_MAX_BODY_BYTES",
    "SCHEDULER_GROUP_ID", "NBI_TOKENS", "NBI_CR_USERNAME", "NBI_CR_PASSWORD",
    "TELEMETRY_BULKDATA_SECRET", "TELEMETRY_WRITER_GROUP", "CONSOLE_PORT", "ACS_CREDENTIALS_KEYS",
}


def chart_variables(report: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for cm in of_kind(report, "ConfigMap"):
        if cm["metadata"]["name"].endswith(("-shared", "-gateway", "-scheduler", "-inventory", "-telemetry")):
            names |= set(cm.get("data", {}))
    for secret in of_kind(report, "Secret"):
        if secret["metadata"]["name"] == "acs":
            names |= set(secret["stringData"])
    for c in containers(report).values():
        names |= {e["name"] for e in c.get("env", [])} - {"POD_IP"}
    return names


def test_chart_sets_the_variables_a_cluster_needs() -> None:
    missing = REQUIRED_VARIABLES - chart_variables(default_render())
    assert not missing, f"the chart never sets {sorted(missing)}"


def test_chart_and_compose_set_only_documented_variables() -> None:
    documented = documented_variables()
    tls = render("gateway: {tls: {secretName: cwmp-tls}}\n")
    for report in (default_render(), production_render(), tls):
        unknown = chart_variables(report) - documented
        assert not unknown, f"chart sets variables docs/configuration.md does not know: {sorted(unknown)}"
    for name in ADMIN_PORTS:
        unknown = set(compose()["services"][name]["environment"]) - documented
        assert not unknown, f"compose {name} sets variables docs/configuration.md does not know: {sorted(unknown)}"


def test_extra_config_reaches_the_configmaps() -> None:
    report = render("sharedConfig: {ACS_FILE_URL_TTL_S: 600}\nscheduler: {config: {SCHEDULER_MAX_TASK_ATTEMPTS: 5}}\n")
    assert named(report, "ConfigMap", "-shared")["data"]["ACS_FILE_URL_TTL_S"] == "600"
    assert named(report, "ConfigMap", "-scheduler")["data"]["SCHEDULER_MAX_TASK_ATTEMPTS"] == "5"
    refused = render("gateway: {config: {not-a-variable: 1}}\n")
    assert refused["rc"] == 1 and refused["refused"], refused


def test_every_container_reads_configmaps_and_the_secret() -> None:
    for report, secret in ((default_render(), "acs"), (production_render(), "acs-secrets")):
        for name, c in containers(report).items():
            refs = c["envFrom"]
            assert {"secretRef": {"name": secret}} in refs, name
            assert sum("configMapRef" in r for r in refs) == 2, name


def test_gateway_advertises_its_pod_ip_to_schedulers() -> None:
    env = {e["name"]: e for e in containers(default_render())["session-gateway"]["env"]}
    assert env["POD_IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
    assert env["GATEWAY_REPLY_ADVERTISE"]["value"] == "$(POD_IP):7548"


def test_telemetry_deployment_probes_secret_and_services() -> None:
    report = default_render()
    c = containers(report)["telemetry"]
    assert c["image"].endswith("/telemetry:0.1.0")
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"http": 7570}
    for probe, path in (("startupProbe", "/healthz"), ("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        assert c[probe]["httpGet"] == {"path": path, "port": "http"}, probe
    # The Bulk Data secret: generated into the chart's Secret, read by telemetry and schedulers.
    secret = named(report, "Secret", "acs")["stringData"]
    assert len(secret["TELEMETRY_BULKDATA_SECRET"]) >= 32
    for name in ("telemetry", "task-scheduler"):
        assert {"secretRef": {"name": "acs"}} in containers(report)[name]["envFrom"], name
    Fernet(secret["ACS_CREDENTIALS_KEYS"])  # a valid key, generated (CPE credentials encrypted at rest)
    keys = "insecure-compose-credentials-key-change-me0=,YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE="
    assert named(render(f"secrets: {{credentialsKeys: '{keys}'}}\n"), "Secret", "acs")["stringData"]["ACS_CREDENTIALS_KEYS"] == keys
    compose_keys = compose()["x-acs-env"]["ACS_CREDENTIALS_KEYS"]
    Fernet(compose_keys.removeprefix("${ACS_CREDENTIALS_KEYS:-").removesuffix("}"))
    given = render("secrets: {bulkdataSecret: s3cret-bulkdata-key}\n")
    assert named(given, "Secret", "acs")["stringData"]["TELEMETRY_BULKDATA_SECRET"] == "s3cret-bulkdata-key"
    data = named(report, "ConfigMap", "-telemetry")["data"]
    assert data["TELEMETRY_PORT"] == "7570" and data["TELEMETRY_WRITER_GROUP"] == "acs-telemetry-writer"
    # CPE-facing Service (configurable like the file server's) and the scrape-only admin Service.
    svc = named(report, "Service", "-telemetry")
    assert svc["spec"]["type"] == "ClusterIP" and svc["spec"]["ports"] == [
        {"name": "bulkdata", "port": 7570, "targetPort": "http", "protocol": "TCP"}]
    admin = named(report, "Service", "-telemetry-admin")
    assert admin["metadata"]["labels"]["acs.io/metrics"] == "true" and admin["spec"]["ports"][0]["name"] == "metrics"
    assert named(report, "PodDisruptionBudget", "-telemetry")["spec"]["minAvailable"] == 1
    lb = render("telemetry: {service: {type: LoadBalancer, externalTrafficPolicy: Local, "
                "annotations: {service.beta.kubernetes.io/aws-load-balancer-type: nlb}}}\n")
    assert lb["rc"] == 0, lb.get("refused") or lb.get("errors")
    svc = named(lb, "Service", "-telemetry")
    assert svc["spec"]["type"] == "LoadBalancer" and svc["spec"]["externalTrafficPolicy"] == "Local"
    assert svc["metadata"]["annotations"] == {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"}
    config = render("telemetry: {config: {TELEMETRY_RETENTION_DAYS: 7, TELEMETRY_WRITER: 'off'}}\n")
    data = named(config, "ConfigMap", "-telemetry")["data"]
    assert data["TELEMETRY_RETENTION_DAYS"] == "7" and data["TELEMETRY_WRITER"] == "off"


def test_telemetry_writers_can_run_apart_within_the_partitions() -> None:
    report = production_render()
    collector, writer = containers(report)["telemetry"], containers(report)["telemetry-writer"]
    assert {"name": "TELEMETRY_WRITER", "value": "off"} in collector["env"]
    assert {"name": "TELEMETRY_COLLECTOR", "value": "off"} in writer["env"]
    assert writer["envFrom"] == collector["envFrom"]  # the same settings and secret
    assert named(report, "Service", "-telemetry-writer-admin")["metadata"]["labels"]["acs.io/metrics"] == "true"
    assert named(report, "PodDisruptionBudget", "-telemetry-writer")
    # CPE traffic reaches the collectors only.
    selector = named(report, "Service", "-telemetry")["spec"]["selector"]
    assert selector["app.kubernetes.io/component"] == "telemetry"
    assert "TELEMETRY_WRITER" not in {e["name"] for e in containers(default_render())["telemetry"].get("env", [])}
    refused = render("telemetry: {writers: {separate: true, replicas: 7}}\nkafka: {topics: {create: true, partitions: 6}}\n")
    assert refused["rc"] == 1 and "telemetry.writers.replicas (7) is above kafka.topics.partitions (6)" in (
        refused["refused"] or ""), refused


def test_telemetry_can_be_turned_off() -> None:
    report = render("telemetry: {enabled: false}\n")
    assert report["rc"] == 0, report.get("refused") or report.get("errors")
    assert all("telemetry" not in m["metadata"]["name"] for m in report["manifests"])
    assert "telemetry" not in containers(report)
    assert "SCHEDULER_PROVISIONS_DIR" not in named(report, "ConfigMap", "-scheduler")["data"]


def test_bulkdata_ingress_is_cpe_friendly_with_tls_and_passes_reports_only() -> None:
    assert of_kind(default_render(), "Ingress") == []
    ingress = named(production_render(), "Ingress", "-telemetry")
    notes = ingress["metadata"]["annotations"]
    assert notes["nginx.ingress.kubernetes.io/ssl-redirect"] == "false"
    assert notes["nginx.ingress.kubernetes.io/proxy-body-size"] == "4m"
    assert notes["cert-manager.io/cluster-issuer"] == "letsencrypt-production"
    assert ingress["spec"]["tls"][0]["secretName"]
    (path,) = ingress["spec"]["rules"][0]["http"]["paths"]
    assert path["path"] == "/bulkdata" and path["backend"]["service"]["port"]["name"] == "bulkdata"


def test_schedulers_get_the_bulkdata_profile_provision_function() -> None:
    report = default_render()
    assert named(report, "ConfigMap", "-scheduler")["data"]["SCHEDULER_PROVISIONS_DIR"] == "/etc/acs/provisions"
    files = named(report, "ConfigMap", "-provisions")["data"]
    source = (REPO / "services/telemetry/provisions/bulkdata_profile.py").read_text()
    assert files == {"bulkdata_profile.py": source}
    spec = named(report, "Deployment", "-scheduler")["spec"]["template"]["spec"]
    assert {"name": "provisions", "configMap": {"name": "acs-provisions"}} in spec["volumes"]
    mount = {"name": "provisions", "mountPath": "/etc/acs/provisions", "readOnly": True}
    assert mount in spec["containers"][0]["volumeMounts"]
    own = render("scheduler: {provisions: {wan_speed.py: 'def provision(device, args):\\n    return []\\n'}}\n")
    assert set(named(own, "ConfigMap", "-provisions")["data"]) == {"bulkdata_profile.py", "wan_speed.py"}
    refused = render("scheduler: {provisions: {'../evil.sh': 'x'}}\n")
    assert refused["rc"] == 1 and refused["refused"], refused


def test_inventory_serves_the_console_on_3000() -> None:
    report = default_render()
    ports = {p["name"]: p["containerPort"] for p in containers(report)["inventory"]["ports"]}
    assert ports["console"] == 3000
    assert named(report, "ConfigMap", "-inventory")["data"]["CONSOLE_PORT"] == "3000"
    svc = named(report, "Service", "-inventory")
    assert {"name": "console", "port": 3000, "targetPort": "console", "protocol": "TCP"} in svc["spec"]["ports"]
    ingress = named(production_render(), "Ingress", "-console")
    assert ingress["spec"]["tls"][0]["secretName"] and ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"]
    (path,) = ingress["spec"]["rules"][0]["http"]["paths"]
    assert path["backend"]["service"] == {"name": "acs-inventory", "port": {"name": "console"}}
    off = render("inventory: {console: {enabled: false}}\n")
    assert named(off, "ConfigMap", "-inventory")["data"]["CONSOLE_PORT"] == "0"
    assert "console" not in {p["name"] for p in named(off, "Service", "-inventory")["spec"]["ports"]}


@pytest.mark.parametrize("which", ["default", "production"])
def test_probes_resources_and_security(which: str) -> None:
    report = default_render() if which == "default" else production_render()
    for name, c in containers(report).items():
        port = CONTAINER_ADMIN_PORTS[name]
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            get = c[probe]["httpGet"]
            assert get["path"] == path and ports[get["port"]] == port, (name, probe, get)
        assert c["resources"]["requests"]["cpu"] and c["resources"]["limits"]["memory"], name
        assert c["securityContext"]["readOnlyRootFilesystem"] is True, name
    for d in of_kind(report, "Deployment"):
        assert d["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True


def test_pod_disruption_budgets_cover_every_deployment() -> None:
    report = production_render()
    pdbs = {json.dumps(p["spec"]["selector"]["matchLabels"], sort_keys=True) for p in of_kind(report, "PodDisruptionBudget")}
    for d in of_kind(report, "Deployment"):
        assert json.dumps(d["spec"]["selector"]["matchLabels"], sort_keys=True) in pdbs, d["metadata"]["name"]


def test_gateway_hpa_scales_on_cpu_and_in_flight_sessions() -> None:
    hpa = named(default_render(), "HorizontalPodAutoscaler", "-gateway")
    metrics = {m["type"]: m for m in hpa["spec"]["metrics"]}
    assert metrics["Resource"]["resource"]["name"] == "cpu"
    assert metrics["Pods"]["pods"]["metric"]["name"] == "acs_gateway_active_sessions"
    assert "acs_gateway_active_sessions" in dashboard_metrics.documented_metric_names()
    assert "replicas" not in named(default_render(), "Deployment", "-gateway")["spec"]


def test_cwmp_ingress_is_cpe_friendly_with_tls() -> None:
    ingress = named(production_render(), "Ingress", "-gateway")
    notes = ingress["metadata"]["annotations"]
    assert notes["nginx.ingress.kubernetes.io/ssl-redirect"] == "false"
    assert notes["nginx.ingress.kubernetes.io/proxy-body-size"] == "4m"
    assert int(notes["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 30
    assert notes["cert-manager.io/cluster-issuer"] == "letsencrypt-production"
    assert ingress["spec"]["tls"][0]["secretName"]
    lb = render("gateway: {service: {type: LoadBalancer, externalTrafficPolicy: Local}, tls: {secretName: cwmp-tls}}\n")
    svc = named(lb, "Service", "-gateway")
    assert svc["spec"]["type"] == "LoadBalancer" and svc["spec"]["externalTrafficPolicy"] == "Local"
    assert {"name": "tls", "secret": {"secretName": "cwmp-tls"}} in named(lb, "Deployment", "-gateway")["spec"]["template"]["spec"]["volumes"]


def test_service_monitors_scrape_every_component_when_enabled() -> None:
    assert of_kind(default_render(), "ServiceMonitor") == []
    report = production_render()
    services = {s["metadata"]["name"]: s for s in of_kind(report, "Service")}
    for sm in of_kind(report, "ServiceMonitor"):
        selector = sm["spec"]["selector"]["matchLabels"]
        matched = [s for s in services.values() if selector.items() <= s["metadata"]["labels"].items()]
        assert len(matched) == 1, (sm["metadata"]["name"], [s["metadata"]["name"] for s in matched])
        port_names = {p["name"] for p in matched[0]["spec"]["ports"]}
        assert sm["spec"]["endpoints"][0]["port"] in port_names
        assert sm["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def topic_specs(text: str) -> dict[str, int]:
    return {spec.split(":")[0]: int(spec.split(":")[1]) for spec in text.split()}


def test_topic_job_creates_every_contract_topic() -> None:
    for report, partitions in ((default_render(), 12), (production_render(), 48)):
        cm = named(report, "ConfigMap", "-kafka-topics")
        topics = topic_specs(cm["data"]["ACS_KAFKA_TOPICS"])
        assert set(topics) == set(ALL_TOPICS)
        assert topics[SESSION_EVENTS] == topics[SESSION_MESSAGES] == partitions  # co-partitioned
        assert cm["data"]["create-topics.sh"] == (REPO / "deploy/kafka/create-topics.sh").read_text()
        job = named(report, "Job", "-kafka-topics")
        assert "pre-install" in job["metadata"]["annotations"]["helm.sh/hook"]


def test_grafana_dashboard_configmaps_for_the_sidecar() -> None:
    report = production_render()
    maps = [cm for cm in of_kind(report, "ConfigMap") if "-dashboard-" in cm["metadata"]["name"]]
    files = {f.name: f.read_text() for f in dashboard_metrics.dashboard_files()}
    assert len(maps) == len(files) > 0
    for cm in maps:
        assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert cm["metadata"]["namespace"] == "monitoring"
        (name, text), = cm["data"].items()
        assert json.loads(text) == json.loads(files[name])


# ---------------------------------------------------------------- telemetry wiring, run for real


KPI = "Device.DeviceInfo.ProcessStatus.CPUUsage"
DEVICE = "00D09E-EX220-CHART0001"


def chart_env(report: dict[str, Any], container: str) -> dict[str, str]:
    """What one chart container's environment holds: its envFrom ConfigMaps and Secret, then its
    env entries; the broker and database addresses are left to the test stack."""
    maps = {m["metadata"]["name"]: m.get("data", {}) for m in report["manifests"] if m["kind"] == "ConfigMap"}
    secrets = {m["metadata"]["name"]: m["stringData"] for m in report["manifests"] if m["kind"] == "Secret"}
    c = containers(report)[container]
    env: dict[str, str] = {}
    for ref in c["envFrom"]:
        if "configMapRef" in ref:
            env.update(maps[ref["configMapRef"]["name"]])
        else:
            env.update(secrets[ref["secretRef"]["name"]])
    env.update({e["name"]: e["value"] for e in c.get("env", []) if "value" in e})
    return {k: v for k, v in env.items() if not k.startswith("ACS_KAFKA_") and k != "ACS_MONGODB_URI"}


@pytest.mark.e2e
def test_chart_settings_run_collectors_writers_and_the_schedulers_provision_function(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The settings the chart renders (ConfigMaps, the Secret, the writers-apart container env)
    start a collector-only and a writer-only telemetry process on Apache Kafka and SecantusDB;
    the bulkdata_profile function the chart mounts into the schedulers gives a CPE the report
    password the collector accepts (both read the Bulk Data secret from the same Secret), and a
    report sent with it is stored by the writer; another password is refused."""
    report = render("telemetry: {writers: {separate: true, replicas: 1}}\nkafka: {topics: {partitions: 3}}\n")
    assert report["rc"] == 0, report.get("refused") or report.get("errors")
    collector_env = chart_env(report, "telemetry")
    writer_env = chart_env(report, "telemetry-writer")
    scheduler_env = chart_env(report, "task-scheduler")
    assert collector_env["TELEMETRY_WRITER"] == "off" and writer_env["TELEMETRY_COLLECTOR"] == "off"
    secret = collector_env["TELEMETRY_BULKDATA_SECRET"]
    assert secret and writer_env["TELEMETRY_BULKDATA_SECRET"] == scheduler_env["TELEMETRY_BULKDATA_SECRET"] == secret

    # The schedulers' provision folder, as the chart mounts it.
    folder = tmp_path / "provisions"
    folder.mkdir()
    for name, source in named(report, "ConfigMap", "-provisions")["data"].items():
        (folder / name).write_text(source)
    assert scheduler_env["SCHEDULER_PROVISIONS_DIR"] == "/etc/acs/provisions"
    functions = ProvisionFunctions(folder)
    functions.load()
    assert "bulkdata_profile" in functions.functions
    monkeypatch.setenv("TELEMETRY_BULKDATA_SECRET", scheduler_env["TELEMETRY_BULKDATA_SECRET"])
    doc: dict[str, Any] = {"Device": {"BulkData": {"Profile": {"1": {"HTTP": {}}}}}}
    decls = functions.call("bulkdata_profile", DeviceView(DEVICE, doc, ["0 BOOTSTRAP"]),
                           [{"url": "https://bulkdata.example.net/bulkdata", "parameters": [KPI]}])
    password = next(d["value"] for d in decls if d["path"].endswith("HTTP.Password"))

    st = Stack(partitions=2).start_servers()
    started: list[Service] = []
    try:
        for env in (writer_env, collector_env):
            started.append(st.add_telemetry(**{k: v for k, v in env.items()
                                               if k not in ("TELEMETRY_HOST", "TELEMETRY_PORT")}))
        writer, collector = started
        with httpx.Client(timeout=30) as http:
            health = http.get(f"http://127.0.0.1:{writer.port}/healthz").json()
            assert health["collector"] is False and health["writer"] is True
            health = http.get(f"http://127.0.0.1:{collector.port}/healthz").json()
            assert health["collector"] is True and health["writer"] is False
            # Reports are served by the collector only.
            assert http.post(f"http://127.0.0.1:{writer.port}/bulkdata", json={}).status_code == 404
            url = f"http://127.0.0.1:{collector.port}/bulkdata"
            body = {"Report": [{"CollectionTime": int(time.time()), KPI: 42}]}
            headers = {"BBF-Report-Format": "NameValuePair"}
            refused = http.post(url, json=body, headers=headers, auth=(DEVICE, "0" * 32))
            assert refused.status_code == 401, refused.text
            accepted = http.post(url, json=body, headers=headers, auth=(DEVICE, password))
            assert accepted.status_code == 204, accepted.text

        uri = st.common_env()["ACS_MONGODB_URI"]
        with MongoClient[dict[str, Any]](uri, serverSelectionTimeoutMS=10_000) as client:
            history = client[writer_env["ACS_MONGODB_DATABASE"]][METRICS_HISTORY]
            bucket = wait_until(lambda: history.find_one({"device": DEVICE}), timeout=90, interval=0.3, what="a KPI history bucket")
        assert [(s["p"], s["v"]) for s in bucket["s"]] == [(KPI, 42)]
    finally:
        for svc in started:
            svc.stop()
        st.stop()


# ---------------------------------------------------------------- docker-compose


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_file_matches_the_compose_specification(tmp_path: Path) -> None:
    check = tool("check-jsonschema")
    proc = run(check, "--builtin-schema", "vendor.compose-spec", COMPOSE)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    broken = tmp_path / "docker-compose.yml"
    broken.write_text("services:\n  web:\n    image: x\n    restart: sometimes\n    portz: [80]\n")
    proc = run(check, "--builtin-schema", "vendor.compose-spec", broken)
    assert proc.returncode != 0, "the compose schema accepted a broken file"


def test_compose_wiring() -> None:
    doc = compose()
    services = doc["services"]
    for name, svc in services.items():
        image = svc.get("image", "")
        if "build" not in svc:
            assert re.search(r":v?[0-9]+\.[0-9]+\.[0-9]+[\w.-]*$", image), f"{name}: image {image!r} is not pinned to a version"
        for dep in svc.get("depends_on", {}):
            assert dep in services, f"{name} depends on unknown {dep}"
        for vol in svc.get("volumes", []):
            source = vol.split(":")[0]
            if not source.startswith((".", "/", "$")):
                assert source in doc["volumes"], f"{name}: volume {source} is not declared"
            elif source.startswith("./"):
                assert (REPO / source).exists(), f"{name}: {source} does not exist"
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert "broker,controller" in services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"]
    assert services["mongo"]["image"].startswith("mongo:") and "--replSet" in services["mongo"]["command"]
    assert "replicaSet=rs0" in services["inventory"]["environment"]["ACS_MONGODB_URI"]
    assert services["cpe-sim"]["profiles"] == ["sim"]
    assert "--acs-url" in services["cpe-sim"]["command"]
    for name in ("session-gateway", "task-scheduler", "inventory", "telemetry"):
        assert services[name]["depends_on"]["kafka-init"]["condition"] == "service_completed_successfully"
    topics = topic_specs(services["kafka-init"]["environment"]["ACS_KAFKA_TOPICS"].replace("${ACS_SESSION_EVENTS_PARTITIONS:-12}", "12"))
    assert set(topics) == set(ALL_TOPICS) and topics[SESSION_EVENTS] == topics[SESSION_MESSAGES] == 12


def host_ports(service: dict[str, Any]) -> dict[int, int]:
    """Published container port -> host port of a compose service (short syntax)."""
    return {int(p.split(":")[-1]): int(p.split(":")[-2]) for p in service.get("ports", [])}


def test_compose_runs_telemetry_and_the_console() -> None:
    services = compose()["services"]
    telemetry = services["telemetry"]
    assert telemetry["build"]["dockerfile"] == "services/telemetry/Dockerfile"
    assert telemetry["image"] == "${ACS_IMAGE_REGISTRY:-acs}/telemetry:${ACS_IMAGE_TAG:-dev}"
    assert host_ports(telemetry) == {7570: 7570}  # CPEs post Bulk Data reports here
    env = telemetry["environment"]
    assert env["ACS_KAFKA_BOOTSTRAP"] == "kafka:9092" and "replicaSet=rs0" in env["ACS_MONGODB_URI"]
    secret = env["TELEMETRY_BULKDATA_SECRET"]
    assert secret.startswith("${TELEMETRY_BULKDATA_SECRET:-insecure-compose-")
    # The scheduler derives each CPE's report password from the same secret (bulkdata_profile).
    scheduler = services["task-scheduler"]
    assert scheduler["environment"]["TELEMETRY_BULKDATA_SECRET"] == secret
    provisions = scheduler["environment"]["SCHEDULER_PROVISIONS_DIR"]
    assert f"./services/telemetry/provisions:{provisions}:ro" in scheduler["volumes"]
    assert (REPO / "services/telemetry/provisions/bulkdata_profile.py").exists()
    inventory = services["inventory"]
    assert host_ports(inventory)[3000] == 3000 and str(inventory["environment"]["CONSOLE_PORT"]) == "3000"
    grafana = host_ports(services["grafana"])
    assert grafana == {3000: 3001}, "Grafana's host port must leave 3000 to the console"
    published = [host for svc in services.values() for host in host_ports(svc).values()]
    assert len(published) == len(set(published)), f"a host port is published twice: {sorted(published)}"
    header = COMPOSE.read_text().split("\nname:")[0]
    for url in ("localhost:3000", "localhost:3001", "localhost:7570"):
        assert url in header, url


def test_prometheus_scrapes_every_service() -> None:
    prom = yaml.safe_load((REPO / "deploy/prometheus/prometheus.yml").read_text())
    targets = {t for job in prom["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]}
    services = compose()["services"]
    for name, port in ADMIN_PORTS.items():
        assert f"{name}:{port}" in targets
        assert name in services
    grafana_mounts = " ".join(services["grafana"]["volumes"])
    assert "deploy/grafana/provisioning" in grafana_mounts and "deploy/grafana/dashboards" in grafana_mounts


# ---------------------------------------------------------------- Dockerfiles


def test_dockerfiles_pass_hadolint(tmp_path: Path) -> None:
    hadolint = tool("hadolint")
    proc = run(hadolint, "--failure-threshold", "style", *DOCKERFILES)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    sloppy = tmp_path / "Dockerfile"
    sloppy.write_text("FROM python\nRUN pip install requests\n")
    assert run(hadolint, "--failure-threshold", "style", sloppy).returncode != 0, "hadolint accepted a sloppy Dockerfile"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_dockerfiles_are_multi_stage_slim_and_non_root(dockerfile: Path) -> None:
    lines = [ln.strip() for ln in dockerfile.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    froms = [i for i, ln in enumerate(lines) if ln.startswith("FROM ")]
    assert len(froms) >= 2 and any(lines[i].endswith(" AS builder") for i in froms[:-1])
    assert re.search(r"python:3\.11\.\d+-slim", dockerfile.read_text())
    final = lines[froms[-1]:]
    assert any(ln.startswith("COPY --from=builder") for ln in final)
    assert not any(re.search(r"apt-get|gcc|build-essential", ln) for ln in final)
    user = [ln for ln in final if ln.startswith("USER ")]
    assert user and not user[-1].split()[1].startswith(("root", "0"))
    assert any(ln.startswith("HEALTHCHECK") for ln in final)
    assert any(ln.startswith("ENTRYPOINT") for ln in final)


@pytest.mark.parametrize("dockerfile", SERVICE_DOCKERFILES, ids=lambda p: p.parent.name)
def test_service_images_check_health_on_the_admin_port(dockerfile: Path) -> None:
    text = dockerfile.read_text()
    port = ADMIN_PORTS[dockerfile.parent.name]
    assert f"http://127.0.0.1:{port}/healthz" in text
    assert f'ENTRYPOINT ["acs-{dockerfile.parent.name}"]' in text


def _local_projects() -> dict[str, Path]:
    """The repository's own Python projects by distribution name (libs, services, tools)."""
    out = {}
    for pyproject in [*REPO.glob("libs/*/pyproject.toml"), *REPO.glob("services/*/pyproject.toml"),
                      *REPO.glob("tools/*/pyproject.toml")]:
        out[tomllib.loads(pyproject.read_text())["project"]["name"]] = pyproject.parent
    return out


def _local_dependencies(project: Path, projects: dict[str, Path]) -> set[Path]:
    """The local projects ``project`` needs at run time, transitively (pip cannot fetch them)."""
    found: set[Path] = set()
    todo = [project]
    while todo:
        deps = tomllib.loads((todo.pop() / "pyproject.toml").read_text())["project"].get("dependencies", [])
        for dep in deps:
            name = re.split(r"[\s<>=!~;\[]", dep, maxsplit=1)[0]
            if name in projects and projects[name] not in found:
                found.add(projects[name])
                todo.append(projects[name])
    return found


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_images_install_every_local_library_they_import(dockerfile: Path) -> None:
    """A library missing from an image makes pip look for it on PyPI: the build fails (or worse,
    installs someone else's package of that name)."""
    text = dockerfile.read_text()
    install = next(ln for ln in text.splitlines() if "pip install --no-cache-dir" in ln)
    for lib in sorted(_local_dependencies(dockerfile.parent, _local_projects())):
        rel = lib.relative_to(REPO)
        assert f"COPY {rel} /src/{rel}" in text, f"{dockerfile.relative_to(REPO)} does not copy {rel}"
        assert f"/src/{rel}" in install, f"{dockerfile.relative_to(REPO)} does not install {rel}"


def test_the_inventory_image_serves_the_console() -> None:
    text = (REPO / "services" / "inventory" / "Dockerfile").read_text()
    assert re.search(r"^FROM \S+ AS console$", text, re.M) and "npm ci" in text and "npm run build" in text
    assert "COPY --from=console /ui/dist /opt/acs/console" in text and "CONSOLE_DIST=/opt/acs/console" in text
    assert "ui/dist" in (REPO / ".dockerignore").read_text()  # a local build never shadows the image's


# ---------------------------------------------------------------- Grafana dashboards


def test_dashboards_are_valid_grafana_with_valid_promql(tmp_path: Path) -> None:
    checker = REPO / "deploy/checks/grafana_dashboards.py"
    proc = run(tool("python"), checker)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert all(problems == [] for problems in json.loads(proc.stdout).values())
    # Control: an option Grafana does not know and a broken query are both reported.
    dashboard = json.loads(dashboard_metrics.dashboard_files()[0].read_text())
    panel = next(p for p in dashboard["panels"] if p["type"] == "timeseries")
    panel["options"]["legend"]["placment"] = "bottom"
    panel["targets"][0]["expr"] = "sum(rate(acs_gateway_sessions_total[5m])"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(dashboard))
    proc = run(tool("python"), checker, broken)
    problems = json.loads(proc.stdout)[str(broken)]
    assert proc.returncode == 1
    assert any("placment" in p for p in problems) and any("does not parse" in p for p in problems), problems


def test_dashboards_are_generated_from_generate_dashboards() -> None:
    spec = importlib.util.spec_from_file_location("generate_dashboards", REPO / "deploy/grafana/generate_dashboards.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    files = {f.name: f.read_text() for f in dashboard_metrics.dashboard_files()}
    assert module.render_all() == files, "run python deploy/grafana/generate_dashboards.py"


def test_dashboards_query_only_documented_metrics() -> None:
    used = dashboard_metrics.dashboard_metric_names()
    documented = dashboard_metrics.documented_metric_names()
    assert used, "no metric found in the dashboards"
    assert used <= documented, f"not in docs/metrics.md: {sorted(used - documented)}"


def test_dashboards_cover_the_operators_questions() -> None:
    titles = {title.lower() for _, title, _ in dashboard_metrics.dashboard_queries()}
    for wanted in (
        "sessions per second by outcome", "informs per second by event code", "active sessions per gateway",
        "rpc latency by rpc", "session duration", "cpe faults by code", "task queue depth",
        "oldest pending task age", "consumer lag per partition", "reply hop", "mongodb operation latency by op",
        "connection requests by outcome", "campaign progress",
        "bulk data reports by outcome", "kpi samples stored by source", "history write latency",
        "active alarms", "alarm state changes by rule",
    ):
        assert wanted in titles, wanted


def test_device_monitoring_dashboard_shows_every_telemetry_metric() -> None:
    """The telemetry dashboard queries exactly what services/telemetry's metrics module exports."""
    from prometheus_client.metrics import MetricWrapperBase

    from telemetry import metrics

    suffix = {"counter": "_total", "histogram": "", "gauge": ""}
    exported = {
        m.name + suffix[m.type]
        for obj in vars(metrics).values() if isinstance(obj, MetricWrapperBase)
        for m in obj.describe()
    }
    assert len(exported) >= 9, exported
    dashboard = DASHBOARDS_DIR / "acs-device-monitoring.json"
    queried = {
        dashboard_metrics.base_metric_name(name)
        for panel in json.loads(dashboard.read_text())["panels"] for t in panel.get("targets", [])
        for name in dashboard_metrics.metric_selectors(t["expr"])
    }
    assert queried == exported, (sorted(exported - queried), sorted(queried - exported))


def test_metric_scanner_reads_promql_like_prometheus() -> None:
    expr = ('histogram_quantile(0.95, sum by (le, rpc) (rate(acs_x_seconds_bucket{job="a",rpc=~"Get.*"}[5m] offset 1h)))'
            ' / on (instance) group_left max without (pod) (acs_y) > bool 3 unless acs_z_total')
    assert dashboard_metrics.metric_selectors(expr) == {"acs_x_seconds_bucket", "acs_y", "acs_z_total"}
    assert dashboard_metrics.base_metric_name("acs_x_seconds_bucket") == "acs_x_seconds"


# ---------------------------------------------------------------- scripts


def test_deploy_scripts_pass_shellcheck() -> None:
    proc = run(tool("shellcheck"), "deploy/kafka/create-topics.sh", "deploy/checks/install-tools.sh", "deploy/check.sh")
    assert proc.returncode == 0, proc.stdout + proc.stderr
