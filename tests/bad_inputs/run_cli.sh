#!/usr/bin/env bash
# The bad_inputs table (cases.tsv) through the `anvil` CLI, each case in a
# fresh process, as a user meets it: the command must exit with the code the
# CLI gives that StatusCode (never a signal: a crash or an abort exits >= 128)
# and print the written message on stderr. Also runs a compiled model
# (.anvil) in a process that has loaded nothing else.
#   tests/bad_inputs/run_cli.sh BUILD/anvil
set -u
anvil=${1:?usage: run_cli.sh PATH/TO/anvil}
here=$(cd "$(dirname "$0")" && pwd)
files=$here/files
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

exit_code_of() {  # the CLI's report(): StatusCode -> exit code
  case $1 in
    'invalid argument') echo 2 ;; unsupported) echo 3 ;; 'not found'|'i/o error') echo 4 ;; *) echo 1 ;;
  esac
}

check() {  # name want_rc message cmd...
  local name=$1 want=$2 msg=$3
  shift 3
  timeout 60 "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [ "$rc" -ne "$want" ]; then
    echo "FAIL $name: exit $rc, expected $want: $*"; sed 's/^/  | /' "$tmp/err" | cut -c1-300 | head -5
    failed=$((failed + 1)); return
  fi
  if [ -n "$msg" ] && ! grep -qF -- "$msg" "$tmp/err"; then
    echo "FAIL $name: stderr lacks '$msg'"; sed 's/^/  | /' "$tmp/err" | cut -c1-300 | head -5
    failed=$((failed + 1)); return
  fi
  passed=$((passed + 1))
}

while IFS=$'\t' read -r file stage code msg; do
  case $file in '#'*|'') continue ;; esac
  want=$(exit_code_of "$code")
  case $stage in
    load) check "$file" "$want" "$msg" "$anvil" info "$files/$file" ;;
    compile) check "$file" "$want" "$msg" "$anvil" run "$files/$file" --threads 1 ;;
    npy) check "$file" "$want" "$msg" "$anvil" run "$files/good_relu_64x8x8.onnx" --threads 1 -i "x=$files/$file" ;;
    request) ;;  # the server's parser: test_bad_inputs.cc and the server e2e tests
  esac
done <"$here/cases.tsv"

# A bad --max-memory is refused by the flag's check; a small one refuses the model.
check max_memory_flag 2 "not a size" "$anvil" run "$files/good_relu_64x8x8.onnx" --max-memory 12XB
check max_memory_small 1 "the memory limit is 20.0 KiB" "$anvil" run "$files/good_relu_64x8x8.onnx" --max-memory 20K
check max_memory_env 1 "ANVIL_MAX_MEMORY=20K" env ANVIL_MAX_MEMORY=20K "$anvil" run "$files/good_relu_64x8x8.onnx"
# check compares its two levels at the thread count asked for, and refuses a negative one.
check check_threads 0 "" "$anvil" check "$files/good_relu_64x8x8.onnx" --threads 2
check check_threads_negative 2 "threads must be >= 0" "$anvil" check "$files/good_relu_64x8x8.onnx" --threads -1
# A directory where a model file belongs says so (it used to reach the ONNX
# checker as an empty model).
check model_is_directory 2 "a directory, not a model file" "$anvil" info "$files"
# bench reports the process's peak resident memory beside its times.
check bench_peak_memory 0 "" "$anvil" bench "$files/good_relu_64x8x8.onnx" --threads 1 --warmup 1 --iters 2
if ! grep -q "peak resident memory [0-9]* MiB" "$tmp/out"; then
  echo "FAIL bench_peak_memory: stdout lacks the peak resident memory line"; failed=$((failed + 1))
fi
# A compiled model runs in a process that registered no ops before loading it.
check compile_anvil 0 "" "$anvil" compile "$files/good_relu_64x8x8.onnx" -o "$tmp/relu.anvil"
check run_anvil 0 "" "$anvil" run "$tmp/relu.anvil" --threads 1

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
