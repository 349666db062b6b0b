# Two entry points (README): `make demo` and `make test`. Each builds its own virtualenv.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR ?= demo

.PHONY: install system demo test bench clean

$(BIN)/uv:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q uv

system:
	bash scripts/system-packages.sh

install: $(BIN)/uv system
	$(BIN)/uv pip install --python $(BIN)/python -q -e '.[airflow,test]'

demo: install
	$(BIN)/ardis-demo --workdir $(DEMO_DIR)

test: install
	bash scripts/run-tests.sh

bench: install
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) $(DEMO_DIR) test-artifacts
