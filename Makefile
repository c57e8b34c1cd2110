# The two commands a newcomer needs (see README.md):
#   make demo   set everything up and run the platform on the embedded defaults with a simulated feed
#   make test   set everything up and run the whole test suite
# Both are idempotent: a second run reuses the venv, the packages and the cached Kafka jars.

PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint bench clean

setup:
	bash deploy/bootstrap.sh

demo: setup
	$(BIN)/kontakt demo

test: setup
	$(BIN)/ruff check services schemas streams tests bench
	$(BIN)/mypy services schemas streams
	$(BIN)/pytest

bench: setup
	$(BIN)/python bench/run_all.py

clean:
	-$(BIN)/kontakt down
	rm -rf .kontakt tests/output
