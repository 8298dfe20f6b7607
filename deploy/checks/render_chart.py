"""Renders the ACS Helm chart with Helm's own engine and validates every manifest against the
Kubernetes API schemas.

Rendering: helm-python-sdk, Helm v4's Go library behind a C ABI (``helm template`` without a
cluster; values.schema.json is enforced as ``helm`` does). Validation: kubernetes-validate, the
OpenAPI-derived JSON schemas of each Kubernetes release, bundled offline, in strict mode (unknown
fields are errors). Kinds that are CustomResourceDefinitions of other projects have no schema
there; they are listed, never silently passed.

Run with the deploy tools venv (deploy/checks/install-tools.sh):
    build/deploy-tools/venv/bin/python deploy/checks/render_chart.py [-f VALUES.yaml] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "acs"
# Oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest with schemas here.
KUBE_VERSIONS = ("1.25.0", "1.37.0")
# Custom resources of other projects the chart may render: the API schemas do not cover them.
CUSTOM_RESOURCES = {("monitoring.coreos.com/v1", "ServiceMonitor")}


@dataclass
class Report:
    manifests: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    custom_resources: list[str] = field(default_factory=list)
    lint: list[str] = field(default_factory=list)

    @property
    def kinds(self) -> set[str]:
        return {m["kind"] for m in self.manifests}


def load_values(files: list[Path]) -> dict[str, Any]:
    """User values from -f files, later files winning (Helm's order)."""
    merged: dict[str, Any] = {}
    for f in files:
        _deep_merge(merged, yaml.safe_load(f.read_text()) or {})
    return merged


def _deep_merge(into: dict[str, Any], new: dict[str, Any]) -> None:
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        else:
            into[key] = value


def render(values: dict[str, Any], release: str = "acs", namespace: str = "acs") -> dict[str, str]:
    """Template path -> rendered text, as ``helm template`` would write it."""
    with helm.Chart.load(str(CHART)) as chart:
        return chart.render(values, name=release, namespace=namespace, is_install=True)


def manifests(rendered: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for path in sorted(rendered):
        if not path.endswith((".yaml", ".yml")):
            continue  # NOTES.txt
        for doc in yaml.safe_load_all(rendered[path]):
            if doc:
                out.append(doc)
    return out


def check(values: dict[str, Any], kube_versions: tuple[str, ...] = KUBE_VERSIONS) -> Report:
    """Lint, render and validate; raises helm.HelmError when the chart refuses the values."""
    report = Report()
    lint = helm.lint(str(CHART), values, strict=True, namespace="acs")
    report.lint = [f"{m['path']}: {m['error']}" for m in lint["messages"] if m["severity"] >= 2]
    report.lint += list(lint.get("errors") or [])
    report.manifests = manifests(render(values))
    for doc in report.manifests:
        name = f"{doc['kind']}/{doc['metadata'].get('name')}"
        if (doc["apiVersion"], doc["kind"]) in CUSTOM_RESOURCES:
            report.custom_resources.append(name)
            continue
        for version in kube_versions:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as e:
                where = ".".join(str(p) for p in e.path)
                report.errors.append(f"{name} (Kubernetes {version}): {where}: {e.message}")
            except kubernetes_validate.SchemaNotFoundError as e:
                report.errors.append(f"{name} (Kubernetes {version}): no API schema: {e}")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-f", "--values", type=Path, action="append", default=[])
    parser.add_argument("--out", type=Path, help="also write the rendered manifests here")
    parser.add_argument("--json", action="store_true", help="print the whole report as JSON")
    args = parser.parse_args(argv)
    values = load_values(args.values)
    try:
        report = check(values)
    except helm.HelmError as e:
        if args.json:
            print(json.dumps({"refused": str(e)}))
        else:
            print(f"FAIL chart refused the values: {e}")
        return 1
    if args.json:
        print(json.dumps({"refused": None, "manifests": report.manifests, "errors": report.errors,
                          "custom_resources": report.custom_resources, "lint": report.lint}))
        return 1 if report.errors or report.lint else 0
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "manifests.yaml").write_text(yaml.safe_dump_all(report.manifests, sort_keys=False))
    for line in report.lint:
        print(f"LINT {line}")
    for line in report.errors:
        print(f"INVALID {line}")
    for name in report.custom_resources:
        print(f"CUSTOM RESOURCE (no Kubernetes API schema) {name}")
    print(f"{len(report.manifests)} manifests, kinds: {', '.join(sorted(report.kinds))}")
    return 1 if report.errors or report.lint else 0


if __name__ == "__main__":
    sys.exit(main())
