#!/usr/bin/env bash
# The openmp backend on a machine with many cores (the lent GPU machine's 16, say): a Release build
# with -march=native for that CPU, every test (the thread-invariance tests then also compare one
# thread per core with one thread, tests/support/thread_counts.h), every float through the float32
# exp and sigmoid (tools/vmath_sweep: vector and scalar bits agree, ulp bounds) and the verifier at
# one thread per core. Logs go to $OUT when it is set.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-/tmp/many-core-check}"
mkdir -p "$out"
{ lscpu | grep -E 'Model name|^CPU\(s\)'; grep -o 'avx512[a-z_0-9]*' /proc/cpuinfo | sort -u | tr '\n' ' '; echo
  gcc --version | head -1; } | tee "$out/machine.txt"
cmake -S . -B build-many -DCMAKE_BUILD_TYPE=Release -DMT_WERROR=ON >"$out/cmake.log" 2>&1
cmake --build build-many -j"$(nproc)" >"$out/build.log" 2>&1 || { tail -30 "$out/build.log"; exit 1; }
(cd build-many && ctest --output-on-failure -j4) 2>&1 | tee "$out/ctest.log" | tail -25
MT_BUILD_DIR="$PWD/build-many" ./verify --backend openmp 2>&1 | tee "$out/verify.log" | tail -8
build-many/tools/vmath_sweep 2>&1 | tee "$out/vmath_sweep.log"
