# Echelon: `make run` serves the app, `make test` runs the whole test suite. Both set up
# everything they need on a fresh machine (virtualenv, packages, embedded PostgreSQL).
# `make serve` runs the production topology (docs/deployment.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
NODE_STAMP := node_modules/.installed
# The second supabase-js run (tests/realtime/test_supabase_js.py): the newest supabase-js 2.x on
# Node 22, both from npm into that folder (the `node` package ships the binary; no root).
NODE22_DIR := tests/supabase/e2e/node22
NODE22_STAMP := $(NODE22_DIR)/node_modules/.installed
WITH_DB := $(PY) -m echelon.embedded_pg --
PIP := $(PY) -m pip install --disable-pip-version-check --progress-bar on
PORT ?= 8000

.PHONY: run serve test lint bench load install audit clean fuzz screenshots

# Serving needs requirements.txt only; pip prints each package as it goes (progress on a TTY).
$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing the runtime packages (requirements.txt) into $(VENV) ..."
	$(PIP) -r requirements.txt
	touch $(STAMP)

# Tests, benchmarks and fuzzing add requirements-dev.txt.
$(DEV_STAMP): $(STAMP) requirements-dev.txt
	@echo "Installing the development packages (requirements-dev.txt) ..."
	$(PIP) -r requirements-dev.txt
	touch $(DEV_STAMP)

# Node packages: d3 for the web pages (served from node_modules as static files: STATICFILES_DIRS),
# and the end-to-end tests' real @supabase/realtime-js and supabase-js clients.
$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm (Node.js 20) is required for the realtime end-to-end test"; exit 1; }
	npm ci --no-audit --no-fund
	touch $(NODE_STAMP)

$(NODE22_STAMP): $(NODE22_DIR)/package.json $(NODE22_DIR)/package-lock.json
	@command -v npm >/dev/null || { echo "npm is required for the supabase-js end-to-end test"; exit 1; }
	npm ci --prefix $(NODE22_DIR) --no-audit --no-fund --engine-strict=false
	touch $(NODE22_STAMP)

install: $(DEV_STAMP) $(NODE_STAMP) $(NODE22_STAMP)

# Known vulnerabilities of every pin in requirements.txt (docs/security.md). CI runs it
# after `make test`; a reviewed finding that does not apply goes in .ci/audit-ignore.txt with why.
audit: $(STAMP)
	$(PY) .ci/audit.py requirements.txt requirements-dev.txt

# Debian packages the commands need, installed when missing. One apt at a time: two `make test`
# on a fresh machine both reach `apt-get update`, and the second failed on apt's lock; flock
# makes it wait (DPkg::Lock::Timeout: also for an apt run started outside these commands).
APT_INSTALL = flock /tmp/echelon-apt.lock sh -c 'apt-get -o DPkg::Lock::Timeout=600 update && apt-get -o DPkg::Lock::Timeout=600 install -y $(1)'

# Headless Chromium for the browser tests (tests/web): Debian's package, installed only when missing.
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	$(call APT_INSTALL,chromium)

# libfaketime for the realtime re-authorization tests (a server clock the test moves, so token
# expiry is never waited for): Debian's package, installed only when missing.
FAKETIME_LIB := $(firstword $(wildcard /usr/lib/*/faketime/libfaketimeMT.so.1))
FAKETIME := $(if $(FAKETIME_LIB),$(FAKETIME_LIB),install-faketime)
.PHONY: install-faketime
install-faketime:
	$(call APT_INSTALL,libfaketime)

# The front of the production topology (make serve, its test and benchmarks): Debian's nginx, and
# Debian's redis-server for the topology's private Redis; installed only when missing.
NGINX := /usr/sbin/nginx
REDIS_SERVER := /usr/bin/redis-server
$(NGINX):
	$(call APT_INSTALL,nginx)
$(REDIS_SERVER):
	$(call APT_INSTALL,redis-server)

run: $(STAMP) $(NODE_STAMP)
	$(WITH_DB) $(PY) manage.py serve $(RUN_ARGS)

# Production topology in the foreground on PORT: nginx, gunicorn workers, daphne, Redis.
serve: $(STAMP) $(NODE_STAMP) $(NGINX) $(REDIS_SERVER)
	$(WITH_DB) $(PY) -m echelon.serving --port $(PORT) $(SERVE_ARGS)

# The layers contract (.importlinter: apps depend downward only, the core imports no app, no
# import cycle) and ruff (ruff.toml). CI runs it before `make test` (.ci/run).
lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

# The suite runs on pytest-xdist's workers, one per core (TEST_WORKERS=0: in this process, e.g.
# for a debugger); each worker has its own test database, servers and ports.
TEST_WORKERS ?= auto
test: $(DEV_STAMP) $(NODE_STAMP) $(NODE22_STAMP) $(CHROMIUM) $(NGINX) $(REDIS_SERVER) $(FAKETIME)
	$(WITH_DB) $(PY) -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

# Release check (docs/fuzz-findings.md): the fuzzers of tests/hardening with many more,
# randomized examples (CI runs the same tests bounded and derandomized in `make test`).
FUZZ_EXAMPLES ?= 100
FUZZ_HOOK_EXAMPLES ?= 2000
fuzz: $(DEV_STAMP)
	ECHELON_FUZZ_RANDOM=1 ECHELON_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) ECHELON_FUZZ_HOOK_EXAMPLES=$(FUZZ_HOOK_EXAMPLES) \
		$(WITH_DB) $(PY) -m pytest tests/hardening/test_openapi_fuzz.py tests/hardening/test_hook_fuzz.py \
		tests/hardening/test_websocket_fuzz.py --timeout=0 $(PYTEST_ARGS)

bench: $(DEV_STAMP) $(NGINX)
	$(WITH_DB) $(PY) -m bench $(BENCH_ARGS)

# Mixed load against one server (default 10 minutes, 500 sockets; docs/operations.md).
load: $(DEV_STAMP) $(NGINX)
	$(WITH_DB) $(PY) -m bench.load $(LOAD_ARGS)

# Screenshots of every page and admin changelist at 1280x800 and 390x844 into artifacts/screenshots/
# (committed, so a review sees them): the browser tests that write them.
screenshots: $(DEV_STAMP) $(NODE_STAMP) $(CHROMIUM)
	ECHELON_SCREENSHOTS=artifacts/screenshots $(WITH_DB) $(PY) -m pytest tests/web/test_browser.py::test_screenshots_of_every_page \
		tests/web/test_console_browser.py::test_screenshots_of_every_admin_changelist_and_the_agent_form $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .data node_modules $(NODE22_DIR)/node_modules
