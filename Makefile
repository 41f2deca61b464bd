.PHONY: setup setup-python demo test unit integration conformance infra e2e lint imports typecheck synth check-templates diff deploy destroy cdk-bootstrap bench clean

# The pinned Node.js and AWS CDK CLI (package.json) come first: `cdk` and jsii (the CDK's Python
# bridge, in the tests too) run on them rather than on whatever Node.js the machine has.
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
CDK := npm exec --no -- cdk
# Passed to every cdk command, e.g. make deploy CDK_ARGS="-c stage=staging -c alarm_email=ops@example.com"
CDK_ARGS ?=

setup:
	@scripts/bootstrap.sh

# Local mode needs no Node.js: the Python environment only.
setup-python:
	@scripts/bootstrap.sh python

demo: setup-python
	@.venv/bin/sellerstream demo

PYTEST := .venv/bin/python -m pytest -n 2 --dist loadgroup -q -p no:cacheprovider
# Line coverage of the use cases from the unit tests alone (fakes behind every port): below this, the run fails.
LOGIC_COVERAGE_FLOOR := 90

# Every suite, from the fastest: what CI runs.
test: unit conformance integration infra e2e

# Use cases over in-memory fakes, the client on a scripted transport, parsers, the emulator, the catalog.
unit: setup-python
	@$(PYTEST) tests/unit --cov=sellerstream.logic --cov-report=term:skip-covered --cov-fail-under=$(LOGIC_COVERAGE_FLOOR)

# The client and the emulator against Amazon's own models, schemas and examples.
conformance: setup-python
	@$(PYTEST) tests/conformance

# Adapters on moto, the port contracts (each fake against its adapter), the local pipeline.
integration: setup-python
	@$(PYTEST) tests/integration

# The synthesized stack: CDK assertions and cdk-nag.
infra: setup
	@$(PYTEST) tests/infrastructure

# The whole pipeline locally, the operator's commands, the Lambda bundle.
e2e: setup
	@$(PYTEST) tests/e2e

lint: setup-python
	@.venv/bin/ruff check . && .venv/bin/ruff format --check .

# The architecture's contracts (pyproject.toml [tool.importlinter]): layers, forbidden imports, no cycles.
imports: setup-python
	@.venv/bin/lint-imports --no-cache

typecheck: setup-python
	@.venv/bin/mypy

# Synthesizes through the pinned CLI and cdk.json into cdk.out (no AWS credentials needed).
synth: setup
	@$(CDK) synth --quiet $(CDK_ARGS)

# Both templates (without and with the partner bus) through the CLI, cdk-nag and cfn-lint.
check-templates: setup
	@scripts/check-templates.sh

diff: setup
	@$(CDK) diff $(CDK_ARGS)

deploy: setup
	@$(CDK) deploy $(CDK_ARGS)

destroy: setup
	@$(CDK) destroy $(CDK_ARGS)

# Once per account and region, before the first deploy.
cdk-bootstrap: setup
	@$(CDK) bootstrap $(CDK_ARGS)

bench: setup
	@.venv/bin/python bench/handler_import.py
	@.venv/bin/python bench/synth_time.py
	@.venv/bin/python bench/report_ingest.py
	@.venv/bin/python bench/parse_reject.py

clean:
	rm -rf .venv node_modules scripts/pyodide/node_modules cdk.out build .pytest_cache .mypy_cache .ruff_cache
