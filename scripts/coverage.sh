#!/usr/bin/env bash
# Which lines of engine/openmp does one `./verify --all-backends` run? Builds the verifier with
# gcc --coverage into build-cov/ (Debug: -O0, so every line keeps its own count), runs it once,
# and reads the counts with gcov: per file, lines run / executable lines, then every line never
# run (file:line: source). Prints the summary, writes the whole listing to
# build-cov/openmp-coverage.txt, and exits non-zero when under the floor (default 95%).
# usage: bash scripts/coverage.sh [--floor PERCENT] [extra ./verify arguments]
# The cuda backends are left out of the build (MT_CUDA=OFF, MT_CUDA_SIM=OFF): they share no line
# with engine/openmp, and the simulator would triple the run. reports/verify-coverage.md explains
# the lines the run leaves out.
set -euo pipefail
cd "$(dirname "$0")/.."
floor=95
if [ "${1:-}" = "--floor" ]; then
  floor="$2"
  shift 2
fi
command -v gcov >/dev/null || { echo "coverage: gcov not found (apt-get install gcc)"; exit 2; }
cmake -S . -B build-cov -DCMAKE_BUILD_TYPE=Debug -DMT_WERROR=ON -DMT_CUDA=OFF -DMT_CUDA_SIM=OFF \
  -DCMAKE_C_FLAGS="--coverage" -DCMAKE_CXX_FLAGS="--coverage" \
  -DCMAKE_EXE_LINKER_FLAGS="--coverage" >/dev/null
cmake --build build-cov -j"$(nproc)" --target verify >/dev/null
objdir="build-cov/CMakeFiles/minitorch.dir/engine/openmp"
find build-cov -name "*.gcda" -delete # stale counts of an older build would be merged
start=$(date +%s)
build-cov/verify/verify --all-backends "$@" >build-cov/verify-coverage-run.log ||
  { echo "coverage: ./verify failed (build-cov/verify-coverage-run.log)"; exit 1; }
echo "coverage: ./verify --all-backends $* ran in $(($(date +%s) - start)) s (Debug, --coverage)"

out="$PWD/build-cov/gcov"
rm -rf "$out"
mkdir -p "$out"
root="$PWD"
(cd "$out" && gcov -p "$root/$objdir"/*.gcda >/dev/null)
# one .gcov per source and per header it includes; a header included by several files gets one
# file per includer (gcov -p names them includer##header): a line counts as run if any ran it
listing="build-cov/openmp-coverage.txt"
awk -F: '
  FNR == 1 { file = "" }
  $3 == "Source" { split($0, a, "Source:"); file = a[2]; sub(/.*engine\/openmp\//, "", file); next }
  file == "" || file ~ /\// { next }
  {
    c = $1; gsub(/ /, "", c); n = $2 + 0
    if (c == "-" || n == 0) next
    key = file ":" n
    if (!(key in seen)) { seen[key] = 1; files[file] = 1; text[key] = substr($0, index($0, $3)) }
    if (c !~ /^#+$/ && c != "=====") ran[key] = 1
  }
  END {
    total = 0; hit = 0
    for (k in seen) { split(k, p, ":"); t[p[1]]++; total++; if (k in ran) { h[p[1]]++; hit++ } }
    for (f in files) printf "%-32s %5d / %5d lines  %5.1f%%\n", f, h[f], t[f], 100 * h[f] / t[f] | "sort"
    close("sort")
    printf "TOTAL engine/openmp %d / %d lines: %.1f%%\n", hit, total, 100 * hit / total
    print "\nlines never run:"
    for (k in seen) if (!(k in ran)) print k ": " text[k] | "sort -t: -k1,1 -k2,2n"
  }' "$out"/*.gcov >"$listing"
sed -n '/^TOTAL/q;p' "$listing"
total_line=$(grep '^TOTAL' "$listing")
echo "$total_line"
echo "coverage: every line never run is listed in $listing"
pct=$(sed 's/.*: \([0-9.]*\)%/\1/' <<<"$total_line")
awk -v p="$pct" -v f="$floor" 'BEGIN { exit !(p >= f) }' ||
  { echo "coverage: ${pct}% is under the floor of ${floor}%"; exit 1; }
