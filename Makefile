# newsdrop: `make` = lint + types + tests. Everything runs from the locked venv in .venv.
PYTHON ?= python3
UV_VERSION := 0.13.9
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.synced
BENCH_STAMP := $(VENV)/.synced-bench

.PHONY: all venv run test check lint types pytest prometheus audit docs bench bench-write bench-scale soak clean

all: test

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(STAMP): $(BIN)/uv pyproject.toml uv.lock
	$(BIN)/uv sync --frozen --compile-bytecode --python $(BIN)/python
	touch $(STAMP)

venv: $(STAMP)

# the `bench` extra (psutil, bytewax for the framework peer) on top of the locked venv
$(BENCH_STAMP): $(STAMP)
	$(BIN)/uv sync --frozen --compile-bytecode --extra bench --python $(BIN)/python
	touch $(BENCH_STAMP)

## run: the whole pipeline on ./inbox (embedded Redis unless REDIS_URL is set)
run: venv
	$(BIN)/newsdrop up

## test: lint, types, the whole test suite (what CI runs)
test: lint types audit pytest

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: venv
	scripts/typecheck-tree.sh
	MYPYPATH=build/typecheck $(BIN)/mypy -p newsdrop
	MYPYPATH=build/typecheck $(BIN)/mypy scripts/docs_gen.py

pytest: venv prometheus
	$(BIN)/python -m pytest -m "not soak" $(PYTEST_ARGS)

## prometheus: prometheus + promtool for tests/ops (apt-get when missing; else they skip)
prometheus:
	scripts/ensure-prometheus.sh

audit: venv
	scripts/audit.sh

docs: venv
	$(BIN)/python scripts/docs_gen.py docs

## bench: the benchmark, printed only; bench-write (or WRITE=1) also writes benchmarks/ and
## the README table (tracked files: commit them deliberately)
bench: $(BENCH_STAMP)
	$(BIN)/newsdrop bench $(if $(filter 1,$(WRITE)),--write)

bench-write: $(BENCH_STAMP)
	$(BIN)/newsdrop bench --write

## bench-scale: the scale benchmark (FILES=1000000 by default; WRITE=1 writes results/)
bench-scale: venv
	$(BIN)/newsdrop bench --scale $(or $(FILES),1000000) $(if $(filter 1,$(WRITE)),--write)

soak: venv
	$(BIN)/python -m pytest -m soak tests/reliability $(PYTEST_ARGS)

clean:
	rm -rf build .mypy_cache .ruff_cache .pytest_cache
