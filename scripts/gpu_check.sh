#!/usr/bin/env bash
# On a machine with an NVIDIA GPU (the lent H100/H200): build with nvcc, verify every op of every
# backend including the real `cuda` one, then run the cuda verification under compute-sanitizer's
# memcheck and racecheck, and print one summary. About 5-8 minutes on 16 cores.
# Usage: bash scripts/gpu_check.sh [build-dir]   (default build-gpu; logs in $OUT or build-gpu/logs)
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-gpu}
logs=${OUT:-$build/logs}
mkdir -p "$logs"
jobs=$(nproc)
summary=()
step() { # name, command...: runs it with its log, records PASS/FAIL and the time
  local name=$1; shift
  local t0=$SECONDS
  "$@" > "$logs/$name.log" 2>&1
  local rc=$?
  summary+=("$(printf '%-28s %s (%ds, log %s)' "$name" "$([ $rc -eq 0 ] && echo PASS || echo "FAIL rc=$rc")" $((SECONDS - t0)) "$logs/$name.log")")
  tail -n 25 "$logs/$name.log"
  return $rc
}

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$logs/gpu.txt" 2>&1
echo "GPU: $(cat "$logs/gpu.txt")"
step configure cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DMT_WERROR=ON -DMT_NATIVE=ON || { printf '%s\n' "${summary[@]}"; exit 1; }
grep -q "cuda backend: built" "$logs/configure.log" || { echo "gpu_check: the cuda backend was not configured (no nvcc?)"; exit 1; }
step build cmake --build "$build" -j"$jobs" || { printf '%s\n' "${summary[@]}"; exit 1; }
step cuda-available "$build/verify/verify" --backend cuda --op add --cases 2
step verify-all-backends "$build/verify/verify" --all-backends --cases 100 --golden-dir golden/cases
step ctest bash -c "cd '$build' && ctest -j$jobs --output-on-failure -LE slow"
sanitizer=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
if [ -x "$sanitizer" ]; then
  # Few cases: every launch is instrumented. Exit code 1 on any reported error.
  step memcheck "$sanitizer" --tool memcheck --error-exitcode 1 --leak-check full \
    "$build/verify/verify" --backend cuda --cases 6 --grad-cases 2 --golden-dir golden/cases
  step racecheck "$sanitizer" --tool racecheck --error-exitcode 1 \
    "$build/verify/verify" --backend cuda --cases 3 --grad-cases 1 --golden-dir golden/cases
else
  summary+=("compute-sanitizer            NOT RUN (not on PATH nor in /usr/local/cuda/bin)")
fi
echo
echo "== gpu_check summary ($(cat "$logs/gpu.txt")) =="
printf '%s\n' "${summary[@]}"
! printf '%s\n' "${summary[@]}" | grep -q "FAIL"
