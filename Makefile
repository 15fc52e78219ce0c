# Front end for the CMake build. `make run` and `make test` install what is
# missing (scripts/deps.sh), build and go.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 0
JOBS       ?= $(shell nproc)
PYTEST     := /usr/bin/python3 -m pytest

.PHONY: all build deps test-deps run dev test unit e2e conformance asan fuzz fuzz-replay demo bench clean

all: build

deps:
	@scripts/deps.sh

test-deps:
	@scripts/deps.sh --test

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	@scripts/quickstart.sh $(BUILD)/tollgate

unit: build test-deps
	@cd $(BUILD) && ctest --output-on-failure

e2e: build test-deps
	@TOLLGATE_BIN=$(CURDIR)/$(BUILD)/tollgate $(PYTEST) -q tests/e2e

fuzz-replay: test-deps
	@cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DTOLLGATE_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# `make fuzz` fuzzes each target for 60 s (or FUZZ_SECONDS) after the replay.
fuzz:
	@$(MAKE) --no-print-directory fuzz-replay FUZZ_SECONDS=$(if $(filter 0,$(FUZZ_SECONDS)),60,$(FUZZ_SECONDS))

asan: test-deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_C_COMPILER=clang -DTOLLGATE_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@cd $(ASAN_BUILD) && ctest --output-on-failure
	@TOLLGATE_BIN=$(CURDIR)/$(ASAN_BUILD)/tollgate TOLLGATE_SANITIZED=1 $(PYTEST) -q tests/e2e

# Every test: unit, end-to-end with real peers, fuzz corpora replay.
test: unit e2e fuzz-replay

demo: build
	@scripts/demo.sh $(BUILD)/tollgate

bench: build test-deps
	@bench/run.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
