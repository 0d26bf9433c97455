# hotich: two commands for a newcomer (make demo, make test); the rest for operators.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha1sum requirements.txt | cut -c1-12)
LOCAL := $(PY) -m hotich.localenv

.PHONY: help install demo test run progress up down lint bench clean

help:
	@echo "make demo   install, generate a synthetic province, run the daily DAG, print a summary"
	@echo "make test   install and run the whole test suite"
	@echo "make run    run hotich_reconcile once over what the environment names (contract)"
	@echo "make progress  the campaign's progress per phase and district (also at /hotich/ in make up)"
	@echo "make up     start Airflow (api-server, scheduler, dag-processor, triggerer) on 127.0.0.1:8080"
	@echo "make down   stop what make up and the embedded PostgreSQL started"
	@echo "make lint   ruff"
	@echo "make bench  the scale benchmarks (benchmarks/RESULTS.md)"

# A project-local virtualenv, installed with uv from the pinned requirements.
$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check uv==0.13.8
	@$(VENV)/bin/uv pip install -q --compile-bytecode -p $(PY) -r requirements.txt
	@echo "$(CURDIR)/plugins" > "$$($(PY) -c 'import site; print(site.getsitepackages()[0])')/hotich.pth"
	@rm -f $(VENV)/.installed-*; touch $@
	@echo "installed into $(VENV)"

install: $(STAMP)

demo: install
	$(PY) -m hotich.demo

test: install
	$(PY) -m pytest

run: install
	$(PY) -m hotich.run

progress: install
	@$(LOCAL) $(CURDIR)/$(PY) -m hotich.ops.progress

up: install
	$(PY) -m hotich.localenv up

down:
	@test -x $(PY) && $(PY) -m hotich.localenv down || true

lint: install
	$(VENV)/bin/ruff check .

bench: install
	@for b in synth normalize validate reconcile population_api pipeline; do echo "== $$b"; $(PY) benchmarks/bench_$$b.py || exit 1; done

clean: down
	rm -rf .airflow .pgdata data
