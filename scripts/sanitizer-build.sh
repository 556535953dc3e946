#!/usr/bin/env bash
# Configures and builds the sanitizer tree (clang, ASan + UBSan) that both
# `make test-asan` and scripts/fuzz.sh use. One tree for both: the library
# is also compiled with -fsanitize=fuzzer-no-link, libFuzzer's coverage
# counters, which change no behaviour but spare a third full build of the
# library on a 2-core machine.
#
#   scripts/sanitizer-build.sh [TARGET ...]   # default: everything
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD_ASAN:-build-asan}
bash scripts/install-deps.sh --sanitizers
if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang \
    -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
    -DANVIL_FUZZ=ON -DANVIL_BUILD_TESTS=ON -DANVIL_BUILD_PYTHON=OFF -DANVIL_BUILD_EXAMPLES=OFF \
    -DANVIL_BUILD_BENCH=OFF >/dev/null
fi
if [ $# -gt 0 ]; then
  cmake --build "$BUILD" -j "$(nproc)" --target "$@"
else
  cmake --build "$BUILD" -j "$(nproc)"
fi
