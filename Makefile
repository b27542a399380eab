# storydesk: `make demo` runs the main job, `make test` runs every check.
# Both build the virtual environment they need from scratch on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
ARTICLES ?= ../shared/seeds
DB     ?= demo.db

.PHONY: demo demo-live test lint typecheck unit venv clean eval bench web reliability browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamp files so a changed pyproject.toml reinstalls, and an unchanged one does not.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# The test, spark and onnx extras (the ONNX embedder is tested against torch; the Spark parity test
# runs in local mode, which needs a JVM:
# Java 17 comes from apt when `java` is missing).
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,spark,onnx]'
	command -v java >/dev/null || { apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless; }
	touch $(VENV)/.installed $@

venv: $(VENV)/.installed

demo: $(VENV)/.installed
	rm -f $(DB) $(DB)-wal $(DB)-shm $(DB).stream
	@# exit 1 means some inputs were skipped (they are listed); the rest is still worth showing
	$(BIN)/storydesk --db $(DB) ingest $(ARTICLES) || [ $$? -eq 1 ]
	$(BIN)/storydesk --db $(DB) stories
	$(BIN)/storydesk --db $(DB) show --all --format text

# The live desk: a local feed server (demo/live/) publishes one report every STEP seconds; the web UI
# on http://127.0.0.1:8000 shows stories appear and grow as the watcher polls it. Ctrl-C stops both.
# The demo's feeds are on 127.0.0.1, which storydesk refuses unless fetch.allow_private is set;
# real feeds need none of these --set options.
LIVE_DB ?= live.db
STEP    ?= 20
LIVE    := --db $(LIVE_DB) --set fetch.allow_private=true --set fetch.host_delay=0.2
demo-live: $(VENV)/.installed
	rm -f $(LIVE_DB) $(LIVE_DB)-wal $(LIVE_DB)-shm $(LIVE_DB).stream
	$(BIN)/python demo/live/server.py --step $(STEP) & server=$$!; \
	trap 'kill $$server 2>/dev/null' EXIT INT TERM; \
	sleep 1; \
	kill -0 $$server 2>/dev/null || { echo "the demo feed server did not start (is port 8765 in use?)"; exit 1; }; \
	$(BIN)/storydesk $(LIVE) sources add demo/live/feeds.txt && \
	$(BIN)/storydesk $(LIVE) alerts add Badakhshan && \
	$(BIN)/storydesk $(LIVE) serve --watch --interval 15

lint: $(VENV)/.installed-test
	$(BIN)/ruff check storydesk tests bench
	$(BIN)/ruff format --check storydesk tests bench

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

# The browser tests drive Debian's chromium through Playwright's Python package (executable_path);
# Playwright's own browser download is never used. apt-get runs only when chromium is missing.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian's chromium for the browser tests"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	}

unit: $(VENV)/.installed-test browser
	$(BIN)/pytest -q

test: lint typecheck unit

eval: $(VENV)/.installed
	$(BIN)/storydesk eval clusters ../shared/data/ecbplus/ecbplus_train_dev.jsonl --ecbplus --split dev --baseline --reference

# Not part of `make test`: end-to-end ingest of a fixed real set (BENCH_N articles, half PolNeAR, half
# ECB+) beside one bare spaCy pass and the models alone; BASELINE=<git rev> adds the code of that revision.
BENCH_N ?= 600
bench: $(VENV)/.installed
	$(BIN)/python bench/pipeline.py --n $(BENCH_N) $(if $(BASELINE),--baseline $(BASELINE))

# Not part of `make test`: minutes of kills, fuzzing and concurrent requests; prints the figures.
reliability: $(VENV)/.installed-test
	$(BIN)/python bench/reliability.py --fuzz $(or $(FUZZ),2000)

web: $(VENV)/.installed
	$(BIN)/storydesk --db $(DB) serve

clean:
	rm -rf test-artifacts $(VENV) $(DB) $(DB)-wal $(DB)-shm $(DB).stream $(LIVE_DB) $(LIVE_DB)-wal $(LIVE_DB)-shm $(LIVE_DB).stream .pytest_cache .mypy_cache .ruff_cache
