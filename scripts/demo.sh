#!/usr/bin/env bash
# The main job: anvil makes a ResNet-101 (synthetic trained-looking weights,
# with the dead BN channels that trip conv+BN folding), inspects it, runs it
# and benchmarks it with the user's protocol (1x3x112x112, 5 warm-up runs,
# then 10 timed).
set -euo pipefail
BUILD=${1:-build}
ANVIL="$BUILD/anvil"
OUT="$BUILD/demo"
mkdir -p "$OUT"

step() { printf '\n== %s\n' "$*"; }

step "sysinfo"
"$ANVIL" sysinfo

MODEL="$OUT/resnet101.onnx"
if [ ! -f "$MODEL" ]; then
  step "anvil zoo resnet101 --denormal-prone -o $MODEL"
  "$ANVIL" zoo resnet101 --denormal-prone --shape input:1,3,112,112 -o "$MODEL"
fi

step "anvil info $MODEL"
"$ANVIL" info "$MODEL"

step "anvil run $MODEL (random input, seed 0)"
"$ANVIL" run "$MODEL" --output-dir "$OUT/outputs"

step "anvil bench $MODEL --warmup 5 --iters 10 (the user's protocol)"
"$ANVIL" bench "$MODEL" --warmup 5 --iters 10
