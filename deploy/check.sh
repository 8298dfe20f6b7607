#!/usr/bin/env bash
# All deployment checks in one go: installs the pinned tools (idempotent), then runs
# tests/deploy (Helm render + Kubernetes schemas, compose spec, hadolint, Grafana, shellcheck).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash deploy/checks/install-tools.sh
PY="${PYTHON:-$ROOT/.venv/bin/python}"
exec "$PY" -m pytest -q tests/deploy "$@"
