#!/usr/bin/env bash
# CTest smoke test of ./bench: quick sweeps (matmul, elementwise, reduce, conv1d, conv2d, nn,
# train-step) into a temporary folder; checks that each report, chart and raw JSON is written and
# well-formed, then plants a wrong result and expects the run to fail.
set -euo pipefail
BENCH=${1:?usage: smoke_test.sh path/to/bench}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
passed=0
fail() { echo "bench_smoke: FAIL: $*"; echo "$passed passed, 1 failed"; exit 1; }

benches=(matmul elementwise reduce conv1d conv2d nn)

for b in "${benches[@]}"; do
  out="$tmp/$b"
  "$BENCH" "$b" --sweep --quick --threads 1 --baselines openblas,memcpy --out "$out" \
      --benchmark_min_time=0.001 >"$tmp/$b.log" 2>&1 || { cat "$tmp/$b.log"; fail "$b --quick exited non-zero"; }
  md=$(ls "$out"/"$b"-*.md) || fail "$b: no report"
  json=${md%.md}.json svg=${md%.md}.svg
  [ -s "$svg" ] || fail "$b: no chart"
  "$PY" - "$json" "$svg" "$md" "$b" <<'PYEOF' || fail "$b: malformed output"
import json, sys, xml.dom.minidom
raw, svg, md, bench = sys.argv[1:]
data = json.load(open(raw))
names = {b["name"] for b in data["benchmarks"]}
assert any(n.startswith(bench + "/") and "/naive/" in n for n in names), names
assert any(b.get("aggregate_name") == "median" for b in data["benchmarks"])
xml.dom.minidom.parse(svg)
text = open(md).read()
for must in ("## Times", "## Check against the naive backend", "Command: `./bench " + bench,
             "| naive ms |", "CPU:"):
    assert must in text, must
assert "MISMATCH" not in text and "FAILED" not in text
PYEOF
  grep -q "$(basename "$md")" "$out/README.md" || fail "$b: README.md does not index the report"
  # the report's own headline line, read back into the index's headline table
  grep -q "^<!-- headline: .* vs .*x median over [0-9]* case" "$md" || fail "$b: the report has no headline line"
  grep -q "^| $b | .* vs .*x median over [0-9]* case.* | \`./bench $b " "$out/README.md" \
      || fail "$b: README.md's headline table lacks $b's ratio and command"
  passed=$((passed + 1))
done

# The training-step sweep (its only baseline is PyTorch, so no headline without it): the trainer's
# steps run on every backend, are checked against naive, and the report records the losses' bits.
"$BENCH" train-step --sweep --quick --threads 1 --baselines none --out "$tmp/train-step" \
    --benchmark_min_time=0.001 >"$tmp/train-step.log" 2>&1 \
    || { cat "$tmp/train-step.log"; fail "train-step --quick exited non-zero"; }
md=$(ls "$tmp"/train-step/train-step-*.md) || fail "train-step: no report"
grep -q "| MNIST net step | .* | .* bits of 3 losses: naive 0x" "$md" || fail "train-step: no MNIST row with loss bits"
grep -q "| SST-2 CNN step | .* | .* bits of 3 losses: naive 0x" "$md" || fail "train-step: no SST-2 row with loss bits"
! grep -q "MISMATCH" "$md" || fail "train-step: a step does not match the naive backend"
passed=$((passed + 1))

# A planted wrong value must fail the run with exit status 1 and say so in the report.
set +e
"$BENCH" matmul --sweep --quick --threads 1 --baselines none --out "$tmp/planted" \
    --benchmark_min_time=0.001 --plant-wrong-result >"$tmp/planted.log" 2>&1
rc=$?
set -e
[ "$rc" -eq 1 ] || { cat "$tmp/planted.log"; fail "planted wrong result: exit $rc, expected 1"; }
grep -q "MISMATCH" "$tmp"/planted/matmul-*.md || fail "planted wrong result: report shows no mismatch"
# a failed run's numbers are not to be trusted: no headline, and the index shows "-"
! grep -q "^<!-- headline:" "$tmp"/planted/matmul-*.md || fail "planted wrong result: the report has a headline"
grep -q "^| matmul | - | " "$tmp/planted/README.md" || fail "planted wrong result: the index shows a headline"
passed=$((passed + 1))

# A case above --naive-limit: the naive backend is skipped (and says so), the check runs on a slice
# of rows, and a planted wrong value in that slice still fails the run.
printf '# A B\n96x33 33x65\n' >"$tmp/shapes.txt"
"$BENCH" matmul --shapes "$tmp/shapes.txt" --naive-limit 0.0001 --threads 1 --baselines openblas \
    --out "$tmp/sliced" --benchmark_min_time=0.001 >"$tmp/sliced.log" 2>&1 \
    || { cat "$tmp/sliced.log"; fail "sliced check: exit non-zero"; }
grep -q "| skipped |" "$tmp"/sliced/matmul-*.md || fail "sliced check: naive not reported as skipped"
grep -q "rows 0-" "$tmp"/sliced/matmul-*.md || fail "sliced check: the report does not name the slice"
set +e
"$BENCH" matmul --shapes "$tmp/shapes.txt" --naive-limit 0.0001 --threads 1 --baselines openblas \
    --out "$tmp/sliced-planted" --benchmark_min_time=0.001 --plant-wrong-result >/dev/null 2>&1
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "sliced check with a planted wrong result: exit $rc, expected 1"
passed=$((passed + 1))

# Usage errors exit 2.
set +e
"$BENCH" matmul --sweep --no-such-flag >/dev/null 2>&1; rc=$?
set -e
[ "$rc" -eq 2 ] || fail "unknown flag: exit $rc, expected 2"
set +e
"$BENCH" matmul --sweep --backends no-such-backend >/dev/null 2>&1; rc=$?
set -e
[ "$rc" -eq 2 ] || fail "unknown backend: exit $rc, expected 2"
passed=$((passed + 1))
echo "$passed passed, 0 failed"
