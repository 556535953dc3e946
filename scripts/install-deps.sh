#!/usr/bin/env bash
# Installs every Debian package anvil's build, tests and benchmarks need.
# Idempotent: when everything is present it does nothing (no apt-get update).
set -euo pipefail

PKGS=(
  build-essential cmake ninja-build pkg-config
  protobuf-compiler libprotobuf-dev libonnx-dev libonnx-testdata
  nlohmann-json3-dev libcli11-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev libpthreadpool-dev
  pybind11-dev python3-dev python3-numpy python3-pytest
  libcpp-httplib-dev
  chromium   # headless: renders `anvil profile --html` reports in a test
)
# `install-deps.sh --sanitizers`: clang with its sanitizer and libFuzzer
# runtimes, for `make test-asan` and `make fuzz`.
if [ "${1:-}" = "--sanitizers" ]; then
  PKGS+=(clang libclang-rt-14-dev llvm-14)
fi
# Node.js runs ONNX Runtime (npm onnxruntime-node), the test oracle.
command -v node >/dev/null 2>&1 || PKGS+=(nodejs)
command -v npm  >/dev/null 2>&1 || PKGS+=(npm)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
