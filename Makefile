# hotich: two commands for a newcomer (make demo, make test); the rest for operators.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha1sum requirements.txt | cut -c1-12)
LOCAL := $(PY) -m hotich_dev.localenv

.PHONY: help install demo test run progress migrate up down lint bench bench-compare clean

help:
	@echo "make demo   install, generate a synthetic province, run the daily DAG, print a summary"
	@echo "make test   install and run the whole test suite"
	@echo "make run    run hotich_reconcile once over what the environment names (contract)"
	@echo "make progress  the campaign's progress per phase and district (also at /hotich/ in make up)"
	@echo "make migrate  apply the national database's migrations (the owner's step in a deployment)"
	@echo "make up     start Airflow (api-server, scheduler, dag-processor, triggerer) on 127.0.0.1:8080"
	@echo "make down   stop what make up and the embedded PostgreSQL started"
	@echo "make lint   ruff check, ruff format --check, mypy on the deployable package"
	@echo "make bench  the scale benchmarks (benchmarks/RESULTS.md)"
	@echo "make bench-compare  hotich against a naive pipeline, Splink, pandas/SQL and other loads"

# A project-local virtualenv, installed with uv from the pinned dev set (the runtime set
# and the dev tools), then the deployable package and the dev kit, editable.
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml devkit/pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check uv==0.13.8
	@$(VENV)/bin/uv pip install -q --compile-bytecode -p $(PY) -r requirements-dev.txt
	@$(VENV)/bin/uv pip install -q --compile-bytecode -p $(PY) --no-deps -e . -e ./devkit
	@rm -f "$$($(PY) -c 'import site; print(site.getsitepackages()[0])')/hotich.pth"
	@rm -f $(VENV)/.installed-*; touch $@
	@echo "installed into $(VENV)"

install: $(STAMP)

demo: install
	$(PY) -m hotich_dev.demo

test: install
	$(PY) -m pytest -n auto --dist loadfile

run: install
	$(PY) -m hotich_dev.run

migrate: install
	@$(LOCAL) $(CURDIR)/$(PY) -m hotich.migrate

progress: install
	@$(LOCAL) $(CURDIR)/$(PY) -m hotich.ops.progress

up: install
	$(PY) -m hotich_dev.localenv up

down:
	@test -x $(PY) && $(PY) -m hotich_dev.localenv down || true

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: install
	@for b in synth normalize validate reconcile population_api pipeline; do echo "== $$b"; $(PY) benchmarks/bench_$$b.py || exit 1; done

# hotich against what a province would write instead (benchmarks/COMPARE.md); Splink is a
# bench-only dependency (benchmarks/requirements.txt), installed here and nowhere else.
bench-compare: install
	@$(VENV)/bin/uv pip install -q -p $(PY) -r benchmarks/requirements.txt
	$(PY) benchmarks/bench_compare.py all

clean: down
	rm -rf .airflow .pgdata data
