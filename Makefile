# The two commands a newcomer needs (see README.md):
#   make demo   set everything up and run the platform on the embedded defaults with a simulated feed
#   make test   set everything up and run the whole test suite
# Both are idempotent: a second run reuses the venv, the packages and the cached Kafka jars.

PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

# The integration tests that read the wall clock, run again with it moved (tests/clock_sweep.py):
# utc-midnight is 02:59:30 Moscow on New Year's Day, the last half minute of a UTC year.
CLOCK_TESTS := $(shell grep -rlE 'time\.time\(\)|now_ms\(\)|datetime\.now' tests/integration tests/e2e)

.PHONY: setup demo test lint bench clean

setup:
	bash deploy/bootstrap.sh

demo: setup
	$(BIN)/kontakt demo

test: setup
	$(BIN)/ruff check services schemas streams tests bench
	$(BIN)/mypy services schemas streams
	$(BIN)/pytest
	$(BIN)/python -m tests.clock_sweep -- tests/unit -q -p no:cacheprovider
	$(BIN)/python -m tests.clock_sweep --at utc-midnight -- -q -p no:cacheprovider $(CLOCK_TESTS)

bench: setup
	$(BIN)/python bench/run_all.py

clean:
	-$(BIN)/kontakt down
	rm -rf .kontakt tests/output
