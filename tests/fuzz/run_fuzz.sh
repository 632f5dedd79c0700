#!/usr/bin/env bash
# Runs every libFuzzer harness of a build (cmake -DMT_FUZZ=ON, clang) for a bounded time under
# ASan + UBSan, from its committed seed corpus (tests/fuzz/corpus/NAME) and dictionary
# (tests/fuzz/dict/NAME.dict); any crash, leak, sanitizer report or timeout fails the script and
# leaves the input that caused it in the work folder.
# usage: run_fuzz.sh BUILD_DIR [SECONDS_PER_HARNESS (default 12)] [WORK_DIR]
# Prints one line per harness: executions, executions per second, coverage, corpus size.
set -u
build=${1:?usage: run_fuzz.sh BUILD_DIR [SECONDS_PER_HARNESS] [WORK_DIR]}
secs=${2:-12}
here=$(cd "$(dirname "$0")" && pwd)
work=${3:-$(mktemp -d)}
mkdir -p "$work"
build=$(cd "$build" && pwd)
names=(golden verify_cli bench_cli bench_shapes train_cli idx sst2 glove checkpoint)
fails=0 total=0
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
for n in "${names[@]}"; do
  exe="$build/fuzz/fuzz_$n"
  if [ ! -x "$exe" ]; then
    echo "run_fuzz: FAIL: $exe is not built"
    fails=$((fails + 1))
    continue
  fi
  # a fresh corpus folder seeded from the committed one: the run's finds stay out of the tree
  mkdir -p "$work/$n/corpus" "$work/$n/scratch"
  cp "$here/corpus/$n"/* "$work/$n/corpus/" 2>/dev/null
  # the CLIs' harnesses may create folders named by their input (--out, --checkpoint): a scratch cwd
  (cd "$work/$n/scratch" && "$exe" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
      -max_len=4096 -close_fd_mask=3 -print_final_stats=1 -dict="$here/dict/$n.dict" \
      -artifact_prefix="$work/$n/" "$work/$n/corpus") >"$work/$n/log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$n/log")
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/$n/log")
  cov=$(grep -o 'cov: [0-9]*' "$work/$n/log" | tail -1)
  size=$(ls "$work/$n/corpus" | wc -l)
  total=$((total + ${runs:-0}))
  if [ "$rc" != 0 ]; then
    echo "run_fuzz: FAIL: fuzz_$n exited $rc; the input is in $work/$n/ (crash-*, leak-*, timeout-*):"
    grep -E "ERROR|SUMMARY|runtime error|==[0-9]+==" "$work/$n/log" | head -8
    fails=$((fails + 1))
  else
    printf 'run_fuzz: ok: fuzz_%-13s %10s executions %8s/s  %-10s corpus %s\n' "$n" "${runs:-?}" \
      "${speed:-?}" "$cov" "$size"
  fi
done
echo "run_fuzz: $total executions in all, $fails harness(es) failed"
[ "$fails" = 0 ]
