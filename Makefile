# Entry points: `make demo` and `make test` (each installs what it needs).
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps configure build test test-asan fuzz demo clean

all: build

deps:
	@bash scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@bash scripts/setup-ort.sh $(BUILD)/ort
	@cd $(BUILD) && ctest --output-on-failure -j 1

# The whole suite under ASan + UBSan (clang), in build-asan/. Kernel tests
# sweep every ISA the CPU has by themselves, as in `make test`.
test-asan:
	@bash scripts/sanitizer-build.sh
	@bash scripts/setup-ort.sh build-asan/ort
	@cd build-asan && ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1:detect_stack_use_after_return=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-14/bin/llvm-symbolizer \
	  ctest --output-on-failure -j 1 --timeout 3000

# libFuzzer campaigns (scripts/fuzz.sh; FUZZ_SECONDS, FUZZ_RUNS override the budget).
fuzz:
	@bash scripts/fuzz.sh

demo: build
	@bash scripts/demo.sh $(BUILD)

clean:
	rm -rf $(BUILD)

# The Python module: build/python/anvil*.so (PYTHONPATH=build/python /usr/bin/python3 -c 'import anvil').
.PHONY: python
python: configure
	@cmake --build $(BUILD) -j $(JOBS) --target anvil_python
	@echo "built $$(ls $(BUILD)/python/anvil*.so); use it with: PYTHONPATH=$(BUILD)/python /usr/bin/python3"
