#!/usr/bin/env bash
# The main job: anvil makes a ResNet-101 with trained-looking weights and the
# dead BatchNorm channels (gammas ~1e-38) that make conv+BN folding produce
# subnormal weights, then optimizes it (showing what it folded and flushed),
# checks the optimized graph against the unoptimized one, profiles it, and
# benchmarks it with the user's protocol: 1x3x112x112, 5 warm-up runs, then
# 10 timed, at -O0, at -O3, and at -O3 without the subnormal guard.
set -euo pipefail
BUILD=${1:-build}
ANVIL="$BUILD/anvil"
OUT="$BUILD/demo"
mkdir -p "$OUT"

step() { printf '\n== %s\n' "$*"; }

step "anvil sysinfo --no-measure"
"$ANVIL" sysinfo --no-measure

MODEL="$OUT/resnet101.onnx"
if [ ! -f "$MODEL" ]; then
  step "anvil zoo resnet101 --denormal-prone --shape input:1,3,112,112 -o $MODEL"
  "$ANVIL" zoo resnet101 --denormal-prone --shape input:1,3,112,112 -o "$MODEL"
fi

step "anvil info $MODEL"
"$ANVIL" info "$MODEL"

step "anvil optimize $MODEL --report"
"$ANVIL" optimize "$MODEL" --report

step "anvil check $MODEL --levels O0,O3"
"$ANVIL" check "$MODEL" --levels O0,O3

step "anvil profile $MODEL --iters 10 --top 10"
"$ANVIL" profile "$MODEL" --iters 10 --top 10

for level in 0 3; do
  step "anvil bench $MODEL -O$level --warmup 5 --iters 10 (the user's protocol)"
  "$ANVIL" bench "$MODEL" -O "$level" --warmup 5 --iters 10
done

step "anvil bench $MODEL -O3 --denormals keep --warmup 1 --iters 3 (what folding does without the guard)"
"$ANVIL" bench "$MODEL" -O 3 --denormals keep --warmup 1 --iters 3
