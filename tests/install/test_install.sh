#!/usr/bin/env bash
# ctest install_example: `cmake --install` anvil's build into a temporary
# prefix, build examples/ as a separate CMake project against it
# (find_package(anvil)) and with pkg-config, and check that all three
# classify programs (in-tree, CMake package, pkg-config) print the same.
#   test_install.sh BUILD_DIR SOURCE_DIR IN_TREE_CLASSIFY
set -euo pipefail
build=$1 src=$2 in_tree=$3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/anvil-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

echo "== cmake --install $build --prefix $prefix"
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log"
for f in include/anvil/anvil.h include/anvil/npy.h bin/anvil; do
  [ -e "$prefix/$f" ] || { echo "missing $prefix/$f"; exit 1; }
done
lib=$(find "$prefix" -name libanvil.a | head -1)
cfg=$(find "$prefix" -name anvilConfig.cmake | head -1)
pc=$(find "$prefix" -name anvil.pc | head -1)
[ -n "$lib" ] && [ -n "$cfg" ] && [ -n "$pc" ] || { echo "libanvil.a, anvilConfig.cmake or anvil.pc not installed"; exit 1; }
echo "installed: ${lib#$prefix/} ${cfg#$prefix/} ${pc#$prefix/}"

echo "== examples/ against the installed package (find_package(anvil))"
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
cmake -S "$src/examples" -B "$tmp/build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" >"$tmp/configure.log" || { cat "$tmp/configure.log"; exit 1; }
cmake --build "$tmp/build" -j "$(nproc)" >"$tmp/build.log" || { cat "$tmp/build.log"; exit 1; }

echo "== examples/classify.cc with pkg-config"
pcdir=$(dirname "$pc")
flags=$(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs anvil)
echo "pkg-config --cflags --libs anvil: $flags"
# shellcheck disable=SC2086
c++ -O1 "$src/examples/classify.cc" -o "$tmp/classify_pc" $flags

echo "== run"
"$prefix/bin/anvil" zoo tiny_cnn -o "$tmp/tiny_cnn.onnx" >/dev/null
"$in_tree" "$tmp/tiny_cnn.onnx" >"$tmp/in_tree.txt"
"$tmp/build/classify" "$tmp/tiny_cnn.onnx" >"$tmp/package.txt"
"$tmp/classify_pc" "$tmp/tiny_cnn.onnx" >"$tmp/pkgconfig.txt"
cat "$tmp/package.txt"
grep -q "top-5" "$tmp/package.txt"
diff "$tmp/in_tree.txt" "$tmp/package.txt"
diff "$tmp/in_tree.txt" "$tmp/pkgconfig.txt"
# A bad path is an error with a message and a non-zero status, not a crash.
if "$tmp/build/classify" "$tmp/missing.onnx" 2>"$tmp/err.txt"; then
  echo "classify of a missing file succeeded"; exit 1
fi
grep -q "no such file" "$tmp/err.txt" || { cat "$tmp/err.txt"; exit 1; }
# The Python module, when built, lands where /usr/bin/python3 finds it under the prefix.
pymod=$(find "$prefix" -name 'anvil.cpython-*.so' | head -1)
if [ -n "$pymod" ] && [ -x /usr/bin/python3 ]; then
  echo "== python module: ${pymod#$prefix/}"
  (cd "$tmp" && PYTHONPATH=$(dirname "$pymod") /usr/bin/python3 -c '
import anvil, numpy as np
s = anvil.load("tiny_cnn.onnx").compile(threads=1)
y = s.run({"input": np.zeros((1, 3, 32, 32), np.float32)})
print("python:", {k: v.shape for k, v in y.items()})')
fi
echo "install_example: ok"
