# Front end for the CMake build. `make run` and `make test` install what is
# missing (scripts/deps.sh), build and go.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 0
E2E_JOBS   ?= 3
JOBS       ?= $(shell nproc)
LISTEN     ?= 127.0.0.1:8420
PYTEST     := /usr/bin/python3 -m pytest

.PHONY: all build deps test-deps run dev test unit e2e conformance asan fuzz fuzz-replay demo bench clean

all: build

deps:
	@scripts/deps.sh

test-deps:
	@scripts/deps.sh --test

# CMake's configure output is kept in DIR/configure.log and shown when it
# fails (it names a missing package).
configure = mkdir -p $(1) && cmake -S . -B $(1) $(2) >$(1)/configure.log 2>&1 || \
	{ cat $(1)/configure.log; echo "configure failed: see above ($(1)/configure.log)" >&2; exit 1; }

build: deps
	@$(call configure,$(BUILD),-DCMAKE_BUILD_TYPE=RelWithDebInfo)
	@cmake --build $(BUILD) -j $(JOBS) -- --no-print-directory

# LISTEN=HOST:PORT serves on another address (default 127.0.0.1:8420).
run: build
	@LISTEN=$(LISTEN) scripts/quickstart.sh $(BUILD)/tollgate

# The test targets install the test packages first, then build (the unit
# tests need cmocka at configure time).
unit: test-deps
	@$(MAKE) --no-print-directory build
	@cd $(BUILD) && ctest --output-on-failure

e2e: test-deps
	@$(MAKE) --no-print-directory build
	@TOLLGATE_BIN=$(CURDIR)/$(BUILD)/tollgate $(PYTEST) -q -rs -n $(E2E_JOBS) --dist loadfile tests/e2e

fuzz-replay: test-deps
	@$(call configure,$(FUZZ_BUILD),-DCMAKE_C_COMPILER=clang -DTOLLGATE_FUZZ=ON)
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# `make fuzz` fuzzes each target for 60 s (or FUZZ_SECONDS) after the replay.
fuzz:
	@$(MAKE) --no-print-directory fuzz-replay FUZZ_SECONDS=$(if $(filter 0,$(FUZZ_SECONDS)),60,$(FUZZ_SECONDS))

asan: test-deps
	@$(call configure,$(ASAN_BUILD),-DCMAKE_C_COMPILER=clang -DTOLLGATE_SANITIZE=ON)
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@cd $(ASAN_BUILD) && ctest --output-on-failure
	@TOLLGATE_BIN=$(CURDIR)/$(ASAN_BUILD)/tollgate TOLLGATE_SANITIZED=1 $(PYTEST) -q -n $(E2E_JOBS) --dist loadfile tests/e2e

# Every test: unit, end-to-end with real peers, fuzz corpora replay, then
# a summary that names what was skipped and why.
test: test-deps
	@E2E_JOBS=$(E2E_JOBS) scripts/test.sh $(BUILD) $(FUZZ_BUILD) $(FUZZ_SECONDS)

demo: build
	@scripts/demo.sh $(BUILD)/tollgate

bench: build test-deps
	@bench/run.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
