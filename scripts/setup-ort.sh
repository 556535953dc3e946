#!/usr/bin/env bash
# Installs ONNX Runtime for Node (npm onnxruntime-node) into DIR, for
# tests/oracle/ort_run.js: DIR/node_modules/onnxruntime-node.
# Idempotent: returns at once when that version is already there.
#
#   scripts/setup-ort.sh DIR
set -euo pipefail

VERSION=1.30.0

if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: $0 DIR   (installs onnxruntime-node@$VERSION into DIR/node_modules)" >&2
  exit 2
fi
dir=$1
pkg=$dir/node_modules/onnxruntime-node

installed() {
  [ -f "$pkg/package.json" ] || return 1
  grep -q "\"version\": *\"$VERSION\"" "$pkg/package.json" || return 1
  # The CPU library ships inside the package; check this platform's copy.
  local arch
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64) arch=arm64 ;;
    *) arch=$(uname -m) ;;
  esac
  compgen -G "$pkg/bin/napi-v*/linux/$arch/onnxruntime_binding.node" >/dev/null
}

if installed; then
  exit 0
fi

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "setup-ort: '$tool' is not installed (Debian: apt-get install nodejs npm, or scripts/install-deps.sh)" >&2
    exit 1
  fi
done

mkdir -p "$dir"
# Without a package.json npm would install into the nearest parent that has one.
[ -f "$dir/package.json" ] || echo '{ "private": true }' >"$dir/package.json"

echo "setup-ort: installing onnxruntime-node@$VERSION into $dir/node_modules"
# ONNXRUNTIME_NODE_INSTALL=skip: the package's install script would fetch
# GPU binaries from a host that may be unreachable; the CPU build is in the
# tarball. Short fetch timeouts make an unreachable registry fail fast.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! ONNXRUNTIME_NODE_INSTALL=skip npm install --prefix "$dir" --no-audit --no-fund --loglevel=error \
      --fetch-retries=1 --fetch-retry-mintimeout=2000 --fetch-retry-maxtimeout=10000 --fetch-timeout=60000 \
      "onnxruntime-node@$VERSION" >"$log" 2>&1; then
  cat "$log" >&2
  echo "setup-ort: npm install onnxruntime-node@$VERSION failed; is the npm registry ($(npm config get registry 2>/dev/null || echo '?')) reachable?" >&2
  exit 1
fi

if ! installed; then
  cat "$log" >&2
  echo "setup-ort: npm finished but $pkg has no Linux binding for this platform" >&2
  exit 1
fi
# An absolute path: node resolves a bare relative path as a package name.
if ! node -e "require('$(cd "$pkg" && pwd)')" 2>"$log"; then
  cat "$log" >&2
  echo "setup-ort: onnxruntime-node is installed in $dir but does not load" >&2
  exit 1
fi
echo "setup-ort: onnxruntime-node@$VERSION ready in $dir"
