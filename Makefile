# The two commands of the README: `make run` (the whole ACS locally) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PKGS   := libs/cwmp libs/acs-contracts libs/provision-scripts libs/device-query services/session-gateway services/task-scheduler services/inventory services/telemetry tools/devstack tools/cpe-simulator tools/acs-cli
PYPROJECTS := $(addsuffix /pyproject.toml,$(PKGS)) requirements-dev.txt

.PHONY: install ui run clean-data test test-fast bench bench-short lint clean

install: $(STAMP)

$(STAMP): $(PYPROJECTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt $(foreach p,$(PKGS),-e $(p))
	touch $(STAMP)

# The operator console (ui/): npm ci when the lock changed, a build when a source changed.
UI_SRC := ui/index.html ui/vite.config.ts ui/tsconfig.json $(shell find ui/src ui/public -type f 2>/dev/null)

ui: ui/.build-stamp

ui/node_modules/.ci-stamp: ui/package.json ui/package-lock.json
	cd ui && npm ci --no-audit --no-fund
	touch $@

ui/.build-stamp: ui/node_modules/.ci-stamp $(UI_SRC)
	cd ui && npm run build
	touch $@

# The ACS on this machine, data in ./var (ACS_DATA_DIR); options: make run ARGS="--fresh --cwmp-http"
run: install ui
	bash tools/install-system-packages.sh
	$(BIN)/acs-devstack run $(ARGS)

# Deletes the data of `make run` (devices, tasks, files, secrets, certificate); refused while it runs.
clean-data: install
	$(BIN)/acs-devstack clean-data

test: install ui
	bash tools/install-system-packages.sh
	bash deploy/checks/install-tools.sh
	cd ui && npm test -- --run
	$(BIN)/python -m acs_devstack.kafka
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not e2e and not deploy"

bench: install
	$(BIN)/python -m acs_devstack.kafka
	$(BIN)/python -m benchmarks

bench-short: install
	$(BIN)/python -m benchmarks --short

# ruff (ruff.toml) over the whole tree, mypy (mypy.ini) over the libraries', services' and devstack's sources.
lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build .pytest_cache .hypothesis
