# Thin wrapper around CMake; see README.md. Every target installs what it
# needs first (scripts/deps), so a fresh Debian machine needs only `make run`
# or `make test`.
JOBS     ?= $(shell nproc)
BUILD    ?= build/release
ASAN     ?= build/asan
TSAN     ?= build/tsan
FUZZB    ?= build/fuzz
FUZZ_SECONDS ?= 10
DATA_DIR ?= ./ocelot-data

.PHONY: all build run test unit asan tsan fuzz-smoke fuzz integration bench clean format deps

all: build

deps:
	@scripts/deps build

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/ocelot up --data-dir $(DATA_DIR)

test:
	@scripts/deps test
	@$(MAKE) --no-print-directory build
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory asan
	@$(MAKE) --no-print-directory tsan
	@$(MAKE) --no-print-directory fuzz-smoke
	@$(MAKE) --no-print-directory integration

unit: build
	cd $(BUILD) && ctest -L unit --output-on-failure -j $(JOBS)

asan:
	@cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DOCL_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN) -j $(JOBS)
	cd $(ASAN) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest -L unit --output-on-failure -j $(JOBS)

# ThreadSanitizer run of the SDK's unit tests (span storm, exporter threads).
tsan:
	@cmake -S . -B $(TSAN) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DOCL_TSAN=ON >/dev/null
	@cmake --build $(TSAN) -j $(JOBS) --target $$(cd tests/unit/sdk && ls test_*.c | sed 's/\.c$$//' | tr '\n' ' ')
	cd $(TSAN) && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 die_after_fork=0" ctest -R '^test_sdk_' --output-on-failure -j $(JOBS)

$(FUZZB)/.built: FORCE
	@cmake -S . -B $(FUZZB) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DOCL_FUZZ=ON >/dev/null
	@cmake --build $(FUZZB) -j $(JOBS)
	@touch $@
FORCE:

# Short fixed-time run of every fuzz target (part of make test).
fuzz-smoke: $(FUZZB)/.built
	@tests/fuzz/run.sh $(FUZZB) $(FUZZ_SECONDS)

# Long fuzzing session: FUZZ_SECONDS per target (default here 600).
fuzz: FUZZ_SECONDS = 600
fuzz: $(FUZZB)/.built
	@tests/fuzz/run.sh $(FUZZB) $(FUZZ_SECONDS)

integration: build
	@OCELOT_BIN=$(abspath $(BUILD))/ocelot tests/integration/run.sh

bench: build
	@cmake --build $(BUILD) -j $(JOBS) --target $$(cd bench && ls bench_*.c 2>/dev/null | sed 's/\.c$$//' | tr '\n' ' ')
	@OCELOT_BIN=$(abspath $(BUILD))/ocelot BUILD=$(abspath $(BUILD)) bench/run.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build
