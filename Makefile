# Echelon: `make run` serves the app, `make test` runs the whole test suite. Both set up
# everything they need on a fresh machine (virtualenv, packages, embedded PostgreSQL).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
WITH_DB := $(PY) -m echelon.embedded_pg --

.PHONY: run test bench install clean

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(WITH_DB) $(PY) manage.py serve $(RUN_ARGS)

test: $(STAMP)
	$(WITH_DB) $(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(WITH_DB) $(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .data node_modules
