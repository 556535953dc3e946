#!/usr/bin/env bash
# Subnormal penalty on a whole network (issue 5, "Subnormal guard"):
# ResNet-101 with denormal-prone BatchNorms (~30% of gammas 1e-36..1e-39, as
# in a trained net with dead channels) vs the normal one, at -O0 (BN kept)
# and -O3 (BN folded into the convs: the tiny gammas become subnormal
# weights), with --denormals flush (FTZ/DAZ + flushed weights, the default)
# and keep (IEEE subnormals). Prints a table of median ms per image.
#   bench/denormal_resnet.sh [ANVIL_BINARY]
# Environment: SHAPE (1,3,112,112), ITERS (5), WARMUP (1), THREADS (0 = one per core).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
anvil="${1:-$here/../build/anvil}"
shape="${SHAPE:-1,3,112,112}"
iters="${ITERS:-5}"
warmup="${WARMUP:-1}"
threads="${THREADS:-0}"
[ -x "$anvil" ] || { echo "error: $anvil: not built (cmake --build build --target anvil_cli)" >&2; exit 4; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$anvil" zoo resnet101 --shape "input:$shape" -o "$work/normal.onnx" >/dev/null
"$anvil" zoo resnet101 --shape "input:$shape" --denormal-prone -o "$work/prone.onnx" >/dev/null

median() {  # MODEL LEVEL DENORMALS -> median ms
  "$anvil" bench "$1" -O "$2" --denormals "$3" --warmup "$warmup" --iters "$iters" --threads "$threads" --json |
    python3 -c 'import json,sys; print("%.1f" % json.load(sys.stdin)["median_ms"])'
}

echo "ResNet-101 $shape, median of $iters runs, threads $threads ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
printf '%-15s %-4s %12s %12s %9s\n' model level "flush ms" "keep ms" "keep/flush"
for model in normal prone; do
  for level in 0 3; do
    f=$(median "$work/$model.onnx" "$level" flush)
    k=$(median "$work/$model.onnx" "$level" keep)
    printf '%-15s -O%-2s %12s %12s %8.1fx\n' "$([ $model = prone ] && echo denormal-prone || echo normal)" \
      "$level" "$f" "$k" "$(python3 -c "print($k / $f)")"
  done
done
