# The README's two commands: `make run` and `make test`.
# VENV may name another virtual environment than ./.venv (`make run VENV=/opt/groundedqa/venv`).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test install browser servers caddy clean-index

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check --root-user-action=ignore -q --upgrade pip
	$(BIN)/pip install --disable-pip-version-check --root-user-action=ignore -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Debian's Chromium for the widget's browser tests (never `playwright install`: it downloads).
browser:
	bash scripts/install-chromium.sh

# Debian's redis-server and postgresql for the replica tests (their fixtures start and stop
# throwaway instances).
servers:
	bash scripts/install-servers.sh

# Debian's Caddy for the tests of the production recipe (deploy/Caddyfile).
caddy:
	bash scripts/install-caddy.sh

run: $(STAMP)
	$(BIN)/groundedqa ingest --sync
	$(BIN)/groundedqa serve --host $(HOST) --port $(PORT)

test: $(STAMP) browser servers caddy
	$(BIN)/python -m pytest -q -ra

clean-index:
	rm -rf var/index
