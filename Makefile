# The two commands a newcomer needs are `make serve` and `make test`; both set everything up
# on first run. The virtual environment lives in .venv/ and is rebuilt when the dependencies
# change. torch is pinned (constraints.txt) to the CPU build, so no CUDA packages are pulled.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHROMIUM ?= /usr/bin/chromium
PORT ?= 5006
ADDRESS ?= localhost
WORKERS ?= 1
NGINX ?= /usr/sbin/nginx
SERVE_FLAGS ?= --check-unused-sessions 2000 --unused-session-lifetime 4000

.PHONY: all install browser nginx serve test test-portable check lint format bench clean

all: test

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

install: $(STAMP)

# Debian's Chromium for the browser tests and the benchmark (Playwright's own download is
# not used). Installing it needs root; otherwise say what to run.
browser:
	@if [ ! -x "$(CHROMIUM)" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "Installing Debian's chromium for the browser tests..."; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else \
			echo "The browser tests need Chromium at $(CHROMIUM): run 'sudo apt-get install chromium' (or set CHROMIUM=...)."; \
			exit 1; \
		fi; \
	fi

# Debian's nginx, for the class recipe in deploy/ and its test; the same rules as Chromium.
nginx:
	@if [ ! -x "$(NGINX)" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "Installing Debian's nginx for the class recipe's test..."; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null \
				|| DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; \
		else \
			echo "The class recipe's test needs nginx at $(NGINX): run 'sudo apt-get install nginx' (or set NGINX=...)."; \
			exit 1; \
		fi; \
	fi

# WORKERS=N serves the course from N processes on one port (sessions spread over them:
# course/workers.py). The class view's shared state lives in COURSE_DATA (.course-data/).
serve: install
	@echo "Serving the course at http://$(ADDRESS):$(PORT)/course with $(WORKERS) process(es)  (Ctrl+C to stop)"
	COURSE_DATA=$${COURSE_DATA:-$(CURDIR)/.course-data} $(BIN)/python -m course.workers $(WORKERS) \
		course/ --port $(PORT) --address $(ADDRESS) \
		--allow-websocket-origin $(ADDRESS):$(PORT) $(SERVE_FLAGS)

# The whole suite on JOBS worker processes (one per core). test-portable runs the trained-run
# tests once more under torch's portable kernels (and MKL's SSE4.2 ones): a trained run's figures
# differ with the vector kernels a CPU gets, and every figure the tests assert must hold under any
# of them. It is not yet part of `test`: some lesson figures still move with the kernels.
JOBS ?= auto
PORTABLE := ATEN_CPU_CAPABILITY=default MKL_ENABLE_INSTRUCTIONS=SSE4_2
TRAINED := tests/lessons tests/sims/test_expectations.py tests/sims/test_predictions.py

test: install browser nginx
	CHROMIUM=$(CHROMIUM) NGINX=$(NGINX) $(BIN)/python -m pytest -n $(JOBS) --dist loadgroup --durations=25

test-portable: install
	$(PORTABLE) $(BIN)/python -m pytest -n $(JOBS) --dist loadgroup $(TRAINED)

check: install
	$(BIN)/python -m sims check

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install browser
	$(BIN)/python -m sims bench
	CHROMIUM=$(CHROMIUM) $(BIN)/python bench/course_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
