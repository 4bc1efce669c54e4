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

$(STAMP): requirements/lock.txt pyproject.toml
	@command -v ffmpeg >/dev/null && command -v espeak-ng >/dev/null && command -v setpriv >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg espeak-ng util-linux >/dev/null)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip uv
	$(BIN)/uv pip install -q --python $(BIN)/python -r requirements/lock.txt
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
