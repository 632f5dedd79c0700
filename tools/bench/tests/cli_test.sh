#!/usr/bin/env bash
# ./bench's bad-input contract: each mistake is our clear message and a non-zero exit before
# anything is timed, and leaves no report (nor a truncated or empty one) behind; --load's spinning
# processes never outlive the run.
# usage: cli_test.sh path/to/bench [sanitized]
set -u
BENCH=${1:?usage: cli_test.sh path/to/bench [sanitized]}
SANITIZED=${2:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
quick=(--quick --backends naive --baselines none --threads 1 --benchmark_min_time=0.001)

expect() { # expect EXIT-CODE TEXT-IN-OUTPUT ARGS...: and no report in $tmp/out
  local code="$1" text="$2"
  shift 2
  rm -rf "$tmp/out"
  local out rc
  out="$("$BENCH" "$@" 2>&1)"
  rc=$?
  if [ "$rc" != "$code" ] || ! grep -qF -- "$text" <<<"$out"; then
    echo "FAIL: bench $* exited $rc (expected $code) or did not say '$text':"
    tail -5 <<<"$out"
    fails=$((fails + 1))
  elif [ "$code" != 0 ] && ls "$tmp/out"/*.md "$tmp/out"/*.json >/dev/null 2>&1; then
    echo "FAIL: bench $* left a report behind: $(ls "$tmp/out")"
    fails=$((fails + 1))
  else
    echo "ok: bench $* -> $rc"
  fi
}

one=--benchmark_filter=elementwise/65537/neg/naive
expect 0 "[bench] report:" elementwise --sweep "${quick[@]}" --out "$tmp/out" --threads=2 "$one"
expect 0 "[bench] report:" elementwise --sweep "${quick[@]}" --out="$tmp/out" --threads 2 "$one"
expect 2 "--threads must be a count from 1 to 1024, got '0'" elementwise --sweep --threads=0
expect 2 "--benchmark_repetitions=N needs a count from 1 to 1000000, got '-3'" \
  elementwise --sweep "${quick[@]}" --out "$tmp/out" --benchmark_repetitions=-3
expect 2 "got '0'" elementwise --sweep "${quick[@]}" --out "$tmp/out" --benchmark_repetitions=0
expect 2 "got 'x'" elementwise --sweep "${quick[@]}" --out "$tmp/out" --benchmark_repetitions=x
expect 2 "no benchmark of this run matches the --benchmark_filter" \
  elementwise --sweep "${quick[@]}" --out "$tmp/out" --benchmark_filter=nothing-has-this-name
# /proc: a folder nobody (root included) can create files in
expect 2 "--out /proc: cannot write reports there" elementwise --sweep "${quick[@]}" --out /proc
expect 2 "--out /proc/no/such: cannot write reports there" elementwise --sweep "${quick[@]}" --out /proc/no/such
printf '4611686018427387905x4\n' >"$tmp/overflow.txt"
expect 2 "shape 4611686018427387905x4 would have more than 2^36 elements" \
  elementwise --shapes "$tmp/overflow.txt" "${quick[@]}" --out "$tmp/out"
printf '9223372036854775807x9223372036854775807\n' >"$tmp/overflow.txt"
expect 2 "would have more than 2^36 elements" reduce --shapes "$tmp/overflow.txt" --out "$tmp/out"
printf '4294967296x1 1x4294967296\n' >"$tmp/overflow.txt"
expect 2 "the product would have more than 2^36 elements" matmul --shapes "$tmp/overflow.txt" --out "$tmp/out"
printf '524288x1x1x1 524288x1x1x1\n' >"$tmp/overflow.txt"
expect 2 "the output would have more than 2^36 elements" conv2d --shapes "$tmp/overflow.txt" --out "$tmp/out"

# A host allocation that fails says why (and how much). ulimit -v makes it fail on any machine; a
# sanitizer build reserves terabytes of shadow memory and cannot run under that limit.
if [ -z "$SANITIZED" ]; then
  printf '1073741824\n' >"$tmp/big.txt" # 4 GiB of floats
  out="$(ulimit -v 2000000; "$BENCH" elementwise --shapes "$tmp/big.txt" "${quick[@]}" \
        --backends openmp --out "$tmp/out" 2>&1)"
  if grep -q "cannot allocate 4294967296 bytes of host memory (Cannot allocate memory)" <<<"$out"; then
    echo "ok: a failed host allocation names its size and reason"
  else
    echo "FAIL: a failed host allocation said:"; grep -i "error\|fail" <<<"$out" | head -3
    fails=$((fails + 1))
  fi
else
  echo "note: the failed-allocation case runs in the plain build only (ulimit -v and ASan)"
fi

# --load: the spinners run during the timings and are gone afterwards, also after Ctrl-C.
spinners() { pgrep -P "$1" 2>/dev/null | wc -l; }
"$BENCH" conv2d --sweep "${quick[@]}" --benchmark_min_time=5 --out "$tmp/load" --load 2 >"$tmp/load.log" 2>&1 &
pid=$!
seen=0
for _ in $(seq 100); do
  n=$(spinners $pid)
  [ "$n" -ge 2 ] && seen=1 && break
  sleep 0.05
done
kill -INT $pid
wait $pid
rc=$?
sleep 0.2
left=$(pgrep -f "$BENCH conv2d --sweep" | wc -l)
if [ "$seen" = 1 ] && [ "$rc" != 0 ] && [ "$left" = 0 ]; then
  echo "ok: --load 2 started 2 spinners; Ctrl-C stopped the run and them"
else
  echo "FAIL: --load: saw the spinners $seen, exit $rc after Ctrl-C, $left process(es) left"
  fails=$((fails + 1))
fi
expect 0 "--load 1: 1 spinning process(es) started" elementwise --sweep "${quick[@]}" --out "$tmp/out" --load 1 "$one"
left=$(pgrep -f "$BENCH elementwise" | wc -l)
[ "$left" = 0 ] || { echo "FAIL: $left spinner(s) outlived a finished run"; fails=$((fails + 1)); }
grep -q "spun on the CPU during the timings" "$tmp"/out/elementwise-*.md ||
  { echo "FAIL: the report does not say it ran under --load"; fails=$((fails + 1)); }
expect 2 "--load must be a count from 0 to 256, got '-1'" elementwise --sweep --load -1

echo "bench cli_test: $fails failure(s)"
[ "$fails" = 0 ]
