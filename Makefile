# Two commands do all the set-up on a fresh machine (Python 3.11, root, no GPU, only package registries):
#   make demo   - build the environment, prepare the offline models, ingest a real recording, search it
#   make test   - the same set-up, then the test suite
#   make bench  - the same set-up, then the throughput benchmark (README, Benchmark; about 30 min on 2 cores)
#   make screenshots - the same set-up plus Debian's chromium, then the README's Prefect UI screenshots
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test bench screenshots clean

setup: $(STAMP)

# --compile-bytecode: where PYTHONDONTWRITEBYTECODE is set (it is on the CI machines) Python never caches what it
# compiles, and every CLI run compiled torch, transformers and pyannote.audio again: a 5 s ingest took 49 s on
# 2 cores, 39 of them before its first stage; with the .pyc files written at install, 22 s.
# The Makefile is a prerequisite so that a change to this recipe reaches a .venv built before it.
$(STAMP): requirements/lock.txt pyproject.toml Makefile
	@command -v ffmpeg >/dev/null && command -v espeak-ng >/dev/null && command -v setpriv >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg espeak-ng util-linux >/dev/null)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip uv
	$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -r requirements/lock.txt
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

demo: setup
	HF_HUB_OFFLINE=1 $(BIN)/vidscribe demo

test: setup
	$(BIN)/lint-imports --no-cache
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest

bench: setup
	HF_HUB_OFFLINE=1 $(BIN)/vidscribe bench

screenshots: setup
	@command -v chromium >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)
	HF_HUB_OFFLINE=1 $(BIN)/python scripts/screenshot_prefect_ui.py

clean:
	rm -rf $(VENV)
