# gridroute — the two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8080
TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
export TEST_POSTGRES_URL

.PHONY: run test install install-test assets browser fonts postgres init bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Installed-package stamps: reinstall when the metadata changes.
$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

# Front-end packages (Leaflet, axe-core) from the npm registry, served by the app under /assets/.
ASSETS := gridroute/web/node_modules/.installed
$(ASSETS): gridroute/web/package.json gridroute/web/package-lock.json
	cd gridroute/web && npm ci --no-audit --no-fund --loglevel=error
	touch $@

assets: $(ASSETS)
install: $(VENV)/.installed $(ASSETS)
install-test: $(VENV)/.installed-test $(ASSETS)

# Debian's Chromium for the browser tests (Playwright drives it; no browser download).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# A Chinese font for the map exports (PNG titles and legends) and the browser screenshots.
fonts:
	@test -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null; }

# PostgreSQL is started by the machine; start it again if it is down.
postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || { \
	  command -v pg_ctlcluster >/dev/null 2>&1 && \
	  pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -n1) main start && sleep 2; } || true

init: install
	$(BIN)/gridroute init

# An empty database gets the demo city (60 days of cases, one user per role; the demo users and
# their passwords are printed) before serving; a database holding cases is left as it is.
run: init fonts
	$(BIN)/gridroute demo seed --if-empty --days 60
	$(BIN)/gridroute serve --host $(HOST) --port $(PORT)

test: install-test browser fonts postgres
	$(BIN)/python -m pytest -n 2 -q

bench: install-test
	$(BIN)/python bench/locate.py
	$(BIN)/python bench/intake.py
	$(BIN)/python bench/escalation.py
	$(BIN)/python bench/maps.py

clean:
	rm -rf $(VENV) instance .pytest_cache gridroute/web/node_modules tests/artifacts
