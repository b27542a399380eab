# storydesk: `make demo` runs the main job, `make test` runs every check.
# Both build the virtual environment they need from scratch on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
ARTICLES ?= ../shared/seeds
DB     ?= demo.db

.PHONY: demo test lint typecheck unit venv clean eval bench web reliability

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamp files so a changed pyproject.toml reinstalls, and an unchanged one does not.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

venv: $(VENV)/.installed

demo: $(VENV)/.installed
	rm -f $(DB) $(DB)-wal $(DB)-shm $(DB).stream
	@# exit 1 means some inputs were skipped (they are listed); the rest is still worth showing
	$(BIN)/storydesk --db $(DB) ingest $(ARTICLES) || [ $$? -eq 1 ]
	$(BIN)/storydesk --db $(DB) stories
	$(BIN)/storydesk --db $(DB) show --all --format text

lint: $(VENV)/.installed-test
	$(BIN)/ruff check storydesk tests bench
	$(BIN)/ruff format --check storydesk tests bench

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

unit: $(VENV)/.installed-test
	$(BIN)/pytest -q

test: lint typecheck unit

eval: $(VENV)/.installed
	$(BIN)/storydesk eval clusters ../shared/data/ecbplus/ecbplus_train_dev.jsonl --ecbplus --split dev --baseline --reference

# Not part of `make test`: minutes of kills, fuzzing and concurrent requests; prints the figures.
reliability: $(VENV)/.installed-test
	$(BIN)/python bench/reliability.py --fuzz $(or $(FUZZ),2000)

web: $(VENV)/.installed
	$(BIN)/storydesk --db $(DB) serve

clean:
	rm -rf $(VENV) $(DB) $(DB)-wal $(DB)-shm $(DB).stream .pytest_cache .mypy_cache .ruff_cache
