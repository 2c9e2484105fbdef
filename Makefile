# Two commands set everything up on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
SERVICES := scripts/services
# `scripts/services env` is written here first, so that its failure stops the target
# (`eval "$$(...)"` would swallow it and the tests would run against whatever answers).
SERVICES_ENV := $(VENV)/services.env
PYTEST_ARGS ?=

ASYNCAPI_CHECK := scripts/asyncapi/node_modules/.installed

.PHONY: run test venv services services-down lint contracts contracts-check clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)

services:
	$(SERVICES) up

services-down:
	$(SERVICES) down

lint: venv
	$(BIN)/ruff check service tests benchmarks examples scripts
	$(BIN)/ruff format --check service tests benchmarks examples scripts
	$(BIN)/mypy service
	$(BIN)/lint-imports

$(ASYNCAPI_CHECK): scripts/asyncapi/package-lock.json
	cd scripts/asyncapi && npm ci --no-audit --no-fund --silent
	@touch $@

## contracts/asyncapi.yaml must satisfy the official AsyncAPI parser.
contracts-check: $(ASYNCAPI_CHECK)
	node scripts/asyncapi/validate.mjs contracts/asyncapi.yaml

## The whole suite: lint, types, contracts, unit and integration tests against real Kafka and FerretDB.
test: venv services lint contracts-check
	$(SERVICES) env > $(SERVICES_ENV)
	source $(SERVICES_ENV) && $(BIN)/pytest -q -p no:cacheprovider $(PYTEST_ARGS)

## The service with its Kafka and FerretDB, authentication off for local development.
run: venv services
	@echo "Try it from another shell:  $(BIN)/alloy-scripting demo"
	$(SERVICES) env > $(SERVICES_ENV)
	source $(SERVICES_ENV) && ALLOY_AUTH_DISABLED=true $(BIN)/alloy-scripting serve

## Regenerate contracts/ (AsyncAPI document, JSON Schemas, GraphQL schema) from the code.
contracts: venv
	$(BIN)/python -m alloy_scripting.messaging.contract contracts
	$(BIN)/python -m alloy_scripting.api.graphql.contract contracts

clean:
	rm -rf $(VENV) .run .mypy_cache .ruff_cache .pytest_cache
