#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/; clang with ASan + UBSan) in
# build-asan/ and runs each one until it has executed FUZZ_RUNS inputs or
# FUZZ_SECONDS have passed, whichever comes first. A crash, sanitizer report,
# leak, timeout (FUZZ_TIMEOUT s per input) or an allocation over 2 GB stops
# the target and leaves the input in build-asan/findings/: copy it into
# fuzz/regressions/TARGET/ once fixed, so `make test` replays it.
#
#   scripts/fuzz.sh                       # every target, 10M runs / 30 min each
#   FUZZ_SECONDS=60 scripts/fuzz.sh onnx_model server_request
#
# Prints one line per target (runs, exec/s, seconds, corpus size, result)
# and writes the table to build-asan/fuzz-summary.md.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD_FUZZ:-build-asan}  # shared with make test-asan (scripts/sanitizer-build.sh)
RUNS=${FUZZ_RUNS:-10000000}
SECS=${FUZZ_SECONDS:-1800}
TIMEOUT=${FUZZ_TIMEOUT:-10}
ALL=(onnx_model mxnet_params mxnet_symbol anvil_artifact server_request)
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=("${ALL[@]}")

BUILD_ASAN="$BUILD" bash scripts/sanitizer-build.sh $(printf 'fuzz_%s ' "${TARGETS[@]}")

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-/usr/lib/llvm-14/bin/llvm-symbolizer}
mkdir -p "$BUILD/findings" "$BUILD/logs"
summary="$BUILD/fuzz-summary.md"
echo "| target | runs | exec/s | seconds | corpus | result |" > "$summary"
echo "|---|---|---|---|---|---|" >> "$summary"
status=0
for t in "${TARGETS[@]}"; do
  corpus="$BUILD/corpus/$t"
  mkdir -p "$corpus"
  log="$BUILD/logs/$t.log"
  echo "fuzz_$t: up to $RUNS runs or $SECS s (log: $log)"
  start=$(date +%s)
  set +e
  "$BUILD/fuzz/fuzz_$t" "$corpus" "fuzz/corpus/$t" $( [ -d "fuzz/regressions/$t" ] && echo "fuzz/regressions/$t" ) \
    -runs="$RUNS" -max_total_time="$SECS" -timeout="$TIMEOUT" -rss_limit_mb=2048 -malloc_limit_mb=2048 \
    -artifact_prefix="$BUILD/findings/$t-" -print_final_stats=1 -print_pcs=0 -reload=0 >"$log" 2>&1 &
  pid=$!
  # Progress while it runs: libFuzzer's latest status line, every 30 s.
  tick=0
  while kill -0 $pid 2>/dev/null; do
    sleep 2
    tick=$((tick + 2))
    if [ $((tick % 30)) -eq 0 ]; then
      line=$(grep -aE '^#[0-9]+' "$log" | tail -1 | cut -c1-110)
      [ -n "$line" ] && echo "  $t $(( $(date +%s) - start ))s: $line"
    fi
  done
  wait $pid
  rc=$?
  set -e
  secs=$(( $(date +%s) - start ))
  runs=$(grep -a 'stat::number_of_executed_units' "$log" | awk '{print $2}' | tail -1)
  eps=$(grep -a 'stat::average_exec_per_sec' "$log" | awk '{print $2}' | tail -1)
  size=$(ls "$corpus" | wc -l)
  if [ $rc -eq 0 ]; then result="clean"; else result="FINDING (exit $rc, see $log)"; status=1; fi
  printf '%-16s runs %-10s exec/s %-8s %5ss corpus %-5s %s\n' "$t" "${runs:-?}" "${eps:-?}" "$secs" "$size" "$result"
  echo "| $t | ${runs:-?} | ${eps:-?} | $secs | $size | $result |" >> "$summary"
done
echo "summary: $summary"
cat "$summary"
exit $status
