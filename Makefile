.PHONY: setup demo test lint typecheck synth bench clean

# jsii warns on every start that Node 20 left its support window; the synthesized output is unaffected.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

setup:
	@scripts/bootstrap.sh

demo: setup
	@.venv/bin/sellerstream demo

test: setup
	@.venv/bin/python -m pytest -n 2 --dist loadgroup -q

lint: setup
	@.venv/bin/ruff check . && .venv/bin/ruff format --check .

typecheck: setup
	@.venv/bin/mypy

synth: setup
	@.venv/bin/python app.py

bench: setup
	@.venv/bin/python bench/handler_import.py
	@.venv/bin/python bench/synth_time.py
	@.venv/bin/python bench/report_ingest.py

clean:
	rm -rf .venv cdk.out build .pytest_cache .mypy_cache .ruff_cache scripts/pyodide/node_modules
