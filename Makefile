# Socket Mode for Mattermost — build, test and package the plugin.
# plugin.json is the single source of truth for the id and version.

SHELL := /bin/bash
.DEFAULT_GOAL := all

PLUGIN_ID      := $(shell python3 -c 'import json;print(json.load(open("plugin.json"))["id"])')
PLUGIN_VERSION := $(shell python3 -c 'import json;print(json.load(open("plugin.json"))["version"])')
BUNDLE         := dist/$(PLUGIN_ID)-$(PLUGIN_VERSION).tar.gz
PLATFORMS      := linux-amd64 linux-arm64 darwin-amd64 darwin-arm64 windows-amd64

WASM_TARGET := wasm32-unknown-unknown
WASM_RAW    := target/$(WASM_TARGET)/wasm/socket_mode_core.wasm
WASM        := server/core.wasm
FUEL_TOOL   := tools/fuel/target/release/socket-mode-fuel
# Features the Rust wasm target emits by default; wasm-opt must be told it may keep them. The
# one list, for the server build here and the browser build (webapp/scripts/build-core.sh).
export WASM_OPT_FEATURES := --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int \
                     --enable-mutable-globals --enable-multivalue --enable-reference-types
CORE_SOURCES := Cargo.toml Cargo.lock build.rs plugin.json .cargo/config.toml $(shell find src -name '*.rs')
GO_SOURCES   := $(wildcard server/*.go) server/go.mod server/go.sum

GO_BUILD_FLAGS := -trimpath -ldflags="-s -w"
E2E_DIR := tests/e2e

# The webapp: the core's browser build (webapp/pkg, generated) bundled by Vite into webapp/dist/main.js.
WASM_BINDGEN_VERSION := $(shell sed -n 's/^wasm-bindgen = { version = "=\([0-9.]*\)".*/\1/p' Cargo.toml)
WEB_CORE       := webapp/pkg/socket_mode_core.js
WEBAPP_BUNDLE  := webapp/dist/main.js
WEBAPP_MODULES := webapp/node_modules/.package-lock.json
WEBAPP_SOURCES := webapp/package.json webapp/vite.config.js $(wildcard webapp/src/*)

## all: check, test and build the bundle
.PHONY: all
all: check test dist

## setup: install the toolchain pieces the build needs (wasm target, rustfmt, clippy, wasm-opt)
.PHONY: setup
setup:
	@echo "==> Rust: wasm32 target, rustfmt, clippy"
	@rustup target list --installed | grep -qx $(WASM_TARGET) || rustup target add $(WASM_TARGET)
	@rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
	@rustup component list --installed | grep -q '^clippy' || rustup component add clippy
	@command -v wasm-opt >/dev/null || { \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    echo "==> installing binaryen (wasm-opt) from Debian"; \
	    apt-get install -y -q binaryen >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q binaryen >/dev/null; }; \
	  else echo "!! wasm-opt not found: install binaryen, or the server wasm will be larger than its 200 KiB budget"; fi; }

## wasm: build the Rust core for the server (no imports, optimized for speed, its loops metered)
.PHONY: wasm
wasm: $(WASM)
$(WASM): $(CORE_SOURCES) $(FUEL_TOOL) | setup
	@echo "==> building the core (Rust → $(WASM_TARGET))"
	cargo build --locked --profile wasm --target $(WASM_TARGET)
	@if command -v wasm-opt >/dev/null; then \
	  wasm-opt -O3 $(WASM_OPT_FEATURES) $(WASM_RAW) -o $(WASM_RAW).opt; \
	else cp $(WASM_RAW) $(WASM_RAW).opt; fi
	@echo "==> metering the core's loops (fuel)"
	$(FUEL_TOOL) $(WASM_RAW).opt $@
	@echo "    $@: $$(stat -c %s $@ 2>/dev/null || stat -f %z $@) bytes"

# The build step that meters the server wasm's work (tools/fuel: a build tool, its own crate).
$(FUEL_TOOL): tools/fuel/Cargo.toml tools/fuel/Cargo.lock tools/fuel/src/main.rs
	@echo "==> building the fuel meter (tools/fuel)"
	cargo build --release --locked --manifest-path tools/fuel/Cargo.toml

## server: build the Go shim for every platform Mattermost runs on
.PHONY: server
server: $(foreach p,$(PLATFORMS),server/dist/plugin-$(p)$(if $(findstring windows,$(p)),.exe))
server/dist/plugin-%: $(WASM) $(GO_SOURCES)
	@echo "==> building the server for $*"
	cd server && CGO_ENABLED=0 GOOS=$(word 1,$(subst -, ,$*)) GOARCH=$(word 2,$(subst -, ,$(basename $*))) \
	  go build $(GO_BUILD_FLAGS) -o dist/plugin-$* .

## dist: build the bundle System Console accepts (dist/<id>-<version>.tar.gz)
.PHONY: dist
dist: $(BUNDLE)
$(BUNDLE): server plugin.json $(if $(wildcard webapp/package.json),$(WEBAPP_BUNDLE))
	@echo "==> packaging $@"
	rm -rf dist/$(PLUGIN_ID) && mkdir -p dist/$(PLUGIN_ID)/server/dist
	cp plugin.json dist/$(PLUGIN_ID)/
	cp server/dist/plugin-* dist/$(PLUGIN_ID)/server/dist/
	if [ -f webapp/dist/main.js ]; then mkdir -p dist/$(PLUGIN_ID)/webapp/dist && cp webapp/dist/main.js dist/$(PLUGIN_ID)/webapp/dist/; fi
	tar -C dist -czf $@ $(PLUGIN_ID)
	@echo "    $@: $$(du -h $@ | cut -f1)"

## test: every test — Rust (native, a short fuzzing run, the web build), the playground in a browser, Go (race detector), end-to-end
.PHONY: test
test: test-core test-fuzz test-web test-browser test-server test-lib-python test-lib-go test-lib-js e2e

## test-core: the Rust core's unit and golden tests
.PHONY: test-core
test-core:
	@echo "==> cargo test"
	cargo test --locked

## wasm-bindgen-cli: install the wasm-bindgen CLI of the exact version Cargo.toml pins
.PHONY: wasm-bindgen-cli
wasm-bindgen-cli:
	@wasm-bindgen --version 2>/dev/null | grep -qx 'wasm-bindgen $(WASM_BINDGEN_VERSION)' || { \
	  echo "==> installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION) (several minutes, once)"; \
	  cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION) --locked; }

## webapp: the System Console playground bundle (webapp/dist/main.js), with the core's browser build
.PHONY: webapp
webapp: $(WEBAPP_BUNDLE)
$(WEBAPP_MODULES): webapp/package.json webapp/package-lock.json
	@echo "==> npm ci (webapp)"
	cd webapp && npm ci --no-audit --no-fund
$(WEB_CORE): $(CORE_SOURCES) webapp/scripts/build-core.sh webapp/scripts/patch-glue.mjs $(WEBAPP_MODULES) | setup wasm-bindgen-cli
	webapp/scripts/build-core.sh
$(WEBAPP_BUNDLE): $(WEB_CORE) $(WEBAPP_SOURCES) $(WEBAPP_MODULES)
	@echo "==> vite build (webapp)"
	cd webapp && npm run --silent build
	@echo "    $@: $$(stat -c %s $@ 2>/dev/null || stat -f %z $@) bytes"

## test-web: the web build's API (wasm-bindgen-test on Node)
.PHONY: test-web
test-web: | setup wasm-bindgen-cli
	@echo "==> wasm-bindgen-test on Node (web build)"
	CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
	  cargo test --locked --target $(WASM_TARGET) --features web --target-dir target/web --test web

## test-browser: the playground in headless Chromium (Playwright); screenshot in webapp/test-artifacts/
.PHONY: test-browser
test-browser: $(WEBAPP_BUNDLE)
	@echo "==> playground in headless Chromium"
	webapp/scripts/install-chromium.sh
	cd webapp && npm run --silent test:browser

## test-server: the Go shim's tests through the real wasm, with the race detector
.PHONY: test-server
test-server: $(WASM)
	@echo "==> go test -race (server)"
	cd server && go test -race -count=1 ./...

## e2e: the end-to-end suite against a real Mattermost and PostgreSQL (builds Mattermost once)
.PHONY: e2e
e2e: $(BUNDLE)
	@echo "==> end-to-end suite (real Mattermost; the first run builds it from source, several minutes)"
	$(E2E_DIR)/scripts/install-deps.sh
	$(E2E_DIR)/scripts/build-mattermost.sh
	cd $(E2E_DIR) && E2E_BUNDLE=$(CURDIR)/$(BUNDLE) go test -count=1 -timeout 30m -v ./... 2>&1 | tee $(CURDIR)/dist/e2e.log; exit $${PIPESTATUS[0]}

## e2e-bench: clicks, commands and lookups through the real server; prints latency, throughput, memory
.PHONY: e2e-bench
e2e-bench: $(BUNDLE)
	$(E2E_DIR)/scripts/install-deps.sh
	$(E2E_DIR)/scripts/build-mattermost.sh
	cd $(E2E_DIR) && E2E_BUNDLE=$(CURDIR)/$(BUNDLE) E2E_BENCH=1 go test -count=1 -timeout 30m -run 'TestLoad|TestDeliveryBench|TestSideBySide|TestCommandBench|TestExpandBench' -v ./...

## demo: run the product for real — Mattermost + this plugin, a bot, a click; Ctrl-C stops
.PHONY: demo
demo: $(BUNDLE)
	$(E2E_DIR)/scripts/demo.sh $(BUNDLE)

## deploy: upload and enable the bundle on a running server (MM_SERVICESETTINGS_SITEURL, MM_ADMIN_TOKEN)
.PHONY: deploy
deploy: $(BUNDLE)
	@test -n "$$MM_SERVICESETTINGS_SITEURL" -a -n "$$MM_ADMIN_TOKEN" || { echo "set MM_SERVICESETTINGS_SITEURL and MM_ADMIN_TOKEN"; exit 1; }
	curl -fsS -H "Authorization: Bearer $$MM_ADMIN_TOKEN" -F force=true -F plugin=@$(BUNDLE) "$$MM_SERVICESETTINGS_SITEURL/api/v4/plugins" >/dev/null
	curl -fsS -X POST -H "Authorization: Bearer $$MM_ADMIN_TOKEN" "$$MM_SERVICESETTINGS_SITEURL/api/v4/plugins/$(PLUGIN_ID)/enable" >/dev/null
	@echo "deployed $(PLUGIN_ID) $(PLUGIN_VERSION)"

## fuzz: ten million mutated inputs through every endpoint of the core, one in 16 also through the metered wasm (its cost and its answer)
FUZZ_INPUTS ?= 10000000
.PHONY: fuzz
fuzz: $(WASM)
	@echo "==> fuzzing the core ($(FUZZ_INPUTS) inputs)"
	cargo run --release --locked --manifest-path fuzz/Cargo.toml -- --inputs $(FUZZ_INPUTS)

## test-fuzz: a short fuzzing run, part of make test (every run starts from another seed)
.PHONY: test-fuzz
test-fuzz: $(WASM)
	@echo "==> fuzzing the core briefly (200,000 inputs)"
	cargo run --release --locked --manifest-path fuzz/Cargo.toml -- --inputs 200000 --seed $$(date +%s)

## check: formatting and lints — rustfmt, clippy -D warnings, gofmt, go vet
.PHONY: check
check: $(WASM)
	@echo "==> rustfmt, clippy"
	cargo fmt --check
	cargo fmt --check --manifest-path fuzz/Cargo.toml
	cargo clippy --locked --all-targets -- -D warnings
	cargo clippy --locked --release --manifest-path fuzz/Cargo.toml -- -D warnings
	cargo clippy --locked --profile wasm --target $(WASM_TARGET) -- -D warnings
	cargo clippy --locked --target $(WASM_TARGET) --features web --target-dir target/web --all-targets -- -D warnings
	@echo "==> gofmt, go vet"
	@test -z "$$(gofmt -l server $(E2E_DIR))" || { gofmt -l server $(E2E_DIR); echo "gofmt: files above need formatting"; exit 1; }
	cd server && go vet ./...
	cd $(E2E_DIR) && go vet ./...

## bench: the benchmarks — criterion for the core, go test -bench for the shim path and the Go library
.PHONY: bench
bench: $(WASM)
	@echo "==> cargo bench (native core)"
	cargo bench --locked --bench core
	@echo "==> go test -bench (shim + wasm pool)"
	cd server && go test -run '^$$' -bench . -benchtime 2s -count 3 .
	@echo "==> go test -bench (the Go library: a click's event to its acknowledgement)"
	cd libs/go && go test -run '^$$' -bench . -benchtime 3000x -count 3 ./...

## bench-once: every benchmark run once (-benchtime 1x), so that a broken one fails CI
.PHONY: bench-once
bench-once: $(WASM)
	@echo "==> every benchmark once (cargo bench --test, go test -bench -benchtime 1x)"
	cargo bench --locked --bench core -- --test
	cd server && go test -run '^$$' -bench . -benchtime 1x .
	cd libs/go && go test -run '^$$' -bench . -benchtime 1x ./...
	$(MAKE) --no-print-directory core-profile PROFILE_CALLS=1

## core-profile: where a warm click's core work goes, per function, as wasm runs it (target/core-profile.txt)
# The same build as `make wasm`, unstripped so that functions keep their names, and counted per
# function by `socket-mode-fuel --profile`; CorePath then runs on it. Deterministic: the same
# code gives the same figures on any machine (docs/BENCHMARKS.md, "Where a warm click's core
# work goes").
PROFILED_WASM := target/$(WASM_TARGET)/wasm/socket_mode_core.profiled.wasm
.PHONY: core-profile
core-profile: $(FUEL_TOOL) | setup
	CARGO_PROFILE_WASM_STRIP=false cargo build --locked --profile wasm --target $(WASM_TARGET)
	wasm-opt -O3 -g $(WASM_OPT_FEATURES) $(WASM_RAW) -o $(WASM_RAW).named
	$(FUEL_TOOL) --profile $(WASM_RAW).named $(PROFILED_WASM)
	cd server && BENCH_CORE_WASM=$(CURDIR)/$(PROFILED_WASM) BENCH_CORE_PROFILE=$(CURDIR)/target/core-profile.txt \
	  go test -run '^$$' -bench 'CorePath$$' -benchtime $(or $(PROFILE_CALLS),1000)x .
	@head -25 target/core-profile.txt

## clean: remove build outputs
.PHONY: clean
clean:
	rm -rf dist server/dist $(WASM) target fuzz/target tools/fuel/target fuzz/findings webapp/pkg webapp/dist webapp/test-artifacts

## help: this list
.PHONY: help
help:
	@grep -E '^## ' $(MAKEFILE_LIST) | sed 's/^## /  /'

## test-lib-python: the Python library's unit tests (libs/python; its venv from tests/e2e/scripts/pylibenv.sh)
.PHONY: test-lib-python
test-lib-python:
	@echo "==> Python library unit tests (libs/python)"
	py=$$($(E2E_DIR)/scripts/pylibenv.sh) && cd libs/python && "$$py" -m pytest -q -p no:cacheprovider

## test-lib-go: the Go bot library (libs/go): gofmt, go vet, unit tests with the race detector (no server)
.PHONY: test-lib-go
test-lib-go:
	@echo "==> gofmt, go vet, go test -race (libs/go, examples/go)"
	@test -z "$$(gofmt -l libs/go examples/go)" || { gofmt -l libs/go examples/go; echo "gofmt: files above need formatting"; exit 1; }
	cd libs/go && go vet ./... && go test -race -count=1 ./...
	cd examples/go && go vet ./...

## test-lib-js: the JavaScript library's own tests (types checked by tsc, node --test); needs Node 20 + npm
.PHONY: test-lib-js
test-lib-js:
	@echo "==> libs/js: npm ci, tsc, node --test"
	cd libs/js && npm ci --no-audit --no-fund && npm test
