# Entry points: `make demo` and `make test` (each installs what it needs).
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps configure build test demo clean

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

demo: build
	@bash scripts/demo.sh $(BUILD)

clean:
	rm -rf $(BUILD)

# The Python module: build/python/anvil*.so (PYTHONPATH=build/python /usr/bin/python3 -c 'import anvil').
.PHONY: python
python: configure
	@cmake --build $(BUILD) -j $(JOBS) --target anvil_python
	@echo "built $$(ls $(BUILD)/python/anvil*.so); use it with: PYTHONPATH=$(BUILD)/python /usr/bin/python3"
