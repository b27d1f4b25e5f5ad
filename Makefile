# primestream: `make demo` runs the whole loop, `make test` the whole suite.
# Every target sets up what it needs (virtualenv, packages, Kafka and registry jars), idempotently.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup build browser promtool demo test unit integration bench lint reliability clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: build
	$(BIN)/primestream infra fetch

# The worker's hot path compiled in place with mypyc (infra/compiled.py), rebuilt only when a
# source changed; PRIMESTREAM_COMPILE=0 keeps (or returns to) pure Python.
build: $(STAMP)
	$(BIN)/python -m infra.compiled build

# Debian's Chromium and its driver, for the test that renders a backtest report headless.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		$(SUDO) apt-get install -y -q chromium chromium-driver >/dev/null || \
		($(SUDO) apt-get update -q >/dev/null && $(SUDO) apt-get install -y -q chromium chromium-driver >/dev/null) || \
		echo "chromium could not be installed: the report rendering test will say so"

# promtool (Debian's prometheus package), for the test that checks infra/grafana/alerts.rules.yml.
promtool:
	@command -v promtool >/dev/null || \
		$(SUDO) apt-get install -y -q --no-install-recommends prometheus >/dev/null || \
		($(SUDO) apt-get update -q >/dev/null && $(SUDO) apt-get install -y -q --no-install-recommends prometheus >/dev/null) || \
		echo "promtool could not be installed: the alerting rules tests will say so"

# DEMO_ARGS, e.g. "--quotes 5000 --stop": what the README test passes for a shorter demo.
demo: setup
	$(BIN)/primestream demo $(DEMO_ARGS)

test: setup browser promtool lint
	$(BIN)/pytest --durations=15 tests/unit tests/integration

unit: build
	$(BIN)/pytest tests/unit

integration: setup browser
	$(BIN)/pytest tests/integration

# The crash tests of the paper desk at full size: 60,000 quotes (10,000+ orders), 5 kill -9s
# (make test runs both small: 3,000 quotes, 2 kills, and the three-worker rebalance);
# and on a 3-broker cluster, a kill -9 of each broker in turn (make test: 1,000 quotes, one).
reliability: setup
	PRIMESTREAM_RELIABILITY_QUOTES=60000 PRIMESTREAM_RELIABILITY_KILLS=5 \
	PRIMESTREAM_RELIABILITY_BROKER_KILLS=3 \
		$(BIN)/pytest tests/integration/test_reliability.py tests/integration/test_broker_failure.py \
		-m reliability

bench: setup
	$(BIN)/python -m tests.bench

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

clean:
	-$(BIN)/primestream infra down
	-$(BIN)/python -m infra.compiled clean
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
