# `make train` and `make test` set themselves up: a .venv with torch==2.13.0 (CPU) first, then this package
# (`make test` adds the test tools and the extras its tests use: atari, minatar, tensorboard, video, onnx).
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: train test bench bench-own-problem setup clean

$(STAMP): pyproject.toml Makefile
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q torch==2.13.0
	$(VENV)/bin/python -m pip install -q -e .
	touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	$(VENV)/bin/python -m pip install -q -e ".[test,atari,minatar,tensorboard,video,onnx]"
	touch $(TEST_STAMP)

setup: $(STAMP)

train: $(STAMP)
	$(VENV)/bin/a3c-ray train --env CartPole-v1 $(ARGS)

test: $(TEST_STAMP)
	$(VENV)/bin/python -m pytest -q $(ARGS)

bench: $(STAMP)
	$(VENV)/bin/python -m pip install -q -e ".[bench]"
	$(VENV)/bin/python experiments/bench.py $(ARGS)

bench-own-problem: $(STAMP)
	$(VENV)/bin/python -m pip install -q -e ".[bench]"
	$(VENV)/bin/python experiments/own_problem.py $(ARGS)

clean:
	rm -rf $(VENV) runs .pytest_cache
